"""Load validated uploads into the store: the core of `heattool import` and `heattool summary`."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console

from heattool import __version__
from heattool.errors import HeattoolError, StoreError, UnknownKind
from heattool.findings import CODES, message
from heattool.io.writers import write_csv
from heattool.rules.entry_year import LABEL, SOURCE, YEAR, expected_entry_year
from heattool.schemas import REF_COLUMNS
from heattool.schemas.headers import kind_columns
from heattool.schemas.validate import INDEX, ROW, ValidationResult, _column_letter, validate_file
from heattool.store import MEMORY, Store, resolve_db_path
from heattool.store.personal import identity_hash_sql
from heattool.store.store import utc_now

LOAD_ORDER = ("activities", "students", "ambassadors", "attendance")  # referenced kinds first
PERSON_KINDS = ("students", "ambassadors")
ON_INVALID = ("reject", "abort")
MEMBER_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
RECENT_IMPORTS = 10


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
    rejects_path: Path | None = None

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
            "rejects_file": str(self.rejects_path) if self.rejects_path else None,
            "files": [f.document() for f in self.files],
        }


ENTRY_YEAR_COLUMNS = (YEAR, LABEL, SOURCE)


def check_member(member: str) -> str:
    if not MEMBER_CODE.match(member or ""):
        raise HeattoolError(
            f"'{member}' is not a member code; use letters, digits, '-', '_' or '.', e.g. KENT"
        )
    return member


def import_paths(
    paths: Sequence[Path],
    *,
    member: str,
    db: Path | str | None = None,
    key: str | None = None,
    kind: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    as_of: dt.date | None = None,
    dry_run: bool = False,
    on_invalid: str = "reject",
    rejects_out: Path | None = None,
    allow_previously_erased: bool = False,
) -> ImportReport:
    """Validate every upload, then load them all in one transaction, referenced kinds first.

    Nothing is written when any file is unreadable, in a dry run, or (with on_invalid='abort')
    when any row is invalid; otherwise valid rows load and invalid ones go to the rejects file.
    """
    check_member(member)
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
    # replay. A new store is made only once every upload has been read, as before: an
    # unreadable upload leaves no file behind, and a store that is there is not written.
    beside = target_to_open == MEMORY or (
        Path(target_to_open).exists() and not Path(f"{target_to_open}.wal").exists()
    )
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        opening = pool.submit(_open_beside, target_to_open if beside else None, key)
        try:
            results = [_validate(path, kind, sheet, encoding, as_of) for path in paths]
            opened = opening.result()  # an error opening the store comes after validation's
        except BaseException:
            opening.add_done_callback(_close_opened)  # now, or once the store has opened
            raise
    store = opened if opened is not None else Store.open(target_to_open, key)
    with store, store.transaction() as tx:
        files = [FileImport(r) for r in sorted(results, key=lambda r: LOAD_ORDER.index(r.kind))]
        report = ImportReport(member, str(target), dry_run, on_invalid, files, loaded=False)
        store.migrate()
        store.ensure_member(member)
        for file in files:
            _load_file(store, file, member, now, allow_previously_erased)
        report.loaded = not dry_run and not (on_invalid == "abort" and report.rejected)
        tx.commit = report.loaded
        if report.rejected and (rejects_out is not None or not dry_run):
            report.rejects_path = rejects_out or _default_rejects_path(target, member, now)
            write_csv(rejected_rows(files), report.rejects_path)
    return report


def _open_beside(target: Path | str | None, key: str | None) -> Store | None:
    """Load what DuckDB's Arrow scans need; open the store at `target`, if one is given."""
    import pyarrow.compute
    import pyarrow.dataset  # noqa: F401

    return None if target is None else Store.open(target, key)


def _close_opened(opening: concurrent.futures.Future[Store | None]) -> None:
    if not opening.cancelled() and opening.exception() is None and opening.result() is not None:
        opening.result().close()


def _entry_year(kind: str, typed: pl.DataFrame) -> pl.DataFrame:
    """A person's Expected HE Entry Year, worked out while validation checks the rows.

    Only valid rows load, and their postcodes are as validation leaves them.
    """
    if kind not in PERSON_KINDS:
        return typed
    return expected_entry_year(typed, canonical_postcodes=True)


