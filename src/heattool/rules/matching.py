"""Matching people: the policy's thresholds (`[matching]`) and the shipped nickname table.

`heattool match` and `heattool duplicates` score each pair of records with a probability that
they are the same person (the engine is `store/matching.py`). The policy says what a
probability means: at or above `match_at` the pair is `matched`; from `review_at` up to it, a
person is asked (`review`); below, a listed record is `new`. The nickname table
(`nicknames.csv`: a name and another it is also written as, such as William and Bill) is data,
folded when read as the engine folds names, so that a member can add to it with `--nicknames`.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from heattool.errors import BadPolicy
from heattool.rules._toml import check_keys, describe

NICKNAMES = "nicknames.csv"


@dataclass(frozen=True)
class Matching:
    """What a match probability means: matched at `match_at`, review from `review_at`."""

    match_at: float = 0.95
    review_at: float = 0.5


def parse_matching(source: str, table: Any) -> Matching:
    """The `[matching]` table; BadPolicy names the file, the key and the reason."""
    where = f"{source}: [matching]"
    check_keys(where, table, [], ["match_at", "review_at"])
    values = {}
    for key, default in (("match_at", Matching.match_at), ("review_at", Matching.review_at)):
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
            raise BadPolicy(f"{where}: {key} must be a probability above 0 and below 1, not "
                            f"{describe(value)}")  # fmt: skip
        values[key] = float(value)
    if values["review_at"] > values["match_at"]:
        raise BadPolicy(
            f"{where}: review_at ({values['review_at']}) must not be above match_at "
            f"({values['match_at']})"
        )
    return Matching(**values)


def nickname_pairs(path: Path | None = None) -> list[tuple[str, str]]:
    """(name, also written as) pairs: the shipped table, or a CSV of `name,also` at `path`."""
    if path is None:
        text = resources.files("heattool.rules").joinpath(NICKNAMES).read_text("utf-8")
        source = NICKNAMES
    else:
        try:
            text = Path(path).read_text("utf-8-sig")
        except FileNotFoundError:
            raise BadPolicy(f"{path}: no such file") from None
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise BadPolicy(f"{path}: cannot be read ({reason})") from None
        source = str(path)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or [c.strip().lower() for c in rows[0]] != ["name", "also"]:
        raise BadPolicy(f"{source}: the first row must be the headings name,also")
    pairs = []
    for number, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != 2 or not all(cell.strip() for cell in row):
            raise BadPolicy(f"{source}: line {number}: give a name and another it is written as")
        pairs.append((row[0].strip(), row[1].strip()))
    return pairs
