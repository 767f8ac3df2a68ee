"""TikTok Research API pages → canonical rows, every quirk of section 5, rejects."""

from __future__ import annotations

import gzip
import json
from datetime import datetime

from ingest.batch import MappedBatch
from ingest.pages import PageRef, RecordedPage, read_pages, request_key
from ingest.tiktok.mapping import (
    DISCOVERY_MAPPERS,
    MAPPERS,
    map_user_info,
    map_video,
    map_video_query,
    map_video_search,
)
from ingest.tiktok.models import Video
from radar.canonical import (
    Account,
    AccountDiscovery,
    AccountSnapshot,
    FollowerPrecision,
    Post,
    PostKind,
    PostMetricSnapshot,
)

FETCHED = datetime(2026, 11, 20, 6)
API = "https://open.tiktokapis.com"
USER_INFO = f"{API}/v2/research/user/info/?fields=display_name%2Cfollower_count"
VIDEO_QUERY = f"{API}/v2/research/video/query/?fields=id%2Cusername"
OK = {"code": "ok", "message": "", "log_id": "202207280326050102231031430C7E754E"}
BIG_ID = 7320768196569599275  # above 2**53: a float would make it ...9599488
BIG_MUSIC = 7159460238003800066


def page(body, url=VIDEO_QUERY, status=200, request=None, raw=None) -> RecordedPage:
    data = raw.encode() if raw is not None else json.dumps(body, ensure_ascii=False).encode()
    return RecordedPage(
        PageRef("feed/tiktok.jsonl", 4),
        FETCHED,
        "POST",
        url,
        status,
        {},
        data,
        request_key(request),
    )


def user_query(username: str) -> dict:
    return {
        "query": {
            "and": [{"operation": "EQ", "field_name": "username", "field_values": [username]}]
        },
        "start_date": "20261022",
        "end_date": "20261120",
        "max_count": 100,
    }


def video(**fields) -> dict:
    return {
        "id": BIG_ID,
        "username": "s.clovis",
        "create_time": 1704499196,
        "region_code": "US",
        "video_description": "#duet with @MarvelKitties2022 #cats ",
        "hashtag_names": ["cats", "duet"],
        "view_count": 4,
        "like_count": 6,
        "comment_count": 0,
        "share_count": 0,
        "music_id": BIG_MUSIC,
        **fields,
    }


def videos_body(videos: list[dict], has_more: bool = False) -> dict:
    return {
        "data": {
            "videos": videos,
            "cursor": 100,
            "search_id": "7354367454467855403",
            "has_more": has_more,
        },
        "error": OK,
    }


def test_user_info_maps_account_and_exact_follower_snapshot_named_by_the_request():
    body = {
        "data": {
            "display_name": "my nick name",
            "bio_description": "my_bio",
            "avatar_url": "https://some_cdn.com/my_avatar",
            "is_verified": False,
            "follower_count": 23_200,
            "following_count": 45,
            "likes_count": 27155089,
            "video_count": 44,
        },
        "error": OK,
    }
    batch = MappedBatch("tiktok")
    map_user_info(page(body, url=USER_INFO, request={"username": "Joe123"}), batch)
    assert batch.accounts == [
        Account(
            platform="tiktok",
            account_id="joe123",
            handle="Joe123",
            display_name="my nick name",
            bio="my_bio",
            url="https://www.tiktok.com/@Joe123",
            discovered_via="tracked",
            observed_at=FETCHED,
        )
    ]
    assert batch.account_snapshots == [
        AccountSnapshot(
            platform="tiktok",
            account_id="joe123",
            observed_at=FETCHED,
            followers=23_200,
            following=45,
            posts_count=44,
            follower_precision=FollowerPrecision.exact,
        )
    ]
    assert not batch.rejects


def test_absent_counts_stay_null_and_the_follower_count_is_hidden():
    body = {"data": {"display_name": ""}, "error": OK}
    batch = MappedBatch("tiktok")
    map_user_info(page(body, url=USER_INFO, request={"username": "quiet"}), batch)
    (snapshot,) = batch.account_snapshots
    assert (snapshot.followers, snapshot.following, snapshot.posts_count) == (None, None, None)
    assert snapshot.follower_precision == "hidden" and batch.accounts[0].display_name is None


def test_a_user_info_page_without_its_request_body_is_rejected():
    batch = MappedBatch("tiktok")
    map_user_info(page({"data": {"follower_count": 1}, "error": OK}, url=USER_INFO), batch)
    assert not batch.accounts
    assert [r.reason for r in batch.rejects] == ["no username in the request body"]