def _validate(
    path: Path, kind: str | None, sheet: str | None, encoding: str | None, as_of: dt.date | None
) -> ValidationResult:
    try:
        return validate_file(
            path, kind=kind, sheet=sheet, encoding=encoding, as_of=as_of, derive=_entry_year
        )
    except UnknownKind as exc:
        raise UnknownKind(f"{path}: {exc}") from None


def _default_rejects_path(db: Path | str, member: str, now: dt.datetime) -> Path:
    folder = Path.cwd() if db == MEMORY else Path(db).parent
    stem = "heattool" if db == MEMORY else Path(db).stem
    return folder / f"{stem}-rejects-{member}-{now:%Y%m%dT%H%M%S}.csv"


def rejected_rows(files: Sequence[FileImport]) -> pl.DataFrame:
    """Every rejected row of every file: file, row number, original cells, codes and messages."""
    frames = [
        f.result.rejected_rows().select(pl.lit(str(f.path)).alias("file"), pl.all())
        for f in files
        if f.rejected
    ]
    frame = pl.concat(frames, how="diagonal_relaxed")
    tail = ["error_codes", "error_messages"]
    return frame.select("file", "row", pl.exclude("file", "row", *tail), *tail)


def _load_file(
    store: Store,
    file: FileImport,
    member: str,
    now: dt.datetime,
    allow_previously_erased: bool = False,
) -> None:
    con = store.con
    previous = con.execute(
        "SELECT batch_id, imported_at FROM import_batches "
        "WHERE member = ? AND kind = ? AND sha256 = ? ORDER BY batch_id LIMIT 1",
        [member, file.kind, file.result.raw.sha256],
    ).fetchone()
    if previous:
        file.previous_batch, file.previous_at = previous
    file.batch_id = store.next_batch_id()
    first = False  # the member's first rows of this kind: written while staged
    with store.registered("incoming", file.result.valid_frame()):
        if file.kind == "attendance":
            _stage_attendance(store, file, member)
        elif _stage_keyed(store, file, member, allow_previously_erased):
            first = True
            _insert_first(store, file.kind, member, file.batch_id, now)
        counts = dict(
            con.execute("SELECT _change, count(*) FROM staged GROUP BY _change").fetchall()
        )
        file.inserted = counts.get("inserted", 0)
        file.updated = counts.get("updated", 0)
        file.unchanged = counts.get("unchanged", 0)
        if file.kind == "attendance":
            _write_attendance(store, member, file.batch_id, now)
            refresh_last_activity(
                store, member, "SELECT student_ref FROM staged WHERE _change = 'inserted'"
            )
        elif not first:
            _write_keyed(store, file.kind, member, file.batch_id, now)
            if file.kind == "activities":  # an undated register row counts from its start
                refresh_last_activity(
                    store,
                    member,
                    """SELECT student_ref FROM attendance WHERE member = $member AND activity_ref
                       IN (SELECT activity_ref FROM staged WHERE _change = 'updated')""",
                )
    con.execute(
        "INSERT INTO import_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            file.batch_id,
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
            __version__,
        ],
    )
    heat_ids = None
    if file.kind in PERSON_KINDS:
        heat_ids = (
            "SELECT heat_id, _change AS change FROM staged WHERE _change IN ('inserted', 'updated')"
        )
    elif file.kind == "attendance":
        heat_ids = (
            "SELECT DISTINCT heat_id, 'attended' AS change FROM staged WHERE _change = 'inserted'"
        )
    store.audit(
        "import",
        member=member,
        batch_id=file.batch_id,
        sha256=file.result.raw.sha256,
        details={
            "kind": file.kind,
            "rows": file.rows,
            "inserted": file.inserted,
            "updated": file.updated,
            "unchanged": file.unchanged,
            "rejected": file.rejected,
        },
        heat_ids_sql=heat_ids,
    )
    con.execute(f"DROP {'VIEW' if first else 'TABLE'} staged")


