"""Match upload headings to canonical columns and tell the upload's kind from them."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any, TypeGuard

from heattool.errors import BadPolicy, UnknownKind
from heattool.schemas import KINDS, RETURN_KINDS

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


MANY_HEADINGS = 1000  # from this many, `heading_keys` has Polars make the keys


def heading_keys(headings: Sequence[str]) -> list[str]:
    """`heading_key` of each heading. Of many, Polars makes the keys of the ASCII ones at once
    (lower-casing ASCII text, it and Python agree) and heading_key any other: one by one in
    Python, 3,000,000 headings took 5 s."""
    if len(headings) < MANY_HEADINGS:
        return [heading_key(h) for h in headings]
    import polars as pl

    text = pl.Series(headings, dtype=pl.String)
    keys: list[str] = text.str.to_lowercase().str.replace_all("[^0-9a-z]+", "").to_list()
    for n in text.str.contains(r"[^\x00-\x7F]").arg_true().to_list():
        keys[n] = heading_key(headings[n])
    return keys


HEAT_STUDENT_ID = "heat_student_id"  # HEAT's own id of a student: the ref when no other is given

# Single words too common in headings to say which column one means: "Course Leader" is not a
# course nor "Schools Officer" a school, "Permission to Photograph" no permission to track.
# Headings of several words (such as "School Name") are not affected.
GENERIC_WORDS = frozenset(
    """name title type typology mode delivery from to date hours duration stage course subject
    programme school college institution university provider country consent permission belief
    attended""".split()  # noqa: SIM905 - a list of words, kept readable
)
GLUED_MIN = 8  # a heading's key contains a name of this many letters or more glued to others

_WORD = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|[0-9]+")


def heading_words(text: str) -> tuple[str, ...]:
    """A heading's words, lower-case: 'Pupil Date-of-Birth' and 'PupilDateOfBirth' both give
    ('pupil', 'date', 'of', 'birth')."""
    return tuple(word.lower() for word in _WORD.findall(text))


@dataclass(frozen=True)
class HeadingTables:
    """The known headings: each heading key's column, each column's names, the ignored keys."""

    columns: dict[str, str]  # heading key -> canonical column
    names: dict[str, tuple[str, ...]]  # canonical -> its name and every heading given for it
    ignored: frozenset[str]  # heading keys known and deliberately not loaded


def alias_table(extra: Path | None = None) -> dict[str, str]:
    """Heading key -> canonical column, from `aliases.toml` and a member's own alias file.

    Every canonical name is also a heading for itself. A member's file uses the same form as
    `aliases.toml` and adds to it; it may not move a heading to another column.
    """
    return heading_tables(extra).columns


@cache
def heading_tables(extra: Path | None = None) -> HeadingTables:
    """The alias table, every column's names and the ignored headings (see `alias_table`)."""
    sources = [("aliases.toml", resources.files("heattool.schemas").joinpath("aliases.toml"))]
    if extra is not None:
        sources.append((str(extra), Path(extra)))
    uploads = {c for kind in KINDS for c in kind_columns(kind)[0]}
    returns = {c for kind in RETURN_KINDS for c in kind_columns(kind)[0]} - uploads
    known = uploads | returns
    table = {heading_key(c): c for c in uploads}
    names: dict[str, list[str]] = {c: [c] for c in known}
    ignored: dict[str, str] = {}
    for label, source in sources:
        aliases, ignore = _load_aliases(label, source)
        for canonical, headings in aliases.items():
            if canonical not in known:
                raise BadPolicy(
                    f"{label}: '{canonical}' is not a column of any upload kind or track return"
                )
            if not _strings(headings):
                raise BadPolicy(f"{label}: '{canonical}' must be a list of headings in quotes")
            for name in headings:
                key = heading_key(name)
                if table.get(key, canonical) != canonical:
                    raise BadPolicy(
                        f"{label}: heading '{name}' is given for both "
                        f"'{table[key]}' and '{canonical}'"
                    )
                table[key] = canonical
                names[canonical].append(name)
                ignored.pop(key, None)  # a member may load a heading heattool ignores
        for name in ignore:
            key = heading_key(name)
            if key in table:
                raise BadPolicy(
                    f"{label}: heading '{name}' is in [ignore] but is a heading for "
                    f"'{table[key]}'; take it out of [ignore]"
                )
            ignored[key] = name
    # A return column's own name may be an upload column's heading (`he_entry_year` is
    # expected_he_entry_year's "HE Entry Year"): the upload's meaning stands here, and in a
    # return its own column's name wins (`map_headers`).
    for column in returns:
        table.setdefault(heading_key(column), column)
    return HeadingTables(table, {c: tuple(n) for c, n in names.items()}, frozenset(ignored))


def _strings(value: object) -> TypeGuard[list[str]]:
    return isinstance(value, list) and all(isinstance(n, str) for n in value)


