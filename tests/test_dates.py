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

from heattool.findings import CODES
from heattool.schemas.parse import parse_date, parse_float

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


def upload(tmp_path: Path, kind: str, cells: dict[str, str], rows: int = 1) -> Path:
    """An upload of `kind` whose rows are the valid row with `cells` put in."""
    header, row, _ = KINDS[kind]
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    for n in range(rows):
        line = [cells.get(h, v) for h, v in zip(header, row, strict=True)]
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


# -- odd values are findings, never internal errors ---------------------------------------------


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
