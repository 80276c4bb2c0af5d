"""`heattool import`: validate uploads and load their valid rows into the store, atomically."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from heattool.background import Background, beside
from heattool.clock import file_stamp, utc_now
from heattool.errors import HeattoolError, UnknownKind
from heattool.io.files import rejects_path
from heattool.io.readers import STDIN_NAME, upload_name
from heattool.io.writers import check_output_path, write_frame
from heattool.progress import Progress, nowhere
from heattool.rules.entry_year import LABEL, NATION, SOURCE, YEAR, expected_entry_year
from heattool.schemas import PERSON_KINDS, REF_COLUMNS, member_code
from heattool.schemas.headers import kind_columns
from heattool.schemas.validate import ValidationResult, validate_file
from heattool.store import MEMORY, Store, loading, resolve_db_path
from heattool.store.people import SCHOOL_NATION

LOAD_ORDER = ("activities", "students", "ambassadors", "attendance")  # referenced kinds first
ON_INVALID = ("reject", "abort")


@dataclass
class FileImport:
    """What importing one upload did (or, in a dry run or an abort, would have done)."""

    result: ValidationResult = field(repr=False)
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    batch_id: int | None = None
    previous_batch: int | None = None  # an earlier batch that imported this very file
    previous_at: dt.datetime | None = None

    @property
    def path(self) -> Path:
        return self.result.raw.path

    @property
    def kind(self) -> str:
        return self.result.kind

    @property
    def rows(self) -> int:
        return self.result.rows

    @property
    def rejected(self) -> int:
        return self.result.invalid_rows

    @property
    def changed(self) -> bool:
        return bool(self.inserted or self.updated)

    def document(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "kind": self.kind,
            "sha256": self.result.raw.sha256,
            "batch_id": self.batch_id,
            "rows": self.rows,
            "inserted": self.inserted,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "previously_imported_batch": self.previous_batch,
            "headings": self.result.headings(),
            "warnings": self.result.reported(self.result.warnings)
            .select("row", "cell", "column", "value", "code", "message")
            .to_dicts(),
        }


@dataclass
class ImportReport:
    """The outcome of one `heattool import` call."""

    member: str
    db: str
    dry_run: bool
    on_invalid: str
    files: list[FileImport]
    loaded: bool  # False when nothing was written: a dry run, or an abort on invalid rows
    rejects_paths: list[Path] = field(default_factory=list)
    encrypted: bool = False  # the store is; the rejects files are not

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files)

    @property
    def rejected(self) -> int:
        return sum(f.rejected for f in self.files)

    def document(self) -> dict[str, Any]:
        return {
            "member": self.member,
            "db": self.db,
            "dry_run": self.dry_run,
            "on_invalid": self.on_invalid,
            "loaded": self.loaded,
            "rejected": self.rejected,
            "rejects_files": [str(p) for p in self.rejects_paths],
            "rejects_encrypted": False if self.rejects_paths else None,
            "files": [f.document() for f in self.files],
        }


ENTRY_YEAR_COLUMNS = (YEAR, LABEL, SOURCE, SCHOOL_NATION)


def import_paths(
    paths: Sequence[Path],
    *,
    member: str,
    db: Path | str | None = None,
    key: str | None = None,
    kind: str | None = None,
    sheet: str | None = None,
    header_row: int | None = None,
    encoding: str | None = None,
    as_of: dt.date | None = None,
    aliases: Path | None = None,
    dry_run: bool = False,
    on_invalid: str = "reject",
    rejects_out: Path | None = None,
    allow_previously_erased: bool = False,
    write_rejects: bool = True,
    progress: Progress = nowhere,
) -> ImportReport:
    """Validate every upload, then load them all in one transaction, referenced kinds first.

    Nothing is written when any file is unreadable, in a dry run, or (with on_invalid='abort')
    when any row is invalid; otherwise valid rows load and invalid ones go to the rejects file.
    """
    member = member_code(member)
    check_output_path(rejects_out, folder_ok=True)
    if on_invalid not in ON_INVALID:
        raise HeattoolError(f"--on-invalid must be one of {', '.join(ON_INVALID)}")
    target = resolve_db_path(db)
    if dry_run and target != MEMORY and not Path(target).exists():
        target_to_open: Path | str = MEMORY  # a dry run must not create the store
    else:
        target_to_open = target
    now = utc_now()
    # While the uploads are validated, a second thread loads pyarrow (DuckDB's first Arrow
    # scan would, for 0.09 s) and opens the store if it exists and has no write-ahead log to
    # replay (docs/benchmarks.md, "Import"). A new store is made only once every upload has
    # been read: an unreadable upload leaves no file behind, and a store that is there is not
    # written.
    beside_validation = target_to_open == MEMORY or (
        Path(target_to_open).exists() and not Path(f"{target_to_open}.wal").exists()
    )
    opening = beside(_open_beside, target_to_open if beside_validation else None, key)
    try:
        results = []
        for path in paths:
            results.append(_validate(path, kind, sheet, encoding, as_of, aliases, header_row))
            progress(f"validated {path.name}", results[-1].rows)
        opened = opening.result()  # an error opening the store comes after validation's
    except BaseException:
        _close_opened(opening)
        raise
    created = target_to_open != MEMORY and not Path(target_to_open).exists()
    store = opened if opened is not None else Store.open(target_to_open, key, migrate=False)
    try:
        report, files = _load(
            store, results, member, now, target, dry_run, on_invalid, allow_previously_erased
        )
    except BaseException:
        if created:  # a new store that loaded nothing is not left behind
            Store.remove(Path(target_to_open))
        raise
    progress(f"loaded into {target}" if report.loaded else "loaded nothing", report.rows)
    if created and not report.loaded:
        Store.remove(Path(target_to_open))
    # Written once the load is committed (or rolled back): a failed commit writes none.
    report.encrypted = key is not None
    if report.rejected and write_rejects and (rejects_out is not None or not dry_run):
        rejected = [f for f in files if f.rejected]
        for file in rejected:
            path = _rejects_path(file.path, rejects_out, len(rejected), target, member, now)
            about = {
                "what": f"the rows of {file.path.name} heattool import rejected: fix the cells, "
                "then import this file again (the heattool_ columns are ignored)",
                "store": str(target),
                "member": member,
                "rows rejected": file.rejected,
            }
            write_frame(file.result.rejected_rows(), path, about)
            report.rejects_paths.append(path)
    return report


def _load(
    store: Store,
    results: list[ValidationResult],
    member: str,
    now: dt.datetime,
    target: Path | str,
    dry_run: bool,
    on_invalid: str,
    allow_previously_erased: bool,
) -> tuple[ImportReport, list[FileImport]]:
    """Load the validated uploads into the store in one transaction, and close it."""
    target_to_open = store.path
    with store:
        # Migrations commit on their own, before the load: in one transaction with a large
        # INSERT ... ORDER BY, DuckDB 1.5.5 could not see the rows just inserted. A dry run on
        # a store file migrates inside the load's transaction, which is rolled back.
        migrate_apart = not dry_run or target_to_open == MEMORY
        if migrate_apart:
            store.migrate()
        with store.transaction() as tx:
            if not migrate_apart:
                store.migrate()
            files = [FileImport(r) for r in sorted(results, key=lambda r: LOAD_ORDER.index(r.kind))]
            report = ImportReport(member, str(target), dry_run, on_invalid, files, loaded=False)
            store.ensure_member(member)
            for file in files:
                _load_file(store, file, member, now, allow_previously_erased)
            report.loaded = not dry_run and not (on_invalid == "abort" and report.rejected)
            tx.commit = report.loaded
    return report, files


def _open_beside(target: Path | str | None, key: str | None) -> Store | None:
    """Load what DuckDB's Arrow scans need; open the store at `target`, if one is given."""
    import pyarrow.compute
    import pyarrow.dataset  # noqa: F401

    return None if target is None else Store.open(target, key, migrate=False)


