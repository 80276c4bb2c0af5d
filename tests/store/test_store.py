"""The Store: schema versions and migrations, encryption at rest, file modes, crash safety."""

from __future__ import annotations

import datetime as dt
import os
import signal
import stat
import subprocess
import sys
import time

import duckdb
import polars as pl
import pytest

from heattool.schemas.headers import kind_columns
from heattool.store import Store
from heattool.store import migrations as store_migrations
from heattool.store.migrations import Migration, latest_version
from tests.helpers import DATA, EXAMPLES, ROOT, FailingCommit, query

EXAMPLE_FILES = ["activities.csv", "students.csv", "attendance.csv", "ambassadors.csv"]
PLAINTEXT = [b"Amelia", b"Hughes", b"Canterbury Academy", b"CT1 2EH"]  # from students.csv


def load_examples(invoke, db):
    return invoke("import", *(EXAMPLES / f for f in EXAMPLE_FILES), "-m", "KENT", "--db", db)


def make_v1_store(path) -> None:
    con = duckdb.connect(str(path))
    con.execute((DATA / "store_v1.sql").read_text("utf-8"))
    con.close()


# -- schema -----------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["students", "activities", "attendance", "ambassadors"])
def test_tables_keep_the_canonical_upload_columns(kind):
    with Store.open(":memory:") as store:
        store.migrate()
        columns = [
            r[0]
            for r in store.con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE table_name = ?", [kind]
            ).fetchall()
        ]
    assert set(kind_columns(kind)[0]) <= set(columns)
    assert columns[0] == "member"


def test_columns_have_real_types():
    with Store.open(":memory:") as store:
        store.migrate()
        types = dict(
            store.con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'students'"
            ).fetchall()
        )
    assert types["date_of_birth"] == "DATE"
    assert types["permission_to_track"] == "BOOLEAN"
    assert types["expected_he_entry_year"] == "INTEGER"
    assert types["sex"] == "VARCHAR"
    assert types["heat_id"] == "UUID"


def test_a_new_store_is_at_the_latest_version_and_records_it(tmp_path):
    with Store.open(tmp_path / "s.duckdb", migrate=False) as store:
        assert store.schema_version() == 0
        assert store.migrate() == [m.version for m in store_migrations.migrations()]
        assert store.migrate() == []
        assert store.schema_version() == latest_version()


def test_a_store_from_schema_version_1_migrates_and_keeps_its_rows(invoke, tmp_path):
    db = tmp_path / "old.duckdb"
    make_v1_store(db)
    result = invoke("import", EXAMPLES / "students.csv", "-m", "KENT", "--db", db, "-f", "json")
    assert result.exit_code == 0, result.stderr
    assert query(db, "SELECT max(version) FROM schema_version") == [(latest_version(),)]
    # S0001 was in the old store: same heat_id, updated in place; batch ids carry on
    assert query(db, "SELECT heat_id::VARCHAR FROM students WHERE student_ref = 'S0001'") == [
        ("5b1f0c8e-3a43-4d7e-9a55-0c1d2e3f4a5b",)
    ]
    assert query(db, "SELECT max(batch_id) FROM import_batches") == [(3,)]
    assert query(db, "SELECT count(*) FROM attendance") == [(1,)]
    # the old register gave S0001 a last activity; S0002 has none
    assert query(
        db,
        "SELECT student_ref, last_activity_on FROM students WHERE student_ref IN "
        "('S0001', 'S0002') ORDER BY 1",
    ) == [("S0001", dt.date(2025, 10, 10)), ("S0002", None)]


