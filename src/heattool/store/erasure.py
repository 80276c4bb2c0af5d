"""Personal data in the store: which tables hold it (declared here and only here), erasure, access.

Access, erasure and purge all read `PERSONAL_TABLES`, so a table added by a migration is covered
by all three at once, or by none, which a test catches: every table must be in one of the two.
Each predicate selects a person's rows given a registered frame `people` (heat_id, member, kind,
ref).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from heattool.clock import utc_now, utc_text
from heattool.errors import HeattoolError, first_line
from heattool.schemas import PERSON_KINDS
from heattool.store.people import PEOPLE_SCHEMA
from heattool.store.store import Store

# In deletion order: rows that refer to a person go before the person.
PERSONAL_TABLES: dict[str, str] = {
    # A row-value IN is a hash semi-join: 4x faster than the same test written as EXISTS.
    "attendance": (
        "(attendance.member, attendance.student_ref) IN "
        "(SELECT (member, ref) FROM people WHERE kind = 'students')"
    ),
    "track_batch_records": "heat_id IN (SELECT heat_id::UUID FROM people)",
    "outcomes_hesa": "heat_id IN (SELECT heat_id::UUID FROM people)",
    "outcomes_npd": "heat_id IN (SELECT heat_id::UUID FROM people)",
    # A decision names the person, and for one between two stored people (its record_key a
    # heat_id) the other person too: it goes with either.
    "match_decisions": (
        "heat_id IN (SELECT heat_id::UUID FROM people) "
        "OR record_key IN (SELECT heat_id FROM people)"
    ),
    "students": "heat_id IN (SELECT heat_id::UUID FROM people)",
    "ambassadors": "heat_id IN (SELECT heat_id::UUID FROM people)",
}

# Tables without personal data, and what they hold instead.
NOT_PERSONAL: dict[str, str] = {
    "schema_version": "the store's migrations",
    "store_settings": "the store's own settings, such as the suppression-hash key",
    "members": "member codes",
    "activities": "the activities a member delivered; no people",
    "import_batches": "file names, hashes and counts",
    "audit_events": "what happened: counts and hashes",
    "audit_records": "the heat_ids an event touched: pseudonymous evidence, no identifiers",
    "track_batches": "track request files: names, hashes and counts",
    "return_batches": "track return files: names, hashes and counts, never an outcome",
    "suppression_list": "keyed hashes of erased people's identifiers; not reversible",
}


# Apostrophes, hyphens and dashes a name may be typed with, and white space: all dropped.
_NAME_SEPARATORS = r"[\s'’‘`´ʼ‐‑‒–—-]+"


def fold_name_sql(expression: str) -> str:
    """A name as the suppression list and `subject find` compare it, in SQL: lower case, no
    accents, no white space, apostrophes or hyphens (`Zoë O’Reilly` = `zoe o'reilly`,
    `Mary-Jane` = `Mary  Jane`)."""
    pattern = _NAME_SEPARATORS.replace("'", "''")
    return f"regexp_replace(strip_accents(lower({expression})), '{pattern}', '', 'g')"


def identity_hash_sql(alias: str, *, legacy: bool = False) -> str:
    """A keyed hash of a person's folded forename, surname and date of birth, in SQL.

    The key is the store's own secret (store_settings.suppression_key), so the hash cannot be
    recomputed from a name and date of birth outside the store. Null without all three.
    `legacy` is the hash stores made before names were folded (lower case and trimmed only):
    entries made then are still matched.
    """
    fold = (lambda e: f"lower(trim({e}))") if legacy else fold_name_sql
    parts = (
        fold(f"{alias}.forename"),
        fold(f"{alias}.surname"),
        f"strftime({alias}.date_of_birth, '%Y-%m-%d')",
    )
    missing = " OR ".join(f"{p} IS NULL" for p in parts)
    key = "(SELECT value FROM store_settings WHERE name = 'suppression_key')"
    return (
        f"CASE WHEN {missing} THEN NULL ELSE sha256(concat_ws('|', {key}, {', '.join(parts)})) END"
    )


def identity_hashes_sql(alias: str) -> str:
    """The hashes a person's identifiers may be on the suppression list under, as a list."""
    return f"[{identity_hash_sql(alias)}, {identity_hash_sql(alias, legacy=True)}]"


