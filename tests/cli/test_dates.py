"""Dates, numbers and years in uploads: every readable form read, everything else a finding,
never an internal error (issue 11, item 8)."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import polars as pl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from heattool.findings import CODES
from heattool.schemas.parse import parse_date, parse_float, parse_year

AS_OF = "2026-11-24"

# Each kind's headings and a valid row; the number and date columns, and the finding for a cell
# in them that cannot be read.
KINDS = {
    "students": (
        ["Student Ref", "Forename", "Surname", "Date of Birth", "Postcode",
         "Expected HE Entry Year"],
        ["S1", "Ann", "Lee", "01/02/2009", "CT2 7NZ", "2027"],
        {"Date of Birth": "invalid-date", "Expected HE Entry Year": "implausible-year"},
    ),
    "activities": (
        ["Activity Ref", "Activity Name", "Activity Type", "Start Date", "End Date", "Hours"],
        ["A1", "Visit", "Campus visit", "01/02/2024", "02/02/2024", "5"],
        {"Start Date": "invalid-date", "End Date": "invalid-date", "Hours": "invalid-number"},
    ),
    "attendance": (
        ["Student Ref", "Activity Ref", "Date Attended"],
        ["S1", "A1", "01/02/2024"],
        {"Date Attended": "invalid-date"},
    ),
    "ambassadors": (
        ["Ambassador Ref", "Forename", "Surname", "Date of Birth", "Postcode"],
        ["SA1", "Ann", "Lee", "01/02/2004", "CT2 7NZ"],
        {"Date of Birth": "invalid-date"},
    ),
}  # fmt: skip
CELLS = [(kind, column) for kind, (_, _, columns) in KINDS.items() for column in columns]


def upload(tmp_path: Path, kind: str, rows: dict[str, str] | list[dict[str, str]]) -> Path:
    """An upload of `kind`: the valid row with each of `rows`' cells put in, one row for each."""
    header, valid, _ = KINDS[kind]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for n, cells in enumerate([rows] if isinstance(rows, dict) else rows):
        line = [cells.get(h, v) for h, v in zip(header, valid, strict=True)]
        writer.writerow([f"{line[0]}{n}", *line[1:]])
    path = tmp_path / f"{kind}.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def findings(result) -> list[tuple[int, str, str, str]]:
    (report,) = json.loads(result.stdout)["files"]
    return [(e["row"], e["column"], e["code"], e["message"]) for e in report["errors"]]


def dates(*texts: str | None) -> list[dt.date | None]:
    return parse_date(pl.Series(list(texts), dtype=pl.String)).to_list()


def numbers(*texts: str | None, parser=parse_float) -> list:
    return pl.select(parser(pl.Series(list(texts), dtype=pl.String))).to_series().to_list()


# -- year-first dates ---------------------------------------------------------------------------


def test_year_first_dates_are_read():
    day = dt.date(2009, 1, 13)
    assert dates("2009/01/13", "2009.01.13", "2009/1/13", "2009.1.13", "2009-01-13") == [day] * 5


def test_a_year_first_date_is_never_read_year_day_month():
    assert dates("2009/13/01", "2009.13.01", "2009/02/30", "09/01/13", "0009/01/13") == [None] * 5


@given(st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9999, 12, 31)))
def test_year_first_dates_are_read_in_every_form(day):
    forms = [
        f"{day.year}/{day.month:02d}/{day.day:02d}",
        f"{day.year}.{day.month:02d}.{day.day:02d}",
        f"{day.year}/{day.month}/{day.day}",
        f"{day.year}.{day.month}.{day.day}",
    ]
    assert dates(*forms) == [day] * len(forms)


