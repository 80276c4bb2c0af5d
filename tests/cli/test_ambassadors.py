"""Ambassadors through the CLI: bad rows rejected one by one, their own entry year, and their
last activity the last upload that listed them (issue 11, item 6)."""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path

import duckdb
import pytest

from heattool.findings import CODES
from tests.helpers import DATA, EXAMPLES, query

AS_OF = "2026-11-24"
HEADER = [
    "Ambassador Ref", "Forename", "Surname", "Date of Birth", "Postcode", "Permission to Track",
    "HEAT Privacy Notice", "HESA Privacy Notice", "Expected HE Entry Year",
]  # fmt: skip
ROWS = [
    ["SA01", "Hannah", "Okafor", "03/02/2004", "CT2 7NZ", "Yes", "Yes", "Yes", ""],
    ["SA02", "Daniel", "Reid", "21/11/2003", "CT1 1QU", "Yes", "Yes", "Yes", ""],
    ["SA03", "Aisha", "Rahman", "09/06/2005", "ME7 4AG", "Yes", "Yes", "Yes", ""],
    ["SA04", "Rhys", "Morgan", "14/08/2004", "CF24 0AB", "Yes", "Yes", "Yes", ""],
]
MATURE = ["SA09", "Mary", "Adeyemi", "12/03/1990", "CT2 7NZ", "Yes", "Yes", "Yes", "2024"]


def upload(tmp_path: Path, rows: list[list[str]], name: str = "ambassadors.csv") -> Path:
    path = tmp_path / name
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(HEADER)
        writer.writerows(rows)
    return path


@pytest.fixture
def db(tmp_path) -> Path:
    return tmp_path / "heattool.duckdb"


def imported(invoke, db: Path, path: Path, *extra: str):
    return invoke("import", path, "-m", "KENT", "--db", db, "--as-of", AS_OF, *extra)


def retention_rows(invoke, db: Path, as_of: str = AS_OF) -> dict[str, dict[str, str]]:
    result = invoke("retention", "--db", db, "--member", "KENT", "--as-of", as_of, "-f", "csv")
    assert result.exit_code == 0, result.stderr
    return {row["ref"]: row for row in csv.DictReader(result.stdout.splitlines())}


# -- one bad row is one rejected row ------------------------------------------------------------


def test_a_bad_postcode_and_a_bad_date_of_birth_reject_two_rows_and_load_the_rest(
    invoke, tmp_path, db
):
    """Pandera named the checks ambassadors inherit after their functions once the students'
    schema was built first (as every run does): the whole file exited 4."""
    rows = [list(r) for r in ROWS]
    rows[1][4] = "NOT A POSTCODE"
    rows[2][3] = "05/05/2031"
    rejects = tmp_path / "rejects.csv"
    result = imported(invoke, db, upload(tmp_path, rows), "--rejects-out", rejects, "-f", "json")
    assert result.exit_code == 1, result.stderr
    (file,) = json.loads(result.stdout)["files"]
    assert (file["rows"], file["inserted"], file["rejected"]) == (4, 2, 2)
    assert query(db, "SELECT ambassador_ref FROM ambassadors ORDER BY 1") == [("SA01",), ("SA04",)]
    with rejects.open(encoding="utf-8-sig", newline="") as handle:
        rejected = [
            (r["heattool_row"], r["Ambassador Ref"], r["heattool_codes"])
            for r in csv.DictReader(handle)
        ]
    assert rejected == [("3", "SA02", "invalid-postcode"), ("4", "SA03", "dob-in-future")]


@pytest.mark.parametrize(
    ("column", "value", "code"),
    [
        (3, "01/01/1900", "implausible-age"),
        (3, "01/01/2030", "dob-in-future"),
        (4, "ZZ99 9ZZZ", "invalid-postcode"),
        (8, "1850", "implausible-year"),
        (8, "soon", "implausible-year"),
    ],
)
def test_every_ambassador_finding_is_a_finding_at_its_cell(invoke, tmp_path, column, value, code):
    invoke("validate", EXAMPLES / "students.csv", "--as-of", AS_OF)  # the students' schema first
    rows = [list(r) for r in ROWS]
    rows[0][column] = value
    result = invoke("validate", upload(tmp_path, rows), "--as-of", AS_OF, "-f", "json")
    assert result.exit_code == 1, result.stderr
    (error,) = json.loads(result.stdout)["files"][0]["errors"]
    letter = "ABCDEFGHI"[column]
    assert (error["row"], error["cell"], error["code"]) == (2, f"{letter}2", code)
    assert error["message"] == CODES[code].message


def test_every_check_of_every_model_is_named_by_a_finding_code():
    """Whichever model Pandera builds first, no check is left named after its function."""
    from heattool.schemas.models import MODELS
    from heattool.schemas.validate import _PANDERA_CHECKS

    for kind, model in MODELS.items():
        schema = model.to_schema()
        for name, column in schema.columns.items():
            for check in column.checks:
                assert check.name in CODES or check.name in _PANDERA_CHECKS, (kind, name)


# -- an ambassador's own Expected HE Entry Year ---------------------------------------------------


def test_a_mature_ambassadors_entry_year_is_the_uploaded_one(invoke, tmp_path, db):
    result = imported(invoke, db, upload(tmp_path, [*ROWS, MATURE]))
    assert result.exit_code == 0, result.stderr
    stored = query(
        db,
        "SELECT ambassador_ref, expected_he_entry_year, entry_year_label, entry_year_source "
        "FROM ambassadors WHERE ambassador_ref IN ('SA01', 'SA09') ORDER BY 1",
    )
    assert stored == [("SA01", 2022, "2022/23", "dob"), ("SA09", 2024, "2024/25", "override")]


