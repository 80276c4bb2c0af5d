"""Parse upload text into typed values, column at a time in Polars, before the Pandera checks.

Every parser takes the trimmed text Series and returns the typed value, null where the text
cannot be read; a non-null text that parses to null is a parse finding.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
import io
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any, Protocol, overload

import polars as pl

from heattool.schemas.headers import heading_key
from heattool.schemas.postcode import normalise_postcodes

Parser = Callable[[pl.Series], pl.Series]
EXCEL_EPOCH = dt.date(1899, 12, 30)  # serial 1 is 1900-01-01 (Excel's 1900 leap-year bug aside)
_MONTH_NAMES = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_MONTHS = {
    **{name: number for number, name in enumerate(_MONTH_NAMES, 1)},
    **{name[:3]: number for number, name in enumerate(_MONTH_NAMES, 1)},
    "sept": 9,
}
_YES = ("yes", "y", "true", "1")
_NO = ("no", "n", "false", "0")


def clean_text(frame: pl.DataFrame, columns: dict[str, str]) -> pl.DataFrame:
    """Select `columns` (new name -> old name), trimmed, with empty cells as null.

    Most cells need neither, so one cheap scan per column first finds the columns that do (a
    cell starting or ending with a space or tab, or empty). A column that has one is trimmed of
    all surrounding whitespace.
    """
    needs_cleaning = (
        frame.select(
            pl.any_horizontal(
                pl.col(old).str.len_bytes() == 0,
                *(pl.col(old).str.starts_with(c) | pl.col(old).str.ends_with(c) for c in " \t"),
            )
            .any()
            .alias(new)
            for new, old in columns.items()
        ).row(0, named=True)
        if columns
        else {}
    )

    def cleaned(new: str, old: str) -> pl.Expr:
        if not needs_cleaning[new]:
            return pl.col(old).alias(new)
        trimmed = pl.col(old).str.strip_chars()
        return pl.when(trimmed.str.len_bytes() > 0).then(trimmed).alias(new)

    return frame.select(cleaned(new, old) for new, old in columns.items())


_DAY_FIRST_FORMATS = (
    "%Y-%m-%d",
    "%d/%m/%Y",
    "%d-%m-%Y",
    "%d.%m.%Y",
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d",
    "%Y.%m.%d",
)


def parse_date(text: pl.Series) -> pl.Series:
    """ISO, UK day-first (/ - .), year-first (2009/01/13, 2009.01.13), `1 Sep 2008`, Excel date
    cells and Excel serial numbers.

    Never month-first (a four-digit year first is never followed by the day); an impossible
    date such as 31/02/2008 is null, not a guess; so is any text with digits other than 0-9.
    Each format is tried only on the cells no earlier format could read, so a column written
    one way costs about one pass.
    """
    first, *others = _formats_by_fit(text)
    parsed = _to_date(text, first)
    todo = text.is_not_null() & parsed.is_null()
    for fmt in others:
        if not todo.any():
            return parsed
        index = todo.arg_true()
        parsed = parsed.scatter(index, _to_date(text.gather(index), fmt))
        todo = todo & parsed.is_null()
    if todo.any():
        index = todo.arg_true()
        rest = pl.DataFrame({"t": text.gather(index)}).select(_parse_date_slowly(pl.col("t")))
        parsed = parsed.scatter(index, rest.to_series())
    return parsed


def _to_date(text: pl.Series, fmt: str) -> pl.Series:
    parsed = text.str.to_date(fmt, strict=False)
    return parsed.set(parsed.dt.year() < 1000, None)  # a two-digit year is not a year


def _formats_by_fit(text: pl.Series, sample: int = 200) -> list[str]:
    """The day-first formats, the one that reads most of a sample of the column first."""
    head = text.drop_nulls().head(sample)
    fits = {f: head.str.to_date(f, strict=False).null_count() for f in _DAY_FIRST_FORMATS}
    return sorted(_DAY_FIRST_FORMATS, key=lambda f: fits[f])


def _parse_date_slowly(text: pl.Expr) -> pl.Expr:
    """The rarer forms: month names, single-digit parts and Excel serial numbers.

    Digits are 0-9 only (a regex `\\d` would also match ٢ or ２, which no date parser reads).
    """
    iso = text.str.extract_groups(
        r"^(?<y>[0-9]{4})-(?<m>[0-9]{1,2})-(?<d>[0-9]{1,2})(?:[ T]00:00(?::00(?:\.0+)?)?)?$"
    )
    year_first = text.str.extract_groups(
        r"^(?<y>[0-9]{4})([/.])(?<m>[0-9]{1,2})[/.](?<d>[0-9]{1,2})$"
    )
    uk = text.str.extract_groups(r"^(?<d>[0-9]{1,2})([/.-])(?<m>[0-9]{1,2})[/.-](?<y>[0-9]{4})$")
    named = text.str.extract_groups(
        r"^(?<d>[0-9]{1,2})[ /.-]?(?<mon>[A-Za-z]{3,9})[ /.-]?(?<y>[0-9]{4})$"
    )
    month_name = named.struct.field("mon").str.to_lowercase()
    named_month = month_name.replace_strict(_MONTHS, default=None, return_dtype=pl.Int32).cast(
        pl.String
    )
    forms = (iso, year_first, uk)
    year = pl.coalesce(*(f.struct.field("y") for f in forms), named.struct.field("y"))
    month = pl.coalesce(*(f.struct.field("m") for f in forms), named_month)
    day = pl.coalesce(*(f.struct.field("d") for f in forms), named.struct.field("d"))
    written = pl.concat_str(
        year, pl.lit("-"), month.str.zfill(2), pl.lit("-"), day.str.zfill(2)
    ).str.to_date("%Y-%m-%d", strict=False)
    written = pl.when(written.dt.year() >= 1000).then(written)  # as `_to_date`: 0009 is no year
    serial = text.str.extract(r"^([0-9]{1,5})(?:\.0+)?$", 1).cast(pl.Int64)
    from_serial = pl.when(serial >= 1).then(pl.lit(EXCEL_EPOCH) + pl.duration(days=serial))
    return pl.coalesce(written, from_serial.cast(pl.Date))


def parse_bool(text: pl.Series) -> pl.Series:
    """Yes/No/Y/N/True/False/1/0 in any case."""
    mapping = {**dict.fromkeys(_YES, True), **dict.fromkeys(_NO, False)}
    return text.str.to_lowercase().replace_strict(mapping, default=None, return_dtype=pl.Boolean)


class ExprOrSeriesParser(Protocol):
    """A parser that reads an expression, or a Series as a Series (`_series_too`)."""

    @overload
    def __call__(self, text: pl.Expr, /) -> pl.Expr: ...
    @overload
    def __call__(self, text: pl.Series, /) -> pl.Series: ...


def _series_too(parser: Callable[[pl.Expr], pl.Expr]) -> ExprOrSeriesParser:
    """Let an expression parser take a Series too (the retention rules parse Series)."""

    @overload
    def parse(text: pl.Expr) -> pl.Expr: ...
    @overload
    def parse(text: pl.Series) -> pl.Series: ...
    def parse(text: pl.Expr | pl.Series) -> pl.Expr | pl.Series:
        if isinstance(text, pl.Series):
            return text.to_frame("t").select(parser(pl.col("t"))).to_series().alias(text.name)
        return parser(text)

    functools.update_wrapper(parse, parser)  # as @functools.wraps(parser), which hides overloads
    return parse


@_series_too
def parse_float(text: pl.Expr) -> pl.Expr:
    """A number written in digits 0-9, with an optional sign, decimal point and thousands commas.

    Commas only in groups of three (`1,500`): a decimal comma (`1,5`) is an invalid number, not
    15. Not `NaN`, `inf`, `1e3` or `1e309` (which Polars' cast would read as NaN, infinity, 1000
    and infinity), nor digits of other scripts: all of these are null, an invalid number.
    """
    written = text.str.contains(
        r"^[+-]?(?:(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)$"
    )
    number = text.str.replace_all(",", "").cast(pl.Float64, strict=False)
    return pl.when(written & number.is_finite()).then(number)


@_series_too
def parse_year(text: pl.Expr) -> pl.Expr:
    """A year as `2026`, `2026.0` (from Excel) or an academic year `2026/27`, `2026-27` or
    `2026/2027`, whose second year must be the first plus one (`2026/28` is null)."""
    parts = text.str.extract_groups(
        r"^(?<year>[0-9]{1,4})(?:\.0+|[/-](?<next>[0-9]{2}|[0-9]{4}))?$"
    )
    year = parts.struct.field("year").cast(pl.Int64, strict=False)
    following = parts.struct.field("next")
    expected = pl.when(following.str.len_bytes() == 2).then((year + 1) % 100).otherwise(year + 1)
    follows = following.is_null() | (following.cast(pl.Int64, strict=False) == expected)
    return pl.when(follows).then(year)


@_series_too
def parse_whole_number(text: pl.Expr) -> pl.Expr:
    """A whole number in digits 0-9, with an optional sign, or `7.0` as Excel writes it."""
    digits = text.str.extract(r"^([+-]?[0-9]{1,9})(?:\.0+)?$", 1)
    return digits.cast(pl.Int64, strict=False)


def canonical_heat_id(text: pl.Expr) -> pl.Expr:
    """A heat_id as heattool writes one (`6e87b8f6-f618-44d5-86fe-95272f0ee7c6`) from any form
    of the same UUID: any case, with braces or with hyphens anywhere (as DuckDB reads a UUID).
    Other text is kept, lower-cased: no person has it."""
    bare = text.str.to_lowercase()
    hexits = bare.str.strip_prefix("{").str.strip_suffix("}").str.replace_all("-", "")
    parts = hexits.str.extract_groups(
        r"^(?<a>[0-9a-f]{8})(?<b>[0-9a-f]{4})(?<c>[0-9a-f]{4})(?<d>[0-9a-f]{4})(?<e>[0-9a-f]{12})$"
    )
    canonical = pl.concat_str([parts.struct.field(p) for p in "abcde"], separator="-")
    return pl.coalesce(canonical, bare)


@cache
def code_list(name: str) -> dict[str, str]:
    """Heading-style key of each code and label -> the code, from `codes/<name>.csv`."""
    mapping: dict[str, str] = {}
    for row in _code_rows(name):
        mapping[heading_key(row["code"])] = row["code"]
        mapping[heading_key(row["label"])] = row["code"]
    return mapping


@cache
def code_values(name: str) -> dict[str, str]:
    """Heading-style key of each code (not label) -> the code, from `codes/<name>.csv`."""
    return {heading_key(row["code"]): row["code"] for row in _code_rows(name)}


@cache
def code_labels(name: str) -> dict[str, str]:
    """Each code -> its label, from `codes/<name>.csv`: `10` -> `Female` (its first label; the
    later ones are other spellings uploads may use)."""
    labels: dict[str, str] = {}
    for row in _code_rows(name):
        labels.setdefault(row["code"], row["label"])
    return labels


def _code_rows(name: str) -> list[dict[str, str]]:
    path = resources.files("heattool.schemas").joinpath("codes", f"{name}.csv")
    # Traversable.open is typed without the newline= it takes: wrap its bytes ourselves.
    with io.TextIOWrapper(path.open("rb"), encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# HEAT exports coded values as `Label (code)`: "Female (10)", "Not known (997)".
_LABEL_AND_CODE = r"^(?<label>.*?)\s*\(\s*(?<code>[^()]*?)\s*\)\s*$"


def _code_key(text: pl.Expr) -> pl.Expr:
    return text.str.to_lowercase().str.replace_all(r"[^0-9a-z]+", "")


def parse_code(text: pl.Series, name: str) -> pl.Series:
    """A code or its label, in any case and spacing, as the code.

    Also `Label (code)`, when the code in the brackets is one of the list's and the label is
    its label or none of the list's (a label of another code is a contradiction: null).
    """
    labels, codes = code_list(name), code_values(name)
    column = pl.col(text.name)
    whole = _code_key(column).replace_strict(labels, default=None, return_dtype=pl.String)
    parts = column.str.extract_groups(_LABEL_AND_CODE)
    bracketed = _code_key(parts.struct.field("code")).replace_strict(
        codes, default=None, return_dtype=pl.String
    )
    labelled = _code_key(parts.struct.field("label")).replace_strict(
        labels, default=None, return_dtype=pl.String
    )
    agreed = pl.when(labelled.is_null() | (labelled == bracketed)).then(bracketed)
    return text.to_frame().select(pl.coalesce(whole, agreed).alias(text.name)).to_series()


@dataclass(frozen=True)
class ColumnParser:
    """How to read a column's text, and the finding code for text it cannot read.

    Exactly one of: `expr`, a Polars expression run with every other column in one parallel
    `select`; `distinct`, run once on the distinct texts of a column that repeats a lot (code
    lists, flags) and mapped back in that same select; `series`, a pass of its own (dates).
    """

    expr: Callable[[pl.Expr], pl.Expr] | None = None
    distinct: Parser | None = None
    series: Parser | None = None
    error: str | None = None

    def expression(self, text: pl.Series, dtype: pl.DataType) -> pl.Expr | None:
        """The column's typed value as an expression, or None for a `series` parser."""
        column = pl.col(text.name)
        if self.expr is not None:
            return self.expr(column).cast(dtype).alias(text.name)
        if self.distinct is not None:
            distinct = text.unique().drop_nulls()
            mapped = self.distinct(distinct).cast(dtype)
            return column.replace_strict(distinct, mapped, default=None, return_dtype=dtype)
        return None