def test_migration_7_gives_every_stored_person_their_nation_of_schooling(tmp_path):
    """Filled by the entry-year rule itself (never a copy of it in SQL): the nation column when
    it can be read, else the postcode; no entry year changes."""
    db = tmp_path / "old.duckdb"
    make_v1_store(db)
    con = duckdb.connect(str(db))
    con.execute(
        "INSERT INTO students (member, student_ref, heat_id, postcode, nation, created_at, "
        "updated_at, batch_id, expected_he_entry_year) "
        "SELECT 'KENT', ref, uuid(), postcode, nation, now(), now(), 2, 2027 FROM (VALUES "
        "('W1', 'CF10 3AT', NULL), ('W2', 'CT1 2EH', 'Wales'), ('W3', 'CH5 1AB', NULL), "
        "('E1', 'CH1 4BJ', NULL), ('E2', NULL, NULL), ('E3', 'EH1 1YZ', 'ENG'), "
        "('S1', 'eh11yz', NULL), ('N1', NULL, 'NI'), ('X1', 'G1 1AA', 'Atlantis')) "
        "AS t(ref, postcode, nation)"
    )
    con.execute(
        "INSERT INTO ambassadors (member, ambassador_ref, heat_id, forename, surname, postcode, "
        "created_at, updated_at, batch_id) VALUES "
        "('KENT', 'A1', uuid(), 'Eve', 'Ng', 'SA2 8PP', now(), now(), 2), "
        "('KENT', 'A2', uuid(), 'Fay', 'Ng', 'BT7 1NN', now(), now(), 2)"
    )
    years = con.execute("SELECT student_ref, expected_he_entry_year FROM students").fetchall()
    con.close()
    with Store.open(db) as store:
        assert store.schema_version() == latest_version()
    assert query(db, "SELECT student_ref, school_nation FROM students ORDER BY 1") == [
        ("E1", "England"),
        ("E2", "England"),  # no postcode, no nation: the default
        ("E3", "England"),
        ("N1", "Northern Ireland"),
        ("S0001", "England"),
        ("S0002", "England"),
        ("S1", "Scotland"),
        ("W1", "Wales"),
        ("W2", "Wales"),
        ("W3", "Wales"),
        ("X1", "Scotland"),  # a nation it cannot read: the postcode decides
    ]
    assert query(db, "SELECT ambassador_ref, school_nation FROM ambassadors ORDER BY 1") == [
        ("A1", "Wales"),
        ("A2", "Northern Ireland"),
    ]
    assert sorted(query(db, "SELECT student_ref, expected_he_entry_year FROM students")) == sorted(
        years
    )


def test_the_migrations_fill_and_the_importer_agree_on_the_nation(invoke, tmp_path):
    from heattool.store.people import fill_school_nation

    db = tmp_path / "s.duckdb"
    assert load_examples(invoke, db).exit_code == 0
    read = (
        "SELECT kind, ref, school_nation FROM (SELECT 'students' AS kind, student_ref AS ref, "
        "school_nation FROM students UNION ALL SELECT 'ambassadors', ambassador_ref, "
        "school_nation FROM ambassadors) ORDER BY ALL"
    )
    imported = query(db, read)
    assert {n for *_, n in imported} == {"England", "Wales", "Scotland", "Northern Ireland"}
    with Store.open(db) as store, store.transaction():
        store.con.execute("UPDATE students SET school_nation = NULL")
        store.con.execute("UPDATE ambassadors SET school_nation = NULL")
        fill_school_nation(store)
    assert query(db, read) == imported


def test_refs_of_people_are_stored_uncompressed_so_deleting_them_is_fast(tmp_path):
    """DuckDB fetches a deleted row's key one row at a time; from FSST-compressed refs that was
    20x slower (migration 0004). The hint must survive reopening the store and new rows."""
    db = tmp_path / "s.duckdb"
    with Store.open(db) as store:
        store.migrate()
    with Store.open(db) as store, store.transaction():
        store.ensure_member("KENT")
        store.con.execute(
            "INSERT INTO students (member, student_ref, heat_id, created_at, updated_at, batch_id) "
            "SELECT 'KENT', printf('S%08d', i), uuid(), now(), now(), 1 FROM range(300000) r(i)"
        )
    with Store.open(db) as store:
        store.con.execute("CHECKPOINT")
        found = store.con.execute(
            "SELECT DISTINCT compression FROM pragma_storage_info('students') "
            "WHERE column_name = 'student_ref' AND segment_type = 'VARCHAR'"
        ).fetchall()
    assert found == [("Uncompressed",)]


