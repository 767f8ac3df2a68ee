"""Instagram business discovery pages → canonical rows, rejects for what does not validate."""

from __future__ import annotations

import json
from datetime import datetime

import httpx
import pytest

from ingest.batch import MappedBatch
from ingest.http import redact_url
from ingest.instagram.client import (
    CANDIDATE_MEDIA_FIELDS,
    CANDIDATE_PROFILE_FIELDS,
    discovery_fields,
)
from ingest.instagram.mapping import (
    DISCOVERY_MAPPERS,
    MAPPERS,
    caption_hashtags,
    map_business_discovery,
    map_candidate_discovery,
    requested_username,
)
from ingest.pages import PageRef, RecordedPage
from radar.canonical import (
    Account,
    AccountDiscovery,
    AccountSnapshot,
    Post,
    PostMetricSnapshot,
)

FETCHED = datetime(2026, 11, 20, 6)
ME = "17841405309211844"
BASE = "https://graph.facebook.com/v25.0"


def url(username: str = "bluebottle", fields: str | None = None) -> str:
    fields = fields or discovery_fields(username)
    params = {"fields": fields, "access_token": "s3cret"}
    return redact_url(str(httpx.URL(f"{BASE}/{ME}", params=params)))


def page(body=None, *, status: int = 200, at: str | None = None, raw: str | None = None):
    data = raw.encode() if raw is not None else json.dumps(body, ensure_ascii=False).encode()
    return RecordedPage(PageRef("feed/x.jsonl", 3), FETCHED, "GET", at or url(), status, {}, data)


CAPTION = "Sourdough season 🍞\nFresh #BlueBottle #coffee☕ and #Kaffee_liebe\n\n#veganeküche"


def profile(**extra) -> dict:
    return {
        "id": "17841401441775531",
        "username": "bluebottle",
        "name": "Blue Bottle Coffee",
        "biography": "Coffee.\nRoasted in Oakland ☕",
        "followers_count": 26_779,
        "follows_count": 190,
        "media_count": 1205,
        "website": "https://bluebottlecoffee.com",
        **extra,
    }


def media() -> list[dict]:
    return [
        {
            "id": "17858843269216389",
            "caption": CAPTION,
            "comments_count": 12,
            "like_count": 340,
            "media_type": "IMAGE",
            "media_product_type": "FEED",
            "permalink": "https://www.instagram.com/p/C1a2b3c4d5e/",
            "timestamp": "2024-11-20T16:21:34+0000",
        },
        {  # like_count omitted: the owner hid likes
            "id": "17912345678901234",
            "caption": "Pour-over at dawn",
            "comments_count": 3,
            "media_type": "VIDEO",
            "media_product_type": "REELS",
            "permalink": "https://www.instagram.com/reel/C9z8y7x6w5v/",
            "timestamp": "2024-11-18T09:00:00+0000",
        },
    ]


def discovery_body(items: list[dict], **extra) -> dict:
    edge = {"data": items, "paging": {"cursors": {"before": "QVFIUk", "after": "QVFIUmx"}}}
    return {"business_discovery": {**profile(**extra), "media": edge}, "id": ME}


