"""Deletion and data-subject rights: erase (purge and on request), access, withdraw, find."""

from __future__ import annotations

import concurrent.futures
import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from heattool.errors import HeattoolError
from heattool.io.writers import write_json
from heattool.store import MEMORY, Store
from heattool.store.personal import PERSONAL_TABLES, identity_hash_sql
from heattool.store.store import utc_now

PEOPLE_SCHEMA = {"heat_id": pl.String, "member": pl.String, "kind": pl.String, "ref": pl.String}
PERSON_TABLES = {"students": "student_ref", "ambassadors": "ambassador_ref"}

PEOPLE_SQL = " UNION ALL ".join(
    f"SELECT heat_id::VARCHAR AS heat_id, member, '{kind}' AS kind, {ref} AS ref FROM {kind}"
    for kind, ref in PERSON_TABLES.items()
)


class NoSuchPerson(HeattoolError):
    """No person with that heat_id (for that member) is in the store."""


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
            "deleted_at": self.deleted_at.isoformat(timespec="seconds") + "Z",
            "people": self.people,
            "rows_deleted": self.rows_deleted,
            "by_member_and_kind": self.by_member_kind,
            **self.details,
            "heat_ids": self.heat_ids.to_list(),
        }


def erase(
    store: Store,
    people: pl.DataFrame,
    *,
    event: str,
    details: dict[str, Any] | None = None,
    suppress: bool = False,
) -> Receipt:
    """Delete these people and every row that refers to them, in one transaction, with evidence.

    `people` has heat_id, member, kind and ref. With `suppress`, a keyed hash of each person's
    identifiers goes on the suppression list first, so a later upload cannot bring them back.
    """
    people = people.select(list(PEOPLE_SCHEMA)).cast(PEOPLE_SCHEMA).unique("heat_id")
    by_member_kind = (
        people.group_by("member", "kind").len("people").sort("member", "kind").to_dicts()
    )
    now = utc_now()
    con = store.con
    with store.transaction(), store.registered("people", people):
        event_id = store.audit(
            event,
            member=people["member"][0] if people["member"].n_unique() == 1 else None,
            details={
                "people": people.height,
                "by_member_and_kind": by_member_kind,
                **(details or {}),
            },
            heat_ids_sql="SELECT heat_id::UUID AS heat_id, 'erased' AS change FROM people",
        )
        if suppress:
            for kind in PERSON_TABLES:
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
            table: con.execute(f"DELETE FROM {table} WHERE {predicate}").fetchone()[0]
            for table, predicate in PERSONAL_TABLES.items()
        }
    return Receipt(
        event=event,
        event_id=event_id,
        deleted_at=now,
        people=people.height,
        rows_deleted=rows_deleted,
        by_member_kind=by_member_kind,
        heat_ids=people["heat_id"],  # in the order given: sorting a million cost 0.2 s
        details=details or {},
    )


def person(store: Store, heat_id: str, member: str | None = None) -> pl.DataFrame:
    """The one person with this heat_id (of this member), as a `people` frame; or NoSuchPerson."""
    found = store.con.execute(
        f"SELECT * FROM ({PEOPLE_SQL}) "
        "WHERE heat_id = $id AND ($member IS NULL OR member = $member)",
        {"id": heat_id.strip().lower(), "member": member},
    ).pl()
    if found.is_empty():
        scope = f" for member {member}" if member else ""
        raise NoSuchPerson(f"no person with heat_id {heat_id}{scope} in {store.path}")
    return found.cast(PEOPLE_SCHEMA)


def find(
    store: Store,
    *,
    forename: str,
    surname: str,
    date_of_birth: dt.date,
    postcode: str | None = None,
    member: str | None = None,
) -> pl.DataFrame:
    """People whose normalised forename, surname, date of birth (and postcode) match."""
    from heattool.schemas.postcode import normalise_postcode

    wanted = None
    if postcode:
        wanted = pl.select(normalise_postcode(pl.lit(postcode))).item()
    parts = []
    for kind, ref in PERSON_TABLES.items():
        parts.append(
            f"""
            SELECT heat_id::VARCHAR AS heat_id, member, '{kind}' AS kind, {ref} AS ref,
                   postcode, withdrawn_on
            FROM {kind}
            WHERE lower(trim(forename)) = lower(trim($forename))
              AND lower(trim(surname)) = lower(trim($surname))
              AND date_of_birth = $dob
              AND ($postcode IS NULL OR postcode = $postcode)
              AND ($member IS NULL OR member = $member)
            """
        )
    return store.con.execute(
        " UNION ALL ".join(parts) + " ORDER BY member, kind, ref",
        {
            "forename": forename,
            "surname": surname,
            "dob": date_of_birth,
            "postcode": wanted,
            "member": member,
        },
    ).pl()


