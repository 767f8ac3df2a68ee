"""YouTube pages → canonical rows: string counts, hidden counts, hashtags from text,
unknown ids, escaped search snippets, and rejects for error pages and bad items."""

from __future__ import annotations

import json
from datetime import datetime
from urllib.parse import urlencode

from ingest.batch import MappedBatch
from ingest.pages import PageRef, RecordedPage
from ingest.youtube.mapping import (
    DISCOVERY_MAPPERS,
    MAPPERS,
    hashtags,
    map_channels,
    map_playlist_items,
    map_search,
    map_videos,
)
from radar.canonical import (
    Account,
    AccountDiscovery,
    AccountSnapshot,
    FollowerPrecision,
    Post,
    PostDisclosure,
    PostKind,
    PostMetricSnapshot,
)

FETCHED = datetime(2026, 11, 20, 6)
API = "https://www.googleapis.com/youtube/v3"
ALICE = "UCalice" + "A" * 17  # channel ids are UC + 22 characters
BOB = "UCbob" + "B" * 19


def url(endpoint: str, **params: str) -> str:
    return f"{API}/{endpoint}?{urlencode({**params, 'key': 'REDACTED'})}"


def page(body, page_url: str, status: int = 200, raw: str | None = None) -> RecordedPage:
    data = raw.encode() if raw is not None else json.dumps(body).encode()
    return RecordedPage(PageRef("feed/x.jsonl", 3), FETCHED, "GET", page_url, status, {}, data)


def channel(channel_id: str, custom: str | None, statistics: dict) -> dict:
    snippet = {
        "title": "Alice Bakes",
        "description": "Sourdough + rye",
        "publishedAt": "2019-03-02T11:22:33Z",
        "country": "GB",
    }
    if custom is not None:
        snippet["customUrl"] = custom
    return {
        "kind": "youtube#channel",
        "etag": "e",
        "id": channel_id,
        "snippet": snippet,
        "contentDetails": {"relatedPlaylists": {"likes": "", "uploads": "UU" + channel_id[2:]}},
        "statistics": statistics,
    }


def channels_page(*items: dict) -> dict:
    return {
        "kind": "youtube#channelListResponse",
        "etag": "e",
        "pageInfo": {"totalResults": len(items), "resultsPerPage": 5},
        "items": list(items),
    }


def video(video_id: str, statistics: dict | None, **snippet: object) -> dict:
    item: dict = {
        "kind": "youtube#video",
        "id": video_id,
        "snippet": {
            "publishedAt": "2026-11-19T17:00:06Z",
            "channelId": ALICE,
            "title": "Sourdough in 60s #Shorts",
            "description": "Starter tips 🍞 #sourdough #Baking",
            "tags": ["bread", "starter"],
            "categoryId": "26",
            "liveBroadcastContent": "none",
            "defaultAudioLanguage": "en",
            **snippet,
        },
        "contentDetails": {"duration": "PT58S", "caption": "false"},
    }
    if statistics is not None:
        item["statistics"] = statistics
    return item


def videos_page(*items: dict) -> dict:
    return {"kind": "youtube#videoListResponse", "items": list(items)}


def test_a_channel_becomes_an_account_and_a_rounded_snapshot():
    stats = {
        "viewCount": "2473819",
        "subscriberCount": "23800",
        "hiddenSubscriberCount": False,
        "videoCount": "183",
    }
    batch = MappedBatch("youtube")
    map_channels(
        page(channels_page(channel(ALICE, "@alicebakes", stats)), url("channels", id=ALICE)), batch
    )
    assert batch.accounts == [
        Account(
            platform="youtube",
            account_id=ALICE,
            handle="alicebakes",
            display_name="Alice Bakes",
            bio="Sourdough + rye",
            url="https://www.youtube.com/@alicebakes",
            created_at=datetime(2019, 3, 2, 11, 22, 33),
            discovered_via="tracked",
            observed_at=FETCHED,
        )
    ]
    assert batch.account_snapshots == [
        AccountSnapshot(
            platform="youtube",
            account_id=ALICE,
            observed_at=FETCHED,
            followers=23_800,
            following=None,
            posts_count=183,
            follower_precision=FollowerPrecision.rounded,
        )
    ]
    assert not batch.rejects


