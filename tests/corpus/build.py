"""Writes the bad-input corpus: one recording per case, with its expected outcome beside it.

``python tests/corpus/build.py`` rewrites every case under ``tests/corpus/cases/``:

    cases/<platform>/<endpoint>/<case>.jsonl[.gz]   the recording (good pages around the bad one)
    cases/<platform>/<endpoint>/<case>.expect.json  what loading it must give

The expectation names the rows each core table must hold after the load (the good pages'
rows, and the good records of the damaged page) and each reject: its line, record index and
a substring of its reason. The counts are stated by construction here, not measured.
``tests/ingest/test_bad_input_corpus.py`` runs every case through fixture extract (both
the bulk and the Python path), landing and a load into a real DuckDB warehouse.
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent / "cases"
FETCHED = "2026-11-20T06:00:00.000Z"
BIG = 2**63  # one past the largest 64-bit integer
HUGE = 2**64 + 7
DEEP = 1500  # past Python's JSON recursion limit (~1000)

_cases: list[tuple[str, str, str, bytes, dict, bool]] = []


def line(
    url: str,
    body: Any = None,
    *,
    fetched_at: str = FETCHED,
    body_text: str | None = None,
    status: int = 200,
    request_body: Any = None,
) -> str:
    request: dict[str, Any] = {"method": "GET" if request_body is None else "POST", "url": url}
    if request_body is not None:
        request["body"] = request_body
    response: dict[str, Any] = {"status": status, "headers": {"content-type": "application/json"}}
    if body_text is not None:
        response["body_text"] = body_text
    else:
        response["body"] = body
    return json.dumps(
        {"fetched_at": fetched_at, "request": request, "response": response}, ensure_ascii=False
    )


def case(
    platform: str,
    endpoint: str,
    name: str,
    lines: list[str | bytes],
    expect: dict,
    gz: bool = False,
    raw_tail: bytes = b"",
) -> None:
    data = b"".join(
        (x if isinstance(x, bytes) else x.encode("utf-8", "backslashreplace")) + b"\n"
        for x in lines
    )
    _cases.append((platform, endpoint, name, data + raw_tail, expect, gz))


def expect(description: str, rows: dict[str, int], rejects: list[tuple[int, int, str]]) -> dict:
    return {
        "description": description,
        "rows": rows,
        "rejects": [{"line": li, "index": ix, "reason": r} for li, ix, r in rejects],
    }


# --- Mastodon ---------------------------------------------------------------------------

M = "https://bakers.social"


def m_account(user: str, **extra: Any) -> dict:
    return {
        "id": "1",
        "username": user,
        "acct": user,
        "display_name": user.title(),
        "note": f"<p>{user}</p>",
        "url": f"{M}/@{user}",
        "bot": False,
        "created_at": "2022-11-05T00:00:00.000Z",
        "followers_count": 20000,
        "following_count": 100,
        "statuses_count": 500,
        **extra,
    }


def m_status(user: str, n: int, **extra: Any) -> dict:
    return {
        "id": str(n),
        "uri": f"{M}/users/{user}/statuses/{n}",
        "url": f"{M}/@{user}/{n}",
        "created_at": "2026-11-19T10:00:00.000Z",
        "in_reply_to_id": None,
        "language": "en",
        "content": f"<p>post {n}</p>",
        "spoiler_text": "",
        "replies_count": 1,
        "reblogs_count": 2,
        "favourites_count": 3,
        "quotes_count": 0,
        "account": m_account(user),
        "reblog": None,
        "tags": [],
        "mentions": [],
        **extra,
    }


def m_statuses(user: str, items: list) -> str:
    return line(f"{M}/api/v1/accounts/1/statuses?limit=40", items)


def m_lookup(account: dict) -> str:
    return line(f"{M}/api/v1/accounts/lookup?acct={account['username']}", account)


def mastodon() -> None:
    ok1, ok2 = m_statuses("anna", [m_status("anna", 1)]), m_statuses("anna", [m_status("anna", 9)])

    def statuses(name: str, bad: dict, reason: str, desc: str) -> None:
        page = m_statuses("anna", [m_status("anna", 2), bad])
        case(
            "mastodon",
            "account_statuses",
            name,
            [ok1, page, ok2],
            expect(desc, {"posts": 3, "post_metric_snapshots": 3}, [(2, 1, reason)]),
        )

    statuses(
        "count_above_int64",
        m_status("anna", 3, favourites_count=BIG),
        "favourites_count",
        "a count above int64 (finding 3)",
    )
    statuses(
        "lone_surrogate",
        m_status("anna", 3, content="<p>\ud83c</p>"),
        "lone surrogate",
        "a lone surrogate escape in the content (finding 3)",
    )
    statuses(
        "timestamp_before_year_1",
        m_status("anna", 3, created_at="0001-01-01T00:00:00+01:00"),
        "outside the range",
        "created_at before 0001-01-01 UTC (finding 3)",
    )
    statuses(
        "timestamp_after_year_9999",
        m_status("anna", 3, created_at="9999-12-31T23:59:59-05:00"),
        "outside the range",
        "created_at after 9999-12-31 UTC (finding 3)",
    )
    statuses(
        "uri_is_an_object",
        m_status("anna", 3, uri={"a": 1}),
        "uri",
        'uri {"a":1} (finding 4: bulk made it the post id)',
    )
    statuses("uri_is_a_number", m_status("anna", 3, uri=12345), "uri", "a numeric uri (finding 4)")
    statuses(
        "fractional_count",
        m_status("anna", 3, favourites_count=12.5),
        "favourites_count",
        "a count of 12.5 (finding 4)",
    )
    statuses(
        "boolean_count",
        m_status("anna", 3, reblogs_count=True),
        "reblogs_count",
        "a count that is true (finding 4)",
    )
    statuses(
        "list_as_text",
        m_status("anna", 3, content=["<p>a</p>"]),
        "content",
        "a list where text belongs (finding 4)",
    )
    statuses(
        "flag_is_a_number",
        m_status("anna", 3, account=m_account("anna", bot=2)),
        "bot",
        "a flag that is 2 (finding 4)",
    )
    statuses(
        "negative_count",
        m_status("anna", 3, favourites_count=-3),
        "negative count favourites_count",
        "a negative count (negative counts)",
    )
    page = m_statuses("anna", [m_status("anna", 2), None])
    case(
        "mastodon",
        "account_statuses",
        "null_item",
        [ok1, page, ok2],
        expect(
            "a null item (finding 4: it vanished in bulk)",
            {"posts": 3, "post_metric_snapshots": 3},
            [(2, 1, "valid dictionary")],
        ),
    )
    # lines that are no page: the rest of the file loads
    truncated = m_statuses("anna", [m_status("anna", 5)])[:80]
    case(
        "mastodon",
        "account_statuses",
        "truncated_line",
        [ok1, truncated, ok2],
        expect(
            "a line cut short (finding 3)",
            {"posts": 2, "post_metric_snapshots": 2},
            [(2, -1, "not a recorded page")],
        ),
    )
    bad_utf8 = m_statuses("anna", [m_status("anna", 5)]).encode().replace(b"post 5", b"post \xff5")
    case(
        "mastodon",
        "account_statuses",
        "invalid_utf8",
        [ok1, bad_utf8, ok2],
        expect(
            "invalid UTF-8 in a line (finding 3)",
            {"posts": 2, "post_metric_snapshots": 2},
            [(2, -1, "not valid UTF-8")],
        ),
    )
    nul = m_statuses("anna", [m_status("anna", 5)]).replace("post 5", "post \x005")
    case(
        "mastodon",
        "account_statuses",
        "nul_byte",
        [ok1, nul, ok2],
        expect(
            "a raw NUL byte in a line (finding 3)",
            {"posts": 2, "post_metric_snapshots": 2},
            [(2, -1, "not a recorded page")],
        ),
    )
    case(
        "mastodon",
        "account_statuses",
        "bom_mid_file",
        [ok1, "\ufeff" + ok2],
        expect(
            "a byte order mark starting line 2 (finding 3)",
            {"posts": 1, "post_metric_snapshots": 1},
            [(2, -1, "not a recorded page")],
        ),
    )
    case(
        "mastodon",
        "account_statuses",
        "bom_at_file_start",
        ["\ufeff" + ok1, ok2],
        expect(
            "a byte order mark opening the file: an encoding marker, skipped",
            {"posts": 2, "post_metric_snapshots": 2},
            [],
        ),
    )
    deep = m_statuses("anna", [m_status("anna", 5, extra="[" * DEEP + "]" * DEEP)])
    deep = deep.replace('"' + "[" * DEEP + "]" * DEEP + '"', "[" * DEEP + "]" * DEEP)
    case(
        "mastodon",
        "account_statuses",
        "nested_too_deep",
        [ok1, deep, ok2],
        expect(
            "JSON nested 1,500 levels (finding 3)",
            {"posts": 2, "post_metric_snapshots": 2},
            [(2, -1, "nested too deeply")],
        ),
    )
    case(
        "mastodon",
        "account_statuses",
        "fetched_at_out_of_range",
        [
            ok1,
            line(
                f"{M}/api/v1/accounts/1/statuses",
                [m_status("anna", 5)],
                fetched_at="0001-01-01T00:00:00+01:00",
            ),
            ok2,
        ],
        expect(
            "a fetched_at with no UTC datetime (finding 3)",
            {"posts": 2, "post_metric_snapshots": 2},
            [(2, -1, "outside the range")],
        ),
    )
    good_gz = [m_statuses("anna", [m_status("anna", n)]) for n in range(1, 41)]
    whole = gzip.compress(("\n".join(good_gz) + "\n").encode())
    case(
        "mastodon",
        "account_statuses",
        "truncated_gzip",
        [],
        gz=True,
        raw_tail=whole[: len(whole) * 3 // 4],
        expect=expect(
            "a gzip file cut short: what decoded loads, the rest is one reject",
            {"posts": -1, "post_metric_snapshots": -1},
            [(-1, -1, "cut short or corrupt")],
        ),
    )
    case(
        "mastodon",
        "account_statuses",
        "remote_author_without_domain",
        [
            m_statuses(
                "anna",
                [
                    m_status(
                        "anna",
                        7,
                        uri=f"{M}/users/anna/statuses/7/activity",
                        reblog={
                            **m_status("carol", 8),
                            "uri": "https://other.example/users/carol/statuses/8",
                            "account": {
                                **m_account("carol"),
                                "url": "https://other.example/@carol",
                            },
                        },
                    )
                ],
            )
        ],
        {
            **expect(
                "a boosted remote author whose acct lacks its domain (finding 8)",
                {"posts": 2, "post_metric_snapshots": 1},
                [],
            ),
            "authors": {"https://other.example/users/carol/statuses/8": "carol@other.example"},
        },
    )
    lookups = [
        m_lookup(m_account("anna")),
        m_lookup(m_account("bert", followers_count=HUGE)),
        m_lookup(m_account("cleo", followers_count=-1, following_count=-1)),
    ]
    case(
        "mastodon",
        "accounts_lookup",
        "count_above_int64",
        lookups,
        expect(
            "followers above int64, and a hidden (-1) count that loads as unknown",
            {"accounts": 2, "account_snapshots": 2},
            [(2, -1, "followers_count")],
        ),
    )
    case(
        "mastodon",
        "accounts_lookup",
        "negative_count",
        [m_lookup(m_account("anna")), m_lookup(m_account("bert", statuses_count=-7))],
        expect(
            "a negative count other than Mastodon's hidden -1",
            {"accounts": 1, "account_snapshots": 1},
            [(2, -1, "negative count statuses_count")],
        ),
    )


# --- Bluesky ----------------------------------------------------------------------------

X = "https://public.api.bsky.app/xrpc"


def b_profile(n: int, **extra: Any) -> dict:
    return {
        "did": f"did:plc:p{n}",
        "handle": f"p{n}.bsky.social",
        "displayName": f"P{n}",
        "description": "bio",
        "followersCount": 20000,
        "followsCount": 10,
        "postsCount": 5,
        "createdAt": "2023-05-02T14:22:19.211Z",
        **extra,
    }


def b_post(n: int, **extra: Any) -> dict:
    post = {
        "uri": f"at://did:plc:p1/app.bsky.feed.post/{n}",
        "cid": "c",
        "author": {"did": "did:plc:p1", "handle": "p1.bsky.social"},
        "record": {"text": f"post {n}", "createdAt": "2026-11-19T10:00:00.000Z"},
        "replyCount": 1,
        "repostCount": 2,
        "likeCount": 3,
        "quoteCount": 0,
        "indexedAt": "2026-11-19T10:00:01.000Z",
    }
    record = extra.pop("record", None)
    if record:
        post["record"] = {**post["record"], **record}
    return {**post, **extra}


def bluesky() -> None:
    profiles = f"{X}/app.bsky.actor.getProfiles?actors=did:plc:p1"
    feed = f"{X}/app.bsky.feed.getAuthorFeed?actor=did:plc:p1"

    def prof(name: str, bad: dict, reason: str, desc: str) -> None:
        case(
            "bluesky",
            "get_profiles",
            name,
            [
                line(profiles, {"profiles": [b_profile(1)]}),
                line(profiles, {"profiles": [b_profile(2), bad]}),
                line(profiles, {"profiles": [b_profile(4)]}),
            ],
            expect(desc, {"accounts": 3, "account_snapshots": 3}, [(2, 1, reason)]),
        )

    def fd(name: str, bad: dict, reason: str, desc: str) -> None:
        case(
            "bluesky",
            "get_author_feed",
            name,
            [
                line(feed, {"feed": [{"post": b_post(1)}]}),
                line(feed, {"feed": [{"post": b_post(2)}, {"post": bad}]}),
                line(feed, {"feed": [{"post": b_post(4)}]}),
            ],
            expect(desc, {"posts": 3, "post_metric_snapshots": 3}, [(2, 1, reason)]),
        )

    prof(
        "count_above_int64", b_profile(3, followersCount=BIG), "followersCount", "followers > int64"
    )
    prof(
        "negative_count",
        b_profile(3, followersCount=-5),
        "negative count followersCount",
        "a negative follower count",
    )
    prof(
        "lone_surrogate",
        b_profile(3, description="\udc00 bio"),
        "lone surrogate",
        "a lone surrogate in a bio",
    )
    fd("count_above_int64", b_post(3, likeCount=HUGE), "likeCount", "likes > int64")
    fd("negative_count", b_post(3, likeCount=-1), "negative count likeCount", "negative likes")
    fd(
        "lone_surrogate",
        b_post(3, record={"text": "hi \ud83c"}),
        "lone surrogate",
        "a lone surrogate in a post's text",
    )
    fd(
        "timestamp_after_year_9999",
        b_post(3, indexedAt="9999-12-31T23:59:59-05:00"),
        "outside the range",
        "indexedAt past 9999-12-31 UTC",
    )
    posts = f"{X}/app.bsky.feed.getPosts?uris=at://did:plc:p1/app.bsky.feed.post/1"
    case(
        "bluesky",
        "get_posts",
        "count_above_int64",
        [
            line(posts, {"posts": [b_post(1)]}),
            line(posts.replace("/1", "/2"), {"posts": [b_post(2, repostCount=BIG)]}),
        ],
        expect(
            "reposts > int64 in a re-read",
            {"posts": 1, "post_metric_snapshots": 1},
            [(2, 0, "repostCount")],
        ),
    )


# --- Instagram, TikTok, YouTube -----------------------------------------------------------

G = (
    "https://graph.facebook.com/v21.0/17841400000000000?fields=business_discovery.username"
    "(baker){id,username,followers_count,media{id,caption,like_count,timestamp}}"
)


def ig_page(n: int, media: list, **extra: Any) -> str:
    return line(
        G.replace("baker", f"baker{n}"),
        {
            "business_discovery": {
                "id": f"178{n}",
                "username": f"baker{n}",
                "followers_count": 20000,
                "media_count": 9,
                "media": {"data": media},
                **extra,
            },
            "id": "17841400000000000",
        },
    )


def ig_media(n: int, **extra: Any) -> dict:
    return {
        "id": f"90{n}",
        "caption": f"bake {n} #bread",
        "like_count": 10,
        "comments_count": 1,
        "timestamp": "2026-11-19T10:00:00+0000",
        **extra,
    }


def instagram() -> None:
    def ig(name: str, bad: dict, reason: str, desc: str) -> None:
        case(
            "instagram",
            "business_discovery",
            name,
            [ig_page(1, [ig_media(1)]), ig_page(2, [ig_media(2), bad]), ig_page(3, [ig_media(4)])],
            expect(
                desc,
                {"accounts": 3, "account_snapshots": 3, "posts": 3, "post_metric_snapshots": 3},
                [(2, 1, reason)],
            ),
        )

    ig("count_above_int64", ig_media(3, like_count=BIG), "like_count", "likes > int64")
    ig("negative_count", ig_media(3, like_count=-1), "negative count like_count", "negative likes")
    ig(
        "lone_surrogate",
        ig_media(3, caption="\ud83c #bread"),
        "lone surrogate",
        "a lone surrogate in a caption",
    )
    ig(
        "timestamp_before_year_1",
        ig_media(3, timestamp="0001-01-01T00:00:00+0100"),
        "outside the range",
        "a media timestamp before year 1 UTC",
    )


T = "https://open.tiktokapis.com/v2/research"


def tt_video(n: int, **extra: Any) -> dict:
    return {
        "id": 7320768196569599000 + n,
        "username": "baker",
        "create_time": 1763546400,
        "video_description": f"v{n}",
        "view_count": 100,
        "like_count": 10,
        "comment_count": 1,
        "share_count": 1,
        **extra,
    }


def tt_page(videos: list) -> str:
    query = {
        "query": {
            "and": [{"operation": "EQ", "field_name": "username", "field_values": ["baker"]}]
        },
        "max_count": 100,
    }
    return line(
        f"{T}/video/query/?fields=id",
        {"data": {"videos": videos, "has_more": False}, "error": {"code": "ok"}},
        request_body=query,
    )


def tiktok() -> None:
    def tt(name: str, bad: dict, reason: str, desc: str) -> None:
        case(
            "tiktok",
            "video_query",
            name,
            [tt_page([tt_video(1)]), tt_page([tt_video(2), bad]), tt_page([tt_video(4)])],
            expect(desc, {"posts": 3, "post_metric_snapshots": 3}, [(2, 1, reason)]),
        )

    tt("count_above_int64", tt_video(3, view_count=HUGE), "view_count", "views > int64")
    tt("negative_count", tt_video(3, view_count=-2), "negative count view_count", "negative views")
    tt(
        "lone_surrogate",
        tt_video(3, video_description="\ud83c"),
        "lone surrogate",
        "a lone surrogate in a description",
    )
    info = {
        "data": {"display_name": "Baker", "follower_count": 20000, "video_count": 3},
        "error": {"code": "ok"},
    }
    big = {"data": {"display_name": "Baker", "follower_count": BIG}, "error": {"code": "ok"}}
    case(
        "tiktok",
        "user_info",
        "count_above_int64",
        [
            line(f"{T}/user/info/", info, request_body={"username": "baker"}),
            line(f"{T}/user/info/", big, request_body={"username": "other"}),
        ],
        expect(
            "followers > int64",
            {"accounts": 1, "account_snapshots": 1},
            [(2, -1, "follower_count")],
        ),
    )


Y = "https://www.googleapis.com/youtube/v3"


def yt_video(n: int, **stats: Any) -> dict:
    return {
        "id": f"vid{n}",
        "snippet": {"publishedAt": "2026-11-19T10:00:00Z", "channelId": "UC1", "title": f"t{n}"},
        "statistics": {"viewCount": "100", "likeCount": "10", **stats},
    }


def youtube() -> None:
    case(
        "youtube",
        "videos",
        "count_above_int64",
        [
            line(f"{Y}/videos?id=vid1", {"items": [yt_video(1)]}),
            line(
                f"{Y}/videos?id=vid2,vid3",
                {"items": [yt_video(2), yt_video(3, viewCount=str(BIG))]},
            ),
            line(f"{Y}/videos?id=vid4", {"items": [yt_video(4)]}),
        ],
        expect(
            "views > int64 (YouTube sends counts as strings)",
            {"posts": 3, "post_metric_snapshots": 3},
            [(2, 1, "viewCount")],
        ),
    )
    channel = {
        "id": "UC2",
        "snippet": {"title": "c"},
        "statistics": {"subscriberCount": str(HUGE), "videoCount": "3"},
    }
    case(
        "youtube",
        "channels",
        "count_above_int64",
        [
            line(
                f"{Y}/channels?id=UC1",
                {"items": [{**channel, "id": "UC1", "statistics": {"subscriberCount": "20000"}}]},
            ),
            line(f"{Y}/channels?id=UC2", {"items": [channel]}),
        ],
        expect(
            "subscribers > int64",
            {"accounts": 1, "account_snapshots": 1},
            [(2, 0, "subscriberCount")],
        ),
    )


def main() -> None:
    for build in (mastodon, bluesky, instagram, tiktok, youtube):
        build()
    if HERE.exists():
        shutil.rmtree(HERE)
    for platform, endpoint, name, data, exp, gz in _cases:
        folder = HERE / platform / endpoint
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / (f"{name}.jsonl.gz" if gz else f"{name}.jsonl")
        path.write_bytes(data)
        exp = {"platform": platform, "endpoint": endpoint, "file": path.name, **exp}
        (folder / f"{name}.expect.json").write_text(json.dumps(exp, indent=2) + "\n")
    print(f"wrote {len(_cases)} cases to {HERE}")


if __name__ == "__main__":
    main()