def access(store: Store, heat_id: str, member: str | None = None) -> dict[str, Any]:
    """Everything the store holds about one person, as one JSON-ready package."""
    who = person(store, heat_id, member)
    con = store.con
    with store.registered("people", who):
        held = {
            table: _rows(con.execute(f"SELECT * FROM {table} WHERE {predicate}"))
            for table, predicate in PERSONAL_TABLES.items()
        }
        activities = _rows(
            con.execute(
                f"""
                SELECT act.*, attendance.attended_on FROM attendance
                JOIN activities AS act
                  ON act.member = attendance.member AND act.activity_ref = attendance.activity_ref
                WHERE {PERSONAL_TABLES["attendance"]}
                ORDER BY attendance.attended_on, act.activity_ref
                """
            )
        )
        track_requests = _rows(
            con.execute(
                """
                SELECT b.track_batch_id, b.target, b.year, b.file_name, b.created_at
                FROM track_batch_records AS r JOIN track_batches AS b USING (track_batch_id)
                WHERE r.heat_id IN (SELECT heat_id::UUID FROM people)
                ORDER BY b.created_at
                """
            )
        )
        events = _rows(
            con.execute(
                """
                SELECT e.event_id, e.event_at, e.event, e.member, e.batch_id, r.change, e.details
                FROM audit_records AS r JOIN audit_events AS e USING (event_id)
                WHERE r.heat_id IN (SELECT heat_id::UUID FROM people)
                ORDER BY e.event_id
                """
            )
        )
    record = held.get("students") or held.get("ambassadors")
    return {
        "heat_id": who["heat_id"][0],
        "member": who["member"][0],
        "kind": who["kind"][0],
        "record": record[0] if record else None,
        "attendance": activities,
        "track_requests": track_requests,
        "audit_events": events,
        "held_in_tables": {table: rows for table, rows in held.items() if rows},
        "produced_at": utc_now().isoformat(timespec="seconds") + "Z",
    }


def withdraw(store: Store, heat_id: str, on: dt.date, member: str | None = None) -> dict[str, Any]:
    """Record that the person withdrew permission on `on`: out of every later track request."""
    who = person(store, heat_id, member)
    kind = who["kind"][0]
    with store.transaction():
        previous = store.con.execute(
            f"SELECT withdrawn_on FROM {kind} WHERE heat_id = $id::UUID", {"id": who["heat_id"][0]}
        ).fetchone()[0]
        if previous is None:
            store.con.execute(
                f"UPDATE {kind} SET withdrawn_on = $on WHERE heat_id = $id::UUID",
                {"on": on, "id": who["heat_id"][0]},
            )
            store.audit(
                "withdraw",
                member=who["member"][0],
                details={"kind": kind, "withdrawn_on": on.isoformat()},
                heat_ids_sql="SELECT ?::UUID AS heat_id, 'withdrawn' AS change",
                heat_ids_params=[who["heat_id"][0]],
            )
    return {
        "heat_id": who["heat_id"][0],
        "member": who["member"][0],
        "kind": kind,
        "withdrawn_on": (previous or on).isoformat(),
        "already_withdrawn": previous is not None,
    }


def _rows(relation) -> list[dict[str, Any]]:
    frame = relation.pl()
    return frame.to_dicts()


@dataclass
class PurgePlan:
    """What a purge deletes: the deletion-ready people and the counts per rule and status."""

    people: pl.DataFrame  # heat_id, member, kind, ref, rule, status
    by_rule: list[dict[str, Any]]


def plan_purge(store: Store, policy: Any, as_of: dt.date, member: str | None = None) -> PurgePlan:
    """Exactly the records on the deletion-ready list for `as_of`.

    Everyone is judged, but only the due are identified: call it in the purge's transaction.
    """
    from heattool.retention_store import DUE, ROW, identify, store_retention

    columns = ["heat_id", "member", "kind", "ref", "rule", "status"]
    with store.transaction():
        result = store_retention(store, policy, as_of, member, ids=False)
        due = result.lazy().filter(pl.col("status").is_in(DUE))
        if ROW in result.columns:  # judged without ids: find who the due are
            people = identify(store, due.select("kind", ROW, "rule", "status").collect())
        else:  # the policy reads an id, so the records kept them
            people = due.collect()
        people = people.select(columns)
    by_rule = people.group_by("rule", "status").len("people").sort("rule", "status").to_dicts()
    return PurgePlan(people, by_rule)


def purge(store: Store, policy: Any, plan: PurgePlan, as_of: dt.date) -> Receipt:
    """Delete everything on the plan, attachments included, in one transaction; the receipt."""
    from heattool.retention_store import policy_sha256

    return erase(
        store,
        plan.people,
        event="purge",
        details={
            "as_of": as_of.isoformat(),
            "policy": policy.name,
            "policy_version": policy.version,
            "policy_sha256": policy_sha256(policy),
            "by_rule": plan.by_rule,
        },
    )


