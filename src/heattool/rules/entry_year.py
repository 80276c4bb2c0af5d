"""Expected HE Entry Year from date of birth and the nation of schooling, with its source.

The cut-offs and the postcode areas of each nation are data in `entry_year.toml`; every value is
computed as one Polars expression over the whole frame.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import polars as pl

from heattool.errors import BadPolicy
from heattool.rules._toml import check_keys, describe, read_toml
from heattool.rules.calendar import AnnualDate

Frame = TypeVar("Frame", pl.DataFrame, pl.LazyFrame)

DEFAULT_RULES = "entry_year.toml"
YEAR = "expected_he_entry_year"
LABEL = "entry_year_label"
SOURCE = "entry_year_source"
NATION = "entry_year_nation"
SOURCE_DOB = "dob"
SOURCE_OVERRIDE = "override"

# The outward code (area letters, district digit, optional digit or letter) of a spaced or
# unspaced postcode, or of an outward code alone.
_OUTWARD = r"^([A-Z]{1,2}[0-9][A-Z0-9]?)(?:[0-9][A-Z]{2})?$"


@dataclass(frozen=True)
class NationCutoff:
    """One nation's school-year cut-off: born on/after it in year Y, entry in Y + on_or_after."""

    nation: str
    names: tuple[str, ...]
    cutoff: AnnualDate
    on_or_after: int


@dataclass(frozen=True)
class PostcodeNation:
    """Postcode areas schooled in one nation, less whole districts that are not, and whole
    districts of other areas that are (`also_districts`)."""

    nation: str
    areas: tuple[str, ...]
    except_districts: tuple[str, ...] = ()
    also_districts: tuple[str, ...] = ()


@dataclass(frozen=True)
class EntryYearRules:
    """Everything the entry-year rule needs, as loaded from `entry_year.toml`."""

    default_nation: str
    nations: tuple[NationCutoff, ...]
    postcodes: tuple[PostcodeNation, ...]


def _key(name: str) -> str:
    return re.sub(r"[^a-z]", "", name.lower())


def load_entry_year_rules(path: Path) -> EntryYearRules:
    """Load and check an entry-year rules file; a mistake is a BadPolicy naming file and place."""
    return _parse_rules(str(path), read_toml(path))


@cache
def default_entry_year_rules() -> EntryYearRules:
    """The cut-offs of DOMAIN.md, shipped beside this module."""
    text = resources.files("heattool.rules").joinpath(DEFAULT_RULES).read_text(encoding="utf-8")
    return _parse_rules(DEFAULT_RULES, read_toml(Path(DEFAULT_RULES), text))


