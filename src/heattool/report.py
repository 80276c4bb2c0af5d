"""Render findings and results for people (rich) and for scripts (JSON)."""

from __future__ import annotations

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