def test_a_registered_frame_reads_whole_in_sql_and_only_inside_its_block():
    """Frames reach DuckDB in row-group batches; every row and value must still arrive."""
    rows = 300_001  # three batches and one row more
    data = pl.DataFrame(
        {
            "n": pl.int_range(rows, eager=True),
            "ref": [f"S{i}" for i in range(rows)],
            "day": [dt.date(2020, 1, 1), None, dt.date(2021, 2, 3)] * (rows // 3)
            + [dt.date(2020, 1, 1)] * (rows % 3),
        }
    )
    with Store.open(":memory:") as store:
        with store.registered("uploaded", data):
            back = store.con.sql("SELECT * FROM uploaded ORDER BY n").pl()
            total = store.con.sql("SELECT count(*), sum(n), count(day) FROM uploaded").fetchone()
        assert back.equals(data)
        assert total == (rows, rows * (rows - 1) // 2, data["day"].count())
        uploaded = data  # noqa: F841 - nor does SQL read a Python variable of the same name
        with pytest.raises(duckdb.CatalogException):
            store.con.sql("SELECT count(*) FROM uploaded").fetchone()


def _storage_version(path) -> str:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.sql(
            "SELECT tags['storage_version'] FROM duckdb_databases() WHERE NOT internal "
            "AND database_name NOT IN ('memory', 'temp')"
        ).fetchone()[0]
    finally:
        con.close()


def test_an_older_format_store_moves_to_duckdb_1_5_format_only_when_written(invoke, tmp_path):
    db = tmp_path / "old.duckdb"
    make_v1_store(db)
    before = db.read_bytes()
    assert _storage_version(db) == "v1.0.0+"
    dry = invoke("import", EXAMPLES / "students.csv", "-m", "KENT", "--db", db, "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    unreadable = invoke("import", tmp_path / "missing.csv", "-m", "KENT", "--db", db)
    assert unreadable.exit_code == 2
    assert db.read_bytes() == before  # opened beside the validation, then left exactly as it was
    loaded = invoke("import", EXAMPLES / "students.csv", "-m", "KENT", "--db", db)
    assert loaded.exit_code == 0, loaded.stderr
    assert _storage_version(db) == "v1.5.0+"
    assert query(db, "SELECT count(*) FROM students") == [(13,)]


def test_a_later_migration_is_applied_once_to_an_older_store(tmp_path, monkeypatch):
    db = tmp_path / "s.duckdb"
    with Store.open(db) as store:
        store.migrate()
    extra = Migration(
        latest_version() + 1, "add a column", "ALTER TABLE students ADD COLUMN nickname VARCHAR;"
    )
    shipped = store_migrations.migrations()
    from heattool.store import store as store_module

    monkeypatch.setattr(store_module, "migrations", lambda: (*shipped, extra))
    monkeypatch.setattr(store_module, "latest_version", lambda: extra.version)
    with Store.open(db, migrate=False) as store:
        assert store.migrate() == [extra.version]
        assert store.migrate() == []
    assert query(db, "SELECT count(*) FROM duckdb_columns() WHERE column_name = 'nickname'") == [
        (1,)
    ]


def test_a_store_newer_than_this_heattool_is_refused(invoke, tmp_path):
    db = tmp_path / "new.duckdb"
    with Store.open(db) as store:
        store.migrate()
        store.con.execute("INSERT INTO schema_version VALUES (999, 'future', now(), '9.0')")
    result = invoke("summary", "--db", db)
    assert result.exit_code == 2
    assert "written by a newer heattool (store schema version 999" in result.stderr
    assert "upgrade heattool" in result.stderr


def test_a_duckdb_file_that_is_not_a_heattool_store_is_refused(invoke, tmp_path):
    db = tmp_path / "other.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE sales (x INTEGER)")
    con.close()
    result = invoke("import", EXAMPLES / "activities.csv", "-m", "KENT", "--db", db)
    assert result.exit_code == 2
    assert "is a DuckDB database but not a heattool store" in result.stderr


# -- audit log --------------------------------------------------------------------------------


def test_the_audit_log_holds_counts_hashes_and_heat_ids_never_personal_data(invoke, tmp_path):
    db = tmp_path / "s.duckdb"
    assert load_examples(invoke, db).exit_code == 0
    events = query(db, "SELECT event, sha256, details::VARCHAR FROM audit_events ORDER BY event_id")
    assert [e[0] for e in events] == ["migrate", "import", "import", "import", "import"]
    dumped = repr(events) + repr(query(db, "SELECT * FROM audit_records"))
    for text in PLAINTEXT:
        assert text.decode() not in dumped
    assert query(
        db,
        "SELECT count(*) FROM audit_records r JOIN students s USING (heat_id) "
        "WHERE change = 'inserted'",
    ) == [(13,)]


def test_heat_ids_are_random_uuids_unique_across_people(invoke, tmp_path):
    db = tmp_path / "s.duckdb"
    load_examples(invoke, db)
    ids = query(db, "SELECT heat_id FROM students UNION ALL SELECT heat_id FROM ambassadors")
    assert len({i[0] for i in ids}) == len(ids) == 17
    assert {i[0].version for i in ids} == {4}


# -- files: modes, encryption -----------------------------------------------------------------


def test_store_file_is_owner_only_even_with_a_lax_umask(tmp_path):
    old = os.umask(0)
    try:
        with Store.open(tmp_path / "s.duckdb") as store:
            store.migrate()
            store.con.execute("INSERT INTO members VALUES ('KENT', now())")
            assert stat.S_IMODE((tmp_path / "s.duckdb").stat().st_mode) == 0o600
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "s.duckdb").stat().st_mode) == 0o600


