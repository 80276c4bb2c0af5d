"""`heattool validate` as a data officer and a CI job use it: verdicts, findings, exit codes."""

from __future__ import annotations

import csv
import json
import os
import re
import stat
from pathlib import Path

import pytest

from heattool.findings import CODES
from tests.helpers import DATA, EXAMPLES

AS_OF = "2026-11-24"
STUDENT_HEADER = "Student Ref,Forename,Surname,Date of Birth,Postcode,Sex,Permission to Track"
ACTIVITY_HEADER = "Activity Ref,Name,Activity Type,Start Date"


def write(tmp_path: Path, text: str, name: str = "upload.csv", encoding: str = "utf-8") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def report(result) -> dict:
    return json.loads(result.stdout)


# -- exit codes ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["students", "activities", "attendance", "ambassadors"])
def test_clean_examples_are_valid_and_exit_0(invoke, name):
    result = invoke("validate", EXAMPLES / f"{name}.csv", "--as-of", AS_OF)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"{name}, " in result.stdout
    assert "0 invalid: valid" in result.stdout


def test_students_xlsx_is_read_from_its_first_non_empty_sheet(invoke):
    result = invoke("validate", EXAMPLES / "students.xlsx", "--format", "json", "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    document = report(result)["files"][0]
    assert (document["sheet"], document["kind"], document["rows"]) == ("Students", "students", 13)


def test_invalid_data_exits_1(invoke):
    result = invoke("validate", EXAMPLES / "messy_students.csv", "--as-of", AS_OF)
    assert result.exit_code == 1
    assert "8 invalid" in result.stdout


def test_missing_file_exits_2_with_one_line(invoke, tmp_path):
    result = invoke("validate", tmp_path / "nope.csv")
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: {tmp_path / 'nope.csv'}: no such file"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "the file is empty"),
        (b"  \n\n", "the file is empty"),
        (b"\x00\x01\x02binary\x00", "looks like a binary file"),
        (b"PK\x03\x04not really a workbook", "cannot be read as an Excel workbook"),
        (b"Student Ref,Forename\nS1,A,B,C\n", "malformed CSV"),
    ],
)
def test_unreadable_input_exits_2_and_says_what_to_do(invoke, tmp_path, content, expected):
    path = tmp_path / "upload.csv"
    path.write_bytes(content)
    result = invoke("validate", path)
    assert result.exit_code == 2
    assert expected in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_unknown_headings_exit_2_and_ask_for_kind(invoke, tmp_path):
    path = write(tmp_path, "Colour,Size\nred,1\n")
    result = invoke("validate", path)
    assert result.exit_code == 2
    assert "cannot tell what kind of upload" in result.stderr
    assert "--kind" in result.stderr


def test_no_header_row_is_reported_as_such(invoke, tmp_path):
    path = write(tmp_path, "S1,Amelia,Hughes,14/03/2009\nS2,Oliver,Khan,02/09/2008\n")
    result = invoke("validate", path)
    assert result.exit_code == 2
    assert "check the header row" in result.stderr


def test_usage_error_exits_2(invoke):
    result = invoke("validate", EXAMPLES / "students.csv", "--kind", "pupils")
    assert result.exit_code == 2


def test_bad_alias_file_exits_3(invoke, tmp_path):
    aliases = write(tmp_path, '[aliases]\nstudent_ref = ["Forename"]\n', "aliases.toml")
    result = invoke("validate", EXAMPLES / "students.csv", "--aliases", aliases)
    assert result.exit_code == 3
    assert "heading 'Forename' is given for both 'forename' and 'student_ref'" in result.stderr


def test_member_aliases_add_headings(invoke, tmp_path):
    aliases = write(tmp_path, '[aliases]\nstudent_ref = ["UCAS Personal ID"]\n', "aliases.toml")
    upload = write(tmp_path, "UCAS Personal ID,Forename\n1234567890,Amelia\n")
    result = invoke("validate", upload, "--aliases", aliases)
    assert result.exit_code == 0, result.stderr


def test_internal_error_exits_4_in_one_line_and_debug_shows_traceback(invoke, monkeypatch):
    import heattool.schemas.validate as validate_module

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(validate_module, "validate_table", broken)
    result = invoke("validate", EXAMPLES / "students.csv")
    assert result.exit_code == 4
    # the type and the line of heattool it came from, never the text (a library's may quote a
    # cell)
    (line,) = result.stderr.strip().splitlines()
    assert re.fullmatch(
        r"error: internal error: RuntimeError at heattool/actions/validate\.py line \d+; "
        r"run with --debug for the traceback",
        line,
    ), line
    debug = invoke("--debug", "validate", EXAMPLES / "students.csv")
    assert debug.exit_code == 4
    assert "Traceback" in debug.stderr


