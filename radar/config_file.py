"""Reading one YAML config file into its model, with errors a person can act on."""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel

from radar.errors import ConfigError, one_line

Model = TypeVar("Model", bound=BaseModel)


def read_config(path: Path, model: type[Model]) -> Model:
    """``path`` validated as ``model``; any problem is a one-line ``ConfigError`` naming the
    file, which fails the task at once (a retry would read the same file)."""
    try:
        return model.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except FileNotFoundError as exc:
        raise ConfigError(f"missing config file {path}") from exc
    except (yaml.YAMLError, ValueError) as exc:
        raise ConfigError(f"{path}: {one_line(exc)}") from exc