def test_a_video_maps_to_a_post_and_a_metric_snapshot_with_exact_ids():
    batch = MappedBatch("tiktok")
    map_video_query(page(videos_body([video()]), request=user_query("s.clovis")), batch)
    assert batch.posts == [
        Post(
            platform="tiktok",
            post_id="7320768196569599275",
            account_id="s.clovis",
            created_at=datetime(2024, 1, 5, 23, 59, 56),  # epoch seconds, UTC
            text="#duet with @MarvelKitties2022 #cats ",
            hashtags=["cats", "duet"],
            mentions=["marvelkitties2022"],
            url="https://www.tiktok.com/@s.clovis/video/7320768196569599275",
            kind=PostKind.original,
            observed_at=FETCHED,
        )
    ]
    assert batch.post_metric_snapshots == [
        PostMetricSnapshot(
            platform="tiktok",
            post_id="7320768196569599275",
            observed_at=FETCHED,
            likes=6,
            comments=0,  # a real zero stays zero
            shares=0,
            views=4,
        )
    ]
    assert not batch.rejects


def test_nul_bytes_in_usernames_are_stripped_and_any_script_tags_survive():
    username = "حموديالباشا\u0000\u0000\u00004"
    item = video(
        username=username,
        video_description="Cafe\u0301 #Sauerteig mail me a@b.de",
        hashtag_names=["الباشا👑", "sauerteig", "cafe\u0301"],
    )
    batch = MappedBatch("tiktok")
    map_video_query(page(videos_body([item])), batch)
    (post,) = batch.posts
    assert post.account_id == "حموديالباشا4" and "\x00" not in post.url
    assert post.url == f"https://www.tiktok.com/@حموديالباشا4/video/{BIG_ID}"
    assert post.hashtags == sorted(["الباشا👑", "sauerteig", "café"])  # NFC, lowercase
    assert post.text == "Café #Sauerteig mail me a@b.de" and post.mentions == []


def test_missing_counts_are_null_never_zero_and_a_missing_username_comes_from_the_query():
    item = video(username=None)
    for name in ("view_count", "like_count", "comment_count", "share_count"):
        del item[name]
    batch = MappedBatch("tiktok")
    map_video_query(page(videos_body([item]), request=user_query("s.clovis")), batch)
    (metrics,) = batch.post_metric_snapshots
    assert (metrics.views, metrics.likes, metrics.comments, metrics.shares) == (None,) * 4
    assert batch.posts[0].account_id == "s.clovis"


def test_a_float_id_or_a_bad_record_is_rejected_and_the_rest_of_the_page_kept():
    # a float id has lost its digits already: refuse it rather than store the wrong post
    float_id = json.dumps(videos_body([video(), video()])).replace(
        str(BIG_ID), "7.320768196569599e18", 1
    )
    batch = MappedBatch("tiktok")
    map_video_query(page(None, raw=float_id), batch)
    assert [p.post_id for p in batch.posts] == [str(BIG_ID)]
    (reject,) = batch.rejects
    assert (reject.entity, reject.record_index, reject.source_line) == ("posts", 0, 4)
    assert "float" in reject.reason

    batch = MappedBatch("tiktok")
    map_video_query(page(videos_body([video(create_time="yesterday"), video(id=1)])), batch)
    assert [p.post_id for p in batch.posts] == ["1"]
    assert "create_time" in batch.rejects[0].reason


def test_a_create_time_out_of_range_is_a_record_reject_not_a_crash():
    items = [
        video(id=1, create_time=1704499196000),  # milliseconds: year 55998
        video(id=2, create_time=-5),
        video(id=3, create_time=10**30),
        video(id=4),
    ]
    tag = {
        "query": {
            "and": [{"operation": "IN", "field_name": "hashtag_name", "field_values": ["cats"]}]
        }
    }
    for mapper, entity, request in (
        (map_video_query, "posts", user_query("s.clovis")),
        (map_video_search, "account_discoveries", tag),
    ):
        batch = MappedBatch("tiktok")
        mapper(page(videos_body(items), request=request), batch)
        assert [(r.entity, r.record_index) for r in batch.rejects] == [
            (entity, 0),
            (entity, 1),
            (entity, 2),
        ]
        assert all("create_time" in r.reason for r in batch.rejects)
    batch = MappedBatch("tiktok")
    map_video_query(page(videos_body(items), request=user_query("s.clovis")), batch)
    assert [p.post_id for p in batch.posts] == ["4"]


def test_a_create_time_that_will_not_convert_is_rejected_even_past_the_model():
    batch = MappedBatch("tiktok")
    unchecked = Video.model_construct(id="9", username="anna", create_time=10**20)
    map_video(unchecked, 3, page(videos_body([])), batch)
    assert not batch.posts and not batch.post_metric_snapshots
    ((entity, index, reason),) = [(r.entity, r.record_index, r.reason) for r in batch.rejects]
    assert (entity, index) == ("posts", 3) and reason.startswith("create_time")