def test_hidden_subscriber_counts_are_null_whether_zero_or_missing():
    flagged = channel(ALICE, "@alicebakes", {"subscriberCount": "0", "hiddenSubscriberCount": True})
    missing = channel(BOB, None, {"viewCount": "10", "hiddenSubscriberCount": True})
    absent = channel("UCcarol" + "C" * 17, None, {"viewCount": "10", "videoCount": "3"})
    batch = MappedBatch("youtube")
    body = channels_page(flagged, missing, absent)
    map_channels(page(body, url("channels", id=f"{ALICE},{BOB},{absent['id']}")), batch)
    assert [(s.followers, s.follower_precision) for s in batch.account_snapshots] == [
        (None, "hidden"),
        (None, "hidden"),
        (None, "hidden"),
    ]
    # no customUrl: the handle falls back to the id and the url to /channel/<id>
    assert (batch.accounts[1].handle, batch.accounts[1].url) == (
        BOB,
        f"https://www.youtube.com/channel/{BOB}",
    )
    assert not batch.rejects


def test_unknown_ids_and_handles_come_back_as_200_without_items_and_are_rejected():
    stats = {"subscriberCount": "15000", "videoCount": "40"}
    unknown = "UCnobody" + "Z" * 16
    batch = MappedBatch("youtube")
    ids_page = page(
        channels_page(channel(ALICE, "@alicebakes", stats)),
        url("channels", id=f"{ALICE},{unknown}"),
    )
    map_channels(ids_page, batch)
    no_items = {"kind": "youtube#channelListResponse", "etag": "e", "pageInfo": {"totalResults": 0}}
    map_channels(page(no_items, url("channels", forHandle="@nobody")), batch)
    assert [a.account_id for a in batch.accounts] == [ALICE]
    # each missing one at -(its position in the request + 2): -1 is the whole page's
    assert [(r.entity, r.record_index, r.record) for r in batch.rejects] == [
        ("accounts", -3, unknown),
        ("accounts", -2, "@nobody"),
    ]
    assert "unknown channel id" in batch.rejects[0].reason
    assert "unknown handle @nobody" in batch.rejects[1].reason


def test_a_video_is_a_post_with_string_counts_parsed_and_no_shares():
    stats = {"viewCount": "15234", "likeCount": "812", "favoriteCount": "0", "commentCount": "37"}
    batch = MappedBatch("youtube")
    map_videos(
        page(videos_page(video("AbCdEfGhIjK", stats)), url("videos", id="AbCdEfGhIjK")), batch
    )
    assert batch.posts == [
        Post(
            platform="youtube",
            post_id="AbCdEfGhIjK",
            account_id=ALICE,
            created_at=datetime(2026, 11, 19, 17, 0, 6),
            text="Sourdough in 60s #Shorts\n\nStarter tips 🍞 #sourdough #Baking",
            language="en",
            # from title and description; snippet.tags (bread, starter) are not hashtags
            hashtags=["baking", "shorts", "sourdough"],
            url="https://www.youtube.com/watch?v=AbCdEfGhIjK",
            kind=PostKind.original,
            observed_at=FETCHED,
        )
    ]
    assert batch.post_metric_snapshots == [
        PostMetricSnapshot(
            platform="youtube",
            post_id="AbCdEfGhIjK",
            observed_at=FETCHED,
            likes=812,
            comments=37,
            shares=None,
            views=15_234,
        )
    ]


def test_hidden_likes_and_disabled_comments_are_null_not_zero():
    hidden = video("hiddenLikes", {"viewCount": "900", "commentCount": "4"})
    closed = video("noComments1", {"viewCount": "900", "likeCount": "12"})
    bare = video("noStats0000", None)
    batch = MappedBatch("youtube")
    ids = "hiddenLikes,noComments1,noStats0000"
    map_videos(page(videos_page(hidden, closed, bare), url("videos", id=ids)), batch)
    assert [(m.likes, m.comments, m.views) for m in batch.post_metric_snapshots] == [
        (None, 4, 900),
        (12, None, 900),
        (None, None, None),
    ]


def test_language_prefers_the_audio_language_and_drops_no_language_codes():
    audio = video("v1", {}, defaultAudioLanguage="de", defaultLanguage="en")
    text_only = video("v2", {}, defaultAudioLanguage=None, defaultLanguage="fr")
    music = video("v3", {}, defaultAudioLanguage="zxx")
    batch = MappedBatch("youtube")
    map_videos(page(videos_page(audio, text_only, music), url("videos", id="v1,v2,v3")), batch)
    assert [p.language for p in batch.posts] == ["de", "fr", None]


