"""Match upload headings to canonical columns and tell the upload's kind from them."""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path

from heattool.errors import BadPolicy, UnknownKind
from heattool.schemas import KINDS

_NOT_ALNUM = re.compile(r"[^0-9a-z]+")


@cache
def kind_columns(kind: str) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The canonical columns of a kind and the required ones, as its Pandera model declares them."""
    from heattool.schemas.models import MODELS

    columns = MODELS[kind].to_schema().columns
    return tuple(columns), tuple(name for name, col in columns.items() if not col.nullable)


def heading_key(text: str) -> str:
    """A heading reduced to lower-case letters and digits: 'Date of Birth' -> 'dateofbirth'."""
    return _NOT_ALNUM.sub("", text.lower())


HEAT_STUDENT_ID = "heat_student_id"  # HEAT's own id of a student: the ref when no other is given


@cache
def alias_table(extra: Path | None = None) -> dict[str, str]:
    """Heading key -> canonical column, from `aliases.toml` and a member's own alias file.

    Every canonical name is also a heading for itself. A member's file uses the same form as
    `aliases.toml` and adds to it; it may not move a heading to another column.
    """
    sources = [("aliases.toml", resources.files("heattool.schemas").joinpath("aliases.toml"))]
    if extra is not None:
        sources.append((str(extra), Path(extra)))
    known = {c for kind in KINDS for c in kind_columns(kind)[0]}
    table = {heading_key(c): c for c in known}
    for label, source in sources:
        aliases = _load_aliases(label, source)
        for canonical, names in aliases.items():
            if canonical not in known:
                raise BadPolicy(f"{label}: '{canonical}' is not a column of any upload kind")
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise BadPolicy(f"{label}: '{canonical}' must be a list of headings in quotes")
            for name in names:
                key = heading_key(name)
                if table.get(key, canonical) != canonical:
                    raise BadPolicy(
                        f"{label}: heading '{name}' is given for both "
                        f"'{table[key]}' and '{canonical}'"
                    )
                table[key] = canonical
    return table


def _load_aliases(label: str, source) -> dict:
    try:
        document = tomllib.loads(source.read_text("utf-8"))
    except FileNotFoundError:
        raise BadPolicy(f"{label}: no such alias file") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadPolicy(f"{label}: not valid TOML ({exc})") from None
    aliases = document.get("aliases")
    if not isinstance(aliases, dict) or set(document) != {"aliases"}:
        raise BadPolicy(f"{label}: expected one [aliases] table of column = [headings]")
    return aliases


@dataclass
class HeaderMap:
    """How an upload's headings map to canonical columns."""

    kind: str
    columns: dict[str, str]  # canonical -> original heading
    positions: dict[str, int]  # canonical -> 0-based column position in the upload
    unknown: list[str] = field(default_factory=list)  # ignored, with a warning
    duplicates: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    heat_id_as_ref: str | None = None  # the HEAT student ID heading that serves as student_ref


def map_headers(
    headings: list[str], kind: str | None = None, aliases: Path | None = None
) -> HeaderMap:
    """Map headings to canonical columns, detecting the kind when not given.

    With no student_ref heading, a HEAT student ID heading serves as the ref (of students and
    attendance).
    """
    table = alias_table(aliases)
    canonical_of = [table.get(heading_key(h)) for h in headings]
    chosen = kind or detect_kind(headings, canonical_of)
    allowed = set(kind_columns(chosen)[0])
    result = HeaderMap(kind=chosen, columns={}, positions={})
    # HEAT student IDs of an upload whose kind has a student_ref but no heat_student_id
    held: list[tuple[int, str]] = []
    for position, (heading, canonical) in enumerate(zip(headings, canonical_of, strict=True)):
        if canonical == HEAT_STUDENT_ID and canonical not in allowed and "student_ref" in allowed:
            held.append((position, heading))
        elif canonical is None or canonical not in allowed:
            result.unknown.append(heading)
        elif canonical in result.columns:
            result.duplicates.append(canonical)
        else:
            result.columns[canonical] = heading
            result.positions[canonical] = position
    if "student_ref" in allowed and "student_ref" not in result.columns:
        if HEAT_STUDENT_ID in result.columns:
            source = (result.positions[HEAT_STUDENT_ID], result.columns[HEAT_STUDENT_ID])
        else:
            source = held.pop(0) if held else None
        if source:
            result.positions["student_ref"], result.columns["student_ref"] = source
            result.heat_id_as_ref = source[1]
            result.duplicates.extend("student_ref" for _ in held)
            held = []
    if held:  # beside the upload's own ref: not loaded
        result.unknown = sorted(result.unknown + [h for _, h in held], key=headings.index)
    result.columns = dict(sorted(result.columns.items(), key=lambda c: result.positions[c[0]]))
    result.missing = [c for c in kind_columns(chosen)[1] if c not in result.columns]
    return result


def detect_kind(headings: list[str], canonical_of: list[str | None]) -> str:
    """The kind whose required columns are all present and which explains most headings."""
    present = {c for c in canonical_of if c}
    if HEAT_STUDENT_ID in present:  # the ref when the upload gives no other
        present.add("student_ref")
    scores = {
        kind: sum(1 for c in canonical_of if c and _explains(c, kind_columns(kind)[0]))
        for kind in KINDS
        if set(kind_columns(kind)[1]) <= present
    }
    if not scores:
        shown = ", ".join(f"'{h}'" for h in headings[:6]) or "none"
        raise UnknownKind(
            f"cannot tell what kind of upload this is from its headings ({shown}); "
            f"check the header row, or give --kind ({'|'.join(KINDS)})"
        )
    best = max(scores.values())
    leaders = [k for k, s in scores.items() if s == best]
    if len(leaders) > 1:
        raise UnknownKind(
            f"the headings fit {' and '.join(leaders)} equally well; give --kind {leaders[0]} "
            f"or --kind {leaders[1]}"
        )
    return leaders[0]


def _explains(canonical: str, columns: tuple[str, ...]) -> bool:
    """Whether a heading of this column fits a kind of these columns."""
    return canonical in columns or (canonical == HEAT_STUDENT_ID and "student_ref" in columns)
