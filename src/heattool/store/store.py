"""The one Store class: a DuckDB file (or `:memory:`), migrated, optionally encrypted."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from heattool import __version__
from heattool.clock import utc_now
from heattool.errors import StoreError, first_line
from heattool.io.files import make_private, private_files
from heattool.store.migrations import latest_version, migrations

MEMORY = ":memory:"
DEFAULT_DB = Path("heattool.duckdb")
DB_ENV = "HEATTOOL_DB"
KEY_ENV = "HEATTOOL_KEY"
KEY_FILE_ENV = "HEATTOOL_KEY_FILE"
CATALOG = "store"  # the attached store's name inside the connection
_NOT_A_STORE = "not a valid DuckDB database file"
# The storage format a store is written in: DuckDB 1.5's own (encrypted stores always were).
# Its DICT_FSST string compression writes a million students 0.3-0.6 s faster than the 1.0
# format's dictionary and FSST, for files about a fifth larger (docs/benchmarks.md). A store
# written in the 1.0 format is read as it is and moves to this one at its next write.
STORAGE_VERSION = "v1.5.0"
ROW_GROUP_ROWS = 122_880  # DuckDB's rows per row group


def resolve_db_path(db: Path | str | None) -> Path | str:
    """--db if given, else $HEATTOOL_DB, else ./heattool.duckdb; ':memory:' stays as it is."""
    chosen = db if db not in (None, "") else os.environ.get(DB_ENV) or DEFAULT_DB
    return MEMORY if str(chosen) == MEMORY else Path(chosen)


def key_from_env(key_file: Path | None = None) -> str | None:
    """The encryption key from `key_file` (heattool.toml's), else $HEATTOOL_KEY_FILE (an
    owner-only file), else $HEATTOOL_KEY, if set."""
    named = key_file or os.environ.get(KEY_FILE_ENV)
    if named:
        path = Path(named)
        try:
            mode = path.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise StoreError(
                    f"{KEY_FILE_ENV} {path} can be read by others; run: chmod 600 {path}"
                )
            key = path.read_text("utf-8").strip()
        except OSError as exc:
            raise StoreError(f"{KEY_FILE_ENV} {path}: cannot be read ({exc.strerror})") from None
        if not key:
            raise StoreError(f"{KEY_FILE_ENV} {path} is empty; put the store's key in it")
        return key
    return os.environ.get(KEY_ENV) or None


def httpfs_extension_path() -> Path:
    """The DuckDB-signed httpfs build shipped in the duckdb-extension-httpfs wheel."""
    try:
        import duckdb_extension_httpfs
    except ImportError:  # pragma: no cover - a dependency of heattool
        raise StoreError(
            "encryption needs the duckdb-extension-httpfs package; reinstall heattool"
        ) from None
    root = Path(duckdb_extension_httpfs.__file__).parent / "extensions"
    path = root / f"v{duckdb.__version__}" / "httpfs.duckdb_extension"
    if not path.is_file():
        raise StoreError(
            f"no httpfs extension for DuckDB {duckdb.__version__} in {root}; install "
            f"duckdb-extension-httpfs=={duckdb.__version__}"
        )
    return path


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


class Store:
    """The heattool store: one DuckDB database holding every member's records.

    `Store.open(path, key)` opens or creates one; `Store.open_existing` refuses a path with no
    store. Both migrate it to this heattool's schema unless told not to, and work as context
    managers. Tables are reached unqualified (the connection's default catalog is the store).
    Files DuckDB creates (the store, its .wal, its spill folder) are owner-only: the process's
    umask is held private while the store is attached and while a transaction writes.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, path: Path | str):
        self.con = con
        self.path = path
        self._in_transaction = False

    # -- opening and closing -------------------------------------------------------------

    @classmethod
    def open(
        cls, path: Path | str | None = None, key: str | None = None, *, migrate: bool = True
    ) -> Store:
        """Open (creating if absent) the store at path; refuse one newer than this heattool."""
        path = resolve_db_path(path)
        con = duckdb.connect(
            MEMORY,
            config={
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
            },
        )
        con.execute("SET enable_progress_bar = false")  # it would draw on stdout, into JSON or CSV
        # SQL reads only what the store holds or `registered` names, never a Python variable
        # that happens to share a table's name.
        con.execute("SET python_enable_replacements = false")
        try:
            if path == MEMORY:
                con.execute(f"ATTACH {_quote(MEMORY)} AS {CATALOG}")
            else:
                assert isinstance(path, Path)
                con.execute(f"SET temp_directory = {_quote(str(_spill_folder(path)))}")
                with contextlib.suppress(OSError):  # made only when a query spills
                    _spill_folder(path).mkdir(mode=0o700)
                with private_files():
                    cls._attach(con, path, key)
            con.execute(f"USE {CATALOG}")
        except BaseException:
            con.close()
            raise
        store = cls(con, path)
        try:
            store._make_private()
            store._check_version()
            if migrate:
                store.migrate()
        except BaseException:
            store.close()
            raise
        return store

    @classmethod
    def open_existing(
        cls, path: Path | str | None = None, key: str | None = None, *, migrate: bool = True
    ) -> Store:
        """Open the store at path, which must exist: a mistyped --db is an error, not a store."""
        target = resolve_db_path(path)
        if target != MEMORY and not Path(target).exists():
            raise StoreError(f"no store at {target}; create one with heattool import")
        return cls.open(target, key, migrate=migrate)

    @staticmethod
    def _attach(con: duckdb.DuckDBPyConnection, path: Path, key: str | None) -> None:
        options = f"STORAGE_VERSION {_quote(STORAGE_VERSION)}"
        if key is not None:
            con.execute(f"LOAD {_quote(str(httpfs_extension_path()))}")
            options += f", ENCRYPTION_KEY {_quote(key)}"
        try:
            con.execute(f"ATTACH {_quote(str(path))} AS {CATALOG} ({options})")
        except duckdb.Error as exc:
            raise _open_error(path, exc, key is not None) from None

    def _make_private(self) -> None:
        if self.path != MEMORY:
            for file in (Path(self.path), Path(f"{self.path}.wal")):
                make_private(file)

    def close(self) -> None:
        with private_files():  # closing checkpoints: the store and its log are rewritten
            self.con.close()
        if self.path != MEMORY:
            with contextlib.suppress(OSError):  # kept if DuckDB left anything in it
                _spill_folder(Path(self.path)).rmdir()

    @staticmethod
    def remove(path: Path) -> None:
        """Remove a closed store's files: the store, its write-ahead log and its spill folder.

        Only for a store this run created and that holds nothing of anyone's.
        """
        for file in (path, Path(f"{path}.wal")):
            file.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            _spill_folder(path).rmdir()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- schema version and migrations ---------------------------------------------------

    def tables(self) -> set[str]:
        rows = self.con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [CATALOG]
        ).fetchall()
        return {r[0] for r in rows}

    def schema_version(self) -> int:
        """The store's schema version: 0 for a new, empty database."""
        tables = self.tables()
        if "schema_version" not in tables:
            if tables:
                raise StoreError(
                    f"{self.path} is a DuckDB database but not a heattool store; "
                    "give another --db path"
                )
            return 0
        return int(self.scalar("SELECT coalesce(max(version), 0) FROM schema_version"))

    def _check_version(self) -> None:
        version = self.schema_version()
        if version > latest_version():
            raise StoreError(
                f"{self.path} was written by a newer heattool (store schema version {version}; "
                f"this heattool {__version__} knows up to {latest_version()}); upgrade heattool"
            )

    def migrate(self) -> list[int]:
        """Apply the migrations this store has not had yet; returns their versions."""
        current = self.schema_version()
        applied = []
        with self.transaction():
            for migration in migrations():
                if migration.version <= current:
                    continue
                self.con.execute(migration.sql)
                if migration.then is not None:
                    migration.then(self)
                self.con.execute(
                    "INSERT INTO schema_version VALUES (?, ?, ?, ?)",
                    [migration.version, migration.description, utc_now(), __version__],
                )
                applied.append(migration.version)
            if applied:
                self.audit("migrate", details={"from": current, "to": applied[-1]})
        return applied

    # -- transactions --------------------------------------------------------------------

    @property
    def in_transaction(self) -> bool:
        return self._in_transaction

    @contextlib.contextmanager
    def transaction(self, *, commit: bool = True) -> Iterator[Transaction]:
        """All or nothing: commit at the end, or roll back on error or if `commit` was cleared.

        Nested use joins the outer transaction.
        """
        if self._in_transaction:
            yield Transaction(commit)
            return
        with private_files():
            yield from self._transaction(commit)

    def _transaction(self, commit: bool) -> Iterator[Transaction]:
        self.con.execute("BEGIN TRANSACTION")
        self._in_transaction = True
        handle = Transaction(commit)
        try:
            yield handle
        except BaseException as exc:
            self._in_transaction = False
            with contextlib.suppress(duckdb.Error):
                self.con.execute("ROLLBACK")
            if isinstance(exc, duckdb.IOException):  # a full disk, a lost file system
                raise StoreError(
                    f"{self.path}: could not write the store ({first_line(exc)}); "
                    "nothing was changed"
                ) from None
            raise
        self._in_transaction = False
        if not handle.commit:
            self.con.execute("ROLLBACK")
            return
        try:
            self.con.execute("COMMIT")
        except duckdb.Error as exc:
            with contextlib.suppress(duckdb.Error):
                self.con.execute("ROLLBACK")
            raise StoreError(
                f"{self.path}: could not write the store ({first_line(exc)}); nothing was changed"
            ) from None
        self._make_private()

    # -- frames in SQL ---------------------------------------------------------------------

    @contextlib.contextmanager
    def registered(self, name: str, frame: pl.DataFrame) -> Iterator[None]:
        """`frame` readable in SQL as `name` inside the block, with no copy (one frame a name).

        DuckDB reads it as Arrow record batches of a row group each, in parallel: one batch
        is read by one thread, which made a million-row import 0.2 s slower. The strings stay
        the views Polars holds them in.
        """
        import pyarrow as pa

        table = frame.to_arrow(compat_level=pl.CompatLevel.newest())
        batches = table.to_batches(max_chunksize=ROW_GROUP_ROWS)
        self.con.register(name, pa.Table.from_batches(batches, schema=table.schema))
        try:
            yield
        finally:
            self.con.unregister(name)

    # -- members and the audit log -------------------------------------------------------

    def ensure_member(self, member: str) -> None:
        self.con.execute(
            "INSERT INTO members VALUES (?, ?) ON CONFLICT DO NOTHING", [member, utc_now()]
        )

    def members(self) -> list[str]:
        return [r[0] for r in self.con.execute("SELECT member FROM members ORDER BY 1").fetchall()]

    def audit(
        self,
        event: str,
        *,
        member: str | None = None,
        batch_id: int | None = None,
        sha256: str | None = None,
        details: dict[str, Any] | None = None,
        heat_ids_sql: str | None = None,
        heat_ids_params: list[Any] | None = None,
        at: dt.datetime | None = None,
    ) -> int:
        """Record an event: counts and hashes in details, heat_ids from a query; never names.

        heat_ids_sql selects (heat_id, change) rows to attach to the event; `at` is its time
        (default now, UTC).
        """
        event_id = int(self.scalar("SELECT nextval('audit_event_seq')"))
        self.con.execute(
            "INSERT INTO audit_events VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                event_id,
                at or utc_now(),
                event,
                member,
                batch_id,
                sha256,
                json.dumps(details or {}, default=str),
                __version__,
            ],
        )
        if heat_ids_sql:
            self.con.execute(
                f"INSERT INTO audit_records SELECT {event_id}, heat_id, change "
                f"FROM ({heat_ids_sql})",
                heat_ids_params or [],
            )
        return event_id

    def add_to_audit(self, event_id: int, details: dict[str, Any]) -> None:
        """Add keys to an event's details, in the transaction that recorded it."""
        self.con.execute(
            "UPDATE audit_events SET details = json_merge_patch(details, ?) WHERE event_id = ?",
            [json.dumps(details, default=str), event_id],
        )

    def next_batch_id(self) -> int:
        return int(self.scalar("SELECT nextval('batch_id_seq')"))

    def next_track_batch_id(self) -> int:
        return int(self.scalar("SELECT nextval('track_batch_seq')"))

    def scalar(self, sql: str, params: Any = None) -> Any:
        """The first column of the first row of a query."""
        row = self.con.execute(sql, params or []).fetchone()
        assert row is not None, sql
        return row[0]

    @property
    def folder(self) -> Path:
        """Where files about the store go by default: beside it (the current folder for
        an in-memory store)."""
        return Path.cwd() if self.path == MEMORY else Path(self.path).parent

    def known_member(self, member: str | None) -> str | None:
        """The member code as stored, for a command that reads one member's records.

        A code the store has no records of is an error naming the members it does hold: a typo
        must not read as "nothing due". None (every member) stays None.
        """
        if member is None:
            return None
        from heattool.schemas import member_code

        code = member_code(member)
        held = self.members()
        if code not in held:
            has = f"it holds {', '.join(held)}" if held else "it holds no records yet"
            raise StoreError(f"the store {self.path} has no records of member {code}; {has}")
        return code