def test_hashtags_skip_url_fragments_entities_and_numbers():
    text = "it&#39;s #1 see https://x.example/page#part and /#frag #Küche_2 (#rye)"
    assert hashtags("Title #Sauerteig", text) == ["küche_2", "rye", "sauerteig"]


def test_a_video_that_did_not_come_back_is_rejected_and_a_bad_item_only_once():
    good = video("good0000000", {"viewCount": "5"})
    bad = video("bad00000000", {"viewCount": "lots"})
    batch = MappedBatch("youtube")
    ids = "good0000000,bad00000000,gone0000000"
    map_videos(page(videos_page(good, bad), url("videos", id=ids)), batch)
    assert [p.post_id for p in batch.posts] == ["good0000000"]
    bad_reject, gone_reject = batch.rejects
    assert (bad_reject.entity, bad_reject.record_index) == ("posts", 1)
    assert "statistics.viewCount" in bad_reject.reason and '"lots"' in bad_reject.record
    assert (gone_reject.entity, gone_reject.record) == ("posts", "gone0000000")
    assert gone_reject.record_index == -4  # third requested id: -(2 + 2)
    assert "not returned" in gone_reject.reason


def test_each_video_that_did_not_come_back_is_its_own_reject():
    batch = MappedBatch("youtube")
    map_videos(page(videos_page(video("a", {"viewCount": "1"})), url("videos", id="a,b,c")), batch)
    assert [p.post_id for p in batch.posts] == ["a"]
    assert [(r.entity, r.record_index, r.record) for r in batch.rejects] == [
        ("posts", -3, "b"),
        ("posts", -4, "c"),
    ]
    # the warehouse keeps one reject per (page, entity, index): none may collapse
    keys = {(r.entity, r.source_path, r.source_line, r.record_index) for r in batch.rejects}
    assert len(keys) == len(batch.rejects) == 2


def test_missing_channel_ids_get_distinct_indexes_apart_from_bad_items():
    bad = channel(BOB, "@bob", {"subscriberCount": "many"})
    missing = ["UCgone" + str(i) * 18 for i in range(3)]
    batch = MappedBatch("youtube")
    ids = ",".join([ALICE, missing[0], BOB, missing[1], missing[2], missing[0]])
    good = channel(ALICE, "@alicebakes", {"subscriberCount": "10"})
    map_channels(page(channels_page(good, bad), url("channels", id=ids)), batch)
    assert [(r.record_index, r.record) for r in batch.rejects[1:]] == [
        (-3, missing[0]),  # a repeated id is rejected once
        (-5, missing[1]),
        (-6, missing[2]),
    ]
    assert batch.rejects[0].record_index == 1  # the bad item keeps its place in items
    assert len({r.record_index for r in batch.rejects}) == len(batch.rejects) == 4


def test_error_pages_are_rejected_with_youtubes_reason():
    blocked = {
        "error": {
            "code": 403,
            "message": "Requests to this API youtube method ... are blocked.",
            "errors": [{"message": "…", "domain": "global", "reason": "forbidden"}],
            "status": "PERMISSION_DENIED",
            "details": [
                {
                    "@type": "type.googleapis.com/google.rpc.ErrorInfo",
                    "reason": "API_KEY_SERVICE_BLOCKED",
                    "domain": "googleapis.com",
                }
            ],
        }
    }
    missing = {
        "error": {
            "code": 404,
            "message": "The playlist identified with the request's playlistId cannot be found.",
            "errors": [{"domain": "youtube.playlistItem", "reason": "playlistNotFound"}],
        }
    }
    batch = MappedBatch("youtube")
    map_channels(page(blocked, url("channels", id=ALICE), status=403), batch)
    map_playlist_items(page(missing, url("playlistItems", playlistId="UUx"), status=404), batch)
    map_videos(page(None, url("videos", id="v1"), status=400, raw="<html>Bad</html>"), batch)
    assert [r.reason for r in batch.rejects] == [
        "HTTP 403 forbidden, API_KEY_SERVICE_BLOCKED",
        "HTTP 404 playlistNotFound",
        "HTTP 400",
    ]
    assert all(r.entity == "page" for r in batch.rejects)
    assert not batch.accounts and not batch.posts


