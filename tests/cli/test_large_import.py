"""A first import past the size where DuckDB once lost the transaction's own rows (issue 11, 1).

With the migrations in the import's transaction, about 110,000 students and their register in
one call reported "0 inserted", wrote no audit records and rejected every attendance row as
`unknown-student`, although the students were committed.
"""

from __future__ import annotations

import json

import polars as pl
import pytest

from tests.helpers import query

STUDENTS = 120_000


@pytest.fixture(scope="module")
def uploads(tmp_path_factory):
    folder = tmp_path_factory.mktemp("large")
    refs = pl.int_range(STUDENTS, eager=True).cast(pl.String).str.zfill(6)
    pl.DataFrame(
        {
            "Student Ref": "S" + refs,
            "Forename": pl.Series(["Zoë", "Amelia", "Oliver", "Siân"]).sample(
                STUDENTS, with_replacement=True, seed=1
            ),
            "Surname": "Hughes-" + refs,
            "Date of Birth": "14/03/2009",
            "Postcode": "CT1 2EH",
            "Permission to Track": "Yes",
        }
    ).write_csv(folder / "students.csv")
    pl.DataFrame(
        {
            "Activity Ref": ["A1", "A2"],
            "Activity Type": ["Visit", "Summer school"],
            "Activity Name": ["Campus visit", "Residential"],
            "Start Date": ["01/10/2025", "14/07/2025"],
        }
    ).write_csv(folder / "activities.csv")
    pl.DataFrame(
        {
            "Student Ref": ("S" + refs).append("S" + refs.head(STUDENTS // 2)),
            "Activity Ref": ["A1"] * STUDENTS + ["A2"] * (STUDENTS // 2),
        }
    ).write_csv(folder / "attendance.csv")
    return [folder / n for n in ("activities.csv", "students.csv", "attendance.csv")]


@pytest.mark.slow
def test_a_large_first_import_counts_audits_and_registers_every_row(invoke, uploads, tmp_path):
    db = tmp_path / "new.duckdb"
    result = invoke("import", *uploads, "--member", "KENT", "--db", db, "--format", "json")
    assert result.exit_code == 0, result.stderr
    files = {f["kind"]: f for f in json.loads(result.stdout)["files"]}
    attendance = STUDENTS + STUDENTS // 2
    assert (files["students"]["inserted"], files["students"]["rejected"]) == (STUDENTS, 0)
    assert (files["attendance"]["inserted"], files["attendance"]["rejected"]) == (attendance, 0)
    assert query(db, "SELECT count(*) FROM students") == [(STUDENTS,)]
    assert query(db, "SELECT count(*) FROM attendance") == [(attendance,)]
    audited = query(
        db,
        """SELECT e.details->>'kind', count(r.heat_id) FROM audit_events AS e
           LEFT JOIN audit_records AS r USING (event_id) WHERE e.event = 'import' GROUP BY 1""",
    )
    assert dict(audited)["students"] == STUDENTS
    # every student's last activity is in the register
    assert query(db, "SELECT count(*) FROM students WHERE last_activity_on IS NULL") == [(0,)]
    again = invoke("import", *uploads, "--member", "KENT", "--db", db, "--format", "json")
    assert again.exit_code == 0, again.stderr
    assert all(f["inserted"] == f["updated"] == 0 for f in json.loads(again.stdout)["files"])
