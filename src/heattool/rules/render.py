"""Retention results for people (a rich table) and scripts (CSV rows, a JSON document)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table

from heattool.rules.policy import Policy
from heattool.rules.retention import RESULT_COLUMNS, STATUSES

ID_COLUMNS = ("kind", "member", "ref", "heat_id")
_STYLE = {"retained": "green", "ready-for-deletion": "yellow", "overdue": "red", "undated": "red"}


def result_view(result: pl.DataFrame) -> pl.DataFrame:
    """The identifying columns and the judgement only: no names, dates of birth or postcodes."""
    inputs = [c for c in result.columns if c not in RESULT_COLUMNS]
    ids = [c for c in ID_COLUMNS if c in inputs] or inputs[:1]
    return result.select(*ids, *RESULT_COLUMNS)


def status_counts(result: pl.DataFrame) -> dict[str, int]:
    counts = dict(result.get_column("status").value_counts().iter_rows())
    return {status: int(counts.get(status, 0)) for status in STATUSES}


def retention_document(policy: Policy, result: pl.DataFrame, as_of: dt.date) -> dict[str, Any]:
    """What `--format json` prints: the policy, the day, the counts and every record."""
    return {
        "policy": {"name": policy.name, "version": policy.version, "source": policy.source},
        "as_of": as_of.isoformat(),
        "records": result.height,
        "counts": status_counts(result),
        "results": result_view(result).to_dicts(),
    }


def render_retention(
    console: Console, policy: Policy, result: pl.DataFrame, as_of: dt.date
) -> None:
    """A table of every record's judgement, the reasons for those that need action, the counts."""
    view = result_view(result)
    ids = view.columns[: view.width - len(RESULT_COLUMNS)]
    shown = [*ids, "rule", "action", "status", "expires_on", "delete_by"]
    table = Table(title=f"{policy.name} as of {as_of.isoformat()}", title_justify="left")
    for name in shown:
        table.add_column(name, no_wrap=True)
    for row in view.select(shown).iter_rows(named=True):
        style = _STYLE.get(row["status"] or "", "")
        table.add_row(*("" if v is None else str(v) for v in row.values()), style=style)
    console.print(table)
    due = view.filter(pl.col("status") != "retained")
    if due.height:
        console.print("Why:")
        for row in due.select(pl.concat_str(ids, separator=" "), "reason").iter_rows():
            console.print(f"  {row[0]}: {row[1]}", soft_wrap=True)
    counts = status_counts(result)
    parts = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
    console.print(f"{result.height} record(s): {parts or 'none'}")
