"""Retention: the HEAT default's dates and statuses, the rule language, the store-less CLI."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import os

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from heattool.errors import BadPolicy, HeattoolError, InvalidData
from heattool.rules.policy import load_policy, policy_from_text
from heattool.rules.retention import evaluate_policy, evaluate_table
from tests.helpers import DATA, EXAMPLES, STORE_SCHEMA, judge, student

D = dt.date
HEAT = load_policy()
KENT = EXAMPLES / "policies" / "kent-staff.toml"
STAFF = EXAMPLES / "policies" / "staff-records.csv"


def test_tracked_record_kept_until_1_september_of_entry_year_plus_15():
    (row,) = judge(student())
    assert row["rule"] == "tracked"
    assert row["action"] == "delete"
    assert (row["anchor_on"], row["expires_on"]) == (D(2026, 9, 1), D(2041, 9, 1))
    assert (row["ready_on"], row["delete_by"]) == (D(2041, 9, 1), D(2041, 10, 31))
    assert row["status"] == "retained"
    assert "1 September of expected_he_entry_year (2026-09-01) ends on 2041-09-01" in row["reason"]


@pytest.mark.parametrize(
    "change",
    [
        {"forename": None},
        {"surname": "  "},
        {"postcode": None},
        {"date_of_birth": None},
        {"last_activity_on": D(2011, 2, 28)},  # more than 15 years before 2026-03-01
        {"last_activity_on": None},
        {"withdrawn_on": D(2025, 1, 1)},
        {"permission_to_track": False},
    ],
)
def test_record_failing_any_tracking_test_is_kept_7_years(change):
    (row,) = judge(student(**change))
    assert row["rule"] == "untracked"


def test_unknown_permission_is_not_a_withdrawal():
    assert judge(student(permission_to_track=None))[0]["rule"] == "tracked"


def test_activity_exactly_15_years_ago_is_within_15_years():
    assert judge(student(last_activity_on=D(2011, 3, 1)))[0]["rule"] == "tracked"


def test_untracked_record_dates_from_last_activity_then_the_annual_run():
    (row,) = judge(student(forename=None))
    assert row["anchor_on"] == D(2019, 3, 10)
    assert row["expires_on"] == D(2026, 3, 10)
    assert row["ready_on"] == D(2026, 9, 1)
    assert row["delete_by"] == D(2026, 10, 30)  # 31 October 2026 is a Saturday
    assert "7 years from last_activity_on (2019-03-10)" in row["reason"]


def test_without_activity_counts_from_first_load():
    (row,) = judge(student(last_activity_on=None))
    assert (row["anchor_on"], row["expires_on"]) == (D(2019, 1, 1), D(2026, 1, 1))
    assert "first_loaded_on" in row["reason"]


def test_expiry_on_1_september_is_ready_that_day():
    (row,) = judge(student(forename=None, last_activity_on=D(2019, 9, 1)))
    assert row["ready_on"] == D(2026, 9, 1)
    (row,) = judge(student(forename=None, last_activity_on=D(2019, 9, 2)))
    assert row["ready_on"] == D(2027, 9, 1)


def test_29_february_plus_7_years_is_28_february():
    (row,) = judge(student(forename=None, last_activity_on=D(2016, 2, 29)))
    assert row["expires_on"] == D(2023, 2, 28)


@pytest.mark.parametrize(
    ("as_of", "status"),
    [
        (D(2026, 8, 31), "retained"),
        (D(2026, 9, 1), "ready-for-deletion"),
        (D(2026, 10, 30), "ready-for-deletion"),
        (D(2026, 10, 31), "overdue"),
    ],
)
def test_status_turns_on_1_september_and_after_the_delete_by_day(as_of, status):
    record = student(forename=None, last_activity_on=D(2019, 3, 10))
    assert judge(record, as_of=as_of)[0]["status"] == status


def test_record_with_no_date_to_count_from_is_undated():
    (row,) = judge(student(forename=None, last_activity_on=None, first_loaded_on=None))
    assert row["status"] == "undated"
    assert row["expires_on"] is None
    assert "no last_activity_on or first_loaded_on to count 7 years from" in row["reason"]


def test_a_record_no_rule_covers_is_a_policy_error():
    with pytest.raises(BadPolicy, match=r"heat.toml: no rule covers 1 record\(s\) of kind 'staff'"):
        judge(student(), student(kind="staff"))


def test_a_field_missing_from_the_records_names_rule_and_field():
    frame = pl.DataFrame([student()], schema=STORE_SCHEMA).drop("withdrawn_on")
    with pytest.raises(BadPolicy, match=r"rule 'tracked': field 'withdrawn_on' is not a column"):
        evaluate_policy(HEAT, frame, D(2026, 1, 1))


def test_a_field_of_the_wrong_type_names_rule_and_field():
    frame = pl.DataFrame([student()], schema=STORE_SCHEMA).with_columns(
        pl.col("last_activity_on").cast(pl.String)
    )
    with pytest.raises(BadPolicy, match=r"'last_activity_on' is used as a date but the records"):
        evaluate_policy(HEAT, frame, D(2026, 1, 1))


LANGUAGE = """
[policy]
name = "language"
[settings]
delete_by = "30d"
[[rule]]
name = "vip"
kind = "*"
period = "100y"
anchor = "seen_on"
action = "delete"
[rule.condition]
any = [ { field = "band", in = ["gold", "platinum"] }, { field = "score", is = 10 } ]
[[rule]]
name = "stale"
kind = "*"
period = "1m"
anchor = "seen_on"
action = "anonymise"
[rule.condition]
all = [
    { field = "seen_on", older_than = "2y" },
    { not = { field = "band", is = "red" } },
]
[[rule]]
name = "rest"
kind = "*"
action = "keep"
"""


def test_condition_language_first_matching_rule_wins():
    frame = pl.DataFrame(
        {
            "band": ["gold", None, "red", "blue", "silver"],
            "score": [1, 10, 1, 1, None],
            "seen_on": [D(2000, 1, 1), D(2000, 1, 1), D(2000, 1, 1), D(2000, 1, 1), D(2025, 1, 1)],
        }
    )
    result = evaluate_policy(policy_from_text(LANGUAGE), frame, D(2026, 1, 1), kind="any")
    assert result.get_column("rule").to_list() == ["vip", "vip", "rest", "stale", "rest"]
    stale = result.row(3, named=True)
    # 1 month from seen_on would end on 2000-02-01, but the record was kept (rule 'rest') until
    # seen_on was 2 years old: it fell to 'stale' on 2002-01-02, and its month ends no earlier.
    assert (stale["expires_on"], stale["ready_on"], stale["delete_by"]) == (
        D(2002, 1, 2),
        D(2002, 1, 2),
        D(2002, 2, 1),
    )
    assert stale["status"] == "overdue"
    assert stale["reason"] == (
        "rule 'stale': 1 month from seen_on (2000-01-01) would end on 2000-02-01, but it was "
        "under rule 'rest' until 2002-01-01 (seen_on older than 2 years from 2002-01-02), so it "
        "ends on 2002-01-02; overdue: should have been anonymised by 2002-02-01"
    )
    assert result.row(2, named=True)["expires_on"] is None


def test_records_without_a_kind_column_need_a_kind():
    frame = pl.DataFrame([student()], schema=STORE_SCHEMA).drop("kind")
    with pytest.raises(HeattoolError, match=r"no 'kind' column.*ambassadors, students"):
        evaluate_policy(HEAT, frame, D(2026, 1, 1))
    assert evaluate_policy(HEAT, frame, D(2026, 1, 1), kind="students")["rule"][0] == "tracked"


# Every date the default policy gives obeys the calendar rule, whatever the record.
records = st.fixed_dictionaries(
    {
        "forename": st.sampled_from(["Amira", None]),
        "permission_to_track": st.sampled_from([True, False, None]),
        "last_activity_on": st.none() | st.dates(D(1990, 1, 1), D(2030, 12, 31)),
        "expected_he_entry_year": st.integers(2000, 2040),
    }
)


@given(st.lists(records, min_size=1, max_size=20), st.dates(D(2000, 1, 1), D(2040, 12, 31)))
def test_default_policy_dates_follow_the_annual_calendar(changes, as_of):
    rows = judge(*(student(**c) for c in changes), as_of=as_of)
    for row in rows:
        ready, delete_by, expires = row["ready_on"], row["delete_by"], row["expires_on"]
        assert (ready.month, ready.day) == (9, 1)
        assert expires <= ready < expires + dt.timedelta(days=366)
        assert (delete_by.year, delete_by.month) == (ready.year, 10)
        assert delete_by.weekday() < 5 and delete_by.day >= 27
        expected = (
            "retained"
            if as_of < ready
            else "ready-for-deletion"
            if as_of <= delete_by
            else "overdue"
        )
        assert row["status"] == expected
        if row["rule"] == "tracked":
            assert expires == D(row["expected_he_entry_year"] + 15, 9, 1)


# --- a plain file, without the store ---------------------------------------------------------


def test_plain_table_is_typed_and_entry_year_derived():
    from heattool.io.readers import read_upload

    table = read_upload(DATA / "rules_students.csv").frame
    result = evaluate_table(HEAT, table, D(2026, 3, 1), kind="students")
    rows = {r["ref"]: r for r in result.to_dicts()}
    assert rows["S001"]["expires_on"] == D(2041, 9, 1)  # England: born 1 Sep 2007, entry 2026
    assert rows["S002"]["expires_on"] == D(2041, 9, 1)  # Scotland: born Aug 2008, entry 2026
    assert rows["S004"]["expires_on"] == D(2025, 9, 1)  # override 2010, activity 2012
    assert rows["S004"]["rule"] == "tracked"
    assert {ref for ref, r in rows.items() if r["rule"] == "untracked"} == {
        "S003",
        "S005",
        "S006",
        "S007",
    }
    assert (rows["S003"]["status"], rows["S003"]["delete_by"]) == ("overdue", D(2025, 10, 31))
    assert rows["S007"]["anchor_on"] == D(2017, 5, 5)


def test_unreadable_date_in_a_plain_table_is_invalid_data():
    table = pl.DataFrame({"ref": ["a", "b"], "last_activity_on": ["2020-01-01", "31/02/2020"]})
    policy = policy_from_text(
        '[policy]\nname = "p"\n[[rule]]\nname = "r"\nkind = "x"\nperiod = "1y"\n'
        'anchor = "last_activity_on"\naction = "delete"\n'
    )
    with pytest.raises(
        InvalidData, match=r"^in.csv: column 'last_activity_on' row 3: not a date \(1 such cell\)"
    ) as raised:
        evaluate_table(policy, table, D(2026, 1, 1), source="in.csv")
    assert "31/02/2020" not in str(raised.value)  # named by its row, not quoted


def _csv_rows(text: str) -> dict[str, dict]:
    return {row["ref"]: row for row in csv.DictReader(io.StringIO(text))}


def test_cli_kent_staff_policy_over_a_plain_file(invoke):
    result = invoke(
        "retention", "--policy", KENT, "--input", STAFF, "--as-of", "2026-03-01", "-f", "csv"
    )
    assert result.exit_code == 0, result.stderr
    rows = _csv_rows(result.stdout)
    assert (rows["RC-101"]["action"], rows["RC-101"]["status"]) == ("anonymise", "overdue")
    assert rows["RC-101"]["expires_on"] == "2026-01-06"  # 1 year after the successful start
    assert (rows["AC-202"]["status"], rows["AC-202"]["expires_on"]) == (
        "ready-for-deletion",
        "2026-01-30",  # 14 months after the last login
    )
    assert rows["AC-203"]["anchor_on"] == "2025-01-31"  # never logged in: from creation
    assert (rows["ST-001"]["rule"], rows["ST-001"]["expires_on"]) == (
        "ended-engagement",
        "2023-08-31",
    )
    assert (rows["ST-003"]["action"], rows["ST-003"]["status"]) == ("keep", "retained")
    assert rows["AR-302"]["expires_on"] == "2025-12-31"  # archived details: 15 years
    assert "name" not in rows["ST-001"]  # personal columns stay out of the results


def test_cli_table_json_and_out_file(invoke, tmp_path):
    out = tmp_path / "due.csv"
    args = ["retention", "--policy", KENT, "--input", STAFF, "--as-of", "2026-03-01"]
    table = invoke(*args, "--out", out)
    assert table.exit_code == 0, table.stderr
    assert "13 records, 7 retained, 1 ready-for-deletion, 5 overdue" in table.stdout
    assert "deletion-ready list (6 records) written to" in table.stdout
    assert os.stat(out).st_mode & 0o777 == 0o600
    assert _csv_rows(out.read_text(encoding="utf-8-sig"))["AR-302"]["status"] == "overdue"
    document = json.loads(invoke(*args, "--format", "json").stdout)
    assert document["counts"] == {
        "retained": 7,
        "ready-for-deletion": 1,
        "overdue": 5,
        "undated": 0,
    }
    assert document["policy"]["source"] == str(KENT)
    due = {row["ref"]: row for row in document["deletion_ready"]}
    assert len(due) == 6
    assert due["AR-302"]["status"] == "overdue"
    assert any(row["reason"].startswith("applicant account: 14 months from last_login_on")
               for row in due.values())  # fmt: skip


def test_cli_default_policy_from_environment(invoke, tmp_path, monkeypatch):
    monkeypatch.setenv("HEATTOOL_POLICY", str(KENT))
    result = invoke("retention", "--input", STAFF, "--as-of", "2026-03-01", "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["policy"]["name"] == "Kent staff records (example)"


def test_cli_heat_default_needs_kind_for_a_file_without_one(invoke):
    args = ["retention", "--input", DATA / "rules_students.csv", "--as-of", "2026-03-01"]
    result = invoke(*args)
    assert result.exit_code == 2
    assert "no 'kind' column" in result.stderr
    result = invoke(*args, "--kind", "students", "-f", "csv")
    assert result.exit_code == 0, result.stderr
    assert _csv_rows(result.stdout)["S006"]["rule"] == "untracked"  # withdrawn


def test_cli_without_input_judges_the_store(invoke, tmp_path):
    missing = tmp_path / "empty.duckdb"
    result = invoke("retention", "--db", missing)
    assert result.exit_code == 2
    assert result.stderr == f"error: no store at {missing}; create one with heattool import\n"
    assert not missing.exists()
    from heattool.store import Store

    Store.open(missing).close()  # an empty store: nothing in it is due
    result = invoke("retention", "--db", missing)
    assert result.exit_code == 0, result.stderr
    assert "0 records" in result.stdout
    assert "Nothing is ready for deletion." in result.stdout


def test_cli_bad_cell_exits_1(invoke, tmp_path):
    path = tmp_path / "staff.csv"
    path.write_text("kind,ref,engagement_ended_on\nstaff,ST-9,yesterday\n")
    result = invoke("retention", "--policy", KENT, "--input", path)
    assert result.exit_code == 1
    assert result.stderr == (
        f"error: {path}: column 'engagement_ended_on' row 2: not a date (1 such cell); write "
        "dates as YYYY-MM-DD or DD/MM/YYYY\n"
    )  # the cell is not quoted: it may be a person's


# --- an upload, without the store (issue 11 item 4) --------------------------------------------


def _rows_of(path) -> int:
    with open(path, newline="", encoding="utf-8-sig") as f:
        return sum(1 for _ in csv.DictReader(f))


def test_cli_judges_an_upload_as_import_reads_it(invoke):
    result = invoke("retention", "--input", EXAMPLES / "students.csv", "-f", "json")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    rows = _rows_of(EXAMPLES / "students.csv")
    assert document["records"] == rows
    assert document["input"]["kind"] == "students"
    assert (document["input"]["judged"], document["input"]["not_judged"]) == (rows, 0)
    assert "Date of Birth -> date_of_birth" in result.stderr  # the mapping, as import shows it


def test_cli_upload_in_heat_export_headings_keeps_dates_of_birth(invoke, tmp_path):
    """HEAT's own headings are mapped; an entry year is derived from each date of birth."""
    result = invoke(
        "retention", "--input", DATA / "heat_student_export.csv", "--as-of", "2026-03-01",
        "-f", "csv",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    rows = _csv_rows(result.stdout)
    assert len(rows) == _rows_of(DATA / "heat_student_export.csv")
    assert all(r["rule"] == "untracked" for r in rows.values())  # a file has no register
    # counted from the day it would be loaded: 7 years on, ready on the next 1 September
    assert {r["expires_on"] for r in rows.values()} == {"2033-03-01"}
    assert {r["ready_on"] for r in rows.values()} == {"2033-09-01"}


def test_cli_upload_reads_aliases_from_option_and_environment(invoke, tmp_path, monkeypatch):
    upload = tmp_path / "pupils.csv"
    upload.write_text(
        "Student Ref,Forename,Surname,Pupil DOB,Postcode,Permission to Track\n"
        "S1,Ann,Lee,01/09/2007,CT1 2EH,Yes\n",
        "utf-8",
    )
    aliases = tmp_path / "aliases.toml"
    aliases.write_text('[aliases]\ndate_of_birth = ["Pupil DOB"]\n', "utf-8")
    for args in (["--aliases", aliases], []):
        if not args:
            monkeypatch.setenv("HEATTOOL_ALIASES", str(aliases))
        result = invoke("retention", "--input", upload, *args, "-f", "json")
        assert result.exit_code == 0, result.stderr
        headings = json.loads(result.stdout)["input"]["headings"]
        assert {"heading": "Pupil DOB", "cell": "D1", "column": "date_of_birth"} in headings


def test_cli_upload_rows_with_errors_are_left_out_and_exit_1(invoke, tmp_path):
    upload = tmp_path / "students.csv"
    upload.write_text(
        "Student Ref,Forename,Surname,Date of Birth,Postcode,Permission to Track\n"
        "S1,Ann,Lee,01/09/2007,CT1 2EH,Yes\n"
        "S2,Bo,Ray,31/02/2008,CT1 2EH,Yes\n"  # no such day
        "S3,Cy,Dee,01/09/2007,QA1 1AA,Yes\n",  # no such postcode area
        "utf-8",
    )
    result = invoke("retention", "--input", upload, "-f", "csv")
    assert result.exit_code == 1
    assert set(_csv_rows(result.stdout)) == {"S1"}
    assert "2 rows not judged: they have errors" in result.stderr
    assert "Bo" not in result.stderr and "31/02/2008" not in result.stderr


def test_cli_mature_ambassador_upload_keeps_their_entry_year(invoke, tmp_path):
    upload = tmp_path / "ambassadors.csv"
    upload.write_text(
        "Ambassador Ref,Forename,Surname,Date of Birth,Postcode,Permission to Track,"
        "HEAT Privacy Notice,HESA Privacy Notice,Expected HE Entry Year\n"
        "A1,Siân,Évans,03/05/1990,CF10 1AA,Yes,Yes,Yes,2024\n",
        "utf-8",
    )
    result = invoke("retention", "--input", upload, "--as-of", "2026-03-01", "-f", "csv")
    assert result.exit_code == 0, result.stderr
    (row,) = _csv_rows(result.stdout).values()
    assert row["rule"] == "tracked"  # listed by this upload: an activity today
    assert row["expires_on"] == "2039-09-01"  # 1 September of 2024 + 15, not 2008 + 15


def test_cli_upload_of_activities_is_refused(invoke):
    result = invoke("retention", "--input", EXAMPLES / "activities.csv")
    assert result.exit_code == 2
    assert "an upload of activities, not of people" in result.stderr
