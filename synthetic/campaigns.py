"""Seeded campaigns over the synthetic world, with the truth of what each creator returned.

Given a seed and the world's accounts (``synthetic.world.make_account``), ``plant_campaigns``
picks each campaign's creators and their terms (a flat, per-post or commission fee, a promo
code, a UTM link, a short link, the campaign hashtag) and their sponsored posts. Then
``write_exports`` writes what a shop and its analytics would export, in the layouts the
campaign ingest reads (``ingest/campaigns/exports.py``):

    <out>/shopify/orders_export_<day>.csv         Shopify's orders CSV (+ Landing Site)
    <out>/ga4/traffic_acquisition_<day>.csv       GA4 report: day x source / medium / ...
    <out>/short_links/clicks_<day>.csv            one row per short-link click

and counts, as it writes, each creator's truth under the attribution rule of
docs/campaigns.md: attributed orders (cancelled ones apart), revenue net of refunds in the
campaign's currency, clicks, cost and ROI. ``write_config`` writes the terms as
``campaigns.yaml``.

Planted on purpose: orders by code (any case), by UTM landing page, by short link, by code
and link at once (one order), by two creators' codes (the last listed wins) and by a code
over another creator's link (the code wins); refunds, cancellations and another currency;
noise that goes to no one (no code, unknown codes, a creator's code before the start or
after the attribution end, another campaign's UTM values, unknown short links); orders and
clicks on the first and last instant of the span and just outside it; and per campaign one
creator with the highest engagement and not a single sale.

Amounts are multiples of 0.16 and the rates 1.25 (GBP to EUR) and 0.25 (commission), so
that every converted amount and commission is a whole number of cents: the truth needs no
rounding rule. One seed gives the same files on every machine; the exports stream, so a
million orders and ten million clicks need no more memory than ten.
"""

from __future__ import annotations

import csv
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import IO

import yaml

from synthetic.world import SynthAccount, SynthPost

BRAND = "green_oven"  # a brand of config/brands.yaml
SHOP = "https://greenoven.example"
SHORT_HOST = "grnov.en"
CURRENCY = "EUR"
FOREIGN = "GBP"
FX_RATE = Decimal("1.25")  # GBP → EUR
COMMISSION_RATE = Decimal("0.25")
CENTS_STEP = Decimal("0.16")  # see the module doc: whole cents after x 1.25 x 0.25
UNKNOWN_CODES = ("WELCOME5", "WINTER99", "FREESHIP", "NEWSLETTER10")
CENT = Decimal("0.01")

# the order kinds of an attributed order, and their weights
ATTRIBUTED_KINDS = {
    "code": 0.35,
    "code_lower": 0.1,  # the code typed in lowercase
    "utm": 0.2,
    "short_link": 0.1,
    "code_and_utm": 0.1,  # both the creator's code and link: one order
    "after_other_code": 0.08,  # another creator's code, then this one's: the last wins
    "code_over_other_link": 0.07,  # this code, another creator's landing page
}
NOISE_KINDS = {
    "none": 0.5,  # no code, no tracked link: not listed
    "unknown_code": 0.2,
    "code_outside_span": 0.1,
    "other_utm": 0.1,  # UTM values of no creator (the shop's newsletter)
    "unknown_short_link": 0.1,
}
SHOPIFY_HEADER = (
    "Name,Email,Financial Status,Paid at,Fulfillment Status,Fulfilled at,Accepts Marketing,"
    "Currency,Subtotal,Shipping,Taxes,Total,Discount Code,Discount Amount,Shipping Method,"
    "Created at,Lineitem quantity,Lineitem name,Lineitem price,Lineitem compare at price,"
    "Lineitem sku,Lineitem requires shipping,Lineitem taxable,Lineitem fulfillment status,"
    "Billing Name,Billing Street,Billing Address1,Billing Address2,Billing Company,"
    "Billing City,Billing Zip,Billing Province,Billing Country,Billing Phone,Shipping Name,"
    "Shipping Street,Shipping Address1,Shipping Address2,Shipping Company,Shipping City,"
    "Shipping Zip,Shipping Province,Shipping Country,Shipping Phone,Notes,Note Attributes,"
    "Cancelled at,Payment Method,Payment Reference,Refunded Amount,Vendor,Outstanding Balance,"
    "Employee,Location,Device ID,Id,Tags,Risk Level,Source,Lineitem discount,Tax 1 Name,"
    "Tax 1 Value,Tax 2 Name,Tax 2 Value,Tax 3 Name,Tax 3 Value,Tax 4 Name,Tax 4 Value,"
    "Tax 5 Name,Tax 5 Value,Phone,Receipt Number,Duties,Billing Province Name,"
    "Shipping Province Name,Payment ID,Payment Terms Name,Next Payment Due At,"
    "Payment References,Landing Site"
).split(",")
_COL = {name: i for i, name in enumerate(SHOPIFY_HEADER)}
GA4_HEADER = (
    "Date,Session source / medium,Session campaign,Session manual ad content,Sessions,"
    "Engaged sessions,Views"
)
SHORT_LINK_HEADER = "Timestamp,Click ID,Short Link,Destination URL,Referer,Country,Device"


