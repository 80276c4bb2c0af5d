"""`heattool query` and `heattool export`: the store looked at without a DuckDB CLI."""

from __future__ import annotations

import csv
import io
import json
import os
import stat

import polars as pl
import pytest

from tests.helpers import EXAMPLES, UPLOADS, query


@pytest.fixture
def db(invoke, tmp_path):
    path = tmp_path / "store.duckdb"
    assert invoke("import", *UPLOADS, "--member", "KENT", "--db", path).exit_code == 0
    other = tmp_path / "other.csv"
    other.write_text("Student Ref,Forename,Surname\nX1,Ola,Nordmann\nX2,Kari,Nordmann\n", "utf-8")
    assert invoke("import", other, "--member", "OTHER", "--db", path).exit_code == 0
    return path


def students_in(path) -> int:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return sum(1 for _ in csv.DictReader(f))


def test_query_reads_the_store_as_csv_json_and_a_table(invoke, db):
    sql = "SELECT member, count(*) AS n FROM students GROUP BY 1 ORDER BY 1"
    result = invoke("query", sql, "--db", db, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    expected = {"KENT": students_in(EXAMPLES / "students.csv"), "OTHER": 2}
    assert {
        r["member"]: int(r["n"]) for r in csv.DictReader(io.StringIO(result.stdout))
    } == expected
    result = invoke("query", sql, "--db", db, "--format", "json")
    assert {r["member"]: r["n"] for r in json.loads(result.stdout)} == expected
    result = invoke("query", sql, "--db", db)
    assert "KENT" in result.stdout and "2 rows" in result.stdout


def test_query_for_one_member_sees_only_their_rows(invoke, db):
    for table in ("students", "attendance", "audit_events", "audit_records", "import_batches"):
        result = invoke(
            "query", f"SELECT * FROM {table}", "--db", db, "-m", "OTHER", "--format", "json"
        )
        assert result.exit_code == 0, result.stderr
        rows = json.loads(result.stdout)
        if rows and "member" in rows[0]:
            assert {r["member"] for r in rows} == {"OTHER"}, table
    heat_ids = {
        r[0] for r in query(db, "SELECT heat_id::VARCHAR FROM students WHERE member = 'OTHER'")
    }
    result = invoke(
        "query", "SELECT heat_id FROM audit_records", "--db", db, "-m", "OTHER", "-f", "json"
    )
    assert {r["heat_id"] for r in json.loads(result.stdout)} == heat_ids
    assert invoke("query", "FROM students", "--db", db, "-m", "NOPE").exit_code == 2


@pytest.mark.parametrize(
    "sql, says",
    [
        ("DELETE FROM students", "one SELECT statement"),
        ("SELECT 1; DROP TABLE students", "one SELECT statement"),
        ("COPY students TO 'out.csv'", "one SELECT statement"),
        ("UPDATE students SET forename = 'x'", "one SELECT statement"),
        ("SELECT * FROM store_settings", "secret"),
        ("SELECT * FROM store.main.students", "without a catalog"),
        ("SELECT * FROM read_csv('/etc/passwd')", "disabled"),
        ("SELECT * FROM read_text('students.csv')", "disabled"),
        ("SELEC 1", "not SQL"),
    ],
)
def test_query_refuses_to_write_or_read_beyond_the_store(invoke, db, sql, says):
    before = query(db, "SELECT count(*) FROM students")
    result = invoke("query", sql, "--db", db)
    assert result.exit_code == 2, result.stdout + result.stderr
    assert says in result.stderr and len(result.stderr.splitlines()) == 1
    assert query(db, "SELECT count(*) FROM students") == before


def test_query_is_audited_by_hash_and_count_never_by_text(invoke, db):
    sql = "SELECT forename FROM students WHERE surname = 'Nordmann'"
    assert invoke("query", sql, "--db", db, "-f", "json").exit_code == 0
    ((sha256, details),) = query(
        db, "SELECT sha256, details FROM audit_events WHERE event = 'query'"
    )
    assert json.loads(details) == {"rows": 2, "columns": 1}
    assert "Nordmann" not in sha256 + details


def test_query_rows_to_a_file_are_owner_only_and_nested_values_flatten(invoke, db, tmp_path):
    out = tmp_path / "rows.csv"
    sql = "SELECT member, list(student_ref ORDER BY student_ref) AS refs FROM students GROUP BY 1"
    result = invoke("query", sql, "--db", db, "--out", out)
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    with open(out, encoding="utf-8-sig") as f:
        rows = {r["member"]: json.loads(r["refs"]) for r in csv.DictReader(f)}
    assert rows["OTHER"] == ["X1", "X2"]
    xlsx = tmp_path / "rows.xlsx"
    assert invoke("query", sql, "--db", db, "--out", xlsx).exit_code == 0
    assert set(pl.read_excel(xlsx)["member"]) == {"KENT", "OTHER"}


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".xlsx", ".json"])
def test_export_writes_one_members_records_of_one_kind(invoke, db, tmp_path, suffix):
    out = tmp_path / f"students{suffix}"
    result = invoke("export", "--kind", "students", "--member", "kent", "--db", db, "--out", out)
    assert result.exit_code == 0, result.stderr
    frame = {
        ".csv": lambda p: pl.read_csv(p, infer_schema=False),
        ".parquet": pl.read_parquet,
        ".xlsx": lambda p: pl.read_excel(p, infer_schema_length=0),
        ".json": pl.read_json,
    }[suffix](out)
    assert frame.height == students_in(EXAMPLES / "students.csv")
    assert set(frame["member"]) == {"KENT"}
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    ((details,),) = query(db, "SELECT details FROM audit_events WHERE event = 'export'")
    assert json.loads(details) == {"kind": "students", "rows": frame.height}


def test_export_refuses_an_unknown_member_a_missing_store_and_other_suffixes(invoke, db, tmp_path):
    out = tmp_path / "x.csv"
    assert invoke("export", "-k", "students", "-m", "NOPE", "--db", db, "--out", out).exit_code == 2
    missing = tmp_path / "typo.duckdb"
    assert (
        invoke("export", "-k", "students", "-m", "KENT", "--db", missing, "--out", out).exit_code
        == 2
    )
    assert not missing.exists() and not out.exists()
    result = invoke(
        "export", "-k", "students", "-m", "KENT", "--db", db, "--out", tmp_path / "x.txt"
    )
    assert result.exit_code == 2
