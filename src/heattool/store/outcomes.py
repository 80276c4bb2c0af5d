"""Track returns: stage a return's rows against the people and track requests, write outcomes.

An outcomes import registers a return's valid rows as `incoming_return` and stages them as
`staged_return`: each row with the person its heat_id names (of one member, with a member) and
its `_change`: inserted, replaced, unchanged, or rejected (no such person, or one never sent in
a request of the target). It then writes what changed, records the return batch
and drops the staging. The action (actions/outcomes.py) arranges these steps in one transaction;
every statement is here. Each target's outcomes are `outcomes_<target>`, one row per person.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import polars as pl

from heattool import __version__
from heattool.schemas import RETURN_KINDS
from heattool.schemas.headers import kind_columns
from heattool.schemas.validate import INDEX, ROW
from heattool.store.people import people_sql
from heattool.store.store import Store

INCOMING = "incoming_return"  # a return's valid rows, registered for one file's load
STAGED = "staged_return"  # incoming rows with their person and _change
# (field, flag, finding code) of the rejections only the store can tell, in the order tried.
# The heat_ids arrive in one form (schemas/parse.py), each once: one row per person.
REJECTIONS = (
    ("heat_id", "_unknown", "unknown-heat-id"),
    ("heat_id", "_not_requested", "not-requested"),
)


def outcome_table(target: str) -> str:
    """The table of a target's outcomes."""
    if target not in RETURN_KINDS:
        raise ValueError(f"not a track return: {target!r}")
    return f"outcomes_{target}"


def outcome_columns(target: str) -> tuple[str, ...]:
    """The outcome columns of a target's return, as its schema declares them (heat_id aside)."""
    return tuple(c for c in kind_columns(target)[0] if c != "heat_id")


def previous_return(store: Store, target: str, sha256: str) -> tuple[int, dt.datetime] | None:
    """The first return batch that imported this very file for this target, if any."""
    row = store.con.execute(
        "SELECT return_batch_id, imported_at FROM return_batches "
        "WHERE target = ? AND sha256 = ? ORDER BY return_batch_id LIMIT 1",
        [target, sha256],
    ).fetchone()
    return (int(row[0]), row[1]) if row else None


def stage(store: Store, target: str, member: str | None) -> pl.DataFrame:
    """Classify each incoming row, in one statement; returns the rejected ones (INDEX, ROW,
    heat_id and the REJECTIONS flags, one of them true on each).

    A heat_id names a person of `member` (any member's without one); the person must have been
    sent in a recorded track request of `target` (a dry run records none).
    """
    table = outcome_table(target)
    columns = outcome_columns(target)
    same = " AND ".join(f"i.{c} IS NOT DISTINCT FROM o.{c}" for c in columns)
    people = people_sql(["heat_id", "member"], where="($member IS NULL OR member = $member)")
    store.con.execute(
        f"""
        CREATE TEMP TABLE {STAGED} AS
        SELECT *, CASE WHEN _unknown OR _not_requested THEN 'rejected'
                       WHEN _previous IS NULL THEN 'inserted'
                       WHEN _same THEN 'unchanged'
                       ELSE 'replaced' END AS _change
        FROM (
            SELECT i.*, p.heat_id AS _heat_id, p.member AS _member, p.kind AS _kind,
                   p.heat_id IS NULL AS _unknown,
                   p.heat_id IS NOT NULL AND q.heat_id IS NULL AS _not_requested,
                   o.return_batch_id AS _previous, {same} AS _same
            FROM {INCOMING} AS i
            LEFT JOIN ({people}) AS p ON p.heat_id = TRY_CAST(i.heat_id AS UUID)
            LEFT JOIN (
                SELECT DISTINCT r.heat_id FROM track_batch_records AS r
                JOIN track_batches AS b USING (track_batch_id) WHERE b.target = $target
            ) AS q ON q.heat_id = p.heat_id
            LEFT JOIN {table} AS o ON o.heat_id = p.heat_id
        )
        """,
        {"member": member, "target": target},
    )
    flags = ", ".join(flag for _, flag, _ in REJECTIONS)
    return store.con.execute(
        f"SELECT {INDEX}, {ROW}, heat_id, {flags} FROM {STAGED} WHERE _change = 'rejected'"
    ).pl()


def staged_counts(store: Store) -> dict[str, int]:
    """How many staged rows have each _change."""
    rows = store.con.execute(f"SELECT _change, count(*) FROM {STAGED} GROUP BY _change")
    return {change: int(n) for change, n in rows.fetchall()}


def staged_members(store: Store) -> dict[str, int]:
    """The members of the people the staged rows name and are not rejected, with their rows."""
    rows = store.con.execute(
        f"SELECT _member, count(*) FROM {STAGED} WHERE _change <> 'rejected' GROUP BY 1 ORDER BY 1"
    )
    return {member: int(n) for member, n in rows.fetchall()}


def replaced_batches(store: Store) -> list[int]:
    """The earlier return batches whose outcomes the staged rows replace."""
    rows = store.con.execute(
        f"SELECT DISTINCT _previous FROM {STAGED} WHERE _change = 'replaced' ORDER BY 1"
    )
    return [int(batch) for (batch,) in rows.fetchall()]


def write_staged(store: Store, target: str, batch_id: int, now: dt.datetime) -> None:
    """Insert the new outcomes and replace the changed ones, each with this return batch."""
    table = outcome_table(target)
    columns = outcome_columns(target)
    store.con.execute(
        f"""
        INSERT INTO {table} (heat_id, member, kind, {", ".join(columns)}, return_batch_id,
                             created_at, updated_at)
        SELECT _heat_id, _member, _kind, {", ".join(columns)}, $batch, $now, $now
        FROM {STAGED} WHERE _change = 'inserted'
        """,
        {"batch": batch_id, "now": now},
    )
    assignments = ", ".join(f"{c} = s.{c}" for c in columns)
    store.con.execute(
        f"""
        UPDATE {table} AS t SET {assignments}, return_batch_id = $batch, updated_at = $now
        FROM {STAGED} AS s
        WHERE s._change = 'replaced' AND t.heat_id = s._heat_id
        """,
        {"batch": batch_id, "now": now},
    )


def staged_changes_sql() -> str:
    """The (heat_id, change) rows a return's audit event lists: the people whose outcomes it
    inserted or replaced. Never an outcome."""
    return (
        f"SELECT _heat_id AS heat_id, _change AS change FROM {STAGED} "
        "WHERE _change IN ('inserted', 'replaced')"
    )


def drop_staged(store: Store) -> None:
    store.con.execute(f"DROP TABLE {STAGED}")


def next_return_batch_id(store: Store) -> int:
    return int(store.scalar("SELECT nextval('return_batch_seq')"))


def record_return_batch(store: Store, values: Sequence[Any]) -> None:
    """One row of return_batches: id, target, member, file name, sha256, counts, time."""
    store.con.execute(
        "INSERT INTO return_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [*values, __version__],
    )
