"""Retention over the store, purge, and data-subject rights, as a data officer uses them."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heattool.store import Store
from heattool.store.erasure import NOT_PERSONAL, PERSONAL_TABLES
from tests.helpers import EXAMPLES, FailingCommit, judged, query

UPLOADS = [EXAMPLES / f"{k}.csv" for k in ("activities", "students", "attendance", "ambassadors")]
AS_OF = "2026-11-24"


def heat_id_of(db: Path, ref: str, table: str = "students", column: str = "student_ref") -> str:
    return str(query(db, f"SELECT heat_id FROM {table} WHERE {column} = ?", [ref])[0][0])


@pytest.fixture
def db(tmp_path, invoke) -> Path:
    path = tmp_path / "store.duckdb"
    result = invoke("import", *UPLOADS, "--member", "KENT", "--db", path)
    assert result.exit_code == 0, result.stderr
    return path


@pytest.fixture
def two_members(tmp_path, invoke, db) -> Path:
    other = tmp_path / "other"
    other.mkdir()
    for upload in UPLOADS:  # the same people, as another member's records
        (other / upload.name).write_bytes(upload.read_bytes())
    result = invoke("import", *sorted(other.iterdir()), "--member", "OTHER", "--db", db)
    assert result.exit_code == 0, result.stderr
    return db


# -- retention over the store -------------------------------------------------------------------


def test_retention_lists_every_status_and_the_overdue_record(invoke, db):
    result = invoke("retention", "--db", db, "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["records"] == 17  # 13 students and 4 ambassadors
    assert document["counts"] == {
        "retained": 16,
        "ready-for-deletion": 0,
        "overdue": 1,
        "undated": 0,
    }
    (due,) = document["deletion_ready"]
    assert (due["ref"], due["rule"], due["status"]) == ("S0013", "untracked", "overdue")
    assert (due["expires_on"], due["delete_by"]) == ("2017-03-12", "2017-10-31")
    assert due["reason"].startswith("untracked record: 7 years from last_activity_on (2010-03-12)")
    assert "forename" not in due


def test_a_tracked_record_is_ready_on_1_september_of_entry_year_plus_15(invoke, db):
    # S0010, an adult learner, has an entry-year override of 2025 and attended on 2025-09-15:
    # tracked, so kept until 1 September 2040, to be deleted by the last working day of October.
    def due_on(day: str) -> dict:
        document = json.loads(invoke("retention", "--db", db, "--as-of", day, "-f", "json").stdout)
        return {row["ref"]: row for row in document["deletion_ready"]}

    assert "S0010" not in due_on("2040-08-31")
    ready = due_on("2040-09-01")["S0010"]
    assert (ready["rule"], ready["status"], ready["delete_by"]) == (
        "tracked",
        "ready-for-deletion",
        "2040-10-31",
    )
    assert due_on("2040-11-01")["S0010"]["status"] == "overdue"


def test_out_writes_the_deletion_ready_list_owner_only_and_names_only_when_asked(
    invoke, db, tmp_path
):
    out = tmp_path / "due.csv"
    assert invoke("retention", "--db", db, "--as-of", AS_OF, "--out", out).exit_code == 0
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    text = out.read_text("utf-8-sig")
    assert text.splitlines()[0] == "heat_id,member,kind,ref,rule,status,expires_on,delete_by"
    assert "S0013" in text and "Daniel" not in text
    invoke("retention", "--db", db, "--as-of", AS_OF, "--out", out, "--with-names")
    header, row = out.read_text("utf-8-sig").splitlines()
    assert header.endswith(",forename,surname,date_of_birth")
    assert row.endswith(",Daniel,Price,1995-05-04")


def test_retention_for_one_member_never_shows_another(invoke, two_members):
    result = invoke("retention", "--db", two_members, "--member", "OTHER", "-f", "json")
    document = json.loads(result.stdout)
    assert document["records"] == 17
    assert {row["member"] for row in document["deletion_ready"]} == {"OTHER"}


# -- purge --------------------------------------------------------------------------------------


def test_purge_dry_run_deletes_nothing(invoke, db):
    before = query(db, "SELECT count(*) FROM students")
    result = invoke("purge", "--db", db, "--as-of", AS_OF, "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "dry run: would delete 1 record due on 2026-11-24 (1 untracked overdue)" in (
        result.stdout
    )
    assert query(db, "SELECT count(*) FROM students") == before


def test_purge_without_yes_in_a_script_refuses_and_deletes_nothing(invoke, db):
    result = invoke("purge", "--db", db, "--as-of", AS_OF)
    assert result.exit_code == 2
    assert "refusing to delete 1 record without --yes" in result.stderr
    assert query(db, "SELECT count(*) FROM students WHERE student_ref = 'S0013'") == [(1,)]


def test_purge_deletes_exactly_the_list_with_attachments_and_writes_a_receipt(invoke, db, tmp_path):
    gone = heat_id_of(db, "S0013")
    receipt_path = tmp_path / "receipt.json"
    result = invoke("purge", "--db", db, "--as-of", AS_OF, "--yes", "--receipt", receipt_path)
    assert result.exit_code == 0, result.stderr
    assert "deleted 1 record due on 2026-11-24 (1 untracked overdue): 1 attendance, 1 students" in (
        result.stdout
    )
    assert query(db, "SELECT count(*) FROM students") == [(12,)]
    assert query(db, "SELECT count(*) FROM attendance WHERE student_ref = 'S0013'") == [(0,)]
    assert query(db, "SELECT count(*) FROM attendance") == [(15,)]
    assert stat.S_IMODE(os.stat(receipt_path).st_mode) == 0o600
    receipt = json.loads(receipt_path.read_text("utf-8"))
    assert receipt["heat_ids"] == [gone]
    assert receipt["rows_deleted"] == {
        "attendance": 1,
        "track_batch_records": 0,
        "outcomes_hesa": 0,
        "outcomes_npd": 0,
        "match_decisions": 0,
        "students": 1,
        "ambassadors": 0,
    }
    assert receipt["by_rule"] == [{"rule": "untracked", "status": "overdue", "people": 1}]
    assert len(receipt["policy_sha256"]) == 64
    event = query(db, "SELECT event, details FROM audit_events WHERE event = 'purge'")
    assert event[0][0] == "purge" and "Daniel" not in event[0][1]
    assert query(
        db, "SELECT change FROM audit_records WHERE heat_id = ?::UUID AND change = 'erased'", [gone]
    ) == [("erased",)]
    again = invoke("purge", "--db", db, "--as-of", AS_OF, "--yes")
    assert "nothing deleted" in again.stdout


def test_purge_for_one_member_leaves_the_other_alone(invoke, two_members):
    result = invoke("purge", "--db", two_members, "--as-of", AS_OF, "--member", "OTHER", "--yes")
    assert result.exit_code == 0, result.stderr
    assert query(two_members, "SELECT member, count(*) FROM students GROUP BY 1 ORDER BY 1") == [
        ("KENT", 13),
        ("OTHER", 12),
    ]


@settings(max_examples=8, deadline=None)
@given(st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2060, 12, 31)))
def test_purge_deletes_the_deletion_ready_list_and_nothing_else(tmp_path_factory, day):
    from heattool.actions.load import import_paths
    from heattool.actions.purge import plan_purge, purge_plan
    from heattool.rules.deletion import deletion_ready
    from heattool.rules.policy import load_policy

    db = tmp_path_factory.mktemp("purge") / "store.duckdb"
    import_paths(UPLOADS, member="KENT", db=db)
    policy = load_policy()
    with Store.open(db) as store:
        store.migrate()
        everyone = set(judged(store, policy, day)["heat_id"])
        due = set(deletion_ready(judged(store, policy, day))["heat_id"])
        receipt = purge_plan(store, policy, plan_purge(store, policy, day), day)
        left = set(judged(store, policy, day)["heat_id"])
    assert set(receipt.heat_ids) == due
    assert left == everyone - due


@pytest.mark.parametrize("member", [None, "KENT", "OTHER"])
def test_records_judged_without_ids_are_identified_as_the_same_people(two_members, member):
    """A purge judges everyone without their ids and identifies only the due, by row."""
    from heattool.rules.policy import load_policy
    from heattool.store.people import ROWID, identify

    policy, day = load_policy(), dt.date(2045, 9, 1)
    with Store.open(two_members) as store:
        full = judged(store, policy, day, member)
        with store.transaction():
            bare = judged(store, policy, day, member, ids=False)
            assert ROWID in bare.columns and "heat_id" not in bare.columns
            found = identify(store, bare.reverse())  # any order, any subset
        with pytest.raises(RuntimeError, match="transaction"):
            identify(store, bare)
    assert found.reverse().equals(full)
    assert full.height == (34 if member is None else 17)


def test_a_policy_that_reads_the_member_purges_what_retention_lists(invoke, two_members, tmp_path):
    """Purge judges without ids unless the policy reads one, as a rule for one member does."""
    policy = tmp_path / "short.toml"
    policy.write_text(
        """
