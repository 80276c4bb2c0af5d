"""The purge action: exactly the deletion-ready list goes, with a receipt, or nothing does."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
import tempfile
from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heattool.actions.purge import plan_purge, purge
from heattool.actions.retention import retention
from heattool.errors import HeattoolError, StoreError
from heattool.rules.deletion import DUE
from heattool.rules.policy import load_policy
from heattool.store import Store
from tests.helpers import EXAMPLES, copy_store, csv_rows, query

POLICY = load_policy()
DAY = dt.date(2024, 1, 1)  # in the past wherever the tests run; someone is overdue by then


class Confirm:
    """A confirm() that records the counts it was asked about and gives one answer."""

    def __init__(self, answer: bool = True):
        self.answer = answer
        self.asked: list[int] = []

    def __call__(self, count: int) -> bool:
        self.asked.append(count)
        return self.answer


def everyone(db: Path) -> set[str]:
    return {
        str(r[0])
        for r in query(db, "SELECT heat_id FROM students UNION ALL SELECT heat_id FROM ambassadors")
    }


def due(db: Path, day: dt.date, member: str | None = None) -> pl.DataFrame:
    judged = retention(POLICY, day, db=db, member=member).result
    return judged.filter(pl.col("status").is_in(DUE))


def test_a_dry_run_plans_the_due_and_deletes_nothing(db):
    expected = due(db, DAY)
    assert not expected.is_empty()
    before = everyone(db)
    confirm = Confirm()
    outcome = purge(db, None, POLICY, DAY, None, dry_run=True, confirm=confirm)
    assert outcome.dry_run and outcome.receipt is None and outcome.receipt_path is None
    assert set(outcome.plan.people["heat_id"]) == set(expected["heat_id"])
    assert sum(r["people"] for r in outcome.plan.by_rule) == expected.height
    assert confirm.asked == []
    assert everyone(db) == before


def test_a_purge_deletes_the_plan_with_its_register_rows_and_writes_a_receipt(db, tmp_path):
    expected = due(db, DAY)
    refs = set(expected["ref"])
    registered = [r for r in csv_rows(EXAMPLES / "attendance.csv") if r["Student Ref"] in refs]
    before = everyone(db)
    receipt = tmp_path / "receipt.json"
    confirm = Confirm()
    outcome = purge(db, None, POLICY, DAY, "KENT", dry_run=False, confirm=confirm, receipt=receipt)
    assert confirm.asked == [expected.height]
    assert outcome.receipt is not None and outcome.receipt_path == receipt
    assert outcome.receipt.people == expected.height
    assert outcome.receipt.rows_deleted["attendance"] == len(registered)
    assert everyone(db) == before - set(expected["heat_id"])
    assert query(
        db,
        "SELECT count(*) FROM attendance WHERE student_ref IN (SELECT unnest(?))",
        [sorted(refs)],
    ) == [(0,)]
    document = json.loads(receipt.read_text("utf-8"))
    assert set(document["heat_ids"]) == set(expected["heat_id"])
    assert document["as_of"] == DAY.isoformat() and document["event"] == "purge"
    assert stat.S_IMODE(os.stat(receipt).st_mode) == 0o600
    assert not receipt.with_name(f"{receipt.name}.partial").exists()


def test_declining_deletes_nothing_and_writes_no_receipt(db):
    before = everyone(db)
    confirm = Confirm(answer=False)
    outcome = purge(db, None, POLICY, DAY, None, dry_run=False, confirm=confirm)
    assert outcome.declined and outcome.receipt is None
    assert confirm.asked == [outcome.plan.people.height]
    assert everyone(db) == before
    assert not list(db.parent.glob("*receipt*"))


def test_the_default_receipt_goes_beside_the_store(db):
    outcome = purge(db, None, POLICY, DAY, None, dry_run=False, confirm=Confirm())
    assert outcome.receipt_path is not None and outcome.receipt_path.parent == db.parent
    assert outcome.receipt_path.name.startswith("heattool-deletion-receipt-")
    assert json.loads(outcome.receipt_path.read_text("utf-8"))["people"] == outcome.receipt.people


def test_with_nothing_due_nobody_is_asked_and_nothing_written(db):
    quiet = dt.date(2015, 1, 1)
    assert due(db, quiet).is_empty()
    confirm = Confirm()
    outcome = purge(db, None, POLICY, quiet, None, dry_run=False, confirm=confirm)
    assert outcome.plan.people.is_empty() and outcome.receipt is None
    assert confirm.asked == []
    assert not list(db.parent.glob("*receipt*"))


def test_a_day_after_today_is_refused_unless_rehearsed_or_allowed(db):
    tomorrow = dt.date.today() + dt.timedelta(days=1)
    before = everyone(db)
    with pytest.raises(HeattoolError, match="after today"):
        purge(db, None, POLICY, tomorrow, None, dry_run=False, confirm=Confirm())
    assert everyone(db) == before
    rehearsed = purge(db, None, POLICY, tomorrow, None, dry_run=True, confirm=Confirm())
    assert rehearsed.receipt is None
    allowed = purge(
        db, None, POLICY, tomorrow, None, dry_run=False, confirm=Confirm(), allow_future=True
    )
    assert allowed.plan.people.height == len(before - everyone(db))


def test_a_missing_store_or_an_unknown_member_is_refused(db, tmp_path):
    missing = tmp_path / "missing.duckdb"
    with pytest.raises(StoreError, match="no store"):
        purge(missing, None, POLICY, DAY, None, dry_run=True, confirm=Confirm())
    assert not missing.exists()
    with pytest.raises(StoreError, match="no records of member NOPE"):
        purge(db, None, POLICY, DAY, "NOPE", dry_run=False, confirm=Confirm())


def test_the_plan_is_the_due_of_that_member_only(two_member_store):
    with Store.open(two_member_store) as store:
        plan = plan_purge(store, POLICY, DAY, "OTHER")
    assert set(plan.people["member"]) == {"OTHER"}
    assert set(plan.people["heat_id"]) == set(due(two_member_store, DAY, "OTHER")["heat_id"])


@settings(max_examples=8)
@given(
    st.dates(min_value=dt.date(2015, 1, 1), max_value=dt.date(2060, 12, 31)),
    st.sampled_from([None, "KENT", "OTHER"]),
)
def test_purge_deletes_exactly_the_deletion_ready_list(two_member_store, day, member):
    with tempfile.TemporaryDirectory() as folder:
        db = copy_store(two_member_store, Path(folder))
        listed = set(due(db, day, member)["heat_id"])
        before = everyone(db)
        outcome = purge(
            db, None, POLICY, day, member, dry_run=False, confirm=Confirm(), allow_future=True
        )
        after = everyone(db)
        receipt = (
            set(json.loads(outcome.receipt_path.read_text("utf-8"))["heat_ids"])
            if outcome.receipt_path
            else set()
        )
    assert before - after == listed == receipt  # nobody off the list, everybody on it
    assert after == before - listed