@dataclass
class Transaction:
    """An open transaction; clear `commit` to roll it back at the end instead."""

    commit: bool = True


def _spill_folder(path: Path) -> Path:
    """DuckDB's folder for data that does not fit in memory, beside the store, owner-only."""
    return path.with_name(f"{path.name}.tmp")


def _open_error(path: Path, exc: duckdb.Error, keyed: bool) -> StoreError:
    text = str(exc)
    if "Could not set lock" in text or "Unique file handle conflict" in text:
        return StoreError(
            f"{path} is in use by another heattool or DuckDB process; "
            "wait for it to finish and try again"
        )
    if "without a key" in text:
        return StoreError(f"{path} is encrypted; give its key with {KEY_FILE_ENV} (or {KEY_ENV})")
    if "Wrong encryption key" in text:
        return StoreError(f"{path}: wrong encryption key; check {KEY_FILE_ENV} or {KEY_ENV}")
    if "is not encrypted" in text:
        return StoreError(
            f"{path} is not encrypted but a key was given; unset {KEY_FILE_ENV} and {KEY_ENV}"
        )
    if _NOT_A_STORE in text:
        return StoreError(f"{path} is not a heattool store (not a DuckDB database)")
    return StoreError(f"{path}: cannot open the store ({first_line(exc)})")