def test_a_recorded_feed_line_keeps_big_ids_exact(tmp_path):
    """Fixture feeds hold the body as JSON: read back through Python's json, ids stay ints."""
    line = {
        "fetched_at": "2026-11-20T06:00:00Z",
        "request": {"method": "POST", "url": VIDEO_QUERY, "body": user_query("s.clovis")},
        "response": {"status": 200, "headers": {}, "body": videos_body([video()])},
    }
    path = tmp_path / "video_query" / "dt=2026-11-20" / "x.jsonl.gz"
    path.parent.mkdir(parents=True)
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write(json.dumps(line) + "\n")
    batch = MappedBatch("tiktok")
    map_video_query(next(read_pages(path)), batch)
    assert batch.posts[0].post_id == "7320768196569599275"


def test_error_pages_are_rejected_with_the_platforms_code_and_message():
    cases = [
        (
            400,
            {
                "error": {
                    "code": "invalid_params",
                    "message": "joe is invalid: cannot find the user",
                }
            },
            "HTTP 400 invalid_params: joe is invalid: cannot find the user",
        ),
        (
            400,
            {
                "error": {
                    "code": "invalid_params",
                    "message": "API cannot return this user's information",
                }
            },
            "HTTP 400 invalid_params: API cannot return this user's information",
        ),
        (
            400,
            {
                "error": {
                    "code": "invalid_params",
                    "message": "Search Id 7201388525814961198 is invalid or expired",
                }
            },
            "HTTP 400 invalid_params: Search Id 7201388525814961198 is invalid or expired",
        ),
        (504, None, "HTTP 504"),
        # a 200 whose envelope is not "ok" is no data either
        (
            200,
            {"data": {}, "error": {"code": "internal_error", "message": "try later"}},
            "HTTP 200 internal_error: try later",
        ),
    ]
    for status, body, reason in cases:
        batch = MappedBatch("tiktok")
        raw = "<html><body>504 Gateway Time-out</body></html>" if body is None else None
        map_user_info(
            page(body, url=USER_INFO, status=status, request={"username": "joe"}, raw=raw), batch
        )
        map_video_query(page(body, status=status, raw=raw), batch)
        assert [r.reason for r in batch.rejects] == [reason, reason]
        assert {r.entity for r in batch.rejects} == {"page"}
        assert not batch.accounts and not batch.posts


def test_hashtag_search_sightings_are_hash_terms_once_per_account():
    request = {
        "query": {
            "and": [
                {"operation": "IN", "field_name": "hashtag_name", "field_values": ["sauerteig"]}
            ]
        },
        "start_date": "20261113",
        "end_date": "20261119",
        "max_count": 100,
    }
    videos = [
        video(id=1, username="Bäcker.Anna", hashtag_names=["sauerteig"]),
        video(id=2, username="bäcker.anna", hashtag_names=["sauerteig", "brot"]),
        video(id=3, username="brotbox\u0000", hashtag_names=[]),
    ]
    batch = MappedBatch("tiktok")
    map_video_search(page(videos_body(videos), request=request), batch)
    assert batch.account_discoveries == [
        AccountDiscovery(
            platform="tiktok",
            account_id="bäcker.anna",
            term="#sauerteig",
            handle="Bäcker.Anna",
            followers=None,  # video results carry no follower counts
            observed_at=FETCHED,
        ),
        AccountDiscovery(
            platform="tiktok",
            account_id="brotbox",
            term="#sauerteig",
            handle="brotbox",
            observed_at=FETCHED,
        ),
    ]
    assert not batch.posts  # nobody tracks them yet


def test_keyword_and_several_tag_searches_name_the_terms_each_video_matched():
    keyword = {
        "query": {
            "and": [
                {"operation": "EQ", "field_name": "keyword", "field_values": ["Sourdough Starter"]}
            ]
        },
        "start_date": "20261113",
        "end_date": "20261119",
        "max_count": 100,
    }
    batch = MappedBatch("tiktok")
    map_video_search(page(videos_body([video(username="anna")]), request=keyword), batch)
    assert [(d.account_id, d.term) for d in batch.account_discoveries] == [
        ("anna", "sourdough starter")
    ]
    tags = {
        "query": {
            "and": [
                {
                    "operation": "IN",
                    "field_name": "hashtag_name",
                    "field_values": ["brot", "sauerteig"],
                }
            ]
        },
    }
    videos = [
        video(username="anna", hashtag_names=["brot"]),
        video(username="ben", hashtag_names=["sauerteig", "brot"]),
    ]
    batch = MappedBatch("tiktok")
    map_video_search(page(videos_body(videos), request=tags), batch)
    assert [(d.account_id, d.term) for d in batch.account_discoveries] == [
        ("anna", "#brot"),
        ("ben", "#brot"),
        ("ben", "#sauerteig"),
    ]


def test_a_search_page_without_its_query_is_rejected():
    batch = MappedBatch("tiktok")
    map_video_search(page(videos_body([video()])), batch)
    assert [r.reason for r in batch.rejects] == ["no hashtag_name or keyword in the query"]


def test_endpoint_names():
    assert set(MAPPERS) == {"user_info", "video_query"}
    assert set(DISCOVERY_MAPPERS) == {"video_search"}