def _parse_rules(source: str, data: dict[str, Any]) -> EntryYearRules:
    check_keys(source, data, ["default_nation", "nation"], ["postcode"])
    nations_table = check_keys(f"{source}: [nation]", data["nation"], [], data["nation"])
    nations = []
    for name, table in nations_table.items():
        where = f"{source}: nation '{name}'"
        check_keys(where, table, ["cutoff", "on_or_after"], ["names"])
        names = table.get("names", [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise BadPolicy(f"{where}: names must be a list of text")
        offset = table["on_or_after"]
        if isinstance(offset, bool) or not isinstance(offset, int) or not 0 < offset < 100:
            raise BadPolicy(f"{where}: on_or_after {describe(offset)} is not a number of years")
        cutoff = AnnualDate.parse(f"{where}: cutoff", table["cutoff"])
        if not isinstance(cutoff.day, int):
            raise BadPolicy(f"{where}: cutoff day must be a day of the month")
        nations.append(NationCutoff(name, (name, *names), cutoff, offset))
    known = {n.nation for n in nations}
    seen: dict[str, str] = {}
    for nation in nations:
        for name in nation.names:
            other = seen.setdefault(_key(name), nation.nation)
            if other != nation.nation:
                raise BadPolicy(
                    f"{source}: name '{name}' is used by '{other}' and '{nation.nation}'"
                )
    default = data["default_nation"]
    if default not in known:
        raise BadPolicy(f"{source}: default_nation {describe(default)} is not one of the nations")
    postcodes = []
    entries = data.get("postcode", [])
    if not isinstance(entries, list):
        raise BadPolicy(f"{source}: postcode must be a list of [[postcode]] tables")
    for number, table in enumerate(entries, 1):
        where = f"{source}: postcode entry {number}"
        check_keys(where, table, ["nation", "areas"], ["except_districts", "also_districts"])
        if table["nation"] not in known:
            shown = describe(table["nation"])
            raise BadPolicy(f"{where}: nation {shown} is not one of the nations")
        areas = table["areas"]
        if not isinstance(areas, list) or not all(
            isinstance(a, str) and re.fullmatch(r"[A-Z]{1,2}", a) for a in areas
        ):
            raise BadPolicy(f"{where}: areas must be a list of one or two capital letters")
        districts = table.get("except_districts", [])
        if not isinstance(districts, list) or not all(
            isinstance(d, str) and re.fullmatch(r"[A-Z]{1,2}[0-9][A-Z0-9]?", d) for d in districts
        ):
            raise BadPolicy(f"{where}: except_districts must be outward codes such as 'TD12'")
        also = table.get("also_districts", [])
        if not isinstance(also, list) or not all(
            isinstance(d, str) and re.fullmatch(r"[A-Z]{1,2}[0-9][A-Z0-9]?", d) for d in also
        ):
            raise BadPolicy(f"{where}: also_districts must be outward codes such as 'CH5'")
        for district in also:
            if re.sub(r"[0-9].*", "", district) in areas:
                raise BadPolicy(
                    f"{where}: also_districts '{district}' is in an area the entry already has"
                )
        postcodes.append(
            PostcodeNation(table["nation"], tuple(areas), tuple(districts), tuple(also))
        )
    return EntryYearRules(default, tuple(nations), tuple(postcodes))


def _text(column: str, schema: pl.Schema) -> pl.Expr:
    expr = pl.col(column)
    return expr if schema[column] == pl.String else expr.cast(pl.String)


def outward_code(postcode: pl.Expr) -> pl.Expr:
    """The outward code of a spaced or unspaced postcode (or of an outward code alone)."""
    compact = postcode.str.replace_all(" ", "", literal=True).str.to_uppercase()
    return compact.str.extract(_OUTWARD, 1)


def canonical_outward_code(postcode: pl.Expr) -> pl.Expr:
    """The outward code of a postcode as validation leaves it ('SW1A 1AA'): all before the space.

    The same as `outward_code` for such postcodes, and a tenth of its time over a million.
    """
    return postcode.str.head(-4)


def nation_from_outward(outward: pl.Expr, rules: EntryYearRules) -> pl.Expr:
    """The nation an outward code's area says, or null (no postcode, or an area of the default).

    The area is the outward code's leading letters, so 'G' (Glasgow) never matches 'GL'.
    """
    area = outward.str.extract(r"^([A-Z]+)", 1)
    nation = pl.lit(None, dtype=pl.String)
    for entry in reversed(rules.postcodes):  # the first listed wins
        matches = area.is_in(list(entry.areas))
        if entry.except_districts:
            matches = matches & ~outward.is_in(list(entry.except_districts))
        if entry.also_districts:
            matches = matches | outward.is_in(list(entry.also_districts))
        nation = pl.when(matches).then(pl.lit(entry.nation)).otherwise(nation)
    return nation


def nation_from_postcode(postcode: pl.Expr, rules: EntryYearRules) -> pl.Expr:
    """The nation a postcode's area says, or null."""
    return nation_from_outward(outward_code(postcode), rules)


def schooling_nation(
    schema: pl.Schema, rules: EntryYearRules, outward: pl.Expr | None = None
) -> pl.Expr:
    """The nation column (by code or any listed name) if readable, else postcode, else default."""
    candidates = []
    if "nation" in schema:
        names = {_key(name): n.nation for n in rules.nations for name in n.names}
        key = _text("nation", schema).str.to_lowercase().str.replace_all(r"[^a-z]", "")
        candidates.append(key.replace_strict(names, default=None, return_dtype=pl.String))
    if "postcode" in schema:
        outward = outward if outward is not None else outward_code(_text("postcode", schema))
        candidates.append(nation_from_outward(outward, rules))
    return pl.coalesce(*candidates, pl.lit(rules.default_nation))


def entry_year_from_dob(dob: pl.Expr, nation: pl.Expr, rules: EntryYearRules) -> pl.Expr:
    """Year of birth plus the nation's offset, less one when born before its cut-off."""
    month, day, year = dob.dt.month(), dob.dt.day(), dob.dt.year().cast(pl.Int32)
    result = pl.lit(None, dtype=pl.Int32)
    for cut in rules.nations:
        before = (month < cut.cutoff.month) | ((month == cut.cutoff.month) & (day < cut.cutoff.day))
        year_for_nation = year + cut.on_or_after - before.cast(pl.Int32)
        result = pl.when(nation == cut.nation).then(year_for_nation).otherwise(result)
    return result


def entry_year_label(year: pl.Expr) -> pl.Expr:
    """`2026` as the academic-year label `2026/27`."""
    following = ((year + 1) % 100).cast(pl.String).str.zfill(2)
    return pl.concat_str(year.cast(pl.String), pl.lit("/"), following)


def _dates(column: str, schema: pl.Schema) -> pl.Expr:
    if schema[column] == pl.String:
        return pl.col(column).str.strip_chars().str.to_date("%Y-%m-%d", strict=False)
    return pl.col(column).cast(pl.Date)


def _years(column: str, schema: pl.Schema) -> pl.Expr:
    if schema[column] == pl.String:
        text = pl.col(column).str.strip_chars().str.extract(r"^(\d{4})(?:\.0+|/\d{2})?$", 1)
        return text.cast(pl.Int32, strict=False)
    return pl.col(column).cast(pl.Int32, strict=False)


_TMP_NATION, _TMP_OVERRIDE, _TMP_COMPUTED = "__nation", "__override", "__computed"
_TMP_OUTWARD = "__outward"


def expected_entry_year(
    frame: Frame,
    rules: EntryYearRules | None = None,
    *,
    with_nation: bool = False,
    canonical_postcodes: bool = False,
) -> Frame:
    """The frame with `expected_he_entry_year` (Int32), `entry_year_label` and `entry_year_source`.

    Reads `date_of_birth` (Date, or ISO text), `nation` and `postcode` where present; an
    `expected_he_entry_year` already in the frame (an adult's override) wins, source `override`.
    `with_nation` adds `entry_year_nation`, the nation whose cut-off was used.
    `canonical_postcodes` reads the outward code without a pattern, as all before the space:
    right for postcodes as validation leaves them (upper case, one space before the inward
    code, the UK format), and not for others, whose rows validation rejects.
    Each step is its own column, so no expression is computed twice.
    """
    rules = rules or default_entry_year_rules()
    schema = frame.collect_schema()
    nation = pl.col(_TMP_NATION)
    if "date_of_birth" in schema:
        computed = entry_year_from_dob(_dates("date_of_birth", schema), nation, rules)
    else:
        computed = pl.lit(None, dtype=pl.Int32)
    override = _years(YEAR, schema) if YEAR in schema else pl.lit(None, dtype=pl.Int32)
    year = pl.coalesce(_TMP_OVERRIDE, _TMP_COMPUTED)
    source = (
        pl.when(pl.col(_TMP_OVERRIDE).is_not_null())
        .then(pl.lit(SOURCE_OVERRIDE))
        .when(pl.col(_TMP_COMPUTED).is_not_null())
        .then(pl.lit(SOURCE_DOB))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
    lazy = frame.lazy()
    if NATION in schema:
        lazy = lazy.drop(NATION)
    outward = None
    if "postcode" in schema:  # one column, read by every postcode test
        read = canonical_outward_code if canonical_postcodes else outward_code
        lazy = lazy.with_columns(read(_text("postcode", schema)).alias(_TMP_OUTWARD))
        outward = pl.col(_TMP_OUTWARD)
    result = (
        lazy.with_columns(schooling_nation(schema, rules, outward).alias(_TMP_NATION))
        .with_columns(override.alias(_TMP_OVERRIDE), computed.alias(_TMP_COMPUTED))
        .with_columns(year.alias(YEAR), source.alias(SOURCE))
        .with_columns(entry_year_label(pl.col(YEAR)).alias(LABEL))
        .rename({_TMP_NATION: NATION})
        .drop(_TMP_OVERRIDE, _TMP_COMPUTED, *([] if with_nation else [NATION]))
        .drop(_TMP_OUTWARD, strict=False)
    )
    if isinstance(frame, pl.DataFrame):  # eager in, eager out
        return result.collect()
    return result