@dataclass
class PlantedCreator:
    """A creator's terms, sponsored posts and, once the exports are written, the truth."""

    campaign: str
    account: SynthAccount
    fee_type: str  # flat, per_post, commission
    fee_amount: Decimal | None  # flat, per post, or a commission's fixed part
    code: str
    utm_content: str
    short_link: str  # host/path, as the loader writes it
    zero_sales: bool = False
    posts: list[SynthPost] = field(default_factory=list)  # sponsored, in the window
    orders: int = 0  # attributed and not cancelled
    cancelled_orders: int = 0
    revenue: Decimal = Decimal("0.00")  # net of refunds, in the campaign's currency
    clicks: int = 0

    @property
    def platform(self) -> str:
        return self.account.platform

    @property
    def handle(self) -> str:
        return self.account.handle

    @property
    def commission_rate(self) -> Decimal | None:
        return COMMISSION_RATE if self.fee_type == "commission" else None

    @property
    def cost(self) -> Decimal:
        fixed = self.fee_amount or Decimal("0.00")
        if self.fee_type == "per_post":
            return fixed * len(self.posts)
        if self.fee_type == "commission":
            return fixed + (COMMISSION_RATE * self.revenue).quantize(CENT, ROUND_HALF_UP)
        return fixed

    @property
    def roi(self) -> Decimal | None:
        """(revenue − cost) / cost to 6 decimals; None at no cost."""
        if not self.cost:
            return None
        return ((self.revenue - self.cost) / self.cost).quantize(Decimal("0.000001"), ROUND_HALF_UP)


@dataclass
class PlantedCampaign:
    key: str
    starts_on: date
    ends_on: date
    window_days: int
    budget: Decimal
    creators: list[PlantedCreator]

    @property
    def start(self) -> datetime:
        return datetime.combine(self.starts_on, datetime.min.time())

    @property
    def window_end(self) -> datetime:
        """The first instant after the campaign: its posts are before it."""
        return self.start + timedelta(days=(self.ends_on - self.starts_on).days + 1)

    @property
    def attribution_end(self) -> datetime:
        """The first instant after the attribution span: its orders and clicks are before."""
        return self.window_end + timedelta(days=self.window_days)


@dataclass
class PlantedCampaigns:
    seed: int
    campaigns: list[PlantedCampaign]
    orders: int  # orders to write, noise included
    clicks: int  # short-link click rows to write, noise included
    noise_share: float
    # written by write_exports: what went to no one, and the files' rows
    unattributed_in_span: int = 0  # listed by the mart: an unknown code in the span
    written: dict[str, int] = field(default_factory=dict)

    @property
    def creators(self) -> list[PlantedCreator]:
        return [c for campaign in self.campaigns for c in campaign.creators]

    @property
    def first_start(self) -> datetime:
        return min(c.start for c in self.campaigns)

    @property
    def last_end(self) -> datetime:
        return max(c.attribution_end for c in self.campaigns)

    @property
    def export_day(self) -> date:
        """The exports are taken the day the last attribution span ends."""
        return self.last_end.date()


