"""Reading one YAML config file into its model, with errors a person can act on."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel

from radar.errors import ConfigError, one_line

Model = TypeVar("Model", bound=BaseModel)
# libyaml's parser where PyYAML was built with it: the pure-Python one took ~0.1 s of every
# transform run for the config files and 1.5 s for the descriptions. The same values; an
# error is re-read by the pure-Python parser, whose messages (they quote the line) are the
# ones users see
_FAST_LOADER = getattr(yaml, "CSafeLoader", None)


def read_config(path: Path, model: type[Model]) -> Model:
    """``path`` validated as ``model``; any problem is a one-line ``ConfigError`` naming the
    file, which fails the task at once (a retry would read the same file)."""
    try:
        return model.model_validate(parse_yaml(path.read_text(encoding="utf-8")))
    except FileNotFoundError as exc:
        raise ConfigError(f"missing config file {path}") from exc
    except (yaml.YAMLError, ValueError) as exc:
        raise ConfigError(f"{path}: {one_line(exc)}") from exc


def parse_yaml(text: str):
    """``text`` as YAML, by libyaml where PyYAML has it (a safe loader either way)."""
    if _FAST_LOADER is not None:
        try:
            return yaml.load(text, Loader=_FAST_LOADER)  # noqa: S506 (a safe loader)
        except yaml.YAMLError:
            pass
    return yaml.safe_load(text)