def test_an_existing_store_with_a_lax_mode_is_made_owner_only(tmp_path):
    db = tmp_path / "s.duckdb"
    with Store.open(db) as store:
        store.migrate()
    os.chmod(db, 0o644)
    with Store.open(db):
        pass
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


def test_an_encrypted_store_has_no_plaintext_and_needs_its_key(invoke, tmp_path, monkeypatch):
    plain, secret = tmp_path / "plain.duckdb", tmp_path / "secret.duckdb"
    monkeypatch.delenv("HEATTOOL_KEY_FILE", raising=False)
    assert load_examples(invoke, plain).exit_code == 0
    assert all(text in plain.read_bytes() for text in PLAINTEXT)  # the control: plain is plain

    monkeypatch.setenv("HEATTOOL_KEY", "correct horse battery staple")
    assert load_examples(invoke, secret).exit_code == 0
    data = secret.read_bytes()
    assert not any(text in data for text in PLAINTEXT)
    assert not (tmp_path / "secret.duckdb.wal").exists()
    assert '"students": 13' in invoke("summary", "--db", secret, "-f", "json").stdout

    monkeypatch.setenv("HEATTOOL_KEY", "wrong")
    wrong = invoke("summary", "--db", secret)
    assert wrong.exit_code == 2
    assert "wrong encryption key" in wrong.stderr

    monkeypatch.delenv("HEATTOOL_KEY")
    missing = invoke("summary", "--db", secret)
    assert missing.exit_code == 2
    assert "is encrypted; give its key with HEATTOOL_KEY_FILE" in missing.stderr

    monkeypatch.setenv("HEATTOOL_KEY", "any")
    keyed_plain = invoke("summary", "--db", plain)
    assert keyed_plain.exit_code == 2
    assert "is not encrypted but a key was given" in keyed_plain.stderr


