"""The calendar action: the year's dates from the policy, and what is due now in the store."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heattool.actions.calendar import (
    EVENT_DELETE_BY,
    EVENT_READY,
    EVENT_TRACK_DEADLINE,
    calendar_document,
    year_days,
)
from heattool.actions.retention import retention
from heattool.actions.track_request import run_track_request
from heattool.errors import StoreError
from heattool.rules.policy import load_policy, policy_from_text
from heattool.rules.retention import OVERDUE, READY
from heattool.store import DB_ENV
from tests.helpers import EXAMPLES, HEAT_TOML

POLICY = load_policy()
AS_OF = dt.date(2026, 11, 24)


def dates(document: dict) -> dict[str, dt.date]:
    return {d["event"]: dt.date.fromisoformat(d["date"]) for d in document["dates"]}


def is_last_working_day(day: dt.date, month: int, holidays: set[dt.date] = frozenset()) -> bool:
    """`day` is a working day of `month`, and no later day of that month is one."""

    def working(d: dt.date) -> bool:
        return d.weekday() < 5 and d not in holidays

    later = [day + dt.timedelta(days=n) for n in range(1, 31)]
    return (
        day.month == month
        and working(day)
        and not any(working(d) for d in later if d.month == month)
    )


@pytest.fixture
def no_default_store(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(DB_ENV, raising=False)


def test_the_year_of_the_heat_policy(no_default_store):
    document = calendar_document(POLICY, 2026, AS_OF)
    assert document["year"] == 2026 and document["as_of"] == AS_OF.isoformat()
    assert document["policy"]["name"] == POLICY.name
    assert document["store"] is None and document["notes"] == []
    days = dates(document)
    assert list(days) == [EVENT_READY, EVENT_DELETE_BY, EVENT_TRACK_DEADLINE]  # in date order
    assert days[EVENT_READY] == dt.date(2026, 9, 1)
    assert is_last_working_day(days[EVENT_DELETE_BY], 10)
    assert is_last_working_day(days[EVENT_TRACK_DEADLINE], 11)
    for entry in document["dates"]:
        day = dt.date.fromisoformat(entry["date"])
        assert entry["days_from_as_of"] == (day - AS_OF).days
        assert entry["weekday"] == f"{day:%A}"
    upcoming = min(d for d in days.values() if d >= AS_OF)
    assert document["next"]["date"] == upcoming.isoformat()


def test_nothing_is_next_once_the_years_dates_have_passed(no_default_store):
    document = calendar_document(POLICY, 2026, dt.date(2027, 1, 1))
    assert document["next"] is None
    assert all(d["days_from_as_of"] < 0 for d in document["dates"])


def test_a_policy_without_an_annual_run_says_so(no_default_store):
    staff = load_policy(EXAMPLES / "policies" / "kent-staff.toml")
    document = calendar_document(staff, 2026, AS_OF, db=None)
    assert document["dates"] == [] and document["next"] is None
    assert len(document["notes"]) == 3
    assert "on the day each expires" in document["notes"][0]
    assert "30 days" in document["notes"][1]
    assert "no track deadline" in document["notes"][2]


def test_with_a_store_it_counts_what_is_due_as_the_commands_do(shared_db):
    document = calendar_document(POLICY, 2026, AS_OF, db=shared_db, member="KENT")
    store = document["store"]
    assert store["db"] == str(shared_db) and store["member"] == "KENT"
    for target in POLICY.tracks:
        request = run_track_request(shared_db, None, POLICY, target, 2026, dry_run=True)
        counted = store["trackable"][target]
        assert (counted["eligible"], counted["excluded"]) == (
            request.records,
            request.excluded_total,
        )
        assert counted["window"] == request.window
    statuses = Counter(retention(POLICY, AS_OF, db=shared_db).result["status"].to_list())
    assert (store["ready_for_deletion"], store["overdue"]) == (statuses[READY], statuses[OVERDUE])


def test_a_named_store_that_is_not_there_or_an_unknown_member_is_refused(shared_db, tmp_path):
    missing = tmp_path / "missing.duckdb"
    with pytest.raises(StoreError, match="no store"):
        calendar_document(POLICY, 2026, AS_OF, db=missing)
    assert not missing.exists()
    with pytest.raises(StoreError, match="no records of member NOPE"):
        calendar_document(POLICY, 2026, AS_OF, db=shared_db, member="NOPE")


@settings(max_examples=20)
@given(
    st.integers(1990, 2100),
    st.lists(st.integers(0, 9), max_size=4),
    st.lists(st.integers(0, 9), max_size=4),
)
def test_deadlines_fall_on_the_last_working_day_whatever_the_holidays(year, october, november):
    holidays = {dt.date(year, 10, 31 - n) for n in october} | {
        dt.date(year, 11, 30 - n) for n in november
    }
    listed = ", ".join(d.isoformat() for d in sorted(holidays))
    assert HEAT_TOML.count("holidays = []") == 1
    text = HEAT_TOML.replace("holidays = []", f"holidays = [{listed}]")
    found, notes = year_days(policy_from_text(text, "holidays.toml"), year)
    assert notes == []
    days = {d.event: d.date for d in found}
    assert days[EVENT_READY] == dt.date(year, 9, 1)
    assert is_last_working_day(days[EVENT_DELETE_BY], 10, holidays)
    assert is_last_working_day(days[EVENT_TRACK_DEADLINE], 11, holidays)
