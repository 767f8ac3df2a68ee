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
    importing the other packages' models was ~0.05 CPU s of every task."""
    names = platform_names()
    if platform not in names:
        raise KeyError(f"no connector for platform {platform!r}; known: {', '.join(names)}")
    return _load_one(platform)


def _load(names: tuple[str, ...]) -> dict[str, Connector]:
    return {name: _load_one(name) for name in names}


@cache
def _load_one(name: str) -> Connector:
    from ingest.connector import Connector

    entry = {ep.name: ep for ep in entry_points(group=GROUP)}[name]
    found = entry.load()
    if not isinstance(found, Connector) or found.name != name:
        raise TypeError(
            f"entry point {GROUP}:{name} = {entry.value} must be a Connector "
            f"named {name!r}, not {found!r}"
        )
    return found