# -- every error code, at its spreadsheet row and column ---------------------------------------

CASES = {
    # code: (upload text, --kind, spreadsheet row, column as headed in the upload)
    "missing-column": ("Forename,Surname\nAmelia,Hughes\n", "students", None, "student_ref"),
    "duplicate-column": ("Student Ref,Forename,First Name\nS1,A,B\n", None, None, "forename"),
    "missing-value": (f"{STUDENT_HEADER}\nS1,A,B,,,,\n,A,B,,,,\n", None, 3, "Student Ref"),
    "invalid-date": (f"{STUDENT_HEADER}\nS1,A,B,31/02/2008,,,\n", None, 2, "Date of Birth"),
    "invalid-number": (f"{ACTIVITY_HEADER},Hours\nA1,V,Visit,01/10/2025,two\n", None, 2, "Hours"),
    "invalid-boolean": (f"{STUDENT_HEADER}\nS1,A,B,,,,perhaps\n", None, 2, "Permission to Track"),
    "invalid-postcode": (f"{STUDENT_HEADER}\nS1,A,B,,CT1 2EC,,\n", None, 2, "Postcode"),
    "invalid-code": (f"{STUDENT_HEADER}\nS1,A,B,,,13,\n", None, 2, "Sex"),
    "invalid-nation": ("Student Ref,Nation\nS1,France\n", None, 2, "Nation"),
    "invalid-stage": (f"{ACTIVITY_HEADER},Stage\nA1,V,Visit,01/10/2025,during\n", None, 2, "Stage"),
    "duplicate-ref": (
        f"{STUDENT_HEADER}\nS1,A,B,,,,\nS2,C,D,,,,\nS1,E,F,,,,\n",
        None,
        4,
        "Student Ref",
    ),
    "duplicate-row": (
        "Student Ref,Activity Ref,Date Attended\nS1,A1,01/10/2025\nS1,A1,01/10/2025\n",
        None,
        3,
        "Student Ref",
    ),
    "dob-in-future": (f"{STUDENT_HEADER}\nS1,A,B,01/01/2027,,,\n", None, 2, "Date of Birth"),
    "implausible-age": (f"{STUDENT_HEADER}\nS1,A,B,01/01/1900,,,\n", None, 2, "Date of Birth"),
    "end-before-start": (
        f"{ACTIVITY_HEADER},End Date\nA1,V,Visit,02/10/2025,01/10/2025\n",
        None,
        2,
        "End Date",
    ),
    "negative-hours": (f"{ACTIVITY_HEADER},Hours\nA1,V,Visit,01/10/2025,-2\n", None, 2, "Hours"),
    "implausible-year": (
        "Student Ref,Expected HE Entry Year\nS1,1850\n",
        None,
        2,
        "Expected HE Entry Year",
    ),
}
# Codes that only an import can find (they need the store), tested with the import command.
IMPORT_CODES = {"unknown-student", "unknown-activity", "previously-erased"}
# Codes whose message names more than the column, each tested in its own file.
OWN_TESTS = {"lookalike-column": "tests/cli/test_headings.py"}
# Codes of track returns only, each at its row and column through `heattool outcomes import`.
OWN_TESTS |= dict.fromkeys(
    ("invalid-year", "invalid-score", "invalid-decile", "unknown-heat-id", "not-requested"),
    "tests/cli/test_outcomes.py",
)


def test_every_validation_error_code_has_a_case():
    errors = {c for c, info in CODES.items() if info.severity == "error"}
    assert errors - IMPORT_CODES - set(OWN_TESTS) == set(CASES)


@pytest.mark.parametrize("code", sorted(CASES))
def test_error_code_is_reported_at_its_row_and_column(invoke, tmp_path, code):
    text, kind, row, column = CASES[code]
    args = ["--kind", kind] if kind else []
    result = invoke("validate", write(tmp_path, text), *args, "--format", "json", "--as-of", AS_OF)
    assert result.exit_code == 1, result.stdout + result.stderr
    errors = report(result)["files"][0]["errors"]
    found = [e for e in errors if e["code"] == code]
    assert found, errors
    assert (found[-1]["row"], found[-1]["column"]) == (row, column)
    assert found[-1]["message"] == CODES[code].message.format(column=column)


def test_unknown_column_is_a_warning_not_an_error(invoke, tmp_path):
    result = invoke(
        "validate", write(tmp_path, "Student Ref,Shoe Size\nS1,9\n"), "--format", "json"
    )
    assert result.exit_code == 0
    (warning,) = report(result)["files"][0]["warnings"]
    assert (warning["code"], warning["cell"], warning["column"]) == (
        "unknown-column",
        "B1",
        "Shoe Size",
    )