def test_the_key_file_must_be_owner_only(invoke, tmp_path, monkeypatch):
    db, key_file = tmp_path / "s.duckdb", tmp_path / "key"
    key_file.write_text("s3cret-key\n")
    monkeypatch.delenv("HEATTOOL_KEY", raising=False)
    monkeypatch.setenv("HEATTOOL_KEY_FILE", str(key_file))
    os.chmod(key_file, 0o644)
    result = invoke("import", EXAMPLES / "activities.csv", "-m", "KENT", "--db", db)
    assert result.exit_code == 2
    assert f"{key_file} can be read by others; run: chmod 600 {key_file}" in result.stderr
    assert not db.exists()
    os.chmod(key_file, 0o600)
    assert invoke("import", EXAMPLES / "activities.csv", "-m", "KENT", "--db", db).exit_code == 0
    monkeypatch.setenv("HEATTOOL_KEY", "s3cret-key")  # the same key, given directly
    monkeypatch.delenv("HEATTOOL_KEY_FILE")
    assert invoke("summary", "--db", db).exit_code == 0


# -- faults -----------------------------------------------------------------------------------


def test_a_full_disk_mid_import_is_one_line_and_leaves_the_store_as_before(
    invoke, tmp_path, monkeypatch
):
    db = tmp_path / "s.duckdb"
    assert load_examples(invoke, db).exit_code == 0
    before = query(db, "SELECT * FROM students ORDER BY student_ref")
    from heattool.store import loading

    def disk_full(*args, **kwargs):
        raise duckdb.IOException("IO Error: Could not write file: No space left on device")

    upload = tmp_path / "s.csv"
    upload.write_text("Student Ref,Forename\nS0001,Changed\nNEW1,New\n")
    monkeypatch.setattr(loading, "write_attendance", disk_full)  # after students are written
    result = invoke("import", upload, EXAMPLES / "attendance.csv", "-m", "KENT", "--db", db)
    assert result.exit_code == 2
    assert "could not write the store (Could not write file: No space left on device)" in (
        result.stderr
    )
    assert "nothing was changed" in result.stderr
    assert query(db, "SELECT * FROM students ORDER BY student_ref") == before
    assert query(db, "SELECT count(*) FROM import_batches") == [(4,)]


def test_an_import_that_fails_to_commit_to_a_new_store_leaves_no_store(
    invoke, tmp_path, monkeypatch
):
    """If the load cannot commit, the store the import made (migrated apart) is removed."""
    from heattool.actions import load

    real_load = load._load_file

    def load_then_fail_at_commit(store, *args):
        real_load(store, *args)
        store.con = FailingCommit(store.con)

    monkeypatch.setattr(load, "_load_file", load_then_fail_at_commit)
    db = tmp_path / "new.duckdb"
    result = invoke("import", EXAMPLES / "students.csv", "-m", "KENT", "--db", db)
    assert result.exit_code == 2
    assert "nothing was changed" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_an_aborted_import_into_a_new_store_leaves_no_store(invoke, tmp_path):
    upload = tmp_path / "students.csv"
    upload.write_text("Student Ref,Forename,Date of Birth\nS1,Al,31/02/2009\n", "utf-8")
    db = tmp_path / "new.duckdb"
    result = invoke("import", upload, "-m", "KENT", "--db", db, "--on-invalid", "abort")
    assert result.exit_code == 1
    assert not db.exists() and not db.with_name("new.duckdb.wal").exists()
    (_rejects,) = tmp_path.glob("new-rejects-*.csv")  # the rows to fix are still written
    # a store that was there already stays, as it was
    assert invoke("import", EXAMPLES / "students.csv", "-m", "KENT", "--db", db).exit_code == 0
    students = query(db, "SELECT count(*) FROM students")
    result = invoke("import", upload, "-m", "KENT", "--db", db, "--on-invalid", "abort")
    assert result.exit_code == 1
    assert query(db, "SELECT count(*) FROM students") == students


