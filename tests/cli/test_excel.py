"""Workbooks (and CSV files) as they arrive: a "Read me" sheet first, title rows above the
headings, a table that starts in column B; and the row and cell a user sees still cited
(issue 11, item 23)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

AS_OF = "2026-11-24"
HEADINGS = ["Student Ref", "Forename", "Surname", "Date of Birth", "Postcode"]
GOOD = ["S001", "Amelia", "Hughes", "01/09/2008", "CT1 2EH"]
BAD_DATE = ["S002", "Ben", "Khan", "31/02/2009", "CT2 7NZ"]
BAD_POSTCODE = ["S003", "Cara", "Lee", "05/05/2009", "NOT A POSTCODE"]


def workbook(path: Path, sheets: dict[str, dict[tuple[int, int], list]]) -> Path:
    """A workbook of `sheets`: each a map of (0-based row, 0-based column) to a row of cells."""
    import xlsxwriter

    with xlsxwriter.Workbook(path) as book:
        for name, rows in sheets.items():
            sheet = book.add_worksheet(name)
            for (row, column), cells in rows.items():
                sheet.write_row(row, column, cells)
    return path


def students_below_a_title(path: Path, column: int = 0) -> Path:
    """A "Read me" sheet, then Students: a title in row 1, a note in row 2, headings in row 4,
    data from row 5 with a blank row 6."""
    return workbook(
        path,
        {
            "Read me": {(0, 0): ["How to fill in this workbook"], (2, 1): ["One row per pupil"]},
            "Students": {
                (0, column): ["Outreach participants 2025/26"],
                (1, column): ["Exported from the CRM on 03/11/2026"],
                (3, column): HEADINGS,
                (4, column): GOOD,
                (6, column): BAD_DATE,
                (7, column): BAD_POSTCODE,
            },
        },
    )


def document(result) -> dict:
    assert result.exit_code in (0, 1), result.stdout + result.stderr
    (file,) = json.loads(result.stdout)["files"]
    return file


def cited(file: dict) -> list[tuple[int, str, str]]:
    return [(e["row"], e["cell"], e["code"]) for e in file["errors"]]


# -- which sheet, which row -------------------------------------------------------------------


def test_the_first_sheet_with_an_uploads_headings_is_read_below_its_title_rows(invoke, tmp_path):
    path = students_below_a_title(tmp_path / "students.xlsx")
    file = document(invoke("validate", path, "--as-of", AS_OF, "-f", "json"))
    assert (file["sheet"], file["kind"], file["rows"], file["valid_rows"]) == (
        "Students",
        "students",
        3,
        1,
    )
    # the rows and cells Excel shows: headings in row 4, a blank row 6 still counted
    assert cited(file) == [
        (7, "Students!D7", "invalid-date"),
        (8, "Students!E8", "invalid-postcode"),
    ]
    assert file["warnings"] == []


def test_a_table_that_starts_in_column_b_cites_its_own_columns(invoke, tmp_path):
    path = students_below_a_title(tmp_path / "students.xlsx", column=1)
    file = document(invoke("validate", path, "--as-of", AS_OF, "-f", "json"))
    assert cited(file) == [
        (7, "Students!E7", "invalid-date"),
        (8, "Students!F8", "invalid-postcode"),
    ]


def test_an_unknown_heading_is_cited_in_the_headings_row(invoke, tmp_path):
    path = workbook(
        tmp_path / "students.xlsx",
        {"Pupils": {(0, 2): ["Autumn visits"], (2, 2): [*HEADINGS, "Shoe Size"], (3, 2): GOOD}},
    )
    file = document(invoke("validate", path, "--as-of", AS_OF, "-f", "json"))
    (warning,) = file["warnings"]
    assert (warning["code"], warning["cell"], warning["column"]) == (
        "unknown-column",
        "Pupils!H3",
        "Shoe Size",
    )


def test_sheet_names_match_whatever_their_case(invoke, tmp_path):
    path = students_below_a_title(tmp_path / "students.xlsx")
    file = document(invoke("validate", path, "--sheet", "STUDENTS", "--as-of", AS_OF, "-f", "json"))
    assert (file["sheet"], file["rows"]) == ("Students", 3)
    missing = invoke("validate", path, "--sheet", "Spring")
    assert missing.exit_code == 2
    assert "no sheet named 'Spring'; the sheets are: Read me, Students" in missing.stderr


def test_a_chosen_sheet_is_searched_for_its_headings_too(invoke, tmp_path):
    path = workbook(
        tmp_path / "book.xlsx",
        {
            "Students": {(0, 0): HEADINGS, (1, 0): GOOD},
            "Register": {
                (0, 0): ["Register: Campus day"],
                (2, 0): ["Student Ref", "Activity Ref", "Date Attended"],
                (3, 0): ["S001", "A01", "32/10/2025"],
            },
        },
    )
    file = document(invoke("validate", path, "--sheet", "register", "--as-of", AS_OF, "-f", "json"))
    assert (file["sheet"], file["kind"]) == ("Register", "attendance")
    assert cited(file) == [(4, "Register!C4", "invalid-date")]


def test_header_row_names_the_row_of_the_headings(invoke, tmp_path):
    """Beyond the tenth row the headings are found only when named."""
    rows = {(n, 0): [f"Note {n + 1}"] for n in range(11)}
    path = workbook(
        tmp_path / "students.xlsx",
        {"Students": {**rows, (11, 0): HEADINGS, (12, 0): BAD_DATE}},
    )
    found = invoke("validate", path, "--as-of", AS_OF)
    assert found.exit_code == 2
    assert "cannot tell what kind of upload this is" in found.stderr
    file = document(invoke("validate", path, "--header-row", "12", "--as-of", AS_OF, "-f", "json"))
    assert cited(file) == [(13, "Students!D13", "invalid-date")]


def test_a_header_row_past_the_end_of_the_sheet_is_a_usage_error(invoke, tmp_path):
    path = students_below_a_title(tmp_path / "students.xlsx")
    result = invoke("validate", path, "--header-row", "40", "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "sheet 'Read me' has no row 40" in result.stderr


def test_header_row_must_be_a_row(invoke, tmp_path):
    path = students_below_a_title(tmp_path / "students.xlsx")
    result = invoke("validate", path, "--header-row", "0")
    assert result.exit_code == 2
    assert "--header-row" in result.stderr


def test_a_workbook_without_an_uploads_headings_is_read_as_before(invoke, tmp_path):
    """The first non-empty sheet from its first row with anything in it: its kind is told (or
    not) from that row, as before."""
    path = workbook(
        tmp_path / "book.xlsx",
        {"Empty": {}, "Notes": {(2, 0): ["Colour", "Size"], (3, 0): ["red", "9"]}},
    )
    result = invoke("validate", path)
    assert result.exit_code == 2
    # the row read as the headings is named; its cells are not quoted (they may be data)
    assert (
        "cannot tell what kind of upload this is from its headings in row 3 (2 headings, none "
        "of them known)"
    ) in result.stderr


def test_the_bundled_workbook_still_reads_from_row_1(invoke):
    from tests.helpers import EXAMPLES

    file = document(invoke("validate", EXAMPLES / "students.xlsx", "--as-of", AS_OF, "-f", "json"))
    assert (file["sheet"], file["rows"], file["valid"]) == ("Students", 13, True)


# -- through the import -----------------------------------------------------------------------


def test_rejected_rows_keep_the_rows_the_workbook_shows(invoke, tmp_path):
    path = students_below_a_title(tmp_path / "students.xlsx")
    rejects = tmp_path / "rejects.csv"
    db = tmp_path / "s.duckdb"
    result = invoke(
        "import", path, "-m", "KENT", "--db", db, "--rejects-out", rejects, "--as-of", AS_OF
    )
    assert result.exit_code == 1, result.stderr
    with rejects.open(encoding="utf-8-sig", newline="") as handle:
        rows = [
            (r["heattool_row"], r["Student Ref"], r["heattool_codes"])
            for r in csv.DictReader(handle)
        ]
    assert rows == [("7", "S002", "invalid-date"), ("8", "S003", "invalid-postcode")]


def test_an_unknown_student_in_a_register_is_cited_at_its_cell(invoke, tmp_path):
    db = tmp_path / "s.duckdb"
    setup = tmp_path / "setup.xlsx"
    workbook(
        setup,
        {
            "Activities": {
                (0, 0): ["Activity Ref", "Name", "Activity Type", "Start Date"],
                (1, 0): ["A01", "Campus day", "Campus visit", "01/10/2025"],
            },
        },
    )
    assert invoke("import", setup, "-m", "KENT", "--db", db, "--as-of", AS_OF).exit_code == 0
    register = workbook(
        tmp_path / "register.xlsx",
        {
            "Register": {
                (0, 1): ["Campus day register"],
                (2, 1): ["Student Ref", "Activity Ref", "Date Attended"],
                (3, 1): ["S404", "A01", "01/10/2025"],
            },
        },
    )
    result = invoke(
        "import", register, "-m", "KENT", "--db", db, "--header-row", "3", "--as-of", AS_OF,
        "--rejects-out", tmp_path / "rejects.csv", "-f", "json",
    )  # fmt: skip
    assert result.exit_code == 1, result.stderr
    with (tmp_path / "rejects.csv").open(encoding="utf-8-sig", newline="") as handle:
        (row,) = list(csv.DictReader(handle))
    assert (row["heattool_row"], row["heattool_codes"]) == ("4", "unknown-student")


def test_unknown_student_findings_cite_the_sheet_column(tmp_path):
    """The store's own findings name the cell in the sheet's own columns, too."""
    import datetime as dt

    from heattool.actions.load import import_paths

    activities = tmp_path / "activities.csv"
    activities.write_text(
        "Activity Ref,Name,Activity Type,Start Date\nA01,Campus day,Campus visit,01/10/2025\n",
        "utf-8",
    )
    register = workbook(
        tmp_path / "register.xlsx",
        {
            "Register": {
                (0, 1): ["Campus day register"],
                (2, 1): ["Student Ref", "Activity Ref", "Date Attended"],
                (3, 1): ["S404", "A01", "01/10/2025"],
            },
        },
    )
    report = import_paths(
        [activities, register],
        member="KENT",
        db=":memory:",
        as_of=dt.date(2026, 11, 24),
        rejects_out=tmp_path / "rejects.csv",
    )
    (file,) = [f for f in report.files if f.kind == "attendance"]
    (finding,) = file.result.errors.rows(named=True)
    assert (finding["row"], finding["cell"], finding["code"]) == (
        4,
        "Register!B4",
        "unknown-student",
    )


# -- CSV files with title rows ----------------------------------------------------------------


def write(tmp_path: Path, text: str, name: str = "upload.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


@pytest.mark.parametrize(
    "title",
    [
        "Outreach participants 2025/26\n\n",  # one cell: the rows below have more
        "Outreach participants 2025/26,,,,\n,,,,\n",  # as Excel exports a title row
        '"Exported 03/11/2026\nby the CRM",,,,\n\n',  # a title over two lines is one row
    ],
)
def test_a_csv_title_row_above_the_headings_is_skipped(invoke, tmp_path, title):
    body = "\n".join(",".join(r) for r in [HEADINGS, GOOD, BAD_DATE]) + "\n"
    file = document(
        invoke("validate", write(tmp_path, title + body), "--as-of", AS_OF, "-f", "json")
    )
    assert (file["kind"], file["rows"]) == ("students", 2)
    assert cited(file) == [(5, "D5", "invalid-date")]  # headings in row 3, after a blank row


def test_a_tab_separated_file_below_a_title(invoke, tmp_path):
    body = "\n".join("\t".join(r) for r in [HEADINGS, BAD_DATE]) + "\n"
    path = write(tmp_path, "Participants\n" + body, "upload.tsv")
    file = document(invoke("validate", path, "--as-of", AS_OF, "-f", "json"))
    assert cited(file) == [(3, "D3", "invalid-date")]


def test_header_row_in_a_csv_file(invoke, tmp_path):
    body = "\n".join(";".join(r) for r in [HEADINGS, BAD_DATE]) + "\n"
    path = write(tmp_path, "a;b\nc;d\n" + body)  # rows that a search could not tell apart
    file = document(invoke("validate", path, "--header-row", "3", "--as-of", AS_OF, "-f", "json"))
    assert cited(file) == [(4, "D4", "invalid-date")]
    past = invoke("validate", path, "--header-row", "9")
    assert past.exit_code == 2
    assert "nothing in row 9" in past.stderr


def test_a_csv_whose_first_row_is_its_headings_is_read_once(invoke, tmp_path, monkeypatch):
    from heattool.io import readers

    parsed = []
    parse = readers._parse_csv
    monkeypatch.setattr(readers, "_parse_csv", lambda *a, **k: parsed.append(a) or parse(*a, **k))
    body = "\n".join(",".join(r) for r in [HEADINGS, GOOD]) + "\n"
    file = document(invoke("validate", write(tmp_path, body), "--as-of", AS_OF, "-f", "json"))
    assert (file["valid"], len(parsed)) == (True, 1)