# -- the commands' cores: open the store, act, close ----------------------------------------


@dataclass
class PurgeOutcome:
    """What `heattool purge` did, or in a dry run would do."""

    as_of: dt.date
    member: str | None
    dry_run: bool
    plan: PurgePlan
    receipt: Receipt | None = None
    receipt_path: Path | None = None
    declined: bool = False

    def document(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "member": self.member,
            "dry_run": self.dry_run,
            "declined": self.declined,
            "people": self.plan.people.height,
            "by_rule": self.plan.by_rule,
            "deleted": self.receipt is not None,
            "rows_deleted": self.receipt.rows_deleted if self.receipt else {},
            "receipt": str(self.receipt_path) if self.receipt_path else None,
        }


def purge_store(
    db: Path | str | None,
    key: str | None,
    policy_path: Path | None,
    as_of: dt.date,
    member: str | None,
    dry_run: bool,
    confirm: Callable[[int], bool],
    receipt_path: Path | None = None,
) -> PurgeOutcome:
    """Plan the purge, ask `confirm(count)`, delete in one transaction and write the receipt."""
    from heattool.rules.policy import load_policy

    policy = load_policy(policy_path)
    with Store.open(db, key) as store:
        store.migrate()
        final = receipt_path or _receipt_path(store, "deletion-receipt")
        partial = final.with_name(f"{final.name}.partial")
        written: concurrent.futures.Future[None] | None = None
        try:
            with store.transaction():  # the plan names rows by their place, which holds only here
                plan = plan_purge(store, policy, as_of, member)
                outcome = PurgeOutcome(as_of, member, dry_run, plan)
                if dry_run or plan.people.is_empty():
                    return outcome
                if not confirm(plan.people.height):
                    outcome.declined = True
                    return outcome
                outcome.receipt = purge(store, policy, plan, as_of)
                # The receipt is written while DuckDB commits (it lets go of the GIL), under a
                # partial name that becomes the receipt's only once the deletion is committed.
                pool = concurrent.futures.ThreadPoolExecutor(1)
                receipt = outcome.receipt
                written = pool.submit(lambda: write_json(receipt.document(), partial))
                pool.shutdown(wait=False)
        except BaseException:
            if written is not None:
                concurrent.futures.wait([written])
                partial.unlink(missing_ok=True)
            raise
        try:
            written.result()
        except BaseException:  # committed, but the receipt could not be written: say so
            partial.unlink(missing_ok=True)
            raise
        os.replace(partial, final)
        outcome.receipt_path = final
    return outcome


@dataclass
class Erased:
    receipt: Receipt
    path: Path


def erase_in_store(
    db: Path | str | None,
    key: str | None,
    heat_id: str,
    member: str | None,
    receipt_path: Path | None = None,
) -> Erased:
    """Erase one person now, on request, onto the suppression list; the receipt's file."""
    with Store.open(db, key) as store:
        store.migrate()
        who = person(store, heat_id, member)
        receipt = erase(
            store, who, event="erase", details={"reason": "erasure request"}, suppress=True
        )
        path = receipt_path or _receipt_path(store, "erasure-receipt")
        write_json(receipt.document(), path)
    return Erased(receipt, path)


def access_in_store(
    db: Path | str | None, key: str | None, heat_id: str, member: str | None
) -> dict[str, Any]:
    with Store.open(db, key) as store:
        store.migrate()
        package = access(store, heat_id, member)
        with store.transaction():
            store.audit(
                "access",
                member=package["member"],
                details={"kind": package["kind"]},
                heat_ids_sql="SELECT ?::UUID AS heat_id, 'accessed' AS change",
                heat_ids_params=[package["heat_id"]],
            )
    return package


def withdraw_in_store(
    db: Path | str | None, key: str | None, heat_id: str, on: dt.date, member: str | None
) -> dict[str, Any]:
    with Store.open(db, key) as store:
        store.migrate()
        return withdraw(store, heat_id, on, member)


def find_in_store(
    db: Path | str | None,
    key: str | None,
    forename: str,
    surname: str,
    date_of_birth: dt.date,
    postcode: str | None,
    member: str | None,
) -> pl.DataFrame:
    with Store.open(db, key) as store:
        store.migrate()
        return find(
            store,
            forename=forename,
            surname=surname,
            date_of_birth=date_of_birth,
            postcode=postcode,
            member=member,
        )


def _receipt_path(store: Store, name: str) -> Path:
    folder = Path.cwd() if store.path == MEMORY else Path(store.path).parent
    return folder / f"heattool-{name}-{utc_now():%Y%m%dT%H%M%S%f}.json"