def _close_opened(opening: Background[Store | None]) -> None:
    """Close the store opened beside the validation, once it has opened, if it did."""
    opened = opening.settle()
    if opened is not None:
        opened.close()


def _entry_year(kind: str, typed: pl.DataFrame) -> pl.DataFrame:
    """A person's Expected HE Entry Year, worked out while validation checks the rows.

    Only valid rows load, and their postcodes are as validation leaves them.
    """
    if kind not in PERSON_KINDS:
        return typed
    derived = expected_entry_year(typed, canonical_postcodes=True, with_nation=True)
    return derived.rename({NATION: SCHOOL_NATION})  # the nation whose cut-off it used


def _validate(
    path: Path,
    kind: str | None,
    sheet: str | None,
    encoding: str | None,
    as_of: dt.date | None,
    aliases: Path | None,
    header_row: int | None = None,
) -> ValidationResult:
    try:
        return validate_file(
            path,
            kind=kind,
            sheet=sheet,
            header_row=header_row,
            encoding=encoding,
            as_of=as_of,
            aliases=aliases,
            derive=_entry_year,
        )
    except UnknownKind as exc:
        raise UnknownKind(f"{upload_name(path)}: {exc}") from None


def _rejects_path(
    upload: Path,
    rejects_out: Path | None,
    files: int,
    db: Path | str,
    member: str,
    now: dt.datetime,
) -> Path:
    """One rejects file per upload (`rejects_path`); by default beside the store."""
    name = "stdin" if upload_name(upload) == STDIN_NAME else upload.stem  # no `<>` in a name
    folder = Path.cwd() if db == MEMORY else Path(db).parent
    stem = "heattool" if db == MEMORY else Path(db).stem
    default = folder / f"{stem}-rejects-{member}-{file_stamp(now)}-{name}.csv"
    return rejects_path(name, rejects_out, files, default)