def _load_aliases(label: str, source: Traversable | Path) -> tuple[dict[str, Any], list[str]]:
    try:
        document = tomllib.loads(source.read_text("utf-8"))
    except FileNotFoundError:
        raise BadPolicy(f"{label}: no such alias file") from None
    except IsADirectoryError:
        raise BadPolicy(f"{label}: is a folder; give the path of an alias file (TOML)") from None
    except OSError as exc:
        raise BadPolicy(f"{label}: cannot be read ({exc.strerror})") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadPolicy(f"{label}: not valid TOML ({exc})") from None
    aliases = document.get("aliases", {})
    ignore = document.get("ignore", {"headings": []})
    if (
        not document
        or not set(document) <= {"aliases", "ignore"}
        or not isinstance(aliases, dict)
        or not isinstance(ignore, dict)
    ):
        raise BadPolicy(
            f"{label}: expected one [aliases] table of column = [headings] "
            "(and, if wanted, an [ignore] table of headings = [...])"
        )
    if set(ignore) != {"headings"} or not _strings(ignore["headings"]):
        raise BadPolicy(f'{label}: [ignore] must hold one list, headings = ["...", ...]')
    return aliases, ignore["headings"]


@dataclass
class HeaderMap:
    """How an upload's headings map to canonical columns."""

    kind: str
    columns: dict[str, str]  # canonical -> original heading
    positions: dict[str, int]  # canonical -> 0-based column position in the upload
    unknown: list[str] = field(default_factory=list)  # ignored, with a warning
    duplicates: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    # (heading, canonical): an unknown heading that names a column the upload lacks
    lookalikes: list[tuple[str, str]] = field(default_factory=list)
    heat_id_as_ref: str | None = None  # the HEAT student ID heading that serves as student_ref
    known: set[str] = field(default_factory=set)  # headings of the alias table, or ignored by it

    def quotable(self, heading: str) -> bool:
        """Whether a message may quote this heading: one the alias table knows, any heading of
        a row that holds every required column, and any heading of a kind that is not people.
        A row of people without their required columns may be a row of data (no headings above
        it, or the wrong --header-row), and its cells a person's."""
        from heattool.schemas import PERSON_KINDS

        return not self.missing or heading in self.known or self.kind not in PERSON_KINDS


def map_headers(
    headings: list[str],
    kind: str | None = None,
    aliases: Path | None = None,
    row: int | None = None,
) -> HeaderMap:
    """Map headings (in spreadsheet row `row`) to canonical columns, detecting the kind when
    not given.

    With no student_ref heading, a HEAT student ID heading serves as the ref (of students and
    attendance). An unknown heading that contains the name or a heading of one of the kind's
    columns the upload lacks is a lookalike, not an unknown column (`lookalike`).
    """
    tables = heading_tables(aliases)
    keys = heading_keys(headings)
    canonical_of = [tables.columns.get(k) for k in keys]
    chosen = kind or detect_kind(headings, canonical_of, row)
    allowed = set(kind_columns(chosen)[0])
    # A kind's own column names mean its columns (for an upload kind they always do).
    own = {heading_key(c): c for c in allowed}
    canonical_of = [own.get(heading_key(h), c) for h, c in zip(headings, canonical_of, strict=True)]
    result = HeaderMap(kind=chosen, columns={}, positions={})
    result.known = {
        h
        for h, c in zip(headings, canonical_of, strict=True)
        if c or heading_key(h) in tables.ignored
    }
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
        source: tuple[int, str] | None
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
        first = {h: n for n, h in reversed(list(enumerate(headings)))}  # as headings.index
        result.unknown = sorted(result.unknown + [h for _, h in held], key=first.__getitem__)
    result.columns = dict(sorted(result.columns.items(), key=lambda c: result.positions[c[0]]))
    lacking = [c for c in kind_columns(chosen)[0] if c not in result.columns]
    if result.unknown:  # all at once: an upload may have 100,000 unknown headings
        key_of = dict(zip(headings, keys, strict=True))
        checked = [
            h
            for h in result.unknown  # but a heading of another kind, or one deliberately ignored
            if key_of[h] not in tables.columns and key_of[h] not in tables.ignored
        ]
        named = {
            h: c
            for h, c in zip(checked, lookalikes_of(checked, lacking, aliases), strict=True)
            if c
        }
        result.lookalikes = [(h, named[h]) for h in checked if h in named]
        result.unknown = [h for h in result.unknown if h not in named]
    result.missing = [c for c in kind_columns(chosen)[1] if c not in result.columns]
    return result


def has_required_columns(headings: Iterable[str], kinds: list[str], aliases: Path | None) -> bool:
    """Whether the headings hold every required column of one of `kinds`: that kind's
    `map_headers(headings, kind, aliases).missing` is empty (a HEAT student ID standing for a
    missing student_ref). Each heading is looked up once, for every kind at once."""
    columns = heading_tables(aliases).columns
    present = {columns.get(k) for k in heading_keys(list(headings))}
    if HEAT_STUDENT_ID in present:
        present.add("student_ref")
    return any(set(kind_columns(kind)[1]) <= present for kind in kinds)