def stored_attributes(kind: str) -> list[str]:
    """The columns an upload row sets: its own (less the ref) and, for people, the entry year."""
    ref = REF_COLUMNS[kind]
    own = [c for c in kind_columns(kind)[0] if c != ref]
    derived = [c for c in ENTRY_YEAR_COLUMNS if c not in own] if kind in PERSON_KINDS else []
    return own + derived


def _stage_keyed(
    store: Store, file: FileImport, member: str, allow_previously_erased: bool = False
) -> bool:
    """Classify each incoming row as inserted, updated or unchanged, in one statement.

    A person on the suppression list (erased at their request) is rejected as previously-erased
    unless `allow_previously_erased` (new consent), which takes them off the list.

    True, and nothing staged, when the member has no rows of this kind yet and nobody to
    suppress: then every row is new.
    """
    kind = file.kind
    ref = REF_COLUMNS[kind]
    attributes = stored_attributes(kind)
    same = " AND ".join(f"i.{c} IS NOT DISTINCT FROM t.{c}" for c in attributes)
    person = kind in PERSON_KINDS
    heat_id = ", coalesce(t.heat_id, gen_random_uuid()) AS heat_id" if person else ""
    # Hashing every incoming person costs a second per million: only when anyone was erased.
    anyone_erased = (
        person
        and store.con.execute(
            "SELECT count(*) FROM suppression_list WHERE member = ? AND kind = ?", [member, kind]
        ).fetchone()[0]
    )
    has_rows = store.con.execute(
        f"SELECT count(*) FROM (SELECT 1 FROM {kind} WHERE member = ? LIMIT 1)", [member]
    ).fetchone()[0]
    if not has_rows and not anyone_erased:
        return True  # every row is new: `_insert_first` loads them straight from the upload
    erased = (
        f"""EXISTS (SELECT 1 FROM suppression_list AS x WHERE x.member = $member
                    AND x.kind = '{kind}' AND x.identity_hash = {identity_hash_sql("i")})"""
        if anyone_erased
        else "false"
    )
    store.con.execute(
        f"""
        CREATE TEMP TABLE staged AS
        SELECT *, CASE WHEN _erased AND NOT $allow THEN 'rejected'
                       WHEN _exists IS NULL THEN 'inserted'
                       WHEN _same THEN 'unchanged'
                       ELSE 'updated' END AS _change
        FROM (
            SELECT i.*{heat_id}, t.{ref} AS _exists, {same} AS _same, {erased} AS _erased
            FROM incoming AS i
            LEFT JOIN {kind} AS t ON t.member = $member AND t.{ref} = i.{ref}
        )
        """,
        {"member": member, "allow": allow_previously_erased},
    )
    erased_rows = store.con.execute(
        f"SELECT {INDEX}, {ROW}, {ref}, _erased FROM staged WHERE _erased"
    ).pl()
    if erased_rows.is_empty():
        return False
    if allow_previously_erased:
        store.con.execute(
            f"""
            DELETE FROM suppression_list AS x
            WHERE x.member = $member AND x.kind = '{kind}' AND x.identity_hash IN (
                SELECT {identity_hash_sql("s")} FROM staged AS s WHERE s._erased)
            """,
            {"member": member},
        )
        store.audit(
            "readmit",
            member=member,
            sha256=file.result.raw.sha256,
            details={"kind": kind, "people": erased_rows.height, "reason": "new consent"},
        )
    else:
        file.result = _with_reference_findings(
            file.result, erased_rows, [(ref, "_erased", "previously-erased")]
        )
    return False


def _insert_first(store: Store, kind: str, member: str, batch_id: int, now: dt.datetime) -> None:
    """Insert every incoming row (none is in the store yet); `staged` then names them.

    Classifying a million new rows against an empty table took a second of a 6 s import.
    """
    ref = REF_COLUMNS[kind]
    person = kind in PERSON_KINDS
    new_heat_id = {"heat_id": "gen_random_uuid()"} if person else {}
    _insert_new(store, kind, member, batch_id, now, "incoming", new_heat_id)
    # What the rest of the load reads from `staged`: the rows just inserted. The member code is
    # checked (MEMBER_CODE) and the batch an integer, so both can stand in the view's text.
    heat_id = "heat_id, " if person else ""
    store.con.execute(
        f"""
        CREATE TEMP VIEW staged AS
        SELECT {ref}, {heat_id}'inserted' AS _change FROM {kind}
        WHERE member = '{check_member(member)}' AND batch_id = {int(batch_id)}
        """
    )