def plant_campaigns(
    seed: int,
    accounts: list[SynthAccount],
    start: date,
    *,
    campaigns: int = 1,
    creators: int = 5,
    days: int = 14,
    window_days: int = 7,
    orders: int = 200,
    clicks: int = 300,
    noise_share: float = 0.3,
    stagger_days: int = 3,
) -> PlantedCampaigns:
    """``campaigns`` campaigns of ``creators`` creators each, drawn from ``accounts``
    (distinct accounts; true micros first), the n-th starting ``n × stagger_days`` after
    ``start`` and running ``days`` days. ``orders`` and ``clicks``: how many rows
    ``write_exports`` writes (a share ``noise_share`` of them noise)."""
    if creators < 2:
        raise ValueError("a campaign needs two creators: one of them sells nothing")
    if len(accounts) < campaigns * creators:
        raise ValueError(f"{campaigns * creators} creators need as many accounts")
    rng = random.Random(f"{seed}:campaigns")
    # engaged micro accounts first, as a brand would pick them; the rest drawn at random
    pool = sorted(accounts, key=lambda a: (a.role.value != "true_micro", rng.random()))
    planted = []
    for n in range(campaigns):
        key = f"c{n:03d}"
        chosen = pool[n * creators : (n + 1) * creators]
        # the campaign's top engager is the one planted to sell nothing
        zero = max(chosen, key=lambda a: (a.er, a.index))
        campaign = PlantedCampaign(
            key=key,
            starts_on=start + timedelta(days=n * stagger_days),
            ends_on=start + timedelta(days=n * stagger_days + days - 1),
            window_days=window_days,
            budget=Decimal(500 * creators),
            creators=[],
        )
        for i, account in enumerate(chosen):
            tag = f"{account.platform[0].upper()}{account.index}"
            fee_type = ("flat", "per_post", "commission")[i % 3]
            if account is zero:
                fee_type = "flat"  # a cost to lose, whatever it posts
            amount = {
                "flat": Decimal(50 * rng.randint(4, 10)),
                "per_post": Decimal(10 * rng.randint(4, 12)),
                "commission": Decimal(10 * rng.randint(0, 5)),
            }[fee_type]
            creator = PlantedCreator(
                campaign=key,
                account=account,
                fee_type=fee_type,
                fee_amount=amount if amount or fee_type != "commission" else None,
                # the platform's letter: two platforms' accounts share an index
                code=f"{account.user.split('_')[0].upper()}{tag}{key.upper()}",
                utm_content=account.user,
                short_link=f"{SHORT_HOST}/{key}{tag.lower()}",
                zero_sales=account is zero,
            )
            creator.posts = _sponsored_posts(seed, campaign, creator)
            campaign.creators.append(creator)
        planted.append(campaign)
    return PlantedCampaigns(seed, planted, orders, clicks, noise_share)


def hashtag_of(campaign: str) -> str:
    return f"greenoven{campaign}"


def _sponsored_posts(seed: int, campaign: PlantedCampaign, creator: PlantedCreator) -> list:
    """One to three posts in the campaign window carrying its hashtag and, in the text, the
    creator's code or short link; the zero-sales creator's are engaged far above the
    others' (an ER of 12-15 % against at most 9 %)."""
    account = creator.account
    rng = random.Random(f"{seed}:sponsored:{campaign.key}:{account.platform}:{account.index}")
    posts = []
    span = int((campaign.window_end - campaign.start).total_seconds())
    for n in range(rng.randint(1, 3)):
        er = rng.uniform(0.12, 0.15) if creator.zero_sales else account.er * rng.uniform(0.8, 1)
        engagement = er * account.followers
        comments, shares = int(engagement * 0.1), int(engagement * 0.05)
        tail = f"code {creator.code}" if n % 2 == 0 else f"https://{creator.short_link}"
        posts.append(
            SynthPost(
                post_no=n,
                author=account,
                created_at=campaign.start + timedelta(seconds=rng.randrange(span)),
                text=f"Baking with @greenoven this week, {tail} #{hashtag_of(campaign.key)}",
                language="en",
                hashtags=(hashtag_of(campaign.key),),
                in_niche=True,
                likes=max(int(engagement) - comments - shares, 0),
                comments=comments,
                shares=shares,
                quotes=0,
            )
        )
    return sorted(posts, key=lambda p: p.created_at)