@pytest.mark.parametrize("kind", ["students", "ambassadors", "activities", "attendance"])
def test_year_first_dates_are_valid_in_every_kind(invoke, tmp_path, kind):
    date_columns = [c for c, code in KINDS[kind][2].items() if code == "invalid-date"]
    rows = [dict.fromkeys(date_columns, written) for written in ("2009/01/13", "2009.01.13")]
    result = invoke("validate", upload(tmp_path, kind, rows), "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert findings(result) == []


def test_a_year_first_date_of_birth_is_stored_as_that_day(tmp_path):
    from heattool.schemas.validate import validate_file

    path = upload(tmp_path, "students", {"Date of Birth": "2009.01.13"})
    result = validate_file(path, as_of=dt.date(2026, 11, 24))
    assert result.valid
    assert result.frame["date_of_birth"].to_list() == [dt.date(2009, 1, 13)]


# -- entry-year overrides -----------------------------------------------------------------------


def test_an_academic_year_override_is_its_first_year():
    written = ["2026", "2026.0", "2026/27", "2026-27", "2026/2027", "2026-2027", "1999/00"]
    assert numbers(*written, parser=parse_year) == [2026] * 6 + [1999]


def test_an_academic_year_whose_second_year_does_not_follow_is_invalid():
    written = ["2026/28", "2026-26", "2026/2028", "2026/2026", "2026/7", "2026/027", "2026-"]
    assert numbers(*written, parser=parse_year) == [None] * len(written)


@pytest.mark.parametrize("written", ["2026-27", "2026/27", "2026/2027"])
def test_an_academic_year_override_validates_and_wins(invoke, tmp_path, written):
    from heattool.schemas.validate import validate_file

    path = upload(tmp_path, "students", {"Expected HE Entry Year": written})
    result = invoke("validate", path, "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 0, result.stdout
    assert validate_file(path).frame["expected_he_entry_year"].to_list() == [2026]


@pytest.mark.parametrize("written", ["2026/28", "2026-2028", "2025/27"])
def test_an_academic_year_that_does_not_follow_is_an_implausible_year(invoke, tmp_path, written):
    path = upload(tmp_path, "students", {"Expected HE Entry Year": written})
    result = invoke("validate", path, "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 1
    assert findings(result) == [
        (2, "Expected HE Entry Year", "implausible-year", CODES["implausible-year"].message)
    ]
    assert "2026/27" in CODES["implausible-year"].message


# -- numbers ------------------------------------------------------------------------------------


def test_hours_are_plain_decimal_numbers():
    assert numbers("5", "2.5", "0.5", ".5", "1,000", "+3", "-2", "1.") == [
        5.0, 2.5, 0.5, 0.5, 1000.0, 3.0, -2.0, 1.0,
    ]  # fmt: skip


def test_not_a_number_infinity_exponents_and_other_digits_are_not_hours():
    written = ["NaN", "nan", "inf", "-inf", "Infinity", "1e309", "-1e309", "1e3", "٣", "２", "0x10"]
    assert numbers(*written) == [None] * len(written)


# -- odd values are findings, never internal errors ---------------------------------------------

ODD = {
    "arabic-indic digits": "٢٠٠٩",
    "arabic-indic date": "١٣/٠١/٢٠٠٩",
    "fullwidth digits": "２００９",
    "fullwidth date": "１３/０１/２００９",
    "NaN": "NaN",
    "inf": "inf",
    "-inf": "-inf",
    "1e309": "1e309",
    "a short arabic-indic number": "١٢",
}


@pytest.mark.parametrize(("kind", "column"), CELLS)
def test_odd_numbers_and_dates_are_ordinary_findings(invoke, tmp_path, kind, column):
    odd = sorted(ODD.values())
    path = upload(tmp_path, kind, [{column: text} for text in odd])
    result = invoke("validate", path, "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 1, result.stdout + result.stderr
    code = KINDS[kind][2][column]
    message = CODES[code].message.format(column=column)
    assert findings(result) == [(n + 2, column, code, message) for n in range(len(odd))]


@pytest.mark.parametrize(
    ("dob", "code"), [("01/01/2030", "dob-in-future"), ("01/01/1900", "implausible-age")]
)
def test_an_ambassadors_date_of_birth_finding_is_not_an_internal_error(invoke, tmp_path, dob, code):
    """Pandera named the checks ambassadors share with students after their functions once the
    students' schema had been built: any such finding was an internal error (exit 4)."""
    invoke("validate", upload(tmp_path, "students", {}), "--as-of", AS_OF)  # builds it first
    path = upload(tmp_path, "ambassadors", {"Date of Birth": dob})
    result = invoke("validate", path, "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 1, result.stderr
    assert findings(result) == [(2, "Date of Birth", code, CODES[code].message)]


cell_text = st.one_of(
    st.sampled_from([*ODD.values(), "", " ", "2009/01/13", "2026-27", "99999", "0", "-0", "1e5"]),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
        max_size=14,
    ),
    st.from_regex(r"[0-9٠-٩０-９.,/ +eE-]{1,12}", fullmatch=True),
)


@given(
    kind=st.sampled_from(sorted(KINDS)),
    values=st.lists(st.dictionaries(st.sampled_from(range(6)), cell_text), min_size=1, max_size=4),
)
@example(kind="students", values=[{3: "٢٠٠٩", 5: "２００９"}])
@example(kind="activities", values=[{3: "1e309", 4: "NaN", 5: "-inf"}])
def test_random_text_in_number_and_date_cells_is_never_an_internal_error(
    tmp_path_factory, invoke_fresh, kind, values
):
    header, row, columns = KINDS[kind]
    odd = [c for c in header if c in columns]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for n, cells in enumerate(values):
        line = dict(zip(header, row, strict=True))
        for position, text in cells.items():
            line[odd[position % len(odd)]] = text
        writer.writerow([f"{line[header[0]]}{n}", *list(line.values())[1:]])
    path = tmp_path_factory.mktemp("odd") / f"{kind}.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    result = invoke_fresh("validate", path, "--as-of", AS_OF, "--format", "json")
    assert result.exit_code in (0, 1), result.stderr
    report = json.loads(result.stdout)["files"][0]
    assert report["kind"] == kind
    assert {e["code"] for e in report["errors"]} <= {
        *columns.values(), "dob-in-future", "implausible-age", "end-before-start",
        "negative-hours", "missing-value",
    }  # fmt: skip


# -- numbers with commas ------------------------------------------------------------------------


def test_a_comma_is_a_thousands_separator_only_in_groups_of_three():
    assert numbers("1,500", "12,345.5", "10,000,000", "-1,000") == [1500, 12345.5, 1e7, -1000]
    # a decimal comma, or commas out of place, is an invalid number: never read as 15 or 150
    assert numbers("1,5", "1,50", "1,5000", ",500", "1,,500", "1500,") == [None] * 6


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=99))
def test_a_number_with_thousands_commas_reads_as_written(whole, cents):
    assert numbers(f"{whole:,}.{cents:02d}") == [float(f"{whole}.{cents:02d}")]


def test_hours_with_a_decimal_comma_are_reported_at_their_cell(invoke, tmp_path):
    path = tmp_path / "activities.csv"
    path.write_text(
        "Activity Ref,Name,Activity Type,Start Date,Hours\n"
        'A1,Visit,Campus visit,01/10/2025,"1,5"\nA2,Talk,Campus visit,01/10/2025,"1,500"\n',
        "utf-8",
    )
    result = invoke("validate", path, "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 1
    assert [(row, column, code) for row, column, code, _ in findings(result)] == [
        (2, "Hours", "invalid-number")
    ]