def _insert_new(
    store: Store,
    kind: str,
    member: str,
    batch_id: int,
    now: dt.datetime,
    source: str,
    computed: dict[str, str] | None = None,
) -> None:
    """Insert the rows of `source` as new, in key order; `computed` columns come from SQL."""
    ref = REF_COLUMNS[kind]
    computed = computed or {}
    columns = [ref, *(["heat_id"] if kind in PERSON_KINDS else []), *stored_attributes(kind)]
    values = [computed.get(c, c) for c in columns]
    store.con.execute(
        f"""
        INSERT INTO {kind} (member, {", ".join(columns)}, created_at, updated_at, batch_id)
        SELECT $member, {", ".join(values)}, $now, $now, $batch
        FROM {source}
        ORDER BY {ref}  -- the primary-key index builds and commits 3x faster from sorted keys
        """,
        {"member": member, "now": now, "batch": batch_id},
    )


def _write_keyed(store: Store, kind: str, member: str, batch_id: int, now: dt.datetime) -> None:
    ref = REF_COLUMNS[kind]
    attributes = stored_attributes(kind)
    params = {"member": member, "now": now, "batch": batch_id}
    _insert_new(
        store, kind, member, batch_id, now, "(SELECT * FROM staged WHERE _change = 'inserted')"
    )
    assignments = ", ".join(f"{c} = s.{c}" for c in attributes)
    store.con.execute(
        f"""
        UPDATE {kind} AS t SET {assignments}, updated_at = $now, batch_id = $batch
        FROM staged AS s
        WHERE s._change = 'updated' AND t.member = $member AND t.{ref} = s.{ref}
        """,
        params,
    )


def _stage_attendance(store: Store, file: FileImport, member: str) -> None:
    """Classify register rows; a row naming a student or activity unknown to the member is
    rejected as unknown-student / unknown-activity."""
    store.con.execute(
        """
        CREATE TEMP TABLE staged AS
        SELECT i.*, s.heat_id,
               s.student_ref IS NULL AS _no_student,
               a.activity_ref IS NULL AS _no_activity,
               CASE WHEN s.student_ref IS NULL OR a.activity_ref IS NULL THEN 'rejected'
                    WHEN x.student_ref IS NOT NULL THEN 'unchanged'
                    ELSE 'inserted' END AS _change
        FROM incoming AS i
        LEFT JOIN students AS s ON s.member = $member AND s.student_ref = i.student_ref
        LEFT JOIN activities AS a ON a.member = $member AND a.activity_ref = i.activity_ref
        LEFT JOIN attendance AS x
               ON x.member = $member AND x.student_ref = i.student_ref
              AND x.activity_ref = i.activity_ref
              AND x.attended_on IS NOT DISTINCT FROM i.attended_on
        """,
        {"member": member},
    )
    unknown = store.con.execute(
        f"SELECT {INDEX}, {ROW}, student_ref, activity_ref, _no_student, _no_activity "
        "FROM staged WHERE _change = 'rejected'"
    ).pl()
    if not unknown.is_empty():
        file.result = _with_reference_findings(file.result, unknown)


def _with_reference_findings(
    result: ValidationResult,
    rejected: pl.DataFrame,
    flags: Sequence[tuple[str, str, str]] = (
        ("student_ref", "_no_student", "unknown-student"),
        ("activity_ref", "_no_activity", "unknown-activity"),
    ),
) -> ValidationResult:
    """The validation result with findings only the store can make (field, flag, code) added."""
    sheet = f"{result.raw.sheet}!" if result.raw.sheet else ""
    parts = []
    for name, flag, code in flags:
        heading = result.header.columns[name]
        letter = _column_letter(result.header.positions[name])
        parts.append(
            rejected.filter(pl.col(flag)).select(
                pl.col(ROW).cast(pl.Int64).alias("row"),
                pl.format(f"{sheet}{letter}{{}}", pl.col(ROW)).alias("cell"),
                pl.lit(heading).alias("column"),
                pl.lit(name).alias("field"),
                pl.col(name).alias("value"),
                pl.lit(code).alias("code"),
                pl.lit(CODES[code].severity).alias("severity"),
                pl.lit(message(code, heading)).alias("message"),
            )
        )
    findings = pl.concat([result.findings, *parts], how="vertical_relaxed").sort(
        "row", nulls_last=False, maintain_order=True
    )
    invalid = pl.concat([result.invalid_index, rejected[INDEX].cast(pl.UInt32)]).unique().sort()
    return dataclasses.replace(result, findings=findings, invalid_index=invalid)


