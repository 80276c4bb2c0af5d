"""`heattool calendar`: the dates the policy names in a year, and what is due now.

`heattool calendar` shows when expired records become ready for deletion (1 September), when
they must be gone (the last working day of October) and when data for the track must be in place
(the last working day of November), each computed from the policy's `[settings]` for the year
asked, never tabulated per year; with a store, also how many records are trackable and how many
are ready for deletion.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heattool.rules.calendar import AnnualDate, Period
from heattool.rules.policy import Policy
from heattool.rules.retention import OVERDUE, READY, evaluate_policy
from heattool.store import MEMORY, Store, people, resolve_db_path
from heattool.store.track import trackable

# The year's events.
EVENT_READY = "ready-for-deletion"
EVENT_DELETE_BY = "deletion-due"
EVENT_TRACK_DEADLINE = "track-deadline"


@dataclass(frozen=True)
class Day:
    """One dated event of the year."""

    event: str
    date: dt.date
    rule: str  # as the policy says it: "1 September", "the last working day of October"
    what: str

    def document(self, as_of: dt.date) -> dict[str, Any]:
        return {
            "event": self.event,
            "date": self.date.isoformat(),
            "weekday": f"{self.date:%A}",
            "rule": self.rule,
            "what": self.what,
            "days_from_as_of": (self.date - as_of).days,
        }


def year_days(policy: Policy, year: int) -> tuple[list[Day], list[str]]:
    """The policy's dated events in `year`, in date order, and notes on the undated ones."""
    settings = policy.settings
    holidays = settings.holidays
    days: list[Day] = []
    notes: list[str] = []
    ready = settings.ready_for_deletion
    if ready is None:
        notes.append("records are ready for deletion on the day each expires (no annual run)")
    else:
        ready_on = ready.for_year(year, holidays)
        days.append(
            Day(
                EVENT_READY,
                ready_on,
                ready.words(),
                "records that have expired become ready for deletion",
            )
        )
    delete_by = settings.delete_by
    if isinstance(delete_by, AnnualDate):
        days.append(
            Day(
                EVENT_DELETE_BY,
                delete_by.for_year(year, holidays),
                delete_by.words(),
                "records ready for deletion must be deleted by this day",
            )
        )
    elif ready is not None:
        days.append(
            Day(
                EVENT_DELETE_BY,
                _period_after(delete_by, ready_on),
                f"{delete_by.words()} after {ready.words()}",
                "records ready for deletion must be deleted by this day",
            )
        )
    else:
        notes.append(f"each record must be deleted within {delete_by.words()} of expiring")
    deadline = settings.track_deadline
    if deadline is None:
        notes.append("the policy sets no track deadline (settings.track_deadline)")
    else:
        days.append(
            Day(
                EVENT_TRACK_DEADLINE,
                deadline.for_year(year, holidays),
                deadline.words(),
                f"data for the {year} track must be in place by this day",
            )
        )
    return sorted(days, key=lambda d: d.date), notes


def _period_after(period: Period, day: dt.date) -> dt.date:
    import polars as pl

    after: dt.date = pl.select(period.after(pl.lit(day))).item()
    return after


def calendar_document(
    policy: Policy,
    year: int,
    as_of: dt.date,
    *,
    db: Path | str | None = None,
    key: str | None = None,
    member: str | None = None,
) -> dict[str, Any]:
    """The year's dates and, when the store exists, what is due in it now."""
    days, notes = year_days(policy, year)
    upcoming = next((d for d in days if d.date >= as_of), None)
    document: dict[str, Any] = {
        "year": year,
        "as_of": as_of.isoformat(),
        "policy": {"name": policy.name, "version": policy.version, "source": policy.source},
        "dates": [d.document(as_of) for d in days],
        "notes": notes,
        "next": upcoming.document(as_of) if upcoming else None,
        "store": _due_now(policy, year, as_of, db, key, member),
    }
    return document


def _due_now(
    policy: Policy,
    year: int,
    as_of: dt.date,
    db: Path | str | None,
    key: str | None,
    member: str | None,
) -> dict[str, Any] | None:
    target = resolve_db_path(db)
    if db is None and target != MEMORY and not Path(target).exists():
        return None  # no store by default; a store named and not there is refused below
    with Store.open_existing(target, key) as store:
        member = store.known_member(member)
        tracks = trackable(store, policy.tracks, year, member)
        records = people.records(store, member, ids=False)
        statuses = evaluate_policy(policy, records, as_of, reasons=False)["status"].value_counts()
    counts = dict(zip(statuses["status"].to_list(), statuses["count"].to_list(), strict=True))
    return {
        "db": str(target),
        "member": member,
        "trackable": tracks,
        "ready_for_deletion": counts.get(READY, 0),
        "overdue": counts.get(OVERDUE, 0),
    }
