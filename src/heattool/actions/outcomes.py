"""`heattool outcomes import`: load track returns (HESA, NPD) into the store, atomically.

A return is read and validated as an upload is (the same readers, aliases, parsers and finding
codes), against heattool's own return schema of its target. Its rows name people by heat_id:
one the store does not hold (of `--member`, with one) is rejected as `unknown-heat-id`, one never
sent in a recorded track request of the target as `not-requested`. Every file of a call loads in
one transaction, and a file whose headings have errors loads nothing of any.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from heattool.clock import file_stamp, utc_now
from heattool.errors import HeattoolError
from heattool.io.files import rejects_path
from heattool.io.readers import STDIN_NAME, upload_name
from heattool.io.writers import check_output_path, write_frame
from heattool.schemas import RETURN_KINDS
from heattool.schemas.validate import ValidationResult, validate_file
from heattool.store import MEMORY, Store, outcomes

EVENT = "outcomes-import"  # the audit event of each return loaded


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