def _write_attendance(store: Store, member: str, batch_id: int, now: dt.datetime) -> None:
    store.con.execute(
        """
        INSERT INTO attendance (member, student_ref, activity_ref, attended_on, created_at,
                                batch_id)
        SELECT $member, student_ref, activity_ref, attended_on, $now, $batch
        FROM staged WHERE _change = 'inserted'
        """,
        {"member": member, "now": now, "batch": batch_id},
    )


def refresh_last_activity(store: Store, member: str, student_refs_sql: str) -> None:
    """Set `students.last_activity_on` again for the member's students `student_refs_sql` selects.

    A student's last activity is the latest day in their register rows, or for a row without a
    day, its activity's start. Retention reads it from the student's row; every change to the
    register or to an activity's start goes through here.
    """
    store.con.execute(
        f"""
        UPDATE students AS s SET last_activity_on = la.last_activity_on
        FROM (
            SELECT a.student_ref,
                   max(coalesce(a.attended_on, act.start_date)) AS last_activity_on
            FROM attendance AS a
            LEFT JOIN activities AS act
                   ON act.member = a.member AND act.activity_ref = a.activity_ref
            WHERE a.member = $member AND a.student_ref IN ({student_refs_sql})
            GROUP BY ALL
        ) AS la
        WHERE s.member = $member AND s.student_ref = la.student_ref
          AND s.last_activity_on IS DISTINCT FROM la.last_activity_on
        """,
        {"member": member},
    )


# -- summary ----------------------------------------------------------------------------------

_KIND_TABLES = ("students", "activities", "attendance", "ambassadors")


def store_summary(
    db: Path | str | None = None,
    key: str | None = None,
    member: str | None = None,
    *,
    policy: Any = None,
    as_of: dt.date | None = None,
) -> dict[str, Any]:
    """Counts per member and kind, entry years, retention status and the last imports.

    Only `member`'s when one is given. Retention is judged by `policy` (default the HEAT
    policy) as of `as_of` (default today).
    """
    from heattool.retention_store import store_retention
    from heattool.rules.policy import load_policy

    target = resolve_db_path(db)
    if target != MEMORY and not Path(target).exists():
        raise StoreError(f"no store at {target}; create it with heattool import")
    if member is not None:
        check_member(member)
    where = "WHERE member = $member" if member is not None else ""
    params = {"member": member} if member is not None else {}
    with Store.open(target, key) as store:
        store.migrate()
        counts = " UNION ALL ".join(
            f"SELECT member, '{t}' AS kind, count(*) AS n FROM {t} {where} GROUP BY member"
            for t in _KIND_TABLES
        )
        members = store.con.execute(
            f"SELECT member FROM members {where} ORDER BY member", params
        ).fetchall()
        table = {m: dict.fromkeys(_KIND_TABLES, 0) for (m,) in members}
        for m, kind, n in store.con.execute(counts, params).fetchall():
            table[m][kind] = n
        imports = (
            store.con.execute(
                f"SELECT batch_id, member, kind, file_name, sha256, rows, inserted, updated, "
                f"unchanged, rejected, imported_at FROM import_batches {where} "
                f"ORDER BY batch_id DESC LIMIT {RECENT_IMPORTS}",
                params,
            )
            .pl()
            .to_dicts()
        )
        people = " UNION ALL ".join(
            f"SELECT member, expected_he_entry_year, entry_year_label, entry_year_source "
            f"FROM {t} {where}"
            for t in ("students", "ambassadors")
        )
        entry_years = (
            store.con.execute(
                f"""
                SELECT member, expected_he_entry_year AS year,
                       coalesce(entry_year_label, 'none') AS entry_year, count(*) AS people,
                       count(*) FILTER (entry_year_source = 'override') AS overridden
                FROM ({people}) GROUP BY ALL ORDER BY member, year NULLS LAST
                """,
                params,
            )
            .pl()
            .drop("year")
            .to_dicts()
        )
        as_of = as_of or dt.date.today()
        judged = store_retention(store, policy or load_policy(), as_of, member)
        retention = (
            judged.group_by("member", "status").len("people").sort("member", "status").to_dicts()
        )
    return {
        "db": str(target),
        "members": [{"member": m, **kinds} for m, kinds in table.items()],
        "entry_years": entry_years,
        "retention": {"as_of": as_of.isoformat(), "by_member_and_status": retention},
        "recent_imports": imports,
    }


