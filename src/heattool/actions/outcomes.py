"""`heattool outcomes import` and `outcomes report`: track returns in, outcome tables out.

`outcomes report` makes one measure's table by one or two dimensions, with its margins, from
one SQL statement (store/outcome_reports.py), puts it through a disclosure rule
(rules/disclosure.py) and writes it, with a manifest beside any file it writes.

A return is read and validated as an upload is (the same readers, aliases, parsers and finding
codes), against heattool's own return schema of its target. Its rows name people by heat_id:
one the store does not hold (of `--member`, with one) is rejected as `unknown-heat-id`, one never
sent in a recorded track request of the target as `not-requested`. Every file of a call loads in
one transaction, and a file whose headings have errors loads nothing of any.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from heattool import __version__
from heattool.clock import file_stamp, utc_now, utc_text
from heattool.errors import HeattoolError
from heattool.io.files import rejects_path
from heattool.io.readers import STDIN_NAME, upload_name
from heattool.io.writers import (
    DOCUMENT_SUFFIXES,
    check_output_path,
    write_frame,
    write_json,
    write_text,
)
from heattool.rules.disclosure import DEFAULT as DEFAULT_DISCLOSURE
from heattool.rules.disclosure import DisclosureRule, apply, load_disclosure
from heattool.rules.outcomes import COMPARISON_ATTENDED, DENOMINATORS, MEASURES
from heattool.rules.outcomes import dimensions as report_dimensions
from heattool.rules.policy import Policy, policy_sha256
from heattool.schemas import RETURN_KINDS
from heattool.schemas.validate import ValidationResult, validate_file
from heattool.store import MEMORY, Store, outcome_reports, outcomes

EVENT = "outcomes-import"  # the audit event of each return loaded
MARGIN = "all"  # a margin's category in a report: the engine's null (the total) as shown
REPORT_FORMATS = ("text", "csv", "xlsx", "json")


@dataclass
class ReturnImport:
    """What importing one return did (or, in a dry run or when nothing loaded, would do)."""

    result: ValidationResult = field(repr=False)
    inserted: int = 0
    replaced: int = 0
    unchanged: int = 0
    return_batch_id: int | None = None
    previous_batch: int | None = None  # an earlier return batch that imported this very file
    previous_at: dt.datetime | None = None
    by_member: dict[str, int] = field(default_factory=dict)  # rows not rejected, by member

    @property
    def path(self) -> Path:
        return self.result.raw.path

    @property
    def rows(self) -> int:
        return self.result.rows

    @property
    def rejected(self) -> int:
        return self.result.invalid_rows

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.replaced)

    @property
    def file_errors(self) -> pl.DataFrame:
        """Errors about the file as a whole (its headings): it cannot be loaded as it is."""
        return self.result.errors.filter(pl.col("row").is_null())

    def rejected_by_code(self) -> dict[str, int]:
        """Rows with an error, by code (a row may have several)."""
        errors = self.result.errors.filter(pl.col("row").is_not_null())
        counts = errors.unique(["row", "code"]).group_by("code").len()
        return dict(counts.sort(["len", "code"], descending=[True, False]).iter_rows())

    def document(self) -> dict[str, Any]:
        column_of = {heading: column for column, heading in self.result.header.columns.items()}
        # Rows, cells, columns and codes; never the cells' values, which are outcomes.
        listed = ["row", "cell", "column", "code", "message"]
        return {
            "file": str(self.path),
            "target": self.result.kind,
            "sha256": self.result.raw.sha256,
            "return_batch_id": self.return_batch_id,
            "rows": self.rows,
            "inserted": self.inserted,
            "replaced": self.replaced,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "rejected_by_code": self.rejected_by_code(),
            "by_member": self.by_member,
            "previously_imported_batch": self.previous_batch,
            "headings": [
                {"heading": h, "column": column_of.get(h)} for h in self.result.raw.headers
            ],
            "errors": self.result.errors.select(listed).to_dicts(),
            "warnings": self.result.warnings.select(listed).to_dicts(),
        }


@dataclass
class OutcomesReport:
    """The outcome of one `heattool outcomes import` call."""

    target: str
    member: str | None  # None: each row's member is its heat_id's
    db: str
    dry_run: bool
    files: list[ReturnImport]
    loaded: bool  # False when nothing was written: a dry run, or a file with bad headings
    rejects_paths: list[Path] = field(default_factory=list)
    encrypted: bool = False  # the store is; the rejects files are not

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)

    @property
    def bad_files(self) -> list[ReturnImport]:
        """The files whose headings have errors: while there are any, nothing loads."""
        return [f for f in self.files if not f.file_errors.is_empty()]

    @property
    def by_member(self) -> dict[str, int]:
        total: dict[str, int] = {}
        for file in self.files:
            for member, rows in file.by_member.items():
                total[member] = total.get(member, 0) + rows
        return dict(sorted(total.items()))

    def document(self) -> dict[str, Any]:
        return {
            "target": self.target,
            "member": self.member,
            "db": self.db,
            "dry_run": self.dry_run,
            "loaded": self.loaded,
            "rejected": self.rejected,
            "rejects_files": [str(p) for p in self.rejects_paths],
            "rejects_encrypted": False if self.rejects_paths else None,
            "files": [f.document() for f in self.files],
        }


def import_returns(
    paths: Sequence[Path],
    *,
    target: str,
    member: str | None = None,
    db: Path | str | None = None,
    key: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
    encoding: str | None = None,
    as_of: dt.date | None = None,
    aliases: Path | None = None,
    dry_run: bool = False,
    rejects_out: Path | None = None,
    write_rejects: bool = True,
) -> OutcomesReport:
    """Validate every return, then load them all into the store in one transaction.

    Only an existing store is read; it is held while the returns are validated. Nothing is
    written when a file is unreadable, in a dry run, or when a file's headings have errors;
    otherwise valid rows load and the others go to a rejects file, as an import's do.
    """
    if target not in RETURN_KINDS:
        raise HeattoolError(f"--target must be one of {', '.join(RETURN_KINDS)}")
    check_output_path(rejects_out, folder_ok=True)
    now = utc_now()
    with Store.open_existing(db, key, migrate=False) as store:
        member = store.known_member(member)
        results = [
            validate_file(
                path,
                kind=target,
                sheet=sheet,
                header_row=header_row,
                encoding=encoding,
                as_of=as_of,
                aliases=aliases,
            )
            for path in paths
        ]
        report = _load(store, results, target, member, now, dry_run)
    # Written once the load is committed (or rolled back): a failed commit writes none.
    report.encrypted = key is not None
    if report.rejected and write_rejects and (rejects_out is not None or not dry_run):
        rejected = [f for f in report.files if f.rejected]
        for file in rejected:
            name = "stdin" if upload_name(file.path) == STDIN_NAME else file.path.stem
            default = _default_rejects(store, target, member, now, name)
            path = rejects_path(name, rejects_out, len(rejected), default)
            write_frame(file.result.rejected_rows(), path)
            report.rejects_paths.append(path)
    return report


def _load(
    store: Store,
    results: list[ValidationResult],
    target: str,
    member: str | None,
    now: dt.datetime,
    dry_run: bool,
) -> OutcomesReport:
    """Stage and write every return in one transaction; roll it back unless all may load.

    Migrations commit on their own first, as an import's do; a dry run on a store file
    migrates inside the transaction it rolls back.
    """
    migrate_apart = not dry_run or store.path == MEMORY
    if migrate_apart:
        store.migrate()
    with store.transaction() as tx:
        if not migrate_apart:
            store.migrate()
        files = [ReturnImport(r) for r in results]
        report = OutcomesReport(target, member, str(store.path), dry_run, files, loaded=False)
        for file in files:
            _load_file(store, file, target, member, now)
        report.loaded = not dry_run and not report.bad_files
        tx.commit = report.loaded
    return report


def _load_file(
    store: Store, file: ReturnImport, target: str, member: str | None, now: dt.datetime
) -> None:
    sha256 = file.result.raw.sha256
    previous = outcomes.previous_return(store, target, sha256)
    if previous:
        file.previous_batch, file.previous_at = previous
    file.return_batch_id = batch_id = outcomes.next_return_batch_id(store)
    with store.registered(outcomes.INCOMING, file.result.valid_frame()):
        rejected = outcomes.stage(store, target, member)
    if not rejected.is_empty():
        file.result = file.result.with_row_findings(rejected, outcomes.REJECTIONS)
    counts = outcomes.staged_counts(store)
    file.inserted = counts.get("inserted", 0)
    file.replaced = counts.get("replaced", 0)
    file.unchanged = counts.get("unchanged", 0)
    file.by_member = outcomes.staged_members(store)
    replaced_batches = outcomes.replaced_batches(store)
    outcomes.write_staged(store, target, batch_id, now)
    outcomes.record_return_batch(
        store,
        [
            batch_id,
            target,
            member,
            file.path.name,
            sha256,
            file.rows,
            file.inserted,
            file.replaced,
            file.unchanged,
            file.rejected,
            now,
        ],
    )
    # Counts, batches and heat_ids: never an outcome.
    store.audit(
        EVENT,
        member=member,
        sha256=sha256,
        details={
            "target": target,
            "return_batch_id": batch_id,
            "file": file.path.name,
            "rows": file.rows,
            "inserted": file.inserted,
            "replaced": file.replaced,
            "unchanged": file.unchanged,
            "rejected": file.rejected,
            "rejected_by_code": file.rejected_by_code(),
            "by_member": file.by_member,
            "replaced_return_batches": replaced_batches,
        },
        heat_ids_sql=outcomes.staged_changes_sql(),
    )
    outcomes.drop_staged(store)


def _default_rejects(
    store: Store, target: str, member: str | None, now: dt.datetime, name: str
) -> Path:
    """A return's rejects file beside the store, named after the target, member and time."""
    stem = "heattool" if store.path == MEMORY else Path(store.path).stem
    return store.folder / f"{stem}-rejects-{target}-{member or 'all'}-{file_stamp(now)}-{name}.csv"