def test_a_page_maps_the_profile_and_its_media_to_exact_rows():
    batch = MappedBatch("instagram")
    map_business_discovery(page(discovery_body(media())), batch)
    assert not batch.rejects
    assert batch.accounts == [
        Account(
            platform="instagram",
            account_id="17841401441775531",
            handle="bluebottle",
            display_name="Blue Bottle Coffee",
            bio="Coffee.\nRoasted in Oakland ☕",
            url="https://www.instagram.com/bluebottle/",
            discovered_via="tracked",
            observed_at=FETCHED,
        )
    ]
    assert batch.account_snapshots == [
        AccountSnapshot(
            platform="instagram",
            account_id="17841401441775531",
            observed_at=FETCHED,
            followers=26_779,
            following=190,
            posts_count=1205,
            follower_precision="exact",
        )
    ]
    assert batch.posts == [
        Post(
            platform="instagram",
            post_id="17858843269216389",
            account_id="17841401441775531",
            created_at=datetime(2024, 11, 20, 16, 21, 34),
            text=CAPTION,
            hashtags=["bluebottle", "coffee", "kaffee_liebe", "veganeküche"],
            url="https://www.instagram.com/p/C1a2b3c4d5e/",
            kind="original",
            observed_at=FETCHED,
        ),
        Post(
            platform="instagram",
            post_id="17912345678901234",
            account_id="17841401441775531",
            created_at=datetime(2024, 11, 18, 9),
            text="Pour-over at dawn",
            url="https://www.instagram.com/reel/C9z8y7x6w5v/",
            kind="original",
            observed_at=FETCHED,
        ),
    ]
    # hidden likes are None, never 0; third-party media have no views or shares
    assert batch.post_metric_snapshots == [
        PostMetricSnapshot(
            platform="instagram",
            post_id="17858843269216389",
            observed_at=FETCHED,
            likes=340,
            comments=12,
            shares=None,
            quotes=None,
            views=None,
        ),
        PostMetricSnapshot(
            platform="instagram",
            post_id="17912345678901234",
            observed_at=FETCHED,
            likes=None,
            comments=3,
            shares=None,
        ),
    ]


def test_offsets_without_a_colon_become_naive_utc():
    items = media()
    items[0]["timestamp"] = "2024-11-20T23:30:00-0300"
    batch = MappedBatch("instagram")
    map_business_discovery(page(discovery_body(items)), batch)
    assert [p.created_at for p in batch.posts] == [
        datetime(2024, 11, 21, 2, 30),
        datetime(2024, 11, 18, 9),
    ]


def test_ids_sent_as_numbers_stay_exact_strings():
    body = discovery_body(media())
    text = json.dumps(body).replace('"17841401441775531"', "17841401441775531")
    text = text.replace('"17858843269216389"', "17858843269216389")
    batch = MappedBatch("instagram")
    map_business_discovery(page(raw=text), batch)
    assert batch.accounts[0].account_id == "17841401441775531"
    assert batch.posts[0].post_id == "17858843269216389"


@pytest.mark.parametrize(
    ("caption", "tags"),
    [
        (CAPTION, ["bluebottle", "coffee", "kaffee_liebe", "veganeküche"]),
        ("#Sourdough#crumb", ["sourdough"]),  # a tag glued to a word is not a tag
        ("C# and abc#def, mail@x.y", []),
        ("##double #ünïcode #सुबह #2024 #🍞 #", ["2024", "double", "ünïcode", "सुबह"]),
        ("line\n#one\t#two.", ["one", "two"]),
        # a link's fragment is no #ad (issue #18: a disclosure tag must be written)
        ("shop: https://shop.example/#ad or shop.example/oven#ad #gifted", ["gifted"]),
        (None, []),
    ],
)
def test_hashtags_are_parsed_from_the_caption(caption, tags):
    assert caption_hashtags(caption) == tags


def test_hidden_or_absent_follower_count_is_null_and_marked_hidden():
    body = discovery_body([])
    del body["business_discovery"]["followers_count"]
    batch = MappedBatch("instagram")
    map_business_discovery(page(body), batch)
    (snapshot,) = batch.account_snapshots
    assert snapshot.followers is None and snapshot.follower_precision == "hidden"
    assert not batch.posts


