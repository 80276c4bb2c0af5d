"""`heattool summary`: counts per member and kind, entry years, retention, the last imports."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from heattool.rules.policy import Policy
from heattool.rules.retention import evaluate_policy
from heattool.store import Store, people, summary


@dataclass
class Summary:
    """What the store (or one member's part of it) holds."""

    db: str
    members: dict[str, dict[str, int]]  # member -> kind -> records
    entry_years: list[dict[str, Any]]
    as_of: dt.date
    retention: list[dict[str, Any]]  # member, status, people
    recent_imports: list[dict[str, Any]]

    def document(self) -> dict[str, Any]:
        return {
            "db": self.db,
            "members": [{"member": m, **kinds} for m, kinds in self.members.items()],
            "entry_years": self.entry_years,
            "retention": {"as_of": self.as_of.isoformat(), "by_member_and_status": self.retention},
            "recent_imports": self.recent_imports,
        }


def summarise(
    db: Path | str | None,
    key: str | None,
    member: str | None,
    *,
    policy: Policy,
    as_of: dt.date | None = None,
) -> Summary:
    """Counts per member and kind, entry years, retention status and the last imports.

    Only `member`'s when one is given. Retention is judged by `policy` as of `as_of`
    (default today).
    """
    day = as_of or dt.date.today()
    with Store.open_existing(db, key) as store:
        member = store.known_member(member)
        records = people.records(store, member, ids=True)
        judged = evaluate_policy(policy, records, day, reasons=False)
        retention = (
            judged.group_by("member", "status").len("people").sort("member", "status").to_dicts()
        )
        return Summary(
            db=str(store.path),
            members=summary.counts(store, member),
            entry_years=summary.entry_years(store, member),
            as_of=day,
            retention=retention,
            recent_imports=summary.recent_imports(store, member),
        )
