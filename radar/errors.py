"""Errors that no retry can fix. A task that meets one fails at once, without retries, with
the one-line message as its cause (``dags/_radar.py: fail_fast``)."""

from __future__ import annotations

from pydantic import ValidationError


class PermanentError(Exception):
    """The run cannot succeed until a person changes something: the message says what."""


class ConfigError(PermanentError, ValueError):
    """A config file or ``RADAR_*`` setting that does not validate."""


class WarehouseLockedError(PermanentError):
    """The warehouse file is held by a program outside the radar (a DuckDB CLI, a notebook,
    DBeaver): waiting would not release it."""


def one_line(exc: BaseException) -> str:
    """An exception as one line: pydantic's multi-line reports become ``loc: msg; …``."""
    if isinstance(exc, ValidationError):
        parts = [
            f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: {err['msg']}"
            for err in exc.errors()
        ]
        return f"{exc.error_count()} invalid setting(s) in {exc.title}: " + "; ".join(parts)
    return " ".join(str(exc).split()) or type(exc).__name__
