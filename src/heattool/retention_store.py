"""Retention over the store: the records a policy reads, their status, the deletion-ready list."""

from __future__ import annotations

import datetime as dt
import hashlib
from importlib import resources
from pathlib import Path

import polars as pl

from heattool.rules.policy import DEFAULT_POLICY, Policy
from heattool.rules.retention import RESULT_COLUMNS, evaluate_policy
from heattool.store import Store

DUE = ("ready-for-deletion", "overdue")
# The deletion-ready list: who must go, by which rule, by when. No names unless asked for.
DELETION_LIST = ["heat_id", "member", "kind", "ref", "rule", "status", "expires_on", "delete_by"]
NAME_COLUMNS = ["forename", "surname", "date_of_birth"]

# One row per person, with the columns the HEAT policy reads. A student's last activity is the
# latest day they attended (or, with no date in the register, the activity's start); an
# ambassador has no register, so their last activity is the last upload that listed them.
# The member comes from a session variable, not a parameter: see `store_records`.
MEMBER_VARIABLE = "heattool_records_member"
_MEMBER = f"getvariable('{MEMBER_VARIABLE}')"
RECORDS_SQL = f"""
WITH last_activity AS (
    SELECT a.member, a.student_ref, max(coalesce(a.attended_on, act.start_date)) AS last_activity_on
    FROM attendance AS a
    LEFT JOIN activities AS act ON act.member = a.member AND act.activity_ref = a.activity_ref
    WHERE {_MEMBER} IS NULL OR a.member = {_MEMBER}
    GROUP BY ALL
)
SELECT 'students' AS kind, s.member, s.student_ref AS ref, s.heat_id::VARCHAR AS heat_id,
       s.forename, s.surname, s.date_of_birth, s.postcode, s.permission_to_track,
       s.withdrawn_on, la.last_activity_on, s.created_at::DATE AS first_loaded_on,
       s.expected_he_entry_year
FROM students AS s
LEFT JOIN last_activity AS la ON la.member = s.member AND la.student_ref = s.student_ref
WHERE {_MEMBER} IS NULL OR s.member = {_MEMBER}
UNION ALL
SELECT 'ambassadors', member, ambassador_ref, heat_id::VARCHAR, forename, surname, date_of_birth,
       postcode, permission_to_track, withdrawn_on, updated_at::DATE, created_at::DATE,
       expected_he_entry_year
FROM ambassadors
WHERE {_MEMBER} IS NULL OR member = {_MEMBER}
"""


def policy_sha256(policy: Policy) -> str:
    """The sha256 of the policy file's bytes, so a receipt says exactly which rules applied."""
    if policy.source == DEFAULT_POLICY:
        data = resources.files("heattool.rules").joinpath(DEFAULT_POLICY).read_bytes()
    else:
        data = Path(policy.source).read_bytes()
    return hashlib.sha256(data).hexdigest()


def store_records(store: Store, member: str | None = None) -> pl.DataFrame:
    """Every person in the store (or of one member) with the columns retention reads.

    A relation without parameters, unlike a prepared statement, has DuckDB build the Arrow result
    in parallel: 10 million people arrive in about 65% of the time. So the member, which is user
    input, goes in as a session variable rather than into the SQL text. A relation draws DuckDB's
    progress bar on stdout, which would corrupt a CSV or JSON output, so it is off meanwhile.
    The parallel result comes in uneven chunks, which cost the policy more time and memory than
    one rechunk does.
    """
    con = store.con
    (progress,) = con.execute("SELECT current_setting('enable_progress_bar')").fetchone()
    con.execute(f"SET VARIABLE {MEMBER_VARIABLE} = ?", [member])
    con.execute("SET enable_progress_bar = false")
    try:
        return con.sql(RECORDS_SQL).pl().rechunk()
    finally:
        con.execute(f"RESET VARIABLE {MEMBER_VARIABLE}")
        con.execute(f"SET enable_progress_bar = {bool(progress)}")


def store_retention(
    store: Store,
    policy: Policy,
    as_of: dt.date,
    member: str | None = None,
    *,
    reasons: bool = False,
) -> pl.DataFrame:
    """Every person's retention status under `policy` on `as_of`.

    Reasons cost more than the status itself over millions of rows; `with_reasons` adds them
    to the few rows a person will read.
    """
    return evaluate_policy(policy, store_records(store, member), as_of, reasons=reasons)


def with_reasons(policy: Policy, result: pl.DataFrame, as_of: dt.date) -> pl.DataFrame:
    """The same rows, judged again with their readable reasons."""
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


def deletion_list(
    result: pl.DataFrame, *, with_names: bool = False, full: bool = False
) -> pl.DataFrame:
    """The deletion-ready list as a data officer receives it; names only when asked for.

    `full` keeps every column (to judge again with reasons) instead of the list's own.
    """
    due = deletion_ready(result)
    if full:
        return due
    wanted = DELETION_LIST + (NAME_COLUMNS if with_names else [])
    return due.select(c for c in wanted if c in due.columns)  # a plain file may lack some


def judge_store(
    db: Path | str | None,
    key: str | None,
    policy: Policy,
    as_of: dt.date,
    member: str | None = None,
) -> pl.DataFrame:
    """Open the store and judge every person in it (or of one member) on `as_of`."""
    with Store.open(db, key) as store:
        store.migrate()
        return store_retention(store, policy, as_of, member)