def test_errors_in_xlsx_cite_the_sheet_and_cell(invoke, tmp_path):
    import xlsxwriter

    path = tmp_path / "register.xlsx"
    with xlsxwriter.Workbook(path) as workbook:
        workbook.add_worksheet("Empty")
        sheet = workbook.add_worksheet("Autumn")
        sheet.write_row(0, 0, ["Student Ref", "Forename", "Date of Birth"])
        sheet.write_row(1, 0, ["007", "Amelia", "31/02/2009"])
    result = invoke("validate", path, "--format", "json", "--as-of", AS_OF)
    document = report(result)["files"][0]
    assert document["sheet"] == "Autumn"
    (error,) = document["errors"]
    # a date of birth is not quoted (tests/cli/test_messages.py)
    assert (error["cell"], error["value"], error["code"]) == ("Autumn!C2", None, "invalid-date")


def test_xlsx_keeps_leading_zeros_and_reads_date_cells(tmp_path):
    import datetime as dt

    import xlsxwriter

    from heattool.schemas.validate import validate_file

    path = tmp_path / "students.xlsx"
    with xlsxwriter.Workbook(path) as workbook:
        sheet = workbook.add_worksheet("Students")
        date_format = workbook.add_format({"num_format": "d/m/yy"})
        sheet.write_row(0, 0, ["Student Ref", "Date of Birth", "Expected HE Entry Year"])
        sheet.write_string(1, 0, "007")
        sheet.write_datetime(1, 1, dt.datetime(2008, 9, 1), date_format)
        sheet.write_number(1, 2, 2027)
        sheet.write_string(2, 0, "008")
        sheet.write_number(2, 1, 39692)  # the same day as a bare Excel serial number
    result = validate_file(path, as_of=dt.date(2026, 11, 24))
    frame = result.valid_frame()
    assert frame["student_ref"].to_list() == ["007", "008"]
    assert frame["date_of_birth"].to_list() == [dt.date(2008, 9, 1)] * 2
    assert frame["expected_he_entry_year"].to_list() == [2027, None]


def test_missing_sheet_is_named_with_the_sheets_there_are(invoke):
    result = invoke("validate", EXAMPLES / "students.xlsx", "--sheet", "Spring")
    assert result.exit_code == 2
    assert "no sheet named 'Spring'; the sheets are: Students, Codes" in result.stderr


# -- the messy example, golden -----------------------------------------------------------------


def test_messy_example_report_matches_the_golden_file(invoke, monkeypatch):
    monkeypatch.chdir(EXAMPLES.parent)
    result = invoke(
        "validate",
        "examples/messy_students.csv",
        "--format",
        "json",
        "--as-of",
        AS_OF,
        "--max-errors",
        "0",
    )
    golden = json.loads((DATA / "messy_students.golden.json").read_text("utf-8"))
    assert report(result) == golden


def test_messy_example_is_read_whatever_its_quirks():
    import datetime as dt

    from heattool.schemas.validate import validate_file

    result = validate_file(EXAMPLES / "messy_students.csv", as_of=dt.date(2026, 11, 24))
    rows = result.valid_frame().sort("_row")
    assert rows["student_ref"].to_list() == ["M001", "M003", "M011"]
    # Windows-1252 accent, lower-case unspaced postcode, Excel serial, label codes, Y/N flags
    assert rows["forename"].to_list() == ["Chloé", "Ethan", "Freya\r\nRose"]
    assert rows["postcode"].to_list() == ["CT1 2EH", "SW1A 1AA", "TN1 1AA"]
    assert rows["date_of_birth"].to_list() == [
        dt.date(2009, 4, 3),
        dt.date(2008, 9, 1),
        dt.date(2008, 9, 1),
    ]
    assert rows["sex"].to_list() == ["10", "11", "10"]
    assert rows["ethnicity"].to_list() == ["161", "103", "160"]
    assert rows["permission_to_track"].to_list() == [True, False, True]
    # the two-line name in a quoted field is one spreadsheet row: row 13, after a blank row 12
    assert rows["_row"].to_list() == [2, 4, 13]


# -- encodings and delimiters -------------------------------------------------------------------


def test_windows_1252_is_read_with_a_warning(invoke, tmp_path):
    path = write(tmp_path, "Student Ref,Forename\nS1,Siân\n", encoding="cp1252")
    result = invoke("validate", path, "--format", "json")
    assert result.exit_code == 0
    (warning,) = report(result)["files"][0]["warnings"]
    assert warning["code"] == "encoding-guessed"
    assert "not UTF-8 at byte 26 (line 2)" in warning["message"]


