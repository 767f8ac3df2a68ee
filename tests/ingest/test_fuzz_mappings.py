"""Property-based fuzzing of every platform mapping, the page reader, and the agreement of
the Mastodon bulk and Python paths.

Any input gives rows or rejects, never an exception: the mappers are called here without
the guard ``ingest.extract`` puts around them (``ingest.batch.guarded``), so that guard is
a safety net these tests show is not needed for any generated input. Every batch is landed
as Parquet too (an int past 64 bits or a lone surrogate would fail there).

CI-sized and reproducible: ``derandomize=True`` (examples come from a fixed seed), bounded
``max_examples``, no deadline. RADAR_FUZZ_EXAMPLES scales every test (default 1).
"""

from __future__ import annotations

import copy
import gzip
import json
import os
from datetime import date, datetime
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest.batch import MappedBatch
from ingest.bluesky.mapping import DISCOVERY_MAPPERS as BLUESKY_DISCOVERY
from ingest.bluesky.mapping import MAPPERS as BLUESKY
from ingest.extract import extract_fixture_batch
from ingest.instagram import mapping as instagram
from ingest.landing import land_batch
from ingest.mastodon.mapping import DISCOVERY_MAPPERS as MASTODON_DISCOVERY
from ingest.mastodon.mapping import MAPPERS as MASTODON
from ingest.pages import BadLine, PageRef, RecordedPage, scan_pages
from ingest.tiktok import mapping as tiktok
from ingest.youtube import mapping as youtube
from tests.corpus import build as corpus
from tests.helpers.warehouse_helpers import landed_rows

