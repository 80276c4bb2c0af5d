"""Validate many uploads at once: the core of `heattool validate`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path

import polars as pl
from rich.console import Console

from heattool.errors import HeattoolError, UnknownKind
from heattool.io.writers import write_csv


def validate_paths(
    paths: Sequence[Path],
    *,
    kind: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    as_of: dt.date | None = None,
    aliases: Path | None = None,
    progress: Console | None = None,
) -> tuple[list, list[tuple[str, str]]]:
    """Validate each path; unreadable ones are returned as (path, reason), not raised."""
    from heattool.schemas.headers import alias_table
    from heattool.schemas.validate import validate_file

    alias_table(aliases)  # a bad alias file stops the run (exit 3) before any upload is read
    results, failures = [], []
    for path in paths:
        status = None
        if progress is not None and progress.is_terminal:
            status = progress.status(f"validating {path} ...")
            status.start()
        try:
            results.append(
                validate_file(
                    path, kind=kind, sheet=sheet, encoding=encoding, as_of=as_of, aliases=aliases
                )
            )
        except UnknownKind as exc:
            failures.append((str(path), f"{path}: {exc}"))
        except HeattoolError as exc:
            failures.append((str(path), str(exc)))
        finally:
            if status is not None:
                status.stop()
    return results, failures


def write_findings(results: list, path: Path) -> None:
    """Every finding of every file as one Excel-safe CSV."""
    frames = [r.findings.select(pl.lit(str(r.raw.path)).alias("file"), pl.all()) for r in results]
    columns = ["file", "row", "cell", "column", "value", "code", "severity", "message"]
    frame = (
        pl.concat(frames).select(columns)
        if frames
        else pl.DataFrame(schema=dict.fromkeys(columns, pl.String))
    )
    write_csv(frame, path)
