"""The connector contract: what one platform package gives the pipeline, and the typed
batches and task context that travel between its steps.

A platform is one package (``ingest/<platform>/``: ``client``, ``models``, ``mapping``,
``settings``, ``source``) whose ``__init__`` exports ``connector``, a ``Connector``, and
which is registered under the ``radar.connectors`` entry point group (``ingest.registry``).
Everything else the pipeline knows about a platform (its block of ``config/sources.yaml``,
its Airflow pool and connection, the DAGs' task list, the docs' table) is read from that
object.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from ingest.batch import Mapper, guard_all
from ingest.bulk import BulkMapping
from ingest.pages import RecordedPage

if TYPE_CHECKING:  # httpx, which ingest.http needs, is ~0.3 CPU s to import: live fetches only
    from ingest.http import RawArchive

Pages = Iterator[tuple[str, RecordedPage]]


class Strict(BaseModel):
    """A config model that refuses keys it does not know (a typo is an error, not a no-op)."""

    model_config = ConfigDict(extra="forbid")


class PlatformSettings(Strict):
    """A platform's block of ``config/sources.yaml``."""

    def tracked(self) -> list[str]:
        """The accounts this block lists for the radar to follow."""
        raise NotImplementedError


class DiscoverySettings(Strict):
    """A platform's block under ``discovery:`` in ``config/sources.yaml``."""

    enabled: bool = False


# --- batches: what a plan task hands its mapped extract tasks, as JSON through XCom ---


class _Batch(Strict):
    platform: str

    def items(self) -> list[str]:
        """What the batch covers (files, accounts or search terms), for logs and reports."""
        raise NotImplementedError

    def key(self) -> tuple:
        """Tells a planned batch from the others of its run (``runs.failed_batches``)."""
        return self.kind, self.platform, tuple(self.items())

    def describe(self) -> str:
        items = self.items()
        more = f" (+{len(items) - 1} more)" if len(items) > 1 else ""
        return f"{self.platform}: {items[0] if items else '-'}{more}"


class FixtureBatch(_Batch):
    """Recorded pages to replay: files of the fixture feed, relative to it."""

    kind: Literal["fixture"] = "fixture"
    files: list[str]
    # the discovery endpoints (niche_discovery) rather than the ingest ones
    discovery: bool = False

    def items(self) -> list[str]:
        return self.files


class LiveBatch(_Batch):
    """Tracked accounts to fetch from the platform, each from its own start."""

    kind: Literal["live"] = "live"
    accounts: list[str]
    # per account: the oldest post time to read back to (naive UTC)
    since: dict[str, datetime]
    # per account: its own posts in the recheck window not yet known deleted (post ids,
    # newest first), which the connector re-reads to tell which are deleted
    recheck: dict[str, list[str]] = {}
    # per account with posts to recheck: the oldest one's created_at (naive UTC)
    recheck_since: dict[str, datetime] = {}

    def items(self) -> list[str]:
        return self.accounts

    def walk_since(self, account: str) -> datetime:
        """How far back a walk that also re-reads the account's posts to recheck goes: to
        ``since``, or to the oldest post to recheck when that is older."""
        return min(self.since[account], self.recheck_since.get(account, self.since[account]))

    def describe(self) -> str:
        posts = sum(map(len, self.recheck.values()))
        return super().describe() + (f", {posts} posts to recheck" if posts else "")


class DiscoveryBatch(_Batch):
    """Hashtags and keywords to search the platform for (niche_discovery)."""

    kind: Literal["discovery"] = "discovery"
    tags: list[str] = []
    keywords: list[str] = []
    # the one Mastodon instance whose timelines this batch reads
    instance: str | None = None

    def items(self) -> list[str]:
        return [*self.tags, *self.keywords]

    def key(self) -> tuple:
        return (*super().key(), self.instance)

    def describe(self) -> str:
        where = f"{self.platform} on {self.instance}" if self.instance else self.platform
        return where + super().describe().removeprefix(self.platform)


Batch = Annotated[FixtureBatch | LiveBatch | DiscoveryBatch, Field(discriminator="kind")]
BATCH = TypeAdapter(Batch)


def as_batch(raw: Batch | Mapping[str, Any]) -> Batch:
    """A batch as its model, from the JSON dict XCom carries (or the model itself)."""
    return raw if isinstance(raw, _Batch) else BATCH.validate_python(raw)


