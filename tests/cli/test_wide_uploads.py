"""Uploads of hundreds of thousands of headings, as the fuzzer makes them at larger sizes.

A ~3 MB CSV of short headings took 76 s to be refused: the header test looked for lookalike
headings of all four kinds, one heading at a time in Python. Every one of these is read or
refused in seconds now, with the exit code and message it had.
"""

from __future__ import annotations

import json

import pytest

from tests.helpers import query

AS_OF = "2026-11-24"
KINDS_HINT = "check the header row, or give --kind (students|activities|attendance|ambassadors)"


@pytest.mark.slow
def test_a_csv_of_200000_short_headings_is_refused_as_before(invoke, tmp_path):
    path = tmp_path / "wide.csv"
    path.write_text(",".join(f"c{n}" for n in range(200_000)) + "\n", "utf-8")
    expected = (
        f"error: {path}: cannot tell what kind of upload this is from its headings in row 1 "
        f"(200000 headings, none of them known); {KINDS_HINT}\n"
    )
    validated = invoke("validate", path)
    assert (validated.exit_code, validated.stderr) == (2, expected)
    db = tmp_path / "store.duckdb"
    imported = invoke("import", path, "--member", "KENT", "--db", db)
    assert (imported.exit_code, imported.stderr) == (2, expected)
    assert not db.exists()


@pytest.mark.slow
def test_a_sheet_of_16384_headings_the_same_is_refused_as_before(invoke, tmp_path):
    import xlsxwriter

    path = tmp_path / "wide.xlsx"
    with xlsxwriter.Workbook(str(path)) as workbook:
        sheet = workbook.add_worksheet("Data")
        for column in range(16_384):  # Excel's most
            sheet.write_string(0, column, "Notes")
            sheet.write_string(1, column, "x")
    result = invoke("validate", path)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {path}: cannot tell what kind of upload this is from its headings in row 1 "
        f"(16384 headings, none of them known); {KINDS_HINT}\n"
    )


@pytest.mark.slow
def test_an_upload_with_50000_unknown_headings_loads(invoke, tmp_path):
    path = tmp_path / "wide.csv"
    extra = [f"Extra {n}" for n in range(50_000)]
    path.write_text(",".join(["Student Ref", *extra]) + "\nS1" + ",x" * len(extra) + "\n")
    text = invoke("validate", path, "--as-of", AS_OF)
    assert text.exit_code == 0, text.stderr
    warnings = [line for line in text.stdout.splitlines() if line.startswith("  warning ")]
    assert len(warnings) == len(extra)
    assert warnings[-1].startswith("  warning unknown-column: column 'Extra 49999' is not")
    document = json.loads(invoke("validate", path, "--format", "json").stdout)["files"][0]
    assert document["valid"] and len(document["warnings"]) == len(extra)
    assert document["warnings"][-1]["cell"] == "BUYC1"  # column 50,001
    db = tmp_path / "store.duckdb"
    imported = invoke("import", path, "--member", "KENT", "--db", db, "--as-of", AS_OF)
    assert imported.exit_code == 0, imported.stderr
    assert query(db, "SELECT student_ref FROM students") == [("S1",)]
