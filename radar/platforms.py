"""The names of the platforms the radar has a connector for: the ``radar.connectors``
entry points (the connectors themselves are loaded by ``ingest.registry``).

Standard library only and nothing imported, so DAG files may call it as they parse and
``transforms`` may check a config against it without importing ``ingest``.
"""

from __future__ import annotations

from importlib.metadata import entry_points

GROUP = "radar.connectors"


def platform_names() -> list[str]:
    """The registered platforms, by name (each once)."""
    names = sorted({ep.name for ep in entry_points(group=GROUP)})
    if not names:
        raise RuntimeError(
            f"no platform connectors registered under the {GROUP!r} entry points: "
            "is the project installed (make setup, or uv sync)?"
        )
    return names