def test_unknown_or_personal_username_is_a_reject_naming_the_handle():
    error = {
        "error": {
            "message": "Invalid user id",
            "type": "OAuthException",
            "code": 110,
            "error_subcode": 2207013,
            "is_transient": False,
            "fbtrace_id": "A6LJylpZRKw2xKLFsAP",
        }
    }
    batch = MappedBatch("instagram")
    map_business_discovery(page(error, status=400, at=url("ghost.baker")), batch)
    (reject,) = batch.rejects
    assert (reject.entity, reject.record_index, reject.source_line) == ("accounts", -1, 3)
    assert reject.reason.startswith(
        "HTTP 400 for @ghost.baker: Graph API error 110/2207013: Invalid user id (no such "
        "username, or a personal account"
    )
    assert '"fbtrace_id"' in reject.record
    assert not batch.accounts and not batch.posts


def test_an_error_page_that_is_not_json_is_still_one_reject():
    batch = MappedBatch("instagram")
    map_business_discovery(page(status=404, raw="<html>Not Found</html>"), batch)
    assert [r.reason for r in batch.rejects] == ["HTTP 404 for @bluebottle"]


def test_a_malformed_media_item_is_rejected_and_the_rest_of_the_page_kept():
    items = media()
    items[1]["timestamp"] = "yesterday"
    batch = MappedBatch("instagram")
    map_business_discovery(page(discovery_body(items)), batch)
    assert [p.post_id for p in batch.posts] == ["17858843269216389"]
    assert len(batch.accounts) == 1 and len(batch.account_snapshots) == 1
    (reject,) = batch.rejects
    assert (reject.entity, reject.record_index) == ("posts", 1)
    assert "timestamp" in reject.reason and '"yesterday"' in reject.record


def test_a_truncated_page_is_one_reject_with_its_text():
    text = json.dumps(discovery_body(media()), ensure_ascii=False)[:120]
    batch = MappedBatch("instagram")
    map_business_discovery(page(raw=text), batch)
    (reject,) = batch.rejects
    assert reject.entity == "page" and reject.reason.startswith("body is not valid JSON")
    assert reject.record == text


def test_a_page_without_business_discovery_is_rejected():
    batch = MappedBatch("instagram")
    map_business_discovery(page({"id": ME}), batch)
    (reject,) = batch.rejects
    assert reject.entity == "accounts" and "business_discovery" in reject.reason


def test_a_candidate_page_sights_each_hashtag_it_posts_under_and_loads_no_posts():
    items = [
        {
            "id": "1",
            "caption": "#Sourdough crumb #breadbaking",
            "timestamp": "2024-11-20T10:00:00+0000",
        },
        {"id": "2", "caption": "more #sourdough", "timestamp": "2024-11-19T10:00:00+0000"},
        {"id": "3", "timestamp": "2024-11-18T10:00:00+0000"},  # no caption at all
    ]
    fields = discovery_fields(
        "crumbqueen", None, 25, CANDIDATE_PROFILE_FIELDS, CANDIDATE_MEDIA_FIELDS
    )
    body = {
        "business_discovery": {
            "id": "17841400000000001",
            "username": "crumbqueen",
            "followers_count": 18_500,
            "media": {"data": items},
        },
        "id": ME,
    }
    batch = MappedBatch("instagram")
    map_candidate_discovery(page(body, at=url(fields=fields)), batch)
    assert batch.account_discoveries == [
        AccountDiscovery(
            platform="instagram",
            account_id="17841400000000001",
            term=term,
            handle="crumbqueen",
            followers=18_500,
            observed_at=FETCHED,
        )
        for term in ["#breadbaking", "#sourdough"]
    ]
    assert not batch.posts and not batch.accounts and not batch.rejects


def test_the_requested_username_is_read_back_from_the_archived_url():
    after = discovery_fields("bluebottle", after="QVFIUmx-_=")
    assert requested_username(page(at=url(fields=after))) == "bluebottle"
    assert "access_token=REDACTED" in url()


def test_ingest_and_discovery_endpoints_are_distinct():
    # plan_fixture_batches splits files by these names: one name in both would hide it
    assert set(MAPPERS) == {"business_discovery"}
    assert set(DISCOVERY_MAPPERS) == {"candidate_discovery"}
