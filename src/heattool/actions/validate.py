"""`heattool validate`: check uploads against the schemas and collect their findings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from heattool.background import beside
from heattool.errors import BadPolicy, HeattoolError, UnreadableInput
from heattool.io.readers import STDIN, upload_name
from heattool.io.writers import check_output_path, write_frame
from heattool.progress import Progress, nowhere
from heattool.schemas.validate import ValidationResult

FINDING_COLUMNS = ["file", "row", "cell", "column", "value", "code", "severity", "message"]


@dataclass
class ValidateResult:
    """Each readable upload's validation, and each unreadable one as (path, reason).

    With `strict`, a warning fails its file as an error does.
    """

    results: list[ValidationResult] = field(default_factory=list)
    failures: list[tuple[str, str]] = field(default_factory=list)
    errors_out: Path | None = None
    strict: bool = False

    @property
    def valid(self) -> bool:
        return not self.failures and all(self.passed(r) for r in self.results)

    def passed(self, result: ValidationResult) -> bool:
        """Whether one upload passes: no error, and with `strict` no warning either."""
        return result.valid and not (self.strict and result.warnings.height)


def validate(
    paths: Sequence[Path],
    *,
    kind: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
    encoding: str | None = None,
    as_of: dt.date | None = None,
    aliases: Path | None = None,
    errors_out: Path | None = None,
    strict: bool = False,
    progress: Progress = nowhere,
) -> ValidateResult:
    """Validate each path; unreadable ones are collected as (path, reason), not raised.

    A path of `-` is standard input (CSV only), named `<stdin>`; it can be given once.

    Pandera is imported, the schemas built and the alias file checked on a second thread while
    the first upload is read: Polars reads without the GIL, so the two overlap on two cores
    (docs/benchmarks.md, "Validation").
    """
    from heattool.schemas.validate import read_table, validate_table

    check_output_path(errors_out)
    if sum(str(p) == STDIN for p in paths) > 1:
        raise UnreadableInput("- (standard input) can be given only once")
    warm_up = beside(_prepare_schemas, aliases)
    outcome = ValidateResult(strict=strict)
    for path in paths:
        try:
            raw = read_table(
                path,
                kind=kind,
                sheet=sheet,
                encoding=encoding,
                header_row=header_row,
                aliases=aliases,
                ready=warm_up.result,  # the schemas, built beside the reading
            )
            warm_up.result()  # a bad alias file stops the run here (exit 3)
            outcome.results.append(validate_table(raw, kind, as_of=as_of, aliases=aliases))
            progress(f"validated {upload_name(path)}", outcome.results[-1].rows)
        except BadPolicy:  # the alias file, from the warm-up: stops the run
            raise
        except HeattoolError as exc:
            reason, name = str(exc), upload_name(path)
            outcome.failures.append(
                (str(name), reason if reason.startswith(str(name)) else f"{name}: {reason}")
            )
            progress(f"could not read {name}", None)
    warm_up.result()
    if errors_out is not None:
        write_findings(outcome.results, errors_out)
        outcome.errors_out = errors_out
    return outcome


def _prepare_schemas(aliases: Path | None) -> None:
    """Import Pandera, build every schema, register its Polars checks, check the aliases."""
    from pandera.backends.polars.register import register_polars_backends

    from heattool.schemas.headers import alias_table

    register_polars_backends()
    alias_table(aliases)


def write_findings(results: Sequence[ValidationResult], path: Path) -> None:
    """Every finding of every file as one Excel-safe CSV."""
    frames = [r.findings.select(pl.lit(str(r.raw.path)).alias("file"), pl.all()) for r in results]
    frame = (
        pl.concat(frames).select(FINDING_COLUMNS)
        if frames
        else pl.DataFrame(schema=dict.fromkeys(FINDING_COLUMNS, pl.String))
    )
    about = {
        "what": "every finding of heattool validate: fix the cells named, then validate again",
        "files": ", ".join(str(r.raw.path) for r in results),
        "errors": sum(r.errors.height for r in results),
    }
    write_frame(frame, path, about)
