"""Every platform the radar has a connector for: the ``radar.connectors`` entry points,
loaded.

The project registers its own five in ``pyproject.toml``; a platform package of your
own registers in its own distribution the same way (``docs/connectors.md``: "Adding a
platform"), and nothing else has to change. Their names alone (no import) come from
``radar.platforms.platform_names``.
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from radar.platforms import GROUP, platform_names

if TYPE_CHECKING:
    from ingest.connector import Connector


def connectors() -> dict[str, Connector]:
    """Every registered connector by platform name, loaded (imports each package)."""
    return _load(tuple(platform_names()))


def connector(platform: str) -> Connector:
    """One platform's connector, loaded alone: an extract task maps one platform, and
    importing the other packages' models, and listing the entry points again for every
    lookup, was ~0.1 CPU s of every task."""
    try:
        return _load_one(platform)
    except LookupError:
        names = ", ".join(platform_names())
        raise KeyError(f"no connector for platform {platform!r}; known: {names}") from None


def _load(names: tuple[str, ...]) -> dict[str, Connector]:
    return {name: _load_one(name) for name in names}


@cache
def _load_one(name: str) -> Connector:
    """The connector registered as ``name`` (LookupError if none is); a name not found is
    looked up again next time, as a package installed meanwhile may register it."""
    from ingest.connector import Connector

    entry = {ep.name: ep for ep in entry_points(group=GROUP)}[name]
    found = entry.load()
    if not isinstance(found, Connector) or found.name != name:
        raise TypeError(
            f"entry point {GROUP}:{name} = {entry.value} must be a Connector "
            f"named {name!r}, not {found!r}"
        )
    return found