# -- outcomes report -------------------------------------------------------------------------


@dataclass
class OutcomeTable:
    """One measure's table as it may be published under a disclosure rule, and what made it."""

    target: str
    measure: str
    kind: str  # rate or mean
    dimensions: list[str]
    member: str | None
    db: str
    as_of: dt.date
    created_at: dt.datetime
    rule: DisclosureRule
    policy: Policy
    policy_sha256: str
    table: pl.DataFrame  # rules/disclosure.apply's, margins null
    people: int  # the students in the table: with a return row, none left out
    left_out: dict[str, int]  # finding code -> students in no cell
    batches: list[dict[str, Any]]  # the return batches the people's rows came from
    out: Path | None = None
    file_format: str = "text"
    file_sha256: str | None = None

    @property
    def banner(self) -> str | None:
        return self.rule.banner

    @property
    def denominator(self) -> str:
        return DENOMINATORS[self.measure]

    def suppressed(self) -> list[dict[str, Any]]:
        """Every suppressed cell: its categories, code, primary or secondary, what it hides."""
        hidden = self.table.filter(pl.col("suppression").is_not_null())
        return [
            {
                "cell": {d: row[d] if row[d] is not None else MARGIN for d in self.dimensions},
                "code": row["suppressed"],
                "suppression": row["suppression"],
                "hidden": row["hidden"],
            }
            for row in hidden.iter_rows(named=True)
        ]

    def frame(self) -> pl.DataFrame:
        """The table for a file: margins as `all`, the hidden columns' names as text, and the
        banner of an unpublishable rule on every row, under a heading that is the banner."""
        frame = self.table.with_columns(
            *(pl.col(d).fill_null(MARGIN) for d in self.dimensions),
            pl.col("hidden").list.join(" "),
        )
        if self.banner:
            frame = frame.select(pl.lit(self.banner).alias(self.banner), pl.all())
        return frame

    def manifest(self) -> dict[str, Any]:
        document: dict[str, Any] = {}
        if self.banner:
            document["banner"] = self.banner
        suppressed = self.suppressed()
        document |= {
            "report": "outcomes",
            "target": self.target,
            "measure": self.measure,
            "kind": self.kind,
            "denominator": self.denominator,
            "dimensions": self.dimensions,
            "member": self.member,
            "store": self.db,
            "as_of": self.as_of.isoformat(),
            "created_at": utc_text(self.created_at),
            "tool_version": __version__,
            "file": self.out.name if self.out else None,
            "format": self.file_format,
            "sha256": self.file_sha256,
            "return_batches": [
                {**b, "imported_at": utc_text(b["imported_at"])} for b in self.batches
            ],
            "policy": {
                "name": self.policy.name,
                "version": self.policy.version,
                "sha256": self.policy_sha256,
            },
            "disclosure": {
                "name": self.rule.name,
                "source": self.rule.source,
                "sha256": self.rule.sha256,
                "publishable": self.rule.publishable,
            },
            "people": self.people,
            "left_out": self.left_out,
            "cells": self.table.height,
            "suppressed_cells": len(suppressed),
            "suppressed": suppressed,
        }
        return document


