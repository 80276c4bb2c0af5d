"""`heattool subject`: data-subject rights: find a person, access, withdraw, erase."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from heattool.clock import utc_now, utc_text
from heattool.errors import HeattoolError
from heattool.io.access_pack import PACK_SUFFIXES, write_access_pack
from heattool.io.writers import DOCUMENT_SUFFIXES, check_output_path, write_json
from heattool.rules.policy import Policy, load_policy
from heattool.rules.retention import evaluate_policy
from heattool.schemas.parse import code_labels
from heattool.schemas.postcode import normalise_postcode
from heattool.store import Store, people
from heattool.store.erasure import (
    Receipt,
    ReceiptNotWritten,
    default_receipt_path,
    erase_people,
    held_about,
)


@dataclass
class Withdrawn:
    heat_id: str
    member: str
    kind: str
    withdrawn_on: dt.date
    already: bool


@dataclass
class Erased:
    receipt: Receipt
    path: Path


@dataclass
class Access:
    package: dict[str, Any]
    out: Path | None = None
    pack: Path | None = None

    @property
    def heat_id(self) -> str:
        return str(self.package["heat_id"])


def _who(store: Store, heat_id: str | None, member: str | None, ref: str | None) -> pl.DataFrame:
    if heat_id is None and (member is None or ref is None):
        raise HeattoolError("name the person by their heat_id, or by --member and --ref")
    return people.person(store, heat_id, store.known_member(member), ref)


def find(
    db: Path | str | None,
    key: str | None,
    *,
    forename: str,
    surname: str,
    date_of_birth: dt.date,
    postcode: str | None = None,
    member: str | None = None,
) -> pl.DataFrame:
    """The records whose normalised forename, surname, date of birth (and postcode) match."""
    wanted = pl.select(normalise_postcode(pl.lit(postcode))).item() if postcode else None
    with Store.open_existing(db, key) as store:
        return people.find(
            store,
            forename=forename,
            surname=surname,
            date_of_birth=date_of_birth,
            postcode=wanted,
            member=store.known_member(member),
        )


def access(
    db: Path | str | None,
    key: str | None,
    heat_id: str | None,
    *,
    member: str | None = None,
    ref: str | None = None,
    out: Path | None = None,
    pack: Path | None = None,
    policy: Policy | None = None,
) -> Access:
    """Everything held about one person, as one JSON-ready package; the access is audited.

    With `pack`, also a pack the person can read (`.html` or `.xlsx`), the codes as labels.
    The package says when the record is to be deleted, by `policy` (HEAT's by default).
    """
    check_output_path(out, DOCUMENT_SUFFIXES)
    check_output_path(pack, PACK_SUFFIXES)
    with Store.open_existing(db, key) as store:
        who = _who(store, heat_id, member, ref)
        held = held_about(store, who)
        retention = _retention(store, who, policy or load_policy())
        record = held.get("students") or held.get("ambassadors")
        package = {
            "heat_id": who["heat_id"][0],
            "member": who["member"][0],
            "kind": who["kind"][0],
            "record": record[0] if record else None,
            "attendance": held.pop("_activities"),
            "track_requests": held.pop("_track_requests"),
            "audit_events": held.pop("_audit_events"),
            "held_in_tables": {table: rows for table, rows in held.items() if rows},
            "retention": retention,
            "produced_at": utc_text(utc_now()),
        }
        with store.transaction():
            store.audit(
                "access",
                member=package["member"],
                details={"kind": package["kind"]},
                heat_ids_sql="SELECT ?::UUID AS heat_id, 'accessed' AS change",
                heat_ids_params=[package["heat_id"]],
            )
    if out is not None:
        write_json(package, out)
    if pack is not None:
        write_access_pack(package, {c: code_labels(c) for c in CODED}, pack)
    return Access(package, out, pack)


CODED = ("sex", "ethnicity", "disability", "nation")  # record columns that hold a code


def _retention(store: Store, who: pl.DataFrame, policy: Policy) -> dict[str, Any]:
    """The person's retention, as `heattool retention` judges it today."""
    records = people.records(store, str(who["member"][0]), ids=True)
    mine = records.filter(pl.col("heat_id").cast(pl.String) == str(who["heat_id"][0]))
    (row,) = evaluate_policy(policy, mine, dt.date.today()).to_dicts()
    return {
        "policy": f"{policy.name} {policy.version}",
        **{k: row[k] for k in ("rule", "status", "expires_on", "ready_on", "delete_by", "reason")},
    }


def withdraw(
    db: Path | str | None,
    key: str | None,
    heat_id: str | None,
    on: dt.date,
    *,
    member: str | None = None,
    ref: str | None = None,
) -> Withdrawn:
    """Record that the person withdrew permission on `on`: out of every later track request."""
    with Store.open_existing(db, key) as store:
        who = _who(store, heat_id, member, ref)
        kind = who["kind"][0]
        with store.transaction():
            previous = people.withdraw(store, who, on)
            if previous is None:
                store.audit(
                    "withdraw",
                    member=who["member"][0],
                    details={"kind": kind, "withdrawn_on": on.isoformat()},
                    heat_ids_sql="SELECT ?::UUID AS heat_id, 'withdrawn' AS change",
                    heat_ids_params=[who["heat_id"][0]],
                )
    return Withdrawn(
        who["heat_id"][0], who["member"][0], kind, previous or on, previous is not None
    )


def who_is(
    db: Path | str | None,
    key: str | None,
    heat_id: str | None,
    *,
    member: str | None = None,
    ref: str | None = None,
) -> dict[str, str]:
    """Who a heat_id (or a member's ref) is: heat_id, member, kind and ref (for a prompt)."""
    with Store.open_existing(db, key) as store:
        row = _who(store, heat_id, member, ref).row(0, named=True)
    return {k: str(v) for k, v in row.items()}


def erase(
    db: Path | str | None,
    key: str | None,
    heat_id: str | None,
    *,
    member: str | None = None,
    ref: str | None = None,
    receipt: Path | None = None,
) -> Erased:
    """Erase one person now, on request, onto the suppression list; the receipt's file."""
    check_output_path(receipt, DOCUMENT_SUFFIXES)
    with Store.open_existing(db, key) as store:
        who = _who(store, heat_id, member, ref)
        done = erase_people(
            store, who, event="erase", details={"reason": "erasure request"}, suppress=True
        )
        path = receipt or default_receipt_path(store, "erasure-receipt")
    try:
        write_json(done.document(), path)
    except Exception as exc:  # committed, but the receipt could not be written: say so
        raise ReceiptNotWritten(done, exc) from exc
    return Erased(done, path)