def _load_file(
    store: Store,
    file: FileImport,
    member: str,
    now: dt.datetime,
    allow_previously_erased: bool = False,
) -> None:
    previous = loading.previous_import(store, member, file.kind, file.result.raw.sha256)
    if previous:
        file.previous_batch, file.previous_at = previous
    file.batch_id = batch_id = store.next_batch_id()
    attributes = stored_attributes(file.kind) if file.kind != "attendance" else []
    first = False  # the member's first rows of this kind: written while staged
    with store.registered(loading.INCOMING, file.result.valid_frame()):
        if file.kind == "attendance":
            unknown = loading.stage_attendance(store, member)
            if not unknown.is_empty():
                file.result = _with_reference_findings(file.result, unknown)
        elif _stage_keyed(store, file, member, attributes, allow_previously_erased):
            first = True
            loading.insert_first(store, file.kind, member, batch_id, now, attributes)
        counts = loading.staged_counts(store)
        file.inserted = counts.get("inserted", 0)
        file.updated = counts.get("updated", 0)
        file.unchanged = counts.get("unchanged", 0)
        if file.kind == "attendance":
            loading.write_attendance(store, member, batch_id, now)
        elif not first:
            loading.update_staged(store, file.kind, member, batch_id, now, attributes)
            if file.kind == "activities":
                loading.refresh_after_activities(store, member)
    loading.record_batch(
        store,
        [
            batch_id,
            member,
            file.kind,
            file.path.name,
            file.result.raw.sha256,
            file.rows,
            file.inserted,
            file.updated,
            file.unchanged,
            file.rejected,
            now,
        ],
    )
    store.audit(
        "import",
        member=member,
        batch_id=batch_id,
        sha256=file.result.raw.sha256,
        details={
            "kind": file.kind,
            "rows": file.rows,
            "inserted": file.inserted,
            "updated": file.updated,
            "unchanged": file.unchanged,
            "rejected": file.rejected,
        },
        heat_ids_sql=loading.staged_changes_sql(file.kind),
    )
    loading.drop_staged(store, view=first)


def stored_attributes(kind: str) -> list[str]:
    """The columns an upload row sets: its own (less the ref) and, for people, the entry year."""
    ref = REF_COLUMNS[kind]
    own = [c for c in kind_columns(kind)[0] if c != ref]
    derived = [c for c in ENTRY_YEAR_COLUMNS if c not in own] if kind in PERSON_KINDS else []
    return own + derived


def _stage_keyed(
    store: Store,
    file: FileImport,
    member: str,
    attributes: list[str],
    allow_previously_erased: bool = False,
) -> bool:
    """Classify each incoming row as inserted, updated or unchanged.

    A person on the suppression list (erased at their request) is rejected as previously-erased
    unless `allow_previously_erased` (new consent), which takes them off the list.

    True, and nothing staged, when the member has no rows of this kind yet and nobody to
    suppress: then every row is new.
    """
    kind = file.kind
    # Hashing every incoming person costs a second per million: only when anyone was erased.
    erased_before = kind in PERSON_KINDS and loading.anyone_erased(store, member, kind)
    if not erased_before and not loading.has_rows(store, kind, member):
        return True  # every row is new: `insert_first` loads them straight from the upload
    erased_rows = loading.stage_keyed(
        store,
        kind,
        member,
        attributes,
        check_erased=erased_before,
        allow_previously_erased=allow_previously_erased,
    )
    if erased_rows.is_empty():
        return False
    if allow_previously_erased:
        loading.readmit_staged(store, kind, member)
        store.audit(
            "readmit",
            member=member,
            sha256=file.result.raw.sha256,
            details={"kind": kind, "people": erased_rows.height, "reason": "new consent"},
        )
    else:
        ref = REF_COLUMNS[kind]
        assert ref is not None
        file.result = _with_reference_findings(
            file.result, erased_rows, [(ref, "_erased", "previously-erased")]
        )
    return False


def _with_reference_findings(
    result: ValidationResult,
    rejected: pl.DataFrame,
    flags: Sequence[tuple[str, str, str]] = (
        ("student_ref", "_no_student", "unknown-student"),
        ("activity_ref", "_no_activity", "unknown-activity"),
    ),
) -> ValidationResult:
    """The validation result with findings only the store can make (field, flag, code) added."""
    return result.with_row_findings(rejected, flags)
