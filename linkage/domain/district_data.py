"""What the catalogue and the routing table are built on: a strict model and a loader.

Both are district files in temporal-config/, edited by hand: a key no model knows is refused
rather than ignored, text is stripped, and a file that does not validate is reported by its
name, field by field, as a ConfigError.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from linkage.settings.config import ConfigError, format_validation_error, read_toml

Table = TypeVar("Table", bound=BaseModel)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def load_table(model: type[Table], path: Path) -> Table:
    """The file at `path`, validated as `model`; a ConfigError that names the file if not."""
    try:
        return model.model_validate(read_toml(path))
    except ValidationError as err:
        raise ConfigError(format_validation_error(path.name, err)) from err