def test_playlist_pages_map_to_nothing():
    body = {
        "items": [
            {
                "kind": "youtube#playlistItem",
                "snippet": {"publishedAt": "2026-11-20T00:00:00Z"},
                "contentDetails": {
                    "videoId": "AbCdEfGhIjK",
                    "videoPublishedAt": "2026-11-19T17:00:06Z",
                },
            }
        ]
    }
    batch = MappedBatch("youtube")
    map_playlist_items(page(body, url("playlistItems", playlistId="UUx")), batch)
    assert not any(batch.rows().values())


def test_a_truncated_page_is_one_reject_and_no_missing_ids():
    batch = MappedBatch("youtube")
    map_videos(page(None, url("videos", id="v1,v2"), raw='{"items": [{"id": "v1", "sni'), batch)
    (reject,) = batch.rejects
    assert reject.entity == "page" and reject.reason.startswith("body is not valid JSON")


def test_search_results_are_sightings_with_unescaped_titles_and_the_query_as_term():
    def result(channel_id: str, title: str) -> dict:
        return {
            "kind": "youtube#searchResult",
            "id": {"kind": "youtube#video", "videoId": "AbCdEfGhIjK"},
            "snippet": {
                "publishedAt": "2026-11-19T17:00:06Z",
                "channelId": channel_id,
                "title": "Alice&#39;s sourdough &amp; rye",
                "description": "…",
                "channelTitle": title,
                "liveBroadcastContent": "none",
            },
        }

    body = {
        "kind": "youtube#searchListResponse",
        "nextPageToken": "CDIQAA",
        "items": [
            result(ALICE, "Alice&#39;s Bakes &amp; Co"),
            result(ALICE, "Alice&#39;s Bakes &amp; Co"),
            result(BOB, "Bob"),
        ],
    }
    batch = MappedBatch("youtube")
    map_search(page(body, url("search", part="snippet", q="#Sauerteig", type="video")), batch)
    map_search(page(body, url("search", part="snippet", q="Rye Bread", type="video")), batch)
    assert batch.account_discoveries[:2] == [
        AccountDiscovery(
            platform="youtube",
            account_id=ALICE,
            term="#sauerteig",
            handle=ALICE,  # fetchable: the title (escaped in search) is not a handle
            followers=None,
            observed_at=FETCHED,
        ),
        AccountDiscovery(
            platform="youtube",
            account_id=BOB,
            term="#sauerteig",
            handle=BOB,
            followers=None,
            observed_at=FETCHED,
        ),
    ]
    assert [d.term for d in batch.account_discoveries[2:]] == ["rye bread", "rye bread"]
    assert not batch.posts and not batch.rejects


def test_the_endpoint_names():
    assert set(MAPPERS) == {"channels", "playlist_items", "videos", "recheck_videos"}
    assert set(DISCOVERY_MAPPERS) == {"search", "discovery_channels"}


def test_the_paid_promotion_flag_is_a_disclosure_true_or_false_and_absent_is_none():
    """hasPaidProductPlacement true or false is what the creator set (false replaces an
    earlier true on merge); a video without the part, or with an empty one, says nothing;
    a flag that is no boolean rejects the video like any malformed field."""
    items = [
        {
            **video("paidVideo01", {}),
            "paidProductPlacementDetails": {"hasPaidProductPlacement": True},
        },
        {
            **video("freeVideo01", {}),
            "paidProductPlacementDetails": {"hasPaidProductPlacement": False},
        },
        {**video("quietVideo1", {}), "paidProductPlacementDetails": {}},
        video("oldVideo001", {}),
        {
            **video("oddVideo001", {}),
            "paidProductPlacementDetails": {"hasPaidProductPlacement": "maybe"},
        },
    ]
    ids = ",".join(i["id"] for i in items)
    batch = MappedBatch("youtube")
    map_videos(page(videos_page(*items), url("videos", id=ids)), batch)
    assert batch.post_disclosures == [
        PostDisclosure(
            platform="youtube",
            post_id="paidVideo01",
            kind="paid_product_placement",
            disclosed=True,
            observed_at=FETCHED,
        ),
        PostDisclosure(
            platform="youtube",
            post_id="freeVideo01",
            kind="paid_product_placement",
            disclosed=False,
            observed_at=FETCHED,
        ),
    ]
    assert [p.post_id for p in batch.posts] == [
        "paidVideo01",
        "freeVideo01",
        "quietVideo1",
        "oldVideo001",
    ]
    assert [(r.record_index, "hasPaidProductPlacement" in r.reason) for r in batch.rejects] == [
        (4, True)
    ]
