"""Validate many uploads at once: the core of `heattool validate`."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Sequence
from pathlib import Path

import polars as pl
from rich.console import Console

from heattool.errors import BadPolicy, HeattoolError, UnknownKind
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
    """Validate each path; unreadable ones are returned as (path, reason), not raised.

    Pandera is imported, the schemas built and the alias file checked on a second thread while
    the first upload is read: Polars reads without the GIL, so the two overlap on two cores.
    """
    from heattool.io.readers import read_upload
    from heattool.schemas.validate import validate_table

    warm_up = _Background(_prepare_schemas, aliases)
    results, failures = [], []
    for path in paths:
        status = None
        if progress is not None and progress.is_terminal:
            status = progress.status(f"validating {path} ...")
            status.start()
        try:
            raw = read_upload(path, sheet=sheet, encoding=encoding)
            warm_up.result()  # a bad alias file stops the run here (exit 3)
            results.append(validate_table(raw, kind, as_of=as_of, aliases=aliases))
        except BadPolicy:  # the alias file, from the warm-up: stops the run
            raise
        except UnknownKind as exc:
            failures.append((str(path), f"{path}: {exc}"))
        except HeattoolError as exc:
            failures.append((str(path), str(exc)))
        finally:
            if status is not None:
                status.stop()
    warm_up.result()
    return results, failures


def _prepare_schemas(aliases: Path | None) -> None:
    """Import Pandera, build every schema, register its Polars checks, check the aliases."""
    from pandera.backends.polars.register import register_polars_backends

    from heattool.schemas.headers import alias_table

    register_polars_backends()
    alias_table(aliases)


class _Background:
    """Run a function on a thread; `result()` waits for it and raises what it raised."""

    def __init__(self, function, *args) -> None:
        self._error: BaseException | None = None

        def run() -> None:
            try:
                function(*args)
            except BaseException as exc:  # handed to the caller by result()
                self._error = exc

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def result(self) -> None:
        self._thread.join()
        if self._error is not None:
            raise self._error


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