def test_explicit_utf8_on_windows_1252_fails_with_line_byte_and_hint(invoke, tmp_path):
    path = write(tmp_path, "Student Ref,Forename\nS1,Zoë\n", encoding="cp1252")
    result = invoke("validate", path, "--encoding", "utf-8")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: {path}: not utf-8 at byte 26 (line 2); try --encoding cp1252"
    )


def test_explicit_cp1252_reads_without_a_warning(invoke, tmp_path):
    path = write(tmp_path, "Student Ref,Forename\nS1,Zoë\n", encoding="cp1252")
    result = invoke("validate", path, "--encoding", "cp1252", "--format", "json")
    assert result.exit_code == 0
    assert report(result)["files"][0]["warnings"] == []


def test_bom_is_not_part_of_the_first_heading(tmp_path):
    from heattool.io.readers import read_upload

    path = tmp_path / "bom.csv"
    path.write_bytes(b"\xef\xbb\xbfStudent Ref,Forename\nS1,Zo\xc3\xab\n")
    raw = read_upload(path)
    assert raw.headers == ["Student Ref", "Forename"]
    assert raw.frame["Forename"].to_list() == ["Zoë"]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_delimiter_is_decided_from_the_header_line(tmp_path, delimiter):
    from heattool.io.readers import read_upload

    text = delimiter.join(["Student Ref", "Forename", "School"]) + "\n"
    text += delimiter.join(["S1", "Amelia", '"Hill, Oak; and\tAsh"']) + "\n"
    raw = read_upload(write(tmp_path, text))
    assert raw.delimiter == delimiter
    assert raw.frame.row(0) == ("S1", "Amelia", "Hill, Oak; and\tAsh")


# -- outputs ------------------------------------------------------------------------------------


def test_errors_out_writes_every_finding_excel_safe_and_owner_only(invoke, tmp_path):
    upload = write(
        tmp_path, f"{STUDENT_HEADER}\n=HYPERLINK(1),A,B,31/02/2008,,,\n@SUM(1),A,B,,,x,\n"
    )
    out = tmp_path / "errors.csv"
    result = invoke("validate", upload, "--errors-out", out, "--max-errors", "1")
    assert result.exit_code == 1
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    with out.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [r["code"] for r in rows] == ["invalid-date", "invalid-code"]  # all, not just 1
    assert rows[0]["value"] == "31/02/2008"
    assert {r["file"] for r in rows} == {str(upload)}
    # the refs are not errors, but a formula anywhere in the file must be neutralised
    upload2 = write(tmp_path, f"{STUDENT_HEADER}\nS1,=cmd|' /C calc'!A0,B,31/02/2008,,,\n", "b.csv")
    invoke("validate", upload2, "--errors-out", out)
    with out.open(encoding="utf-8-sig", newline="") as handle:
        values = [r["value"] for r in csv.DictReader(handle)]
    assert values == ["31/02/2008"]
    upload3 = write(tmp_path, f"{STUDENT_HEADER}\nS1,A,B,=1+2,,,\n", "c.csv")
    invoke("validate", upload3, "--errors-out", out)
    with out.open(encoding="utf-8-sig", newline="") as handle:
        assert [r["value"] for r in csv.DictReader(handle)] == ["'=1+2"]


def test_max_errors_caps_the_list_not_the_count(invoke, tmp_path):
    rows = "".join(f"S{i},A,B,31/02/2008,,,\n" for i in range(40))
    result = invoke(
        "validate",
        write(tmp_path, f"{STUDENT_HEADER}\n{rows}"),
        "--format",
        "json",
        "--max-errors",
        "5",
    )
    document = report(result)["files"][0]
    assert (document["error_count"], len(document["errors"]), document["invalid_rows"]) == (
        40,
        5,
        40,
    )
    assert document["errors_by_code"] == {"invalid-date": 40}


def test_several_files_are_reported_each_and_an_unreadable_one_exits_2(invoke, tmp_path):
    result = invoke(
        "validate", EXAMPLES / "students.csv", tmp_path / "gone.csv", "--format", "json"
    )
    assert result.exit_code == 2
    files = report(result)["files"]
    assert [f["readable"] for f in files] == [True, False]
    assert files[1]["error"].endswith("gone.csv: no such file")


def test_text_report_shows_spreadsheet_rows_cells_and_fixes(invoke):
    result = invoke("validate", EXAMPLES / "messy_students.csv", "--as-of", AS_OF)
    assert "errors: duplicate-ref 2, invalid-date 2" in result.stdout
    line = next(line for line in result.stdout.splitlines() if "│ E8 " in line)
    cells = [c.strip() for c in line.split("│")[1:6]]
    # a postcode is not quoted (tests/cli/test_messages.py); the cell is named
    assert cells == ["8", "E8", "Post Code", "(not shown)", "invalid-postcode"]