def report_outcomes(
    store: Store,
    policy: Policy,
    *,
    target: str,
    measure: str,
    dimensions: Sequence[str],
    member: str | None = None,
    disclosure: str | Path = DEFAULT_DISCLOSURE,
    as_of: dt.date | None = None,
    out: Path | None = None,
    file_format: str = "text",
) -> OutcomeTable:
    """One measure's table by one or two dimensions, made safe by `disclosure`, and written to
    `out` (csv, xlsx or json) with `out`.manifest.json beside it."""
    dims = _check_report(target, measure, dimensions, out, file_format)
    rule = load_disclosure(disclosure)
    member = store.known_member(member)
    settings = policy.outcomes
    cells = outcome_reports.outcome_cells(store, settings, target, measure, dims, member)
    who = outcome_reports.report_people(store, settings, target, member)
    report = OutcomeTable(
        target=target,
        measure=measure,
        kind=MEASURES[target][measure],
        dimensions=dims,
        member=member,
        db=str(store.path),
        as_of=as_of or dt.date.today(),
        created_at=utc_now(),
        rule=rule,
        policy=policy,
        policy_sha256=policy_sha256(policy),
        table=apply(rule, cells, dims),
        people=who["people"],
        left_out={COMPARISON_ATTENDED: who[COMPARISON_ATTENDED]},
        batches=who["batches"],
        out=out,
        file_format=file_format,
    )
    if out is not None:
        write_frame(report.frame(), out, {"report": f"{target} {measure} by {', '.join(dims)}"})
        report.file_sha256 = hashlib.sha256(out.read_bytes()).hexdigest()
        manifest = report.manifest()
        if report.banner:  # one line, so that every line of it says so
            write_text(json.dumps(manifest, default=str) + "\n", manifest_path(out))
        else:
            write_json(manifest, manifest_path(out))
    return report