@dataclass
class Receipt:
    """Evidence of a deletion: what was deleted, why, under which policy, when."""

    event: str
    event_id: int
    deleted_at: dt.datetime
    people: int
    rows_deleted: dict[str, int]
    by_member_kind: list[dict[str, Any]]
    heat_ids: pl.Series  # listed by document(), which may run on another thread
    details: dict[str, Any] = field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        return {
            "event": self.event,
            "audit_event_id": self.event_id,
            "deleted_at": utc_text(self.deleted_at),
            "people": self.people,
            "rows_deleted": self.rows_deleted,
            "by_member_and_kind": self.by_member_kind,
            **self.details,
            "heat_ids": self.heat_ids.to_list(),
        }


class ReceiptNotWritten(HeattoolError):
    """A deletion was committed but its receipt file could not be written."""

    def __init__(self, receipt: Receipt, cause: BaseException) -> None:
        super().__init__(
            f"the deletion is done and committed (audit event {receipt.event_id}), but its "
            f"receipt could not be written: {first_line(cause)}; write it with "
            f"heattool receipt {receipt.event_id} --out FILE"
        )


def receipt_name(name: str) -> str:
    """A receipt's file name, stamped to the microsecond: `heattool-erasure-receipt-...json`."""
    return f"heattool-{name}-{utc_now():%Y%m%dT%H%M%S%f}.json"


def default_receipt_path(store: Store, name: str) -> Path:
    """Where a receipt goes when none is named: beside the store."""
    return store.folder / receipt_name(name)


def erase_people(
    store: Store,
    people: pl.DataFrame,
    *,
    event: str,
    details: dict[str, Any] | None = None,
    suppress: bool = False,
) -> Receipt:
    """Delete these people and every row that refers to them, in one transaction, with evidence.

    `people` has heat_id, member, kind and ref. The audit event lists their heat_ids. With
    `suppress`, a keyed hash of each person's identifiers goes on the suppression list first,
    so a later upload cannot bring them back.
    """
    people = people.select(list(PEOPLE_SCHEMA)).cast(PEOPLE_SCHEMA).unique("heat_id")
    by_member_kind = (
        people.group_by("member", "kind").len("people").sort("member", "kind").to_dicts()
    )
    details = details or {}
    now = utc_now()
    con = store.con
    members = people["member"].unique()
    with store.transaction(), store.registered("people", people):
        event_id = store.audit(
            event,
            member=members[0] if members.len() == 1 else None,
            details={"people": people.height, "by_member_and_kind": by_member_kind, **details},
            heat_ids_sql="SELECT heat_id::UUID AS heat_id, 'erased' AS change FROM people",
        )
        if suppress:
            for kind in PERSON_KINDS:
                con.execute(
                    f"""
                    INSERT INTO suppression_list
                    SELECT member, '{kind}', h, $now, $event FROM (
                        SELECT t.member, {identity_hash_sql("t")} AS h FROM {kind} AS t
                        WHERE {PERSONAL_TABLES[kind]}
                    ) WHERE h IS NOT NULL
                    ON CONFLICT DO NOTHING
                    """,
                    {"now": now, "event": event_id},
                )
        rows_deleted = {
            table: int(store.scalar(f"DELETE FROM {table} WHERE {predicate}"))
            for table, predicate in PERSONAL_TABLES.items()
        }
        # The whole receipt is in the audit trail, so that it can be written again (`receipt_of`)
        # if the run stops between the commit and the receipt's file.
        store.add_to_audit(event_id, {"rows_deleted": rows_deleted})
    return Receipt(
        event=event,
        event_id=event_id,
        deleted_at=now,
        people=people.height,
        rows_deleted=rows_deleted,
        by_member_kind=by_member_kind,
        heat_ids=people["heat_id"],  # in the order given: sorting a million cost 0.2 s
        details=details,
    )


