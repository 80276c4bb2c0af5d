"""Numbered schema migrations: `NNNN_description.sql` files applied in order, each once."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from heattool.store.store import Store

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    """One schema change: its version number, a short description and its SQL.

    `then(store)`, if any, runs right after the SQL in the same transaction.
    """

    version: int
    description: str
    sql: str
    then: Callable[[Store], None] | None = None


def _fill_school_nation(store: Store) -> None:
    from heattool.store.people import fill_school_nation

    fill_school_nation(store)


# What a migration's SQL cannot do: fill a column only heattool's own Polars rules compute
# (a rule is never copied into SQL), run right after that migration's SQL. Such a step reads
# and writes only columns that later migrations keep.
_THEN: dict[int, Callable[[Store], None]] = {7: _fill_school_nation}
# A version another branch takes, so that its number is not reused here: until that branch is
# merged this heattool skips it (0009: the matching branch's; remove from here once merged).
_TAKEN_ELSEWHERE = frozenset({9})


@cache
def migrations() -> tuple[Migration, ...]:
    """Every migration shipped with this heattool, in version order."""
    found = []
    for entry in resources.files(__name__).iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(
                Migration(
                    int(match.group(1)),
                    match.group(2).replace("_", " "),
                    entry.read_text("utf-8"),
                    _THEN.get(int(match.group(1))),
                )
            )
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    expected = [
        v for v in range(1, max(versions) + 1) if v in versions or v not in _TAKEN_ELSEWHERE
    ]
    if versions != expected:
        raise RuntimeError("store migrations must be numbered 0001, 0002, ... without gaps")
    return tuple(found)


def latest_version() -> int:
    """The schema version this heattool writes."""
    return migrations()[-1].version
