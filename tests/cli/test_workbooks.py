"""Workbooks an officer opens (issue 14 section 1): frozen header, filters, dates as dates,
refs as text, and an About sheet saying what the file is; read back with fastexcel."""

from __future__ import annotations

import re
import zipfile

import fastexcel
import polars as pl
import pytest

from tests.helpers import EXAMPLES, UPLOADS


@pytest.fixture
def db(invoke, tmp_path):
    path = tmp_path / "store.duckdb"
    assert invoke("import", *UPLOADS, "--member", "KENT", "--db", path).exit_code == 0
    return path


def sheet_xml(path, number: int = 1) -> str:
    with zipfile.ZipFile(path) as workbook:
        return workbook.read(f"xl/worksheets/sheet{number}.xml").decode()


def about(path) -> dict[str, str]:
    frame = pl.read_excel(path, sheet_name="About", has_header=False, infer_schema_length=0)
    return dict(frame.iter_rows())


def assert_friendly(path) -> None:
    assert fastexcel.read_excel(path).sheet_names == ["Data", "About"]
    xml = sheet_xml(path)
    assert re.search(r'<pane ySplit="1"[^>]*state="frozen"', xml), "the header row is not frozen"
    assert "<autoFilter" in xml or "<tableParts" in xml, "no filters on the header row"
    assert "<cols>" in xml, "columns are not sized"


def test_the_deletion_ready_list_as_a_workbook(invoke, db, tmp_path):
    out = tmp_path / "due.xlsx"
    result = invoke("retention", "--db", db, "--as-of", "2026-11-24", "--out", out)
    assert result.exit_code == 0, result.stderr
    assert_friendly(out)
    data = pl.read_excel(out, sheet_name="Data")
    assert data.schema["delete_by"] == pl.Date and data.schema["expires_on"] == pl.Date
    assert about(out)["as of"] == "2026-11-24"
    assert about(out)["policy"].startswith("HEAT default")


def test_the_rejects_keep_refs_and_leading_zeros_as_text(invoke, db, tmp_path):
    upload = tmp_path / "students.csv"
    upload.write_text(
        "Student Ref,Forename,Surname,Date of Birth,Postcode\n"
        "007,Ann,Lee,31/02/2009,CT1 2EH\n"
        "0042,Bo,Ray,01/02/2009,QA1 1AA\n",
        "utf-8",
    )
    rejects = tmp_path / "rejects.xlsx"
    result = invoke("import", upload, "-m", "KENT", "--db", db, "--rejects-out", rejects)
    assert result.exit_code == 1
    assert_friendly(rejects)
    data = pl.read_excel(rejects, sheet_name="Data", infer_schema_length=0)
    assert data["Student Ref"].to_list() == ["007", "0042"]
    assert about(rejects)["rows rejected"] == "2"
    assert "import this file again" in about(rejects)["what"]


def test_the_excluded_list_and_the_errors_as_workbooks(invoke, db, tmp_path):
    excluded = tmp_path / "excluded.xlsx"
    result = invoke(
        "track-request", "--target", "hesa", "--year", "2026", "--db", db, "--dry-run",
        "--excluded-out", excluded,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert_friendly(excluded)
    assert "hesa track request for 2026" in about(excluded)["what"]
    errors = tmp_path / "errors.xlsx"
    result = invoke("validate", EXAMPLES / "messy_students.csv", "--errors-out", errors)
    assert result.exit_code == 1
    assert_friendly(errors)
    rows = pl.read_excel(errors, sheet_name="Data", infer_schema_length=0)
    assert about(errors)["errors"] == str(rows.filter(pl.col("severity") == "error").height)
