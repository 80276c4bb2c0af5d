"""Every shared option and choice, declared once."""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer


class Kind(StrEnum):
    students = "students"
    activities = "activities"
    attendance = "attendance"
    ambassadors = "ambassadors"


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


class ValidateFormat(StrEnum):
    """`validate --format`: also GitHub Actions annotations and a JUnit XML report, for CI."""

    text = "text"
    json = "json"
    github = "github"
    junit = "junit"


def parse_day(value: str | None) -> dt.date | None:
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"'{value}' is not a date; write it as YYYY-MM-DD") from None


def parse_any_day(value: str | None) -> dt.date | None:
    """A date written in any form an upload may use: 2009-03-14, 14/03/2009, 14 Mar 2009..."""
    if value is None:
        return None
    import polars as pl

    from heattool.schemas.parse import parse_date

    parsed = parse_date(pl.Series([value.strip()], dtype=pl.String))[0]
    if parsed is None:  # not echoed: it is a date of birth (`subject find --dob`)
        raise typer.BadParameter("not a date; write it as YYYY-MM-DD or DD/MM/YYYY") from None
    day: dt.date = parsed
    return day


def as_of_option(help: str) -> Any:
    """`--as-of YYYY-MM-DD`, with the help the command gives it."""
    return typer.Option("--as-of", parser=parse_day, metavar="YYYY-MM-DD", help=help)


Paths = Annotated[
    list[Path],
    typer.Argument(
        help="Upload files (.csv or .xlsx); - reads a CSV upload from standard input.",
        show_default=False,
    ),
]
KindOption = Annotated[
    Kind | None,
    typer.Option("--kind", "-k", help="Kind of upload; detected from the headings if omitted."),
]
SheetOption = Annotated[
    str | None,
    typer.Option(
        "--sheet",
        help="Excel sheet to read (any case); default the first whose headings are an upload's.",
    ),
]
HeaderRowOption = Annotated[
    int | None,
    typer.Option(
        "--header-row",
        min=1,
        metavar="N",
        help="Spreadsheet row that holds the headings (1 is the first); default the first of "
        "rows 1-10 whose headings are an upload kind's.",
    ),
]
EncodingOption = Annotated[
    str | None,
    typer.Option("--encoding", help="CSV text encoding, e.g. cp1252; default UTF-8 (BOM allowed)."),
]
FormatOption = Annotated[
    OutputFormat, typer.Option("--format", "-f", help="text for people, json for scripts.")
]
AsOfOption = Annotated[
    dt.date | None,
    as_of_option("Judge dates (age, future dates) as of this day; default today."),
]
AliasesOption = Annotated[
    Path | None,
    typer.Option(
        "--aliases",
        help="Your own header aliases (TOML, as schemas/aliases.toml), added to the built-in ones; "
        "default heattool.toml's aliases, else $HEATTOOL_ALIASES.",
    ),
]
DbOption = Annotated[
    Path | None,
    typer.Option(
        "--db",
        help="The store: a DuckDB file (or :memory:); default heattool.toml's db, else "
        "$HEATTOOL_DB, else ./heattool.duckdb.",
    ),
]
MemberOption = Annotated[
    str, typer.Option("--member", "-m", help="Member code the rows belong to, e.g. KENT.")
]
MemberFilterOption = Annotated[
    str | None, typer.Option("--member", "-m", help="Only this member's records.")
]
PolicyOption = Annotated[
    Path | None,
    typer.Option(
        "--policy",
        "-p",
        help="Retention policy (TOML); default heattool.toml's policy, else $HEATTOOL_POLICY, "
        "else the HEAT policy shipped with heattool.",
    ),
]


class OnInvalid(StrEnum):
    reject = "reject"
    abort = "abort"


class RetentionFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class QueryFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


class TrackFileFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


class ReturnTarget(StrEnum):
    hesa = "hesa"
    npd = "npd"


class ReportFormat(StrEnum):
    """`outcomes report --format`: a table to read, or a file for the next step."""

    text = "text"
    csv = "csv"
    xlsx = "xlsx"
    json = "json"


HeatIdArgument = Annotated[
    str | None,
    typer.Argument(help="The person's heat_id (see `subject find`); or give --member and --ref."),
]
RefOption = Annotated[
    str | None,
    typer.Option("--ref", help="The member's own ref for the person (with --member)."),
]
YesOption = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")]
