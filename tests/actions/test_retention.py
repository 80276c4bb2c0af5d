"""The retention action: every person judged, the deletion-ready list, any policy on any file."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heattool.actions.retention import retention
from heattool.errors import StoreError
from heattool.rules.deletion import DUE
from heattool.rules.policy import load_policy
from heattool.rules.retention import OVERDUE, READY, RETAINED, UNDATED
from tests.helpers import EXAMPLES, UPLOADS, csv_rows, write_csv

POLICY = load_policy()
AS_OF = dt.date(2026, 11, 24)
STAFF_POLICY = load_policy(EXAMPLES / "policies" / "kent-staff.toml")
STAFF = EXAMPLES / "policies" / "staff-records.csv"
LIST_COLUMNS = ["heat_id", "member", "kind", "ref", "rule", "status", "expires_on", "delete_by"]


def example_people() -> set[tuple[str, str]]:
    students = {("students", r["Student Ref"]) for r in csv_rows(UPLOADS[1])}
    ambassadors = {("ambassadors", r["Ambassador Ref"]) for r in csv_rows(UPLOADS[3])}
    return students | ambassadors


def due_ids(judged: pl.DataFrame) -> set[str]:
    return set(judged.filter(pl.col("status").is_in(DUE))["heat_id"])


def test_every_person_in_the_store_is_judged_once(shared_db):
    judged = retention(POLICY, AS_OF, db=shared_db)
    assert judged.as_of == AS_OF and judged.out is None
    pairs = list(zip(judged.result["kind"], judged.result["ref"], strict=True))
    assert len(pairs) == len(set(pairs))
    assert set(pairs) == example_people()
    assert judged.due == len(due_ids(judged.result))


def test_the_deletion_ready_list_holds_the_due_and_no_names(shared_db, tmp_path):
    day = dt.date(2037, 11, 1)  # the ambassadors' 15 years since 2022 have run out
    out = tmp_path / "due.csv"
    judged = retention(POLICY, day, db=shared_db, out=out)
    assert judged.out == out
    listed = csv_rows(out)
    assert listed and list(listed[0]) == LIST_COLUMNS
    assert {row["heat_id"] for row in listed} == due_ids(judged.result)
    assert {row["status"] for row in listed} <= set(DUE)
    reasons = judged.due_with_reasons()
    assert reasons.height == judged.due
    for row in reasons.iter_rows(named=True):  # each says why, and by when it must go
        assert row["delete_by"].isoformat() in row["reason"]
        assert ("overdue" if row["status"] == OVERDUE else "ready for deletion") in row["reason"]
    named = retention(POLICY, day, db=shared_db, out=tmp_path / "named.csv", with_names=True)
    with_names = csv_rows(named.out)
    assert {"forename", "surname", "date_of_birth"} <= set(with_names[0])
    assert {row["heat_id"] for row in with_names} == {row["heat_id"] for row in listed}


def test_one_member_is_judged_alone_and_an_unknown_one_refused(two_member_store, tmp_path):
    both = retention(POLICY, AS_OF, db=two_member_store)
    other = retention(POLICY, AS_OF, db=two_member_store, member="OTHER")
    assert set(other.result["member"]) == {"OTHER"}
    assert other.result.height * 2 == both.result.height == len(example_people()) * 2
    with pytest.raises(StoreError, match="no records of member NOPE"):
        retention(POLICY, AS_OF, db=two_member_store, member="NOPE")
    missing = tmp_path / "missing.duckdb"
    with pytest.raises(StoreError, match="no store"):
        retention(POLICY, AS_OF, db=missing)
    assert not missing.exists()


def test_any_policy_judges_any_file_without_a_store(tmp_path):
    day = dt.date(2026, 3, 1)
    judged = retention(STAFF_POLICY, day, input_path=STAFF)
    rows = csv_rows(STAFF)
    assert judged.result["ref"].to_list() == [row["ref"] for row in rows]
    assert judged.result["kind"].to_list() == [row["kind"] for row in rows]
    # "7 years following end of engagement"
    for row, verdict in zip(rows, judged.result.iter_rows(named=True), strict=True):
        if row["kind"] == "staff" and row["engagement_ended_on"]:
            ended = dt.date.fromisoformat(row["engagement_ended_on"])
            assert verdict["rule"] == "ended-engagement"
            assert verdict["expires_on"] == ended.replace(year=ended.year + 7)


def test_a_file_without_a_kind_column_takes_the_kind_given(tmp_path):
    day = dt.date(2026, 3, 1)
    rows = [row for row in csv_rows(STAFF) if row["kind"] == "applicant-account"]
    headings = [h for h in rows[0] if h != "kind"]
    bare = write_csv(
        tmp_path / "accounts.csv", [{h: r[h] for h in headings} for r in rows], headings
    )
    judged = retention(STAFF_POLICY, day, input_path=bare, kind="applicant-account")
    assert set(judged.result["kind"]) == {"applicant-account"}
    with_kind = retention(STAFF_POLICY, day, input_path=STAFF).result.filter(
        pl.col("kind") == "applicant-account"
    )
    columns = ["ref", "rule", "status", "expires_on", "delete_by"]
    assert judged.result.select(columns).equals(with_kind.select(columns))


@settings(max_examples=15)
@given(st.dates(min_value=dt.date(2010, 1, 1), max_value=dt.date(2070, 12, 31)), st.data())
def test_each_status_agrees_with_its_dates_and_the_due_only_grow(shared_db, day, data):
    judged = retention(POLICY, day, db=shared_db).result
    assert judged.height == len(example_people())
    assert sum(Counter(judged["status"].to_list()).values()) == judged.height
    for row in judged.iter_rows(named=True):
        ready_on, delete_by = row["ready_on"], row["delete_by"]
        if ready_on is None:
            expected = UNDATED
        else:
            expected = RETAINED if day < ready_on else OVERDUE if day > delete_by else READY
        assert row["status"] == expected, row
    later = data.draw(st.dates(min_value=day, max_value=dt.date(2080, 12, 31)), label="later")
    assert due_ids(judged) <= due_ids(retention(POLICY, later, db=shared_db).result)