def config_of(planted: PlantedCampaigns) -> dict:
    """The terms as ``config/campaigns.yaml`` states them."""
    campaigns = {}
    for campaign in planted.campaigns:
        creators = []
        for c in campaign.creators:
            fee: dict = {"type": c.fee_type}
            if c.fee_amount is not None:
                fee["amount"] = float(c.fee_amount)
            if c.commission_rate is not None:
                fee["rate"] = float(c.commission_rate)
            creators.append(
                {
                    "platform": c.platform,
                    "handle": c.handle,
                    "fee": fee,
                    "codes": [c.code],
                    "links": [
                        {"utm": _utm_term(c)},
                        {"short": f"https://{c.short_link}"},
                    ],
                    "hashtags": [f"#{hashtag_of(campaign.key)}"],
                }
            )
        campaigns[campaign.key] = {
            "brand": BRAND,
            "label": f"Green Oven planted campaign {campaign.key}",
            "starts_on": campaign.starts_on,
            "ends_on": campaign.ends_on,
            "budget": float(campaign.budget),
            "currency": CURRENCY,
            "attribution_window_days": campaign.window_days,
            "creators": creators,
        }
    rate_from = planted.first_start.date() - timedelta(days=30)
    return {
        "fx_rates": [
            {"currency": FOREIGN, "to": CURRENCY, "rate": float(FX_RATE), "from": rate_from}
        ],
        "campaigns": campaigns,
    }


def write_config(planted: PlantedCampaigns, config_dir: Path) -> Path:
    path = config_dir / "campaigns.yaml"
    path.write_text(yaml.safe_dump(config_of(planted), sort_keys=False), encoding="utf-8")
    return path


def _utm_term(c: PlantedCreator) -> dict:
    return {
        "source": c.platform,
        "medium": "social",
        "campaign": c.campaign,
        "content": c.utm_content,
    }


def _utm_query(c: PlantedCreator, upper: bool = False) -> str:
    utm = _utm_term(c)
    if upper:  # as a link may be typed: the loader reads UTM values lowercase
        utm = {k: v.title() for k, v in utm.items()}
    return "&".join(f"utm_{k}={v}" for k, v in utm.items())


# --- orders --------------------------------------------------------------------------------


@dataclass
class _Order:
    name: str
    at: datetime  # UTC
    currency: str
    subtotal: Decimal
    codes: list[str]
    landing: str
    refunded: Decimal = Decimal("0.00")
    cancelled_at: datetime | None = None
    second_line: bool = False


def _amount(rng: random.Random, low: int = 50, high: int = 800) -> Decimal:
    return CENTS_STEP * rng.randint(low, high)


def _pick(rng: random.Random, weights: dict[str, float]) -> str:
    draw = rng.random() * sum(weights.values())
    for kind, weight in weights.items():
        draw -= weight
        if draw < 0:
            return kind
    return kind