[policy]
name = "OTHER keeps less"
version = "1"
[settings]
ready_for_deletion = "on-expiry"
delete_by = "30d"
[[rule]]
name = "other-short"
kind = "*"
period = "1y"
anchor = "first_loaded_on"
action = "delete"
condition = { field = "member", is = "OTHER" }
[[rule]]
name = "everyone-else"
kind = "*"
period = "50y"
anchor = "first_loaded_on"
action = "delete"
""",
        encoding="utf-8",
    )
    day = (dt.date.today() + dt.timedelta(days=400)).isoformat()
    listed = invoke(
        "retention", "--policy", policy, "--db", two_members, "--as-of", day, "-f", "json"
    )
    assert listed.exit_code == 0, listed.stderr
    due = json.loads(listed.stdout)["deletion_ready"]
    assert len(due) == 17 and {r["member"] for r in due} == {"OTHER"}
    receipt = tmp_path / "receipt.json"
    purged = invoke(
        "purge", "--policy", policy, "--db", two_members, "--as-of", day, "--yes",
        "--allow-future", "--receipt", receipt, "-f", "json",
    )  # fmt: skip
    assert purged.exit_code == 0, purged.stderr
    assert sorted(json.loads(receipt.read_text("utf-8"))["heat_ids"]) == sorted(
        r["heat_id"] for r in due
    )
    assert query(two_members, "SELECT DISTINCT member FROM students") == [("KENT",)]


def test_a_purge_whose_commit_fails_leaves_no_receipt_and_the_store_as_it_was(
    invoke, db, tmp_path, monkeypatch
):
    """The receipt is written while DuckDB commits; if the commit fails, it must not remain."""

    from heattool.actions import purge

    real_purge = purge.purge_plan

    def purge_then_fail_at_commit(store, *args):
        receipt = real_purge(store, *args)
        store.con = FailingCommit(store.con)
        return receipt

    monkeypatch.setattr(purge, "purge_plan", purge_then_fail_at_commit)
    before = query(db, "SELECT count(*) FROM students")
    receipt = tmp_path / "receipt.json"
    result = invoke(
        "purge", "--db", db, "--as-of", "2060-09-01", "--yes", "--allow-future",
        "--receipt", receipt,
    )  # fmt: skip
    assert result.exit_code == 2, result.stderr
    assert "nothing was changed" in result.stderr
    assert not receipt.exists() and not list(tmp_path.glob("*.partial"))
    assert query(db, "SELECT count(*) FROM students") == before


# -- data-subject rights ------------------------------------------------------------------------


def test_find_matches_normalised_identifiers(invoke, db):
    result = invoke(
        "subject", "find", "--forename", " amelia ", "--surname", "HUGHES", "--dob",
        "2009-03-14", "--postcode", "ct12eh", "--db", db, "-f", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    (match,) = json.loads(result.stdout)
    assert (match["ref"], match["kind"], match["member"]) == ("S0001", "students", "KENT")
    assert match["heat_id"] == heat_id_of(db, "S0001")
    none = invoke("subject", "find", "--forename", "Amelia", "--surname", "Hughes",
                  "--dob", "2009-03-15", "--db", db)  # fmt: skip
    assert "no matching records" in none.stdout


def test_access_gives_everything_held_about_the_person(invoke, db, tmp_path):
    heat_id = heat_id_of(db, "S0001")
    out = tmp_path / "package.json"
    result = invoke("subject", "access", heat_id, "--db", db, "--out", out)
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    package = json.loads(out.read_text("utf-8"))
    assert package["record"]["forename"] == "Amelia"
    assert package["record"]["entry_year_label"] == "2027/28"
    assert [a["name"] for a in package["attendance"]] == [
        "Year 10 Campus Visit",
        "Online Subject Taster",
    ]
    assert set(package["held_in_tables"]) == {"students", "attendance"}
    assert [e["event"] for e in package["audit_events"]][:1] == ["import"]


def test_access_for_another_member_is_refused(invoke, two_members):
    heat_id = str(
        query(two_members, "SELECT heat_id FROM students WHERE member = 'KENT' LIMIT 1")[0][0]
    )
    result = invoke("subject", "access", heat_id, "--member", "OTHER", "--db", two_members)
    assert result.exit_code == 2
    assert f"no person with heat_id {heat_id} for member OTHER" in result.stderr


def test_withdraw_takes_the_person_out_of_tracking(invoke, db):
    heat_id = heat_id_of(db, "S0001")
    result = invoke("subject", "withdraw", heat_id, "--as-of", "2026-11-01", "--db", db)
    assert result.exit_code == 0, result.stderr
    assert "withdrawn on 2026-11-01" in result.stdout
    assert query(db, "SELECT withdrawn_on FROM students WHERE student_ref = 'S0001'") == [
        (dt.date(2026, 11, 1),)
    ]
    document = json.loads(invoke("retention", "--db", db, "-f", "json", "--as-of",
                                 "2032-09-01").stdout)  # fmt: skip
    assert "S0001" in {row["ref"] for row in document["deletion_ready"]}  # untracked: 7 years
    again = invoke("subject", "withdraw", heat_id, "--db", db)
    assert "had already withdrawn on 2026-11-01; unchanged" in again.stdout


def test_erase_deletes_now_and_a_later_upload_is_refused_until_new_consent(invoke, db, tmp_path):
    heat_id = heat_id_of(db, "S0001")
    receipt = tmp_path / "erasure.json"
    result = invoke("subject", "erase", heat_id, "--yes", "--db", db, "--receipt", receipt)
    assert result.exit_code == 0, result.stderr
    assert f"erased {heat_id}: 3 rows deleted" in result.stdout
    assert json.loads(receipt.read_text("utf-8"))["heat_ids"] == [heat_id]
    assert query(db, "SELECT count(*) FROM students WHERE student_ref = 'S0001'") == [(0,)]
    assert query(db, "SELECT count(*) FROM attendance WHERE student_ref = 'S0001'") == [(0,)]
    (suppressed,) = query(db, "SELECT member, kind, identity_hash FROM suppression_list")
    assert suppressed[:2] == ("KENT", "students") and "Amelia" not in suppressed[2]

    again = invoke("import", EXAMPLES / "students.csv", "--member", "KENT", "--db", db,
                   "-f", "json")  # fmt: skip
    assert again.exit_code == 1
    file = json.loads(again.stdout)["files"][0]
    assert (file["inserted"], file["rejected"]) == (0, 1)
    assert query(db, "SELECT count(*) FROM students WHERE student_ref = 'S0001'") == [(0,)]

    consent = invoke("import", EXAMPLES / "students.csv", "--member", "KENT", "--db", db,
                     "--allow-previously-erased")  # fmt: skip
    assert consent.exit_code == 0, consent.stderr
    new_id = heat_id_of(db, "S0001")
    assert new_id != heat_id  # a new record, never the erased one's heat_id
    assert query(db, "SELECT count(*) FROM suppression_list") == [(0,)]


def test_erase_without_yes_in_a_script_refuses(invoke, db):
    result = invoke("subject", "erase", heat_id_of(db, "S0001"), "--db", db)
    assert result.exit_code == 2
    assert "refusing to erase without --yes" in result.stderr


def test_unknown_heat_id_is_a_clear_error(invoke, db):
    result = invoke("subject", "access", "not-a-heat-id", "--db", db)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no person with heat_id not-a-heat-id")


# -- personal data is covered by access, erase and purge alike ---------------------------------

PERSONAL_COLUMNS = {"forename", "surname", "date_of_birth", "postcode", "heat_id", "student_ref"}


def test_every_table_is_declared_personal_or_not():
    with Store.open(":memory:") as store:
        store.migrate()
        tables = store.tables()
        columns = store.con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = 'store'"
        ).fetchall()
    assert not set(PERSONAL_TABLES) & set(NOT_PERSONAL)
    assert tables == set(PERSONAL_TABLES) | set(NOT_PERSONAL), "declare new tables in personal.py"
    holding = {table for table, column in columns if column in PERSONAL_COLUMNS}
    assert holding - {"audit_records"} <= set(PERSONAL_TABLES)


def test_erase_and_access_cover_every_personal_table(invoke, db):
    from heattool.store.erasure import erase_people, held_about
    from heattool.store.people import person

    heat_id = heat_id_of(db, "S0002")
    with Store.open(db) as store:
        store.migrate()
        store.con.execute(  # a track request that included the person
            "INSERT INTO track_batch_records VALUES (1, 'KENT', 'students', ?::UUID)", [heat_id]
        )
        held = held_about(store, person(store, heat_id))
        assert {t for t, rows in held.items() if rows and not t.startswith("_")} == {
            "students",
            "attendance",
            "track_batch_records",
        }
        erase_people(store, person(store, heat_id), event="erase")
    with Store.open(db) as store:
        for table, predicate in PERSONAL_TABLES.items():
            people = store.con.execute(
                "SELECT ?::VARCHAR AS heat_id, 'KENT' AS member, 'students' AS kind, "
                "'S0002' AS ref",
                [heat_id],
            ).pl()
            store.con.register("people", people)
            left = store.con.execute(f"SELECT count(*) FROM {table} WHERE {predicate}").fetchone()
            store.con.unregister("people")
            assert left == (0,), table


def test_summary_breaks_down_entry_years_and_retention(invoke, db):
    result = invoke("summary", "--db", db, "--as-of", AS_OF, "-f", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    years = {row["entry_year"]: row for row in document["entry_years"]}
    assert years["2027/28"]["people"] == 5
    assert years["2025/26"] == {
        "member": "KENT",
        "entry_year": "2025/26",
        "people": 2,
        "overridden": 1,
    }
    assert years["none"]["people"] == 1  # S0008 has no date of birth
    assert document["retention"] == {
        "as_of": AS_OF,
        "by_member_and_status": [
            {"member": "KENT", "status": "overdue", "people": 1},
            {"member": "KENT", "status": "retained", "people": 16},
        ],
    }