def test_a_mature_ambassador_is_tracked_for_hesa_and_not_due_for_deletion(invoke, tmp_path, db):
    """From the date of birth (1990) the entry year was 2008: outside the HESA window, which
    starts in 2015, and 15 years past by 2023, so overdue on the day they were loaded."""
    assert imported(invoke, db, upload(tmp_path, [MATURE])).exit_code == 0
    out = tmp_path / "hesa-2026.csv"
    result = invoke("track-request", "--target", "hesa", "--year", "2026", "--db", db, "--out", out)
    assert result.exit_code == 0, result.stderr
    (sent,) = list(csv.DictReader(out.open(encoding="utf-8-sig", newline="")))
    assert (sent["kind"], sent["forename"], sent["expected_he_entry_year"]) == (
        "ambassadors",
        "Mary",
        "2024",
    )
    judged = retention_rows(invoke, db)["SA09"]
    assert (judged["rule"], judged["status"], judged["expires_on"]) == (
        "tracked",
        "retained",
        "2039-09-01",
    )


def test_without_the_column_an_ambassadors_year_still_comes_from_the_date_of_birth(
    invoke, tmp_path, db
):
    path = tmp_path / "plain.csv"
    path.write_text(
        "Ambassador Ref,Forename,Surname,Date of Birth\nSA09,Mary,Adeyemi,12/03/1990\n", "utf-8"
    )
    assert imported(invoke, db, path).exit_code == 0
    assert query(db, "SELECT expected_he_entry_year, entry_year_source FROM ambassadors") == [
        (2008, "dob")
    ]


# -- last activity: the last upload that listed them ------------------------------------------


def at(monkeypatch, moment: dt.datetime) -> None:
    """The importer's clock stands at `moment`."""
    monkeypatch.setattr("heattool.actions.load.utc_now", lambda: moment)


def test_re_uploading_an_unchanged_file_later_moves_their_last_activity(
    invoke, tmp_path, db, monkeypatch
):
    """Without permission to track, an ambassador is kept 7 years from their last activity.
    An unchanged row used to leave updated_at alone: they went overdue while still listed."""
    rows = [[*ROWS[0][:5], "No", *ROWS[0][6:]], ROWS[1]]
    path = upload(tmp_path, rows)
    at(monkeypatch, dt.datetime(2018, 3, 1, 9, 30))
    assert imported(invoke, db, path).exit_code == 0
    before = retention_rows(invoke, db)["SA01"]
    assert (before["rule"], before["anchor_on"], before["status"]) == (
        "untracked",
        "2018-03-01",
        "overdue",
    )
    at(monkeypatch, dt.datetime(2026, 11, 2, 8, 0))
    again = imported(invoke, db, path, "-f", "json")
    assert again.exit_code == 0, again.stderr
    assert json.loads(again.stdout)["files"][0]["unchanged"] == 2
    after = retention_rows(invoke, db)["SA01"]
    assert (after["anchor_on"], after["status"]) == ("2026-11-02", "retained")
    assert query(
        db, "SELECT ambassador_ref, last_listed_on, updated_at::DATE FROM ambassadors ORDER BY 1"
    ) == [
        ("SA01", dt.date(2026, 11, 2), dt.date(2018, 3, 1)),
        ("SA02", dt.date(2026, 11, 2), dt.date(2018, 3, 1)),
    ]


def test_only_the_ambassadors_an_upload_lists_are_marked(invoke, tmp_path, db, monkeypatch):
    at(monkeypatch, dt.datetime(2024, 1, 10, 12, 0))
    assert imported(invoke, db, upload(tmp_path, ROWS)).exit_code == 0
    at(monkeypatch, dt.datetime(2025, 6, 1, 12, 0))
    changed = [list(ROWS[1]), list(ROWS[2])]
    changed[0][4] = "CT1 2EH"  # SA02 moved; SA03 as it was
    assert imported(invoke, db, upload(tmp_path, changed, "some.csv")).exit_code == 0
    listed = query(db, "SELECT ambassador_ref, last_listed_on FROM ambassadors ORDER BY 1")
    assert listed == [
        ("SA01", dt.date(2024, 1, 10)),
        ("SA02", dt.date(2025, 6, 1)),
        ("SA03", dt.date(2025, 6, 1)),
        ("SA04", dt.date(2024, 1, 10)),
    ]


def test_a_dry_run_marks_nobody(invoke, tmp_path, db, monkeypatch):
    at(monkeypatch, dt.datetime(2024, 1, 10, 12, 0))
    path = upload(tmp_path, ROWS)
    assert imported(invoke, db, path).exit_code == 0
    at(monkeypatch, dt.datetime(2025, 6, 1, 12, 0))
    assert imported(invoke, db, path, "--dry-run").exit_code == 0
    assert query(db, "SELECT DISTINCT last_listed_on FROM ambassadors") == [(dt.date(2024, 1, 10),)]


def test_an_older_store_starts_from_each_ambassadors_last_change(invoke, tmp_path):
    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute((DATA / "store_v1.sql").read_text("utf-8"))
    con.execute(
        "INSERT INTO ambassadors (member, ambassador_ref, heat_id, forename, surname, "
        "created_at, updated_at, batch_id) VALUES ('KENT', 'SA77', uuid(), 'Ann', 'Lee', "
        "TIMESTAMP '2023-02-01 10:00', TIMESTAMP '2024-03-05 23:59', 1)"
    )
    con.close()
    assert invoke("summary", "--db", db).exit_code == 0  # opening migrates it
    assert query(db, "SELECT last_listed_on FROM ambassadors") == [(dt.date(2024, 3, 5),)]
    judged = retention_rows(invoke, db)["SA77"]
    assert judged["anchor_on"] == "2024-03-05"