SCALE = float(os.environ.get("RADAR_FUZZ_EXAMPLES", "1"))
FUZZ = settings(
    max_examples=int(150 * SCALE),
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
AGREE = settings(FUZZ, max_examples=int(60 * SCALE))
FETCHED = datetime(2026, 11, 20, 6)

# values known to have broken a path, then anything JSON can hold
EDGE = st.sampled_from(
    [
        None,
        True,
        False,
        0,
        -1,
        -5,
        12.5,
        12.0,
        2**63 - 1,
        2**63,
        2**64 + 7,
        -(2**63) - 1,
        "",
        " ",
        "12",
        "-3",
        "1e3",
        "true",
        "yes",
        '{"a":1}',
        "[1]",
        "\ud83c",
        "a\udc00b",
        "\x00",
        "İΣ",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-05:00",
        "2026-02-30T00:00:00Z",
        "2026-11-19T24:00:00Z",
        "2026-11-19T10:00:00+23:59",
        "2026-11-19T10:00:00",
        "2026-11-19",
        "https://other.example/@x",
        "http://[::1",
        "alice@other.example",
        "<p>a<br>b</p>",
        "&amp;&nbsp;",
        "<!-- c -->",
        [],
        {},
        [None],
        {"a": 1},
        {"uri": "https://q.example/1"},
        {"quoted_status": {"uri": 5}},
    ]
)
LEAF = (
    st.none()
    | st.booleans()
    | st.integers(-(2**65), 2**65)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
)
JSON = st.recursive(
    LEAF,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
VALUE = EDGE | JSON


def _paths(value, prefix=()):
    """Every path into a JSON value (dict keys and list positions)."""
    yield prefix
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _paths(inner, (*prefix, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield from _paths(inner, (*prefix, i))


def _set(doc, path, value):
    if not path:
        return value
    target = doc
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return doc


@st.composite
def mutated(draw, base):
    """``base`` with one to three of its values (at any depth) replaced, or deleted."""
    doc = copy.deepcopy(base)
    for _ in range(draw(st.integers(1, 3))):
        paths = list(_paths(doc))
        path = draw(st.sampled_from(paths))
        if path and draw(st.integers(0, 5)) == 0 and isinstance(doc, dict):
            parent = doc
            for step in path[:-1]:
                parent = parent[step]
            if isinstance(parent, dict):
                del parent[path[-1]]
                continue
        doc = _set(doc, path, copy.deepcopy(draw(VALUE)))
    return doc


def _body(value) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode("utf-8", "backslashreplace")


def _page(url: str, body, status: int = 200, request_body: str | None = None) -> RecordedPage:
    return RecordedPage(
        PageRef("fuzz.jsonl", 1), FETCHED, "GET", url, status, {}, _body(body), request_body
    )


def _map_and_land(mapper, page: RecordedPage, platform: str, tmp: Path) -> MappedBatch:
    batch = MappedBatch(platform)
    mapper(page, batch)  # unguarded: must not raise
    land_batch(batch, tmp, date(2026, 11, 20), "fuzz", "t")
    return batch


M = corpus.M
MASTODON_PAGES = {
    "account_statuses": (
        f"{M}/api/v1/accounts/1/statuses",
        [corpus.m_status("anna", 1), corpus.m_status("anna", 2)],
    ),
    "accounts_lookup": (f"{M}/api/v1/accounts/lookup?acct=anna", corpus.m_account("anna")),
}
_boost = corpus.m_status("anna", 3)
_boost["reblog"] = {
    **corpus.m_status("carol", 4),
    "quote": {"quoted_status": {"uri": "u"}},
    "tags": [{"name": "Brot"}],
    "mentions": [{"acct": "bob"}],
}
_boost["account"]["moved"] = corpus.m_account("anna2")
MASTODON_PAGES["account_statuses_boost"] = (MASTODON_PAGES["account_statuses"][0], [_boost])


@FUZZ
@given(endpoint=st.sampled_from(sorted(MASTODON_PAGES)), data=st.data())
def test_mastodon_mapping_never_raises(endpoint, data, tmp_path_factory):
    url, base = MASTODON_PAGES[endpoint]
    body = data.draw(mutated(base))
    mapper = {**MASTODON, **MASTODON_DISCOVERY}[endpoint.replace("_boost", "")]
    _map_and_land(mapper, _page(url, body), "mastodon", tmp_path_factory.mktemp("m"))
    # the discovery endpoints read the same shapes
    if endpoint != "accounts_lookup":
        _map_and_land(
            MASTODON_DISCOVERY["tag_timeline"],
            _page(f"{M}/api/v1/timelines/tag/x", body),
            "mastodon",
            tmp_path_factory.mktemp("m"),
        )


@FUZZ
@given(data=st.data())
def test_the_mastodon_status_read_never_raises(data, tmp_path_factory):
    """A re-read by id (``status``): any answer, 200 or 404, with any fragment."""
    fragment = data.draw(st.sampled_from(["", f"{M}/users/anna/statuses/1", "%zz", "#"]))
    status = data.draw(st.sampled_from([200, 200, 404]))
    base = corpus.m_status("anna", 1) if status == 200 else {"error": "Record not found"}
    page = _page(f"{M}/api/v1/statuses/1#{fragment}", data.draw(mutated(base)), status)
    _map_and_land(MASTODON["status"], page, "mastodon", tmp_path_factory.mktemp("m"))


X = corpus.X
BLUESKY_PAGES = {
    "get_profiles": (
        f"{X}/app.bsky.actor.getProfiles?actors=a",
        {"profiles": [corpus.b_profile(1)]},
    ),
    "get_author_feed": (
        f"{X}/app.bsky.feed.getAuthorFeed?actor=did:plc:p1",
        {
            "feed": [
                {
                    "post": corpus.b_post(
                        1,
                        embed={"$type": "app.bsky.embed.record#view", "record": {"uri": "at://q"}},
                    )
                },
                {
                    "post": corpus.b_post(2),
                    "reason": {
                        "$type": "app.bsky.feed.defs#reasonRepost",
                        "by": {"did": "did:plc:r", "handle": "r"},
                        "uri": "at://r/repost/1",
                        "indexedAt": "2026-11-19T11:00:00Z",
                    },
                },
            ]
        },
    ),
    "get_posts": (
        f"{X}/app.bsky.feed.getPosts?uris=at://did:plc:p1/app.bsky.feed.post/1",
        {
            "posts": [
                corpus.b_post(
                    1,
                    record={
                        "facets": [
                            {
                                "index": {"byteStart": 0, "byteEnd": 2},
                                "features": [
                                    {"$type": "app.bsky.richtext.facet#tag", "tag": "Brot"}
                                ],
                            }
                        ]
                    },
                )
            ]
        },
    ),
    "search_posts": (f"{X}/app.bsky.feed.searchPosts?q=bread", {"posts": [corpus.b_post(1)]}),
    "search_actors": (
        f"{X}/app.bsky.actor.searchActors?q=bread",
        {"actors": [{"did": "did:plc:a", "handle": "a"}]},
    ),
    "discovery_profiles": (
        f"{X}/app.bsky.actor.getProfiles?actors=a",
        {"profiles": [corpus.b_profile(1)]},
    ),
}


@FUZZ
@given(endpoint=st.sampled_from(sorted(BLUESKY_PAGES)), data=st.data())
def test_bluesky_mapping_never_raises(endpoint, data, tmp_path_factory):
    url, base = BLUESKY_PAGES[endpoint]
    body = data.draw(mutated(base))
    mapper = {**BLUESKY, **BLUESKY_DISCOVERY}[endpoint]
    _map_and_land(mapper, _page(url, body), "bluesky", tmp_path_factory.mktemp("b"))


@FUZZ
@given(endpoint=st.sampled_from(["business_discovery", "candidate_discovery"]), data=st.data())
def test_instagram_mapping_never_raises(endpoint, data, tmp_path_factory):
    body = json.loads(corpus.ig_page(1, [corpus.ig_media(1), corpus.ig_media(2)]))
    url, base = body["request"]["url"], body["response"]["body"]
    status = data.draw(st.sampled_from([200, 200, 200, 400]))
    mapper = {**instagram.MAPPERS, **instagram.DISCOVERY_MAPPERS}[endpoint]
    _map_and_land(
        mapper,
        _page(url, data.draw(mutated(base)), status),
        "instagram",
        tmp_path_factory.mktemp("i"),
    )


@FUZZ
@given(endpoint=st.sampled_from(["video_query", "video_search", "user_info"]), data=st.data())
def test_tiktok_mapping_never_raises(endpoint, data, tmp_path_factory):
    entry = json.loads(corpus.tt_page([corpus.tt_video(1), corpus.tt_video(2)]))
    url, base = entry["request"]["url"], entry["response"]["body"]
    request = entry["request"]["body"]
    if endpoint == "user_info":
        base = {"data": {"display_name": "B", "follower_count": 5}, "error": {"code": "ok"}}
        request = {"username": "baker"}
    elif endpoint == "video_search":
        request = {
            "query": {
                "and": [
                    {"operation": "IN", "field_name": "hashtag_name", "field_values": ["bread"]}
                ]
            }
        }
    request = data.draw(st.one_of(st.just(request), mutated(request)))
    mapper = {**tiktok.MAPPERS, **tiktok.DISCOVERY_MAPPERS}[endpoint]
    page = _page(url, data.draw(mutated(base)), request_body=json.dumps(request))
    _map_and_land(mapper, page, "tiktok", tmp_path_factory.mktemp("t"))


Y = corpus.Y
YOUTUBE_PAGES = {
    "videos": (f"{Y}/videos?id=vid1,vid2", {"items": [corpus.yt_video(1), corpus.yt_video(2)]}),
    "channels": (
        f"{Y}/channels?id=UC1",
        {
            "items": [
                {
                    "id": "UC1",
                    "snippet": {
                        "title": "c",
                        "customUrl": "@c",
                        "publishedAt": "2020-01-01T00:00:00Z",
                    },
                    "statistics": {"subscriberCount": "20000", "videoCount": "3"},
                }
            ]
        },
    ),
    "playlist_items": (f"{Y}/playlistItems?playlistId=UU1", {"items": []}),
    "search": (
        f"{Y}/search?q=%23bread",
        {
            "items": [
                {
                    "id": {"kind": "youtube#video", "videoId": "v"},
                    "snippet": {"channelId": "UC1", "title": "t"},
                }
            ]
        },
    ),
}
YOUTUBE_PAGES["discovery_channels"] = YOUTUBE_PAGES["channels"]
YOUTUBE_PAGES["recheck_videos"] = YOUTUBE_PAGES["videos"]


@FUZZ
@given(endpoint=st.sampled_from(sorted(YOUTUBE_PAGES)), data=st.data())
def test_youtube_mapping_never_raises(endpoint, data, tmp_path_factory):
    url, base = YOUTUBE_PAGES[endpoint]
    status = data.draw(st.sampled_from([200, 200, 200, 403, 404]))
    mapper = {**youtube.MAPPERS, **youtube.DISCOVERY_MAPPERS}[endpoint]
    _map_and_land(
        mapper,
        _page(url, data.draw(mutated(base)), status),
        "youtube",
        tmp_path_factory.mktemp("y"),
    )


# --- the page reader ----------------------------------------------------------------------

GOOD_LINE = corpus.m_statuses("anna", [corpus.m_status("anna", 1)]).encode()


@st.composite
def damaged_line(draw) -> bytes:
    kind = draw(st.integers(0, 4))
    if kind == 0:
        return draw(st.binary(max_size=60)).replace(b"\n", b" ")
    if kind == 1:  # cut short
        return GOOD_LINE[: draw(st.integers(0, len(GOOD_LINE)))]
    if kind == 2:  # bytes spliced in
        at = draw(st.integers(0, len(GOOD_LINE)))
        junk = draw(st.binary(min_size=1, max_size=4)).replace(b"\n", b"\x00")
        return GOOD_LINE[:at] + junk + GOOD_LINE[at:]
    if kind == 3:  # a recorded page whose parts are anything
        entry = json.loads(GOOD_LINE)
        return json.dumps(draw(mutated(entry)), ensure_ascii=False).encode(
            "utf-8", "backslashreplace"
        )
    return b"[" * draw(st.integers(900, 3000)) + b"]" * 5


@FUZZ
@given(
    lines=st.lists(st.one_of(st.just(GOOD_LINE), damaged_line()), min_size=1, max_size=5),
    gzipped=st.booleans(),
    cut=st.integers(0, 400),
)
def test_the_page_reader_never_raises(lines, gzipped, cut, tmp_path_factory):
    data = b"\n".join(lines) + b"\n"
    path = tmp_path_factory.mktemp("p") / "x.jsonl"
    if gzipped:
        whole = gzip.compress(data)
        data = whole[: max(len(whole) - cut, 0)] if cut else whole
    path.write_bytes(data)
    found = list(scan_pages(path))
    good = sum(1 for line in lines if line == GOOD_LINE)
    pages = [f for f in found if isinstance(f, RecordedPage)]
    if not gzipped or not cut:
        assert len(pages) >= good
        assert all(isinstance(f, BadLine) for f in found if f not in pages)
    batch = MappedBatch("mastodon")
    for f in found:
        if isinstance(f, BadLine):
            batch.reject_at(f.ref, FETCHED, "page", -1, f.reason, f.text)
        else:
            MASTODON["account_statuses"](f, batch)
    land_batch(batch, tmp_path_factory.mktemp("l"), date(2026, 11, 20), "fuzz", "t")


# --- the Mastodon bulk and Python paths agree ---------------------------------------------


@AGREE
@given(endpoint=st.sampled_from(sorted(MASTODON_PAGES)), data=st.data())
def test_the_mastodon_bulk_and_python_paths_agree(endpoint, data, tmp_path_factory):
    url, base = MASTODON_PAGES[endpoint]
    real = endpoint.replace("_boost", "")
    feed = tmp_path_factory.mktemp("feed")
    rel = f"mastodon/{real}/dt=2026-11-20/part-0.jsonl"
    (feed / rel).parent.mkdir(parents=True)
    lines = [corpus.line(url, base)]
    for _ in range(data.draw(st.integers(1, 2))):
        lines.append(corpus.line(url, data.draw(mutated(base))))
    (feed / rel).write_bytes(b"".join(x.encode("utf-8", "backslashreplace") + b"\n" for x in lines))
    out = tmp_path_factory.mktemp("out")
    for way in ("bulk", "python"):
        extract_fixture_batch(
            feed, "mastodon", [rel], out / way, date(2026, 11, 20), "r", "t", bulk=way == "bulk"
        )
    assert landed_rows(out / "bulk" / "mastodon") == landed_rows(out / "python" / "mastodon")
