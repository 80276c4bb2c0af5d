"""The member's year: the dates the policy names, computed for a year, and what is due now.

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

from rich.console import Console

from heattool.rules.calendar import AnnualDate, Period
from heattool.rules.policy import Policy
from heattool.store import MEMORY, resolve_db_path

READY = "ready-for-deletion"
DELETE_BY = "deletion-due"
TRACK_DEADLINE = "track-deadline"


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
                READY,
                ready_on,
                ready.words(),
                "records that have expired become ready for deletion",
            )
        )
    delete_by = settings.delete_by
    if isinstance(delete_by, AnnualDate):
        days.append(
            Day(
                DELETE_BY,
                delete_by.for_year(year, holidays),
                delete_by.words(),
                "records ready for deletion must be deleted by this day",
            )
        )
    elif ready is not None:
        days.append(
            Day(
                DELETE_BY,
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
                TRACK_DEADLINE,
                deadline.for_year(year, holidays),
                deadline.words(),
                f"data for the {year} track must be in place by this day",
            )
        )
    return sorted(days, key=lambda d: d.date), notes


def _period_after(period: Period, day: dt.date) -> dt.date:
    import polars as pl

    return pl.select(period.after(pl.lit(day))).item()


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
    from heattool.retention_store import store_retention
    from heattool.tracking import open_store, trackable

    target = resolve_db_path(db)
    if target != MEMORY and not Path(target).exists():
        return None
    with open_store(target, key) as store:
        tracks = trackable(store, policy, year, member)
        statuses = store_retention(store, policy, as_of, member, ids=False)["status"].value_counts()
    counts = dict(zip(statuses["status"].to_list(), statuses["count"].to_list(), strict=True))
    return {
        "db": str(target),
        "member": member,
        "trackable": tracks,
        "ready_for_deletion": counts.get("ready-for-deletion", 0),
        "overdue": counts.get("overdue", 0),
    }


def render_calendar(console: Console, document: dict[str, Any], db: Path | str | None) -> None:
    """The dates as a table, then what is due now in the store."""
    from rich import box
    from rich.table import Table

    def say(text: str) -> None:
        console.print(text, soft_wrap=True, markup=False, highlight=False)

    policy = document["policy"]
    table = Table(
        title=f"{document['year']} under {policy['name']} {policy['version']}".rstrip(),
        title_justify="left",
        box=box.SIMPLE,
    )
    for name in ("date", "day", "what", "rule"):
        table.add_column(name)
    for day in document["dates"]:
        table.add_row(day["date"], day["weekday"][:3], day["what"], day["rule"])
    console.print(table)
    for note in document["notes"]:
        say(f"note: {note}")
    upcoming = document["next"]
    if upcoming:
        say(
            f"next: {upcoming['event']} on {upcoming['date']}, in "
            f"{upcoming['days_from_as_of']} days (as of {document['as_of']})"
        )
    store = document["store"]
    if store is None:
        say(f"no store at {resolve_db_path(db)}: nothing to count")
        return
    scope = f" for member {store['member']}" if store["member"] else ""
    say(f"due now in {store['db']}{scope}, as of {document['as_of']}:")
    for name, counts in store["trackable"].items():
        say(
            f"  trackable for {name} {counts['year']} ({counts['window']}): "
            f"{counts['eligible']} ({counts['excluded']} excluded)"
        )
    say(f"  ready for deletion: {store['ready_for_deletion']}; overdue: {store['overdue']}")
