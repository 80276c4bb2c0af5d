"""`heattool purge`: delete the deletion-ready records, with a receipt, in one transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from heattool.background import Background, beside
from heattool.errors import HeattoolError
from heattool.io.files import install
from heattool.io.writers import DOCUMENT_SUFFIXES, check_output_path, write_json
from heattool.rules.deletion import DUE, reads_identity
from heattool.rules.policy import Policy, policy_sha256
from heattool.rules.retention import evaluate_policy
from heattool.store import Store, people
from heattool.store.erasure import (
    Receipt,
    ReceiptNotWritten,
    default_receipt_path,
    erase_people,
)

PLAN_COLUMNS = ["heat_id", "member", "kind", "ref", "rule", "status"]


@dataclass
class PurgePlan:
    """What a purge deletes: the deletion-ready people and the counts per rule and status."""

    people: pl.DataFrame  # heat_id, member, kind, ref, rule, status
    by_rule: list[dict[str, Any]]


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


def plan_purge(
    store: Store, policy: Policy, as_of: dt.date, member: str | None = None
) -> PurgePlan:
    """Exactly the records on the deletion-ready list for `as_of`.

    Everyone is judged, but only the due are identified (a ROWID holds only within the
    transaction: call it in the purge's).
    """
    with store.transaction():
        ids = reads_identity(policy)  # otherwise records are judged without their ids
        result = evaluate_policy(
            policy, people.records(store, member, ids=ids), as_of, reasons=False
        )
        due = result.lazy().filter(pl.col("status").is_in(DUE))
        if ids:
            found = due.collect()
        else:
            found = people.identify(
                store, due.select("kind", people.ROWID, "rule", "status").collect()
            )
        found = found.select(PLAN_COLUMNS)
    by_rule = found.group_by("rule", "status").len("people").sort("rule", "status").to_dicts()
    return PurgePlan(found, by_rule)


def purge_plan(store: Store, policy: Policy, plan: PurgePlan, as_of: dt.date) -> Receipt:
    """Delete everything on the plan, attachments included, in one transaction; the receipt."""
    return erase_people(
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


def purge(
    db: Path | str | None,
    key: str | None,
    policy: Policy,
    as_of: dt.date,
    member: str | None,
    *,
    dry_run: bool,
    confirm: Callable[[int], bool],
    receipt: Path | None = None,
    allow_future: bool = False,
) -> PurgeOutcome:
    """Plan the purge, ask `confirm(count)`, delete in one transaction and write the receipt.

    A day after today is refused unless `allow_future` (or a dry run): records kept until then
    must not be deleted now by a mistyped year.
    """
    today = dt.date.today()
    if as_of > today and not (dry_run or allow_future):
        raise HeattoolError(
            f"--as-of {as_of} is after today ({today}): that would delete records the policy "
            "still keeps; give today's date, or --allow-future if you mean it"
        )
    with Store.open_existing(db, key) as store:
        member = store.known_member(member)
        final = receipt or default_receipt_path(store, "deletion-receipt")
        check_output_path(final, DOCUMENT_SUFFIXES)
        partial = final.with_name(f"{final.name}.partial")
        written: Background[None] | None = None
        try:
            with store.transaction():  # the plan names rows by their place, which holds only here
                plan = plan_purge(store, policy, as_of, member)
                outcome = PurgeOutcome(as_of, member, dry_run, plan)
                if dry_run or plan.people.is_empty():
                    return outcome
                if not confirm(plan.people.height):
                    outcome.declined = True
                    return outcome
                outcome.receipt = done = purge_plan(store, policy, plan, as_of)
                # The receipt is written while DuckDB commits (it lets go of the GIL), under a
                # partial name that becomes the receipt's only once the deletion is committed
                # (docs/benchmarks.md, "Purge").
                written = beside(lambda: write_json(done.document(), partial))
        except BaseException:
            if written is not None:
                written.settle()
                partial.unlink(missing_ok=True)
            raise
        assert written is not None
        # Committed: a receipt that cannot be written is an error that says how to write it.
        try:
            written.result()
        except Exception as exc:
            partial.unlink(missing_ok=True)
            raise ReceiptNotWritten(done, exc) from exc
        try:
            install(partial, final)  # refuses a symbolic link at the receipt's name
        except Exception as exc:  # the receipt stays under its partial name
            raise ReceiptNotWritten(done, exc) from exc
        outcome.receipt_path = final
    return outcome