@dataclass(frozen=True)
class TaskContext:
    """Which run and try of which task does the work, and for which interval."""

    interval_start: datetime
    interval_end: datetime
    run_id: str
    task: str
    attempt: int = 1
    # the platform's secrets, read from Airflow connections when the task runs: they go
    # into request headers or query only, never into an archive, a log or the warehouse
    credentials: Mapping[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # keeps credentials out of any log line that shows it
        return (
            f"TaskContext({self.interval_start} → {self.interval_end}, run {self.run_id!r}, "
            f"task {self.task!r}, try {self.attempt})"
        )


@dataclass(frozen=True)
class FetchContext:
    """What a connector's fetch and discover functions get besides their settings and batch."""

    # the end of the interval: counts observed after it are not this run's to record
    until: datetime
    # an endpoint's raw archive for this try of the task (it replays former tries' pages)
    archives: Callable[[str], RawArchive]
    credentials: Mapping[str, str] = field(default_factory=dict)
    # the machine's daily quota ledger for this platform (file-backed, shared by tasks)
    quota_path: Path | None = None
    # the shared ``discovery:`` settings (caps, every platform's discovery block)
    discovery: Any = None
    # passed to the platform client: timeouts, retries, clock and sleep (tests)
    client_options: Mapping[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return f"FetchContext(until={self.until})"


S = TypeVar("S", bound=PlatformSettings)
Fetch = Callable[[S, LiveBatch, FetchContext], Pages]
Discover = Callable[[S, DiscoveryBatch, FetchContext], Pages]


def plan_one_discovery(
    name: str, discovery: DiscoverySettings, tags: list[str], keywords: list[str]
) -> list[DiscoveryBatch]:
    """The usual discovery plan: one batch of every term, when the platform's enabled."""
    if not getattr(discovery, "enabled", False):
        return []
    return [DiscoveryBatch(platform=name, tags=tags, keywords=keywords)]


@dataclass(frozen=True)
class Connector(Generic[S]):
    """One platform, as the pipeline sees it. ``name`` is the platform's name everywhere:
    ``core.*.platform``, ``RADAR_PLATFORMS``, ``config/sources.yaml``, the feed's folder,
    the Airflow pool ``radar_<name>`` and connection ``radar_<name>``."""

    name: str
    # how people call it (the docs' connector table)
    label: str
    # its block of config/sources.yaml
    settings: type[S]
    # endpoint → mapper from a recorded page to canonical rows, for social_ingest
    mappers: Mapping[str, Mapper]
    # live fetching: the pages of a batch of tracked accounts, as (endpoint, page)
    fetch: Fetch
    # endpoint → mapper for niche_discovery's endpoints (sightings of accounts and terms)
    discovery_mappers: Mapping[str, Mapper] = field(default_factory=dict)
    # live discovery: the pages of a batch of search terms; None: the platform cannot
    discover: Discover | None = None
    # its block under discovery: in config/sources.yaml
    discovery_settings: type[DiscoverySettings] = DiscoverySettings
    # (name, its discovery block, tags, keywords) → discovery batches
    plan_discovery: Callable[..., list[DiscoveryBatch]] = plan_one_discovery
    # endpoint → set-based twin of its Python mapping (ingest.bulk), where one exists
    bulk_mappings: Mapping[str, BulkMapping] = field(default_factory=dict)
    # credential key → field of the Airflow connection radar_<name> that holds it
    connection_fields: Mapping[str, str] = field(default_factory=dict)
    # (batch, connection lookup) → credentials, for platforms whose secrets are not one
    # connection (Mastodon: a token per instance); else ``connection_fields`` is read
    credentials: Callable[[Batch, Callable[[str], Any]], dict[str, str]] | None = None
    # concurrent extract tasks (slots of the pool radar_<name>)
    pool_slots: int = 2
    # the daily budget the connector spends, in words (the docs' connector table)
    budget: str = "none"
    # how many tracked accounts one live batch (one mapped task) covers
    accounts_per_batch: int = 25
    # whether ``fetch`` re-reads ``LiveBatch.recheck`` and records the posts the platform
    # says are gone; only then does the plan read those posts from the warehouse
    confirms_deletions: bool = False

    def __post_init__(self) -> None:
        # every mapper guarded (ingest.batch.guarded), whoever wrote the connector: what one
        # page makes it raise becomes that page's reject, never a failed batch
        object.__setattr__(self, "mappers", guard_all(dict(self.mappers)))
        object.__setattr__(self, "discovery_mappers", guard_all(dict(self.discovery_mappers)))

    @property
    def pool(self) -> str:
        return f"radar_{self.name}"

    @property
    def connection_id(self) -> str:
        return f"radar_{self.name}"