DELETIONS = ("purge", "erase")  # the audit events that carry a receipt


def receipt_of(store: Store, event_id: int | None, member: str | None = None) -> Receipt:
    """The receipt of a deletion, from the audit trail: audit event `event_id`, or the latest
    deletion (of `member`, if given)."""
    con = store.con
    if event_id is None:
        found = con.execute(
            f"""SELECT event_id FROM audit_events WHERE event IN {DELETIONS}
                AND ($member IS NULL OR member = $member) ORDER BY event_id DESC LIMIT 1""",
            {"member": member},
        ).fetchone()
        if found is None:
            whose = f" of {member}" if member else ""
            raise HeattoolError(f"the audit trail has no deletion{whose}: no receipt to write")
        event_id = int(found[0])
    row = con.execute(
        "SELECT event, event_at, details FROM audit_events WHERE event_id = ?",
        [event_id],
    ).fetchone()
    if row is None:
        raise HeattoolError(f"the audit trail has no event {event_id}")
    event, event_at, details_text = row
    if event not in DELETIONS:
        raise HeattoolError(f"audit event {event_id} is {event!r}, not a deletion: no receipt")
    details: dict[str, Any] = json.loads(details_text or "{}")
    by_member_kind = details.pop("by_member_and_kind", [])
    if member is not None and {m["member"] for m in by_member_kind} - {member}:
        raise HeattoolError(f"audit event {event_id} is not a deletion of {member} alone")
    heat_ids = con.execute(
        """SELECT heat_id::VARCHAR AS heat_id FROM audit_records
           WHERE event_id = ? AND change = 'erased' ORDER BY rowid""",
        [event_id],
    ).pl()["heat_id"]
    return Receipt(
        event=event,
        event_id=event_id,
        deleted_at=event_at,
        people=int(details.pop("people", heat_ids.len())),
        rows_deleted=details.pop("rows_deleted", {}),
        by_member_kind=by_member_kind,
        heat_ids=heat_ids,
        details=details,
    )


def held_about(store: Store, who: pl.DataFrame) -> dict[str, list[dict[str, Any]]]:
    """Everything the store holds about one person: each personal table's rows, the activities
    attended, the track requests that included them and the audit events that touched them."""
    con = store.con
    with store.registered("people", who):
        held = {
            table: con.execute(f"SELECT * FROM {table} WHERE {predicate}").pl().to_dicts()
            for table, predicate in PERSONAL_TABLES.items()
        }
        held["_activities"] = (
            con.execute(
                f"""
                SELECT act.*, attendance.attended_on FROM attendance
                JOIN activities AS act
                  ON act.member = attendance.member AND act.activity_ref = attendance.activity_ref
                WHERE {PERSONAL_TABLES["attendance"]}
                ORDER BY attendance.attended_on, act.activity_ref
                """
            )
            .pl()
            .to_dicts()
        )
        held["_track_requests"] = (
            con.execute(
                """
                SELECT b.track_batch_id, b.target, b.year, b.file_name, b.created_at
                FROM track_batch_records AS r JOIN track_batches AS b USING (track_batch_id)
                WHERE r.heat_id IN (SELECT heat_id::UUID FROM people)
                ORDER BY b.created_at
                """
            )
            .pl()
            .to_dicts()
        )
        held["_audit_events"] = (
            con.execute(
                """
                SELECT e.event_id, e.event_at, e.event, e.member, e.batch_id, r.change, e.details
                FROM audit_records AS r JOIN audit_events AS e USING (event_id)
                WHERE r.heat_id IN (SELECT heat_id::UUID FROM people)
                ORDER BY e.event_id
                """
            )
            .pl()
            .to_dicts()
        )
    return held
