"""Numbered schema migrations: `NNNN_description.sql` files applied in order, each once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One schema change: its version number, a short description and its SQL."""

    version: int
    description: str
    sql: str


@cache
def migrations() -> tuple[Migration, ...]:
    """Every migration shipped with this heattool, in version order."""
    found = []
    for entry in resources.files(__name__).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(
                Migration(
                    int(match.group(1)), match.group(2).replace("_", " "), entry.read_text("utf-8")
                )
            )
    found.sort(key=lambda m: m.version)
    if [m.version for m in found] != list(range(1, len(found) + 1)):
        raise RuntimeError("store migrations must be numbered 0001, 0002, ... without gaps")
    return tuple(found)


def latest_version() -> int:
    """The schema version this heattool writes."""
    return migrations()[-1].version