def _orders(planted: PlantedCampaigns) -> Iterator[tuple[_Order, PlantedCreator | None]]:
    """Every order with the creator it belongs to (None: no one), the edge cases first."""
    rng = random.Random(f"{planted.seed}:orders")
    number = 1000
    sellers = {c.key: [x for x in c.creators if not x.zero_sales] for c in planted.campaigns}
    everyone = planted.creators
    by_key = {c.key: c for c in planted.campaigns}
    exported = datetime.combine(planted.export_day, datetime.min.time())

    def name() -> str:
        nonlocal number
        number += 1
        return f"#{number}"

    def in_span(campaign: PlantedCampaign) -> datetime:
        span = int((campaign.attribution_end - campaign.start).total_seconds())
        return campaign.start + timedelta(seconds=rng.randrange(span))

    shop = f"{SHOP}/winter"
    for campaign in planted.campaigns:
        first, zero = sellers[campaign.key][0], next(c for c in campaign.creators if c.zero_sales)
        last_second = campaign.attribution_end - timedelta(seconds=1)
        yield _Order(name(), campaign.start, CURRENCY, _amount(rng), [first.code], ""), first
        yield _Order(name(), last_second, CURRENCY, _amount(rng), [first.code], ""), first
        before = campaign.start - timedelta(seconds=1)
        yield _Order(name(), before, CURRENCY, _amount(rng), [first.code], ""), None
        after = campaign.attribution_end
        yield _Order(name(), after, CURRENCY, _amount(rng), [first.code], ""), None
        # the zero-sales creator's code, but a day after the span: still no sale
        late = campaign.attribution_end + timedelta(days=1)
        yield _Order(name(), late, CURRENCY, _amount(rng), [zero.code], ""), None
        for seller in sellers[campaign.key]:  # every seller sells at least once
            yield (
                _Order(name(), in_span(campaign), CURRENCY, _amount(rng), [seller.code], ""),
                seller,
            )
    while number - 1000 < planted.orders:
        campaign = rng.choice(planted.campaigns)
        at = in_span(campaign)
        currency = FOREIGN if rng.random() < 0.1 else CURRENCY
        order = _Order(name(), at, currency, _amount(rng), [], "", second_line=rng.random() < 0.2)
        if rng.random() < 0.08:
            order.refunded = min(order.subtotal, CENTS_STEP * rng.randint(1, 400))
        cancelled_at = at + timedelta(hours=rng.randint(1, 48))
        # a cancellation after the export was taken is not in it
        if rng.random() < 0.04 and cancelled_at < exported:
            order.cancelled_at = cancelled_at
        if rng.random() < planted.noise_share:
            kind, owner = _pick(rng, NOISE_KINDS), None
            if kind == "unknown_code":
                order.codes = [rng.choice(UNKNOWN_CODES)]
            elif kind == "code_outside_span":
                # before its own campaign's start
                stray = rng.choice(everyone)
                order.codes = [stray.code]
                began = by_key[stray.campaign].start
                order.at = began - timedelta(days=rng.randint(1, 20), seconds=rng.randrange(86_400))
                order.cancelled_at = None
            elif kind == "other_utm":
                order.landing = (
                    f"/winter?utm_source=newsletter&utm_medium=email&utm_campaign={campaign.key}"
                )
            elif kind == "unknown_short_link":
                order.landing = f"https://{SHORT_HOST}/nobody{rng.randrange(1000)}"
            yield order, owner
            continue
        owner = rng.choice(sellers[campaign.key])
        kind = _pick(rng, ATTRIBUTED_KINDS)
        other = rng.choice([c for c in everyone if c is not owner])
        if kind in ("code", "code_and_utm", "code_over_other_link"):
            order.codes = [owner.code]
        elif kind == "code_lower":
            order.codes = [owner.code.lower()]
        elif kind == "after_other_code":
            order.codes = [other.code, owner.code]
        if kind in ("utm", "code_and_utm"):
            order.landing = f"/winter?{_utm_query(owner, upper=rng.random() < 0.3)}&ref=post"
        elif kind == "short_link":
            order.landing = f"https://{owner.short_link}?src=bio"
        elif kind == "code_over_other_link":
            order.landing = f"{shop}?{_utm_query(other)}"
        yield order, owner


def _shopify_time(at: datetime, rng: random.Random) -> str:
    """UTC, or the same instant in Berlin's winter time as Shopify writes it."""
    if rng.random() < 0.5:
        return f"{at:%Y-%m-%d %H:%M:%S} +0000"
    return f"{at + timedelta(hours=1):%Y-%m-%d %H:%M:%S} +0100"