def _big_students(path, rows: int) -> None:
    refs = pl.int_range(rows, eager=True).cast(pl.String)
    pl.DataFrame(
        {
            "Student Ref": "B" + refs,
            "Forename": "Name" + refs,
            "Surname": "Surname",
            "Date of Birth": "01/02/2009",
            "Postcode": "CT1 2EH",
        }
    ).write_csv(path)


def _holds_open(pid: int, path) -> bool:
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except FileNotFoundError:
        return False
    for fd in fds:
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == str(path):
                return True
        except OSError:
            continue
    return False


def test_a_failed_import_does_not_replay_a_write_ahead_log_left_by_a_killed_writer(
    invoke, tmp_path
):
    """A store with a log to replay is not opened beside the validation: if the upload then
    fails, neither the store nor its log has changed."""
    db = tmp_path / "s.duckdb"
    assert load_examples(invoke, db).exit_code == 0
    writer = (
        "import duckdb, os, sys\n"
        "con = duckdb.connect(sys.argv[1])\n"
        "con.execute(\"SET wal_autocheckpoint = '1GB'\")\n"
        "con.execute(\"INSERT INTO members VALUES ('LATE', now())\")\n"
        "os._exit(0)  # killed before any checkpoint: the insert is only in the log\n"
    )
    subprocess.run([sys.executable, "-c", writer, str(db)], check=True)
    wal = tmp_path / "s.duckdb.wal"
    before = (db.read_bytes(), wal.read_bytes())
    failed = invoke("import", tmp_path / "missing.csv", "-m", "KENT", "--db", db)
    assert failed.exit_code == 2
    assert (db.read_bytes(), wal.read_bytes()) == before
    assert invoke("import", EXAMPLES / "activities.csv", "-m", "KENT", "--db", db).exit_code == 0
    assert query(db, "SELECT member FROM members ORDER BY 1") == [("KENT",), ("LATE",)]


def test_an_interrupted_validation_closes_the_store_it_opened(tmp_path, monkeypatch):
    """Ctrl-C during validation: the store opened beside it is closed (its lock let go, the
    process's file mode mask as it was), whether it had finished opening or not."""
    from heattool.actions import load

    db = tmp_path / "s.duckdb"
    with Store.open(db) as store:
        store.migrate()

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(load, "_validate", interrupted)
    mask = os.umask(0o022)
    try:
        with pytest.raises(KeyboardInterrupt):
            load.import_paths([EXAMPLES / "students.csv"], member="KENT", db=db)
        assert os.umask(0o022) == 0o022
    finally:
        os.umask(mask)
    with Store.open(db) as store:  # would be "in use" if the first were still open
        assert store.schema_version() == latest_version()


def test_a_concurrent_import_is_refused_and_a_killed_import_leaves_the_store_consistent(
    invoke, tmp_path
):
    db, big = tmp_path / "s.duckdb", tmp_path / "big.csv"
    assert load_examples(invoke, db).exit_code == 0
    before = query(db, "SELECT count(*), max(batch_id) FROM students")
    _big_students(big, 150_000)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    child = subprocess.Popen(
        [sys.executable, "-m", "heattool", "import", str(big), "-m", "KENT", "--db", str(db)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while not _holds_open(child.pid, db) and child.poll() is None:
            assert time.monotonic() < deadline, "the import never opened the store"
            time.sleep(0.01)
        second = invoke("import", EXAMPLES / "activities.csv", "-m", "KENT", "--db", db)
        killed_while_running = child.poll() is None
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
    assert killed_while_running, "the import finished before it could be killed; make it larger"
    assert second.exit_code == 2
    assert "is in use by another heattool or DuckDB process" in second.stderr
    assert len(second.stderr.strip().splitlines()) == 1
    after = query(db, "SELECT count(*), max(batch_id) FROM students")
    assert after in (before, [(150_013, 5)])  # all or nothing
    assert query(db, "SELECT count(*) FROM import_batches") in ([(4,)], [(5,)])
    # the store still opens and loads
    assert invoke("import", EXAMPLES / "students.csv", "-m", "KENT", "--db", db).exit_code == 0