def manifest_path(out: Path) -> Path:
    return Path(f"{out}.manifest.json")


def _check_report(
    target: str, measure: str, dimensions: Sequence[str], out: Path | None, file_format: str
) -> list[str]:
    if target not in MEASURES:
        raise HeattoolError(f"--target must be one of {', '.join(MEASURES)}")
    if measure not in MEASURES[target]:
        raise HeattoolError(
            f"--measure {measure}: not a {target} measure; give one of "
            f"{', '.join(MEASURES[target])}"
        )
    dims = list(dimensions)
    allowed = report_dimensions(target)
    for dim in dims:
        if dim not in allowed:
            raise HeattoolError(
                f"--by {dim}: not a dimension of a {target} report; give one of "
                f"{', '.join(allowed)}"
            )
    if not 1 <= len(dims) <= 2 or len(set(dims)) != len(dims):
        raise HeattoolError("--by: give one or two different dimensions, e.g. --by group")
    if file_format not in REPORT_FORMATS:
        raise HeattoolError(f"--format must be one of {', '.join(REPORT_FORMATS)}")
    if out is None and file_format == "xlsx":
        raise HeattoolError("--format xlsx writes a workbook: give --out FILE.xlsx")
    if out is not None:
        if file_format == "text":
            raise HeattoolError("--out writes csv, xlsx or json: give --format or a .csv name")
        check_output_path(out, (f".{file_format}",), f"for --format {file_format}")
        check_output_path(manifest_path(out), DOCUMENT_SUFFIXES)
    return dims


def run_outcomes_report(
    db: Path | str | None, key: str | None, policy: Policy, **options: Any
) -> OutcomeTable:
    """`heattool outcomes report`: open the store read-only, make the table, close the store."""
    with Store.open_existing(db, key) as store:
        return report_outcomes(store, policy, **options)