def _shopify_rows(order: _Order, rng: random.Random) -> list[list[str]]:
    row = [""] * len(SHOPIFY_HEADER)
    cancelled = order.cancelled_at is not None
    status = "refunded" if order.refunded == order.subtotal else "paid"
    if cancelled:
        status = "voided"
    elif order.refunded:
        status = "partially_refunded" if order.refunded < order.subtotal else "refunded"
    shipping, taxes = Decimal("4.90"), (order.subtotal * Decimal("0.07")).quantize(CENT)
    discount = (order.subtotal * Decimal("0.1")).quantize(CENT) if order.codes else Decimal("0.00")
    values = {
        "Name": order.name,
        "Email": f"buyer{order.name[1:]}@example.org",
        "Financial Status": status,
        "Currency": order.currency,
        "Subtotal": f"{order.subtotal:.2f}",
        "Shipping": f"{shipping:.2f}",
        "Taxes": f"{taxes:.2f}",
        "Total": f"{order.subtotal + shipping + taxes:.2f}",
        "Discount Code": ", ".join(order.codes),
        "Discount Amount": f"{discount:.2f}",
        "Created at": _shopify_time(order.at, rng),
        "Lineitem quantity": "1",
        "Lineitem name": "Winter bread box",
        "Refunded Amount": f"{order.refunded:.2f}",
        "Cancelled at": _shopify_time(order.cancelled_at, rng) if cancelled else "",
        "Landing Site": order.landing,
        "Vendor": "Green Oven",
    }
    for column, value in values.items():
        row[_COL[column]] = value
    rows = [row]
    if order.second_line:  # another line item: only the item's own columns are filled
        item = [""] * len(SHOPIFY_HEADER)
        item[_COL["Name"]], item[_COL["Lineitem name"]] = order.name, "Seeded rolls"
        item[_COL["Lineitem quantity"]] = "2"
        rows.append(item)
    return rows


def _count_order(order: _Order, owner: PlantedCreator | None, planted: PlantedCampaigns) -> None:
    if owner is None:
        if (
            order.codes
            and order.codes[0] in UNKNOWN_CODES
            and planted.first_start <= order.at < planted.last_end
        ):
            planted.unattributed_in_span += 1
        return
    if order.cancelled_at is not None:
        owner.cancelled_orders += 1
        return
    net = max(order.subtotal - order.refunded, Decimal("0.00"))
    rate = FX_RATE if order.currency == FOREIGN else Decimal(1)
    owner.orders += 1
    owner.revenue += (net * rate).quantize(CENT, ROUND_HALF_UP)


# --- clicks --------------------------------------------------------------------------------


def _clicks(planted: PlantedCampaigns) -> Iterator[tuple[datetime, str, PlantedCreator | None]]:
    """Short-link clicks: (time, link as clicked, the creator it counts for or None)."""
    rng = random.Random(f"{planted.seed}:clicks")
    everyone = planted.creators
    for campaign in planted.campaigns:
        c = campaign.creators[0]
        yield campaign.start, f"https://{c.short_link}", c
        yield campaign.attribution_end - timedelta(seconds=1), f"https://{c.short_link}/", c
        yield campaign.start - timedelta(seconds=1), f"https://{c.short_link}", None
        yield campaign.attribution_end, f"https://{c.short_link}", None
    for _ in range(planted.clicks - 4 * len(planted.campaigns)):
        owner = rng.choice(everyone)
        campaign = planted.campaigns[int(owner.campaign[1:])]
        span = int((campaign.attribution_end - campaign.start).total_seconds())
        at = campaign.start + timedelta(seconds=rng.randrange(span))
        draw = rng.random()
        if draw < planted.noise_share / 2:  # outside the span: before the campaign
            yield (
                campaign.start - timedelta(seconds=1 + rng.randrange(86_400 * 5)),
                f"https://{owner.short_link}",
                None,
            )
        elif draw < planted.noise_share:
            yield at, f"https://{SHORT_HOST}/nobody{rng.randrange(100)}", None
        else:
            host = SHORT_HOST.upper() if draw > 0.95 else SHORT_HOST  # hosts match any case
            yield at, f"https://{host}/{owner.short_link.partition('/')[2]}", owner


