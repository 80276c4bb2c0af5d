"""Render findings and results for people (rich) and for scripts (JSON)."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
from rich.console import Console
from rich.table import Table

from heattool import __version__

LISTED_FIELDS = ["row", "cell", "column", "value", "code", "message"]


def validation_document(results: list, failures: list[tuple[str, str]], max_errors: int) -> dict:
    """The JSON report of `heattool validate`."""
    files = [_result_document(r, max_errors) for r in results]
    files += [{"file": path, "readable": False, "error": reason} for path, reason in failures]
    return {
        "heattool": __version__,
        "valid": not failures and all(r.valid for r in results),
        "files": files,
    }


def _result_document(result, max_errors: int) -> dict[str, Any]:
    errors = result.errors
    listed = errors if max_errors <= 0 else errors.head(max_errors)
    return {
        "file": str(result.raw.path),
        "readable": True,
        "sha256": result.raw.sha256,
        "kind": result.kind,
        "format": result.raw.format,
        "sheet": result.raw.sheet,
        "rows": result.rows,
        "valid_rows": result.valid_rows,
        "invalid_rows": result.invalid_rows,
        "valid": result.valid,
        "errors_by_code": errors_by_code(errors),
        "error_count": errors.height,
        "errors": listed.select(LISTED_FIELDS).to_dicts(),
        "warnings": result.warnings.select(LISTED_FIELDS).to_dicts(),
    }


def errors_by_code(errors: pl.DataFrame) -> dict[str, int]:
    counts = errors.group_by("code").len().sort(["len", "code"], descending=[True, False])
    return dict(counts.iter_rows())


def render_validation(console: Console, results: list, max_errors: int) -> None:
    """The text report: a summary per file and a table of its first errors."""
    for result in results:
        verdict = "[green]valid[/]" if result.valid else "[red]invalid[/]"
        where = f" sheet {result.raw.sheet}," if result.raw.sheet else ""
        console.print(
            f"[bold]{result.raw.path}[/]: {result.kind},{where} {result.rows} rows, "
            f"{result.valid_rows} valid, {result.invalid_rows} invalid: {verdict}"
        )
        by_code = errors_by_code(result.errors)
        if by_code:
            console.print("  errors: " + ", ".join(f"{c} {n}" for c, n in by_code.items()))
        for warning in result.warnings.iter_rows(named=True):
            console.print(f"  [yellow]warning[/] {warning['code']}: {warning['message']}")
        if result.errors.height:
            shown = result.errors if max_errors <= 0 else result.errors.head(max_errors)
            console.print(_findings_table(shown))
            if shown.height < result.errors.height:
                console.print(
                    f"  ... and {result.errors.height - shown.height} more errors "
                    "(--max-errors 0 lists all; --errors-out FILE writes them to a CSV)"
                )


def _findings_table(findings: pl.DataFrame) -> Table:
    table = Table(show_lines=False, pad_edge=False)
    for name in ("row", "cell", "column", "value", "code", "message"):
        table.add_column(name, overflow="fold", no_wrap=name in ("row", "cell", "code"))
    for row in findings.select(LISTED_FIELDS).iter_rows():
        table.add_row(*["" if v is None else str(v) for v in row])
    return table


# -- retention and purge ----------------------------------------------------------------------

ID_COLUMNS = ("kind", "member", "ref", "heat_id")


def result_view(result: pl.DataFrame) -> pl.DataFrame:
    """The identifying columns and the judgement only: no names, dates of birth or postcodes."""
    from heattool.rules.retention import RESULT_COLUMNS

    inputs = [c for c in result.columns if c not in RESULT_COLUMNS]
    ids = [c for c in ID_COLUMNS if c in inputs] or inputs[:1]
    return result.select(*ids, *RESULT_COLUMNS)


def status_counts(result: pl.DataFrame) -> dict[str, int]:
    from heattool.rules.retention import STATUSES

    counts = dict(result.get_column("status").value_counts().iter_rows())
    return {status: int(counts.get(status, 0)) for status in STATUSES}


_STATUS_STYLE = {"retained": "green", "ready-for-deletion": "yellow", "overdue": "red"}
SHOWN_DUE = 50  # the terminal table lists this many due records; --out writes them all


def retention_json(policy, result: pl.DataFrame, due: pl.DataFrame, as_of) -> str:
    """What `retention --format json` prints: counts by status and rule, and the due records.

    The records are written by Polars, not one Python dict each: millions can be due.
    """
    head = {
        "policy": {"name": policy.name, "version": policy.version, "source": policy.source},
        "as_of": as_of.isoformat(),
        "records": result.height,
        "counts": status_counts(result),
        "by_rule": _by_rule(result).to_dicts(),
    }
    text = json.dumps(head, indent=2, default=str)
    return f'{text[:-2]},\n  "deletion_ready": {result_view(due).write_json()}\n}}'


def _by_rule(result: pl.DataFrame) -> pl.DataFrame:
    return (
        result.group_by("rule", "status").len("records").sort("rule", "status")
        if result.height
        else pl.DataFrame(schema={"rule": pl.String, "status": pl.String, "records": pl.UInt32})
    )


def render_retention(
    console: Console, policy, result: pl.DataFrame, shown: pl.DataFrame, as_of, *, due: int
) -> None:
    """Counts by rule and status, then the first records that must go, with why and by when.

    `shown` holds the first of the `due` deletion-ready records, with their reasons.
    """
    console.print(
        f"[bold]{policy.name}[/] as of {as_of.isoformat()}: {result.height} records, "
        + ", ".join(f"{n} {status}" for status, n in status_counts(result).items())
    )
    counts = Table(title_justify="left", pad_edge=False)
    for name in ("rule", "status", "records"):
        counts.add_column(name, justify="right" if name == "records" else "left")
    for rule, status, n in _by_rule(result).iter_rows():
        counts.add_row(str(rule), f"[{_STATUS_STYLE.get(status, '')}]{status}[/]", str(n))
    console.print(counts)
    if not due:
        console.print("Nothing is ready for deletion.")
        return
    ids = [c for c in ("member", "kind", "ref") if c in shown.columns]  # heat_ids: in --out
    table = Table(title="Ready for deletion", title_justify="left", pad_edge=False)
    for name in [*ids, "status", "delete_by", "reason"]:
        table.add_column(name, overflow="fold", no_wrap=name != "reason")
    for row in shown.select(*ids, "status", "delete_by", "reason").iter_rows():
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)
    if due > shown.height:
        console.print(f"  ... and {due - shown.height} more (--out FILE writes them all)")


def render_purge(console: Console, outcome) -> None:
    plan = outcome.plan
    scope = f" of member {outcome.member}" if outcome.member else ""
    rules = ", ".join(f"{r['people']} {r['rule']} {r['status']}" for r in plan.by_rule)
    if plan.people.is_empty():
        console.print(f"Nothing{scope} is ready for deletion on {outcome.as_of}; nothing deleted.")
    elif outcome.dry_run:
        console.print(
            f"dry run: would delete {plan.people.height} records{scope} due on "
            f"{outcome.as_of} ({rules}); nothing was deleted"
        )
    elif outcome.declined:
        console.print("Nothing deleted.")
    else:
        rows = ", ".join(f"{n} {t}" for t, n in outcome.receipt.rows_deleted.items() if n)
        console.print(
            f"deleted {plan.people.height} records{scope} due on {outcome.as_of} ({rules}): "
            f"{rows}\nreceipt: {outcome.receipt_path} (audit event "
            f"{outcome.receipt.event_id})"
        )


def render_frame(console: Console, frame: pl.DataFrame, *, empty: str) -> None:
    """A small frame as a table, or a line saying there is nothing."""
    if frame.is_empty():
        console.print(empty)
        return
    table = Table(pad_edge=False)
    for name in frame.columns:
        table.add_column(name, no_wrap=True)
    for row in frame.iter_rows():
        table.add_row(*("" if v is None else str(v) for v in row))
    console.print(table)