def suggested_heading(canonical: str) -> str:
    """The heading to suggest for a column: its first in `aliases.toml`, else its name."""
    names = heading_tables().names.get(canonical, (canonical,))
    return names[1] if len(names) > 1 else canonical


@cache
def _matchable_names(aliases: Path | None) -> dict[str, tuple[tuple[str, tuple[str, ...]], ...]]:
    """Canonical -> (key, words) of each of its names that can tell a lookalike heading."""
    found = {}
    for canonical, names in heading_tables(aliases).names.items():
        usable = {(heading_key(n), heading_words(n)) for n in names}
        found[canonical] = tuple(
            sorted((k, w) for k, w in usable if w and not (len(w) == 1 and k in GENERIC_WORDS))
        )
    return found


def lookalike(heading: str, columns: list[str], aliases: Path | None = None) -> str | None:
    """The column of `columns` an unknown heading most probably means, or None.

    A heading means a column when its words include, in order, all the words of the column's
    name or of one of its headings ("Pupil Date of Birth" has "Date of Birth"), or when its key
    contains such a heading's key of at least GLUED_MIN letters ("PUPILDATEOFBIRTH"). Single
    GENERIC_WORDS never count. The longest name found decides.
    """
    return lookalikes_of([heading], columns, aliases)[0]


def lookalikes_of(
    headings: list[str], columns: list[str], aliases: Path | None = None
) -> list[str | None]:
    """`lookalike` of each heading, worked out by Polars for all of them at once.

    A run of words is found as a substring: " date of birth " in the heading's words joined
    and wrapped in spaces (" pupil date of birth "), which is the same test and runs in Rust
    (one heading at a time in Python took a minute over 100,000 headings). A heading can only
    match a name when its key holds the name's words run together ("dateofbirth") or its glued
    key, as an ASCII heading's key is its own words run together: only those headings, and any
    that are not ASCII, are tried.
    """
    import polars as pl

    matchable = _matchable_names(aliases)
    names = [(key, words, c) for c in columns for key, words in matchable.get(c, ())]
    if not headings or not names:
        return [None] * len(headings)
    keys = heading_keys(headings)
    glued = {key for key, _, _ in names if len(key) >= GLUED_MIN}
    runs = sorted({"".join(words) for _, words, _ in names} | glued)
    candidates = (
        pl.DataFrame(
            {"heading": headings, "key": keys}, schema={"heading": pl.String, "key": pl.String}
        )
        .select(
            pl.col("key").str.contains_any(runs) | pl.col("heading").str.contains(r"[^\x00-\x7F]")
        )
        .to_series()
        .arg_true()
        .to_list()
    )
    best: list[str | None] = [None] * len(headings)
    if not candidates:
        return best
    frame = pl.DataFrame(
        {
            "words": [f" {' '.join(heading_words(headings[n]))} " for n in candidates],
            "key": [keys[n] for n in candidates],
        },
        schema={"words": pl.String, "key": pl.String},
    )
    # The longest name found decides; of names as long, the first (sorted() keeps their order).
    found = []
    for key, words, canonical in sorted(names, key=lambda name: -len(name[0])):
        test = pl.col("words").str.contains(f" {' '.join(words)} ", literal=True)
        if len(key) >= GLUED_MIN:
            test = test | pl.col("key").str.contains(key, literal=True)
        found.append(pl.when(test).then(pl.lit(canonical, dtype=pl.String)))
    for n, canonical in zip(candidates, frame.select(pl.coalesce(found)).to_series(), strict=True):
        best[n] = canonical
    return best


def detect_kind(headings: list[str], canonical_of: list[str | None], row: int | None = None) -> str:
    """The kind whose required columns are all present and which explains most headings.

    `row`, the spreadsheet row of the headings, is named when no kind fits.
    """
    present = {c for c in canonical_of if c}
    if HEAT_STUDENT_ID in present:  # the ref when the upload gives no other
        present.add("student_ref")
    scores = {
        kind: sum(1 for c in canonical_of if c and _explains(c, kind_columns(kind)[0]))
        for kind in KINDS
        if set(kind_columns(kind)[1]) <= present
    }
    if not scores:
        # Only the headings the alias table knows are quoted: the row may be a row of data.
        known = [h for h, c in zip(headings, canonical_of, strict=True) if c]
        shown = ", ".join(f"'{h}'" for h in known[:6]) + (", ..." if len(known) > 6 else "")
        where = f" in row {row}" if row else ""
        count = f"{len(headings)} heading{'s' if len(headings) != 1 else ''}"
        raise UnknownKind(
            f"cannot tell what kind of upload this is from its headings{where} "
            f"({count}{'; known: ' + shown if known else ', none of them known'}); "
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