def _ga4_rows(
    planted: PlantedCampaigns,
) -> Iterator[tuple[date, tuple[str, str, str, str], int, PlantedCreator | None]]:
    """GA4 rows: (day, source / medium / campaign / content as shown, sessions, owner)."""
    rng = random.Random(f"{planted.seed}:ga4")
    for campaign in planted.campaigns:
        last_day = (campaign.attribution_end - timedelta(days=1)).date()
        for c in campaign.creators:
            day = campaign.starts_on - timedelta(days=1)  # the day before: out of the span
            while day <= last_day + timedelta(days=1):  # the day after: out as well
                counts = campaign.starts_on <= day <= last_day
                sessions = rng.randint(0, 40)
                shown = (c.platform, "social", c.campaign, c.utm_content)
                if rng.random() < 0.2:  # GA4 keeps the case a link was typed in
                    shown = tuple(v.title() for v in shown)
                yield day, shown, sessions, c if counts else None
                day += timedelta(days=1)
        for day_no in range((campaign.attribution_end - campaign.start).days):
            day = campaign.starts_on + timedelta(days=day_no)
            yield day, ("(direct)", "(none)", "(not set)", "(not set)"), rng.randint(50, 300), None
            yield day, ("newsletter", "email", campaign.key, "(not set)"), rng.randint(0, 30), None


def write_exports(
    planted: PlantedCampaigns, out: Path, early_export: bool = True
) -> dict[str, int]:
    """The orders, GA4 and short-link exports under ``out``, counting each creator's truth.
    ``early_export``: also an orders export taken on the campaigns' last day, before the
    refunds and cancellations recorded since (the final export must win on load)."""
    for creator in planted.creators:
        creator.orders = creator.cancelled_orders = creator.clicks = 0
        creator.revenue = Decimal("0.00")
    planted.unattributed_in_span = 0
    day = planted.export_day
    rng = random.Random(f"{planted.seed}:export")
    written = {"orders": 0, "order_lines": 0, "click_rows": 0, "ga4_rows": 0}
    early_day = max(c.ends_on for c in planted.campaigns)
    early_at = datetime.combine(early_day, datetime.min.time())
    with (
        _open(out / "shopify" / f"orders_export_{day}.csv") as final,
        _open(out / "shopify" / f"orders_export_{early_day}.csv")
        if early_export
        else _Null() as early,
    ):
        final_csv, early_csv = csv.writer(final), csv.writer(early)
        final_csv.writerow(SHOPIFY_HEADER)
        early_csv.writerow(SHOPIFY_HEADER)
        for order, owner in _orders(planted):
            _count_order(order, owner, planted)
            rows = _shopify_rows(order, rng)
            final_csv.writerows(rows)
            written["orders"] += 1
            written["order_lines"] += len(rows)
            if early_export and order.at < early_at:
                # as the shop stood then: no refund and no cancellation yet
                before = _Order(
                    order.name, order.at, order.currency, order.subtotal, order.codes, order.landing
                )
                early_csv.writerows(_shopify_rows(before, rng))
    with _open(out / "ga4" / f"traffic_acquisition_{day}.csv") as handle:
        handle.write("# ----------------------------------------\n# Traffic acquisition\n")
        handle.write(f"# Start date: {planted.first_start:%Y%m%d}\n\n{GA4_HEADER}\n")
        for on, (source, medium, campaign, content), sessions, owner in _ga4_rows(planted):
            handle.write(
                f"{on:%Y%m%d},{source} / {medium},{campaign},{content},"
                f"{sessions},{sessions // 2},{sessions * 2}\n"
            )
            written["ga4_rows"] += 1
            if owner is not None:
                owner.clicks += sessions
    with _open(out / "short_links" / f"clicks_{day}.csv") as handle:
        handle.write(f"{SHORT_LINK_HEADER}\n")
        lines = []
        for n, (at, link, owner) in enumerate(_clicks(planted)):
            lines.append(
                f"{at:%Y-%m-%dT%H:%M:%S}Z,clk_{n:09d},{link},{SHOP}/winter,bsky.app,DE,Mobile\n"
            )
            if owner is not None:
                owner.clicks += 1
            if len(lines) >= 100_000:
                handle.writelines(lines)
                lines.clear()
        handle.writelines(lines)
        written["click_rows"] = n + 1
    planted.written = written
    return written


def _open(path: Path) -> IO[str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.open("w", encoding="utf-8", newline="")


class _Null:
    """A file that writes nothing, for an export not asked for."""

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        return None

    def write(self, text: str) -> int:
        return len(text)