# -- rendering --------------------------------------------------------------------------------


def render_import(console: Console, report: ImportReport) -> None:
    """Per-file counts and what happened to the store, for people."""

    def say(text: str) -> None:
        console.print(text, soft_wrap=True, markup=False, highlight=False)

    for file in report.files:
        say(
            f"{file.path} ({file.kind}): {file.rows} rows: {file.inserted} inserted, "
            f"{file.updated} updated, {file.unchanged} unchanged, {file.rejected} rejected"
        )
        if file.previous_batch is not None and not file.changed:
            say(
                f"  already imported in batch {file.previous_batch} on "
                f"{file.previous_at:%Y-%m-%d %H:%M} UTC; nothing changed"
            )
        elif not file.changed and not file.rejected:
            say("  nothing changed: the store already holds these rows")
    if report.rejects_path is not None:
        say(f"{report.rejected} rejected rows written to {report.rejects_path}")
    if report.dry_run:
        say(f"dry run: nothing was written to {report.db}")
    elif not report.loaded:
        say(
            f"{report.rejected} rows are invalid and --on-invalid is abort: nothing was loaded "
            f"into {report.db}"
        )
    else:
        say(f"loaded into {report.db} for member {report.member}")


def render_summary(console: Console, summary: dict[str, Any]) -> None:
    """Counts per member and kind, then the last imports."""
    from rich import box
    from rich.table import Table

    if not summary["members"]:
        console.print(f"{summary['db']}: no records yet", soft_wrap=True, markup=False)
        return
    counts = Table(title=f"Records in {summary['db']}", title_justify="left", box=box.SIMPLE)
    counts.add_column("member")
    for kind in _KIND_TABLES:
        counts.add_column(kind, justify="right")
    for row in summary["members"]:
        counts.add_row(row["member"], *(str(row[k]) for k in _KIND_TABLES))
    console.print(counts)
    years = Table(title="Expected HE entry year", title_justify="left", box=box.SIMPLE)
    for name in ("member", "entry year", "people", "overridden"):
        years.add_column(name, justify="right" if name in ("people", "overridden") else "left")
    for row in summary["entry_years"]:
        years.add_row(row["member"], row["entry_year"], str(row["people"]), str(row["overridden"]))
    console.print(years)
    retention = summary["retention"]
    statuses = Table(
        title=f"Retention as of {retention['as_of']}", title_justify="left", box=box.SIMPLE
    )
    for name in ("member", "status", "people"):
        statuses.add_column(name, justify="right" if name == "people" else "left")
    for row in retention["by_member_and_status"]:
        statuses.add_row(row["member"], row["status"], str(row["people"]))
    console.print(statuses)
    imports = Table(title="Last imports", title_justify="left", box=box.SIMPLE)
    numbers = ("rows", "inserted", "updated", "unchanged", "rejected")
    for name in ("batch", "member", "kind", "file", "imported (UTC)", *numbers):
        imports.add_column(name, justify="right" if name in numbers else "left", no_wrap=True)
    for row in summary["recent_imports"]:
        imports.add_row(
            str(row["batch_id"]),
            row["member"],
            row["kind"],
            row["file_name"],
            f"{row['imported_at']:%Y-%m-%d %H:%M}",
            *(str(row[k]) for k in numbers),
        )
    console.print(imports)