def parser_for(dtype: str, metadata: dict[str, Any] | None) -> ColumnParser:
    """The parser for a column of this Pandera dtype and field metadata."""
    metadata = metadata or {}
    if "codes" in metadata:
        codes = metadata["codes"]
        return ColumnParser(distinct=lambda t: parse_code(t, codes), error=metadata["error"])
    if "postcode" in metadata:  # mostly distinct; the format is a Pandera check afterwards
        return ColumnParser(series=normalise_postcodes)
    if "heat_id" in metadata:  # one person's heat_id, however written, is one text
        return ColumnParser(expr=canonical_heat_id)
    if metadata.get("number") == "whole":
        parser = ColumnParser(expr=parse_whole_number, error="invalid-number")
    else:
        parser = {
            "Date": ColumnParser(series=parse_date, error="invalid-date"),
            "Boolean": ColumnParser(distinct=parse_bool, error="invalid-boolean"),
            "Float64": ColumnParser(expr=parse_float, error="invalid-number"),
            "Int64": ColumnParser(expr=parse_year, error="implausible-year"),
        }.get(dtype, ColumnParser(expr=lambda t: t))
    if "error" in metadata:  # the column's own finding for text its parser cannot read
        parser = dataclasses.replace(parser, error=metadata["error"])
    return parser
