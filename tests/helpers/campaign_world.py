"""Campaign rows (terms with their versions, tracking, orders, clicks, rates) for the
hand-computed campaign tests, inserted beside a core_builder World into a real warehouse."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from radar.settings import RadarSettings
from radar.warehouse import apply_schema, connect
from tests.helpers.core_builder import World, insert_rows
from transforms.runner import run_transforms

LOADED = datetime(2026, 1, 15)
UTM = (
    "source",
    "medium",
    "campaign",
    "content",
)  # when the terms were loaded: before every version starts


@dataclass
class CampaignWorld:
    """core.campaign* rows, orders, link clicks and rates; defaults fill the rest."""

    campaigns: list[dict] = field(default_factory=list)
    creators: list[dict] = field(default_factory=list)
    tracking: list[dict] = field(default_factory=list)
    brand_handles: list[dict] = field(default_factory=list)
    rates: list[dict] = field(default_factory=list)
    orders: list[dict] = field(default_factory=list)
    clicks: list[dict] = field(default_factory=list)

    def campaign(self, campaign: str, starts: date, ends: date, **terms) -> None:
        self.campaigns.append(
            {
                "campaign": campaign,
                "starts_on": starts,
                "ends_on": ends,
                "currency": "EUR",
                "attribution_window_days": 7,
                "valid_from": LOADED,
                "observed_at": LOADED,
                **terms,
            }
        )

    def creator(
        self,
        campaign: str,
        handle: str,
        fee_type: str,
        fee_amount: str | None = None,
        commission_rate: float | None = None,
        *,
        valid_from: datetime = LOADED,
        valid_to: datetime | None = None,
        account_id: str | None = None,
        platform: str = "mastodon",
    ) -> None:
        self.creators.append(
            {
                "campaign": campaign,
                "platform": platform,
                "handle": handle,
                "account_id": account_id,
                "fee_type": fee_type,
                "fee_amount": None if fee_amount is None else Decimal(fee_amount),
                "commission_rate": commission_rate,
                "valid_from": valid_from,
                "valid_to": valid_to,
                "observed_at": LOADED,
            }
        )

    def track(
        self,
        campaign: str,
        handle: str,
        kind: str,
        *,
        valid_from: datetime = LOADED,
        valid_to: datetime | None = None,
        platform: str = "mastodon",
        **key: str,
    ) -> None:
        self.tracking.append(
            {
                "campaign": campaign,
                "platform": platform,
                "handle": handle,
                "kind": kind,
                "valid_from": valid_from,
                "valid_to": valid_to,
                "observed_at": LOADED,
                **key,
            }
        )

    def brand_handle(self, campaign: str, handle: str, platform: str = "mastodon") -> None:
        self.brand_handles.append(
            {
                "campaign": campaign,
                "platform": platform,
                "brand_handle": handle,
                "valid_from": LOADED,
                "observed_at": LOADED,
            }
        )

    def rate(self, currency: str, to_currency: str, rate: float, valid_from: date) -> None:
        self.rates.append(
            {
                "currency": currency,
                "to_currency": to_currency,
                "rate": rate,
                "valid_from": valid_from,
                "observed_at": LOADED,
            }
        )

    def order(
        self,
        order_id: str,
        at: datetime,
        subtotal: str,
        codes: list[str] = (),
        *,
        currency: str = "EUR",
        landing_url: str | None = None,
        refunded: str = "0",
        cancelled_at: datetime | None = None,
        observed: datetime | None = None,
    ) -> None:
        # as the loader writes an order: its UTM values read from the landing URL, lowercase
        query = parse_qs(urlsplit(landing_url or "").query)
        utm = {f"utm_{k}": query.get(f"utm_{k}", [None])[0] for k in UTM}
        self.orders.append(
            {
                "source": "shopify",
                "order_id": order_id,
                "ordered_at": at,
                "currency": currency,
                "subtotal": Decimal(subtotal),
                "total": Decimal(subtotal),
                "discount_codes": list(codes),
                "landing_url": landing_url,
                "refunded": Decimal(refunded),
                "cancelled_at": cancelled_at,
                "observed_at": observed or at,
                **{k: v and v.lower() for k, v in utm.items()},
            }
        )

    def click(self, click_key: str, on: date, clicks: int, **key) -> None:
        self.clicks.append(
            {
                "source": "ga4" if "utm_campaign" in key else "shortlinks",
                "click_key": click_key,
                "clicked_on": on,
                "clicks": clicks,
                "observed_at": datetime.combine(on, datetime.min.time()),
                **key,
            }
        )


def build_campaign_world(
    world: World,
    campaigns: CampaignWorld,
    warehouse: Path,
    config_dir: Path,
    as_of: datetime,
    sql_dir: Path | None = None,
):
    """The rows into a fresh warehouse (schema applied), then the real transform run."""
    settings = RadarSettings()
    with connect(warehouse) as conn:
        apply_schema(conn, settings.sql_dir)
        insert_rows(conn, "core.accounts", world.accounts)
        insert_rows(conn, "core.account_snapshots", world.snapshots)
        insert_rows(conn, "core.posts", world.posts)
        insert_rows(conn, "core.post_metric_snapshots", world.metrics)
        insert_rows(conn, "core.post_deletions", world.deletions)
        insert_rows(conn, "core.campaigns", campaigns.campaigns)
        insert_rows(conn, "core.campaign_creators", campaigns.creators)
        insert_rows(conn, "core.campaign_tracking", campaigns.tracking)
        insert_rows(conn, "core.campaign_brand_handles", campaigns.brand_handles)
        insert_rows(conn, "core.fx_rates", campaigns.rates)
        insert_rows(conn, "core.orders", campaigns.orders)
        insert_rows(conn, "core.link_clicks", campaigns.clicks)
        return run_transforms(conn, sql_dir or settings.sql_dir, config_dir, as_of)
