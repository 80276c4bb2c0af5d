"""The deletion-ready list: which judged records must go, soonest first, and their reasons."""

from __future__ import annotations

import datetime as dt

import polars as pl

from heattool.rules.policy import Policy
from heattool.rules.retention import OVERDUE, READY, RESULT_COLUMNS, evaluate_policy

DUE = (READY, OVERDUE)  # the statuses of records that must go
# The deletion-ready list: who must go, by which rule, by when. No names unless asked for.
DELETION_LIST = ["heat_id", "member", "kind", "ref", "rule", "status", "expires_on", "delete_by"]
NAME_COLUMNS = ["forename", "surname", "date_of_birth"]
IDENTITY_FIELDS = {"member", "ref", "heat_id"}


def reads_identity(policy: Policy) -> bool:
    """Whether the policy's rules read who a record is (a rule for one member's records)."""
    return bool(set(policy.fields()) & IDENTITY_FIELDS)


def with_reasons(policy: Policy, result: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """The same rows, judged again with their readable reasons.

    Reasons cost more than the judgement over millions of rows: they are made only for the
    records a person will read.
    """
    inputs = [c for c in result.columns if c not in RESULT_COLUMNS]
    return evaluate_policy(policy, result.select(inputs), as_of, reasons=True)


def deletion_ready(result: pl.DataFrame, first: int | None = None) -> pl.DataFrame:
    """The records that must go: ready for deletion or overdue, soonest deadline first.

    `first` keeps only that many (a top-k, not a sort of them all).
    """
    order = [c for c in ("delete_by", "member", "kind", "ref") if c in result.columns]
    # Lazily, Polars sorts only the keys of the due rows and gathers each column once.
    due = result.lazy().filter(pl.col("status").is_in(DUE)).sort(order)
    return (due if first is None else due.head(first)).collect()


def deletion_list(result: pl.DataFrame, *, with_names: bool = False) -> pl.DataFrame:
    """The deletion-ready list as a data officer receives it; names only when asked for."""
    due = deletion_ready(result)
    wanted = DELETION_LIST + (NAME_COLUMNS if with_names else [])
    return due.select(c for c in wanted if c in due.columns)  # a plain file may lack some
