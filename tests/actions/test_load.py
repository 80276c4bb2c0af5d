"""The import action (`load.import_paths`): counts per file, atomicity, rejects, re-imports."""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heattool.actions.load import LOAD_ORDER, import_paths
from heattool.actions.validate import validate
from heattool.errors import HeattoolError, UnreadableInput
from tests.helpers import EXAMPLES, UPLOADS, copy_store, csv_rows, query, write_csv

AS_OF = dt.date(2026, 11, 24)
STUDENTS = csv_rows(EXAMPLES / "students.csv")
HEADINGS = list(STUDENTS[0])
ROWS = {upload.stem: len(csv_rows(upload)) for upload in UPLOADS}


def stored(db: Path, table: str, member: str = "KENT") -> int:
    return int(query(db, f"SELECT count(*) FROM {table} WHERE member = ?", [member])[0][0])


def test_the_examples_load_referenced_kinds_first_every_row_inserted(tmp_path):
    db = tmp_path / "store.duckdb"
    report = import_paths(UPLOADS, member="kent", db=db)  # member codes are upper-cased
    assert report.member == "KENT" and report.loaded and not report.dry_run
    assert [f.kind for f in report.files] == [k for k in LOAD_ORDER if k in ROWS]
    for file in report.files:
        assert file.rows == file.inserted == ROWS[file.kind]
        assert (file.updated, file.unchanged, file.rejected) == (0, 0, 0)
        assert file.previous_batch is None
        assert stored(db, file.kind) == ROWS[file.kind]
    batches = [f.batch_id for f in report.files]
    assert batches == sorted(set(batches))
    assert report.rejects_paths == []


def test_importing_the_same_files_again_changes_nothing(db):
    before = {kind: stored(db, kind) for kind in ROWS}
    first = {b[0]: b[1] for b in query(db, "SELECT kind, batch_id FROM import_batches")}
    report = import_paths(UPLOADS, member="KENT", db=db)
    assert report.loaded
    for file in report.files:
        assert (file.inserted, file.updated) == (0, 0)
        assert file.unchanged == ROWS[file.kind]
        assert not file.changed
        assert file.previous_batch == first[file.kind]  # the same file, seen before
    assert {kind: stored(db, kind) for kind in ROWS} == before


def test_a_changed_row_is_updated_and_the_rest_unchanged(db, tmp_path):
    changed = [dict(row) for row in STUDENTS]
    changed[2]["Surname"] = "Davies-Jones"
    upload = write_csv(tmp_path / "students.csv", changed, HEADINGS)
    (file,) = import_paths([upload], member="KENT", db=db).files
    assert (file.inserted, file.updated, file.unchanged) == (0, 1, len(STUDENTS) - 1)
    ref = changed[2]["Student Ref"]
    assert query(db, "SELECT surname FROM students WHERE student_ref = ?", [ref]) == [
        ("Davies-Jones",)
    ]


def test_another_members_records_are_their_own(db):
    report = import_paths([EXAMPLES / "students.csv"], member="OTHER", db=db)
    (file,) = report.files
    assert file.inserted == ROWS["students"] and file.unchanged == 0
    assert stored(db, "students", "OTHER") == stored(db, "students", "KENT") == ROWS["students"]


def test_a_dry_run_neither_creates_a_store_nor_writes_one(tmp_path, db):
    new = tmp_path / "new" / "store.duckdb"
    new.parent.mkdir()
    report = import_paths(UPLOADS, member="KENT", db=new, dry_run=True)
    assert report.dry_run and not report.loaded
    assert {f.kind: f.inserted for f in report.files} == ROWS  # what it would have done
    assert list(new.parent.iterdir()) == []
    batches = query(db, "SELECT count(*) FROM import_batches")
    changed = [dict(row) for row in STUDENTS]
    changed[0]["Surname"] = "Changed"
    upload = write_csv(tmp_path / "students.csv", changed, HEADINGS)
    (file,) = import_paths([upload], member="KENT", db=db, dry_run=True).files
    assert file.updated == 1
    assert query(db, "SELECT count(*) FROM import_batches") == batches
    assert query(db, "SELECT count(*) FROM students WHERE surname = 'Changed'") == [(0,)]


def test_invalid_rows_are_rejected_to_a_file_and_the_valid_ones_loaded(tmp_path):
    messy = EXAMPLES / "messy_students.csv"
    (expected,) = validate([messy], as_of=AS_OF).results
    db, rejects = tmp_path / "store.duckdb", tmp_path / "rejects.csv"
    report = import_paths([messy], member="KENT", db=db, as_of=AS_OF, rejects_out=rejects)
    (file,) = report.files
    assert report.loaded
    assert file.rejected == report.rejected == expected.invalid_rows
    assert file.inserted == expected.valid_rows == stored(db, "students")
    assert report.rejects_paths == [rejects]
    rejected = csv_rows(rejects)
    assert len(rejected) == expected.invalid_rows
    assert {row["heattool_row"] for row in rejected} == {str(r) for r in expected.errors["row"]}


def test_abort_on_invalid_loads_nothing(tmp_path):
    db = tmp_path / "store.duckdb"
    uploads = [EXAMPLES / "activities.csv", EXAMPLES / "messy_students.csv"]
    report = import_paths(uploads, member="KENT", db=db, as_of=AS_OF, on_invalid="abort")
    assert not report.loaded and report.rejected > 0
    assert not db.exists()  # a new store that loaded nothing is removed
    # into a store that holds records already, nothing is added
    import_paths([EXAMPLES / "activities.csv"], member="KENT", db=db, as_of=AS_OF)
    batches = query(db, "SELECT count(*) FROM import_batches")
    report = import_paths(uploads, member="KENT", db=db, as_of=AS_OF, on_invalid="abort")
    assert not report.loaded
    assert stored(db, "students") == 0
    assert query(db, "SELECT count(*) FROM import_batches") == batches


def test_an_unknown_on_invalid_or_an_unreadable_upload_writes_no_store(tmp_path):
    db = tmp_path / "store.duckdb"
    with pytest.raises(HeattoolError, match="--on-invalid"):
        import_paths(UPLOADS, member="KENT", db=db, on_invalid="ignore")
    with pytest.raises(UnreadableInput):
        import_paths([*UPLOADS, tmp_path / "missing.csv"], member="KENT", db=db)
    assert not db.exists()


def test_a_register_row_for_an_unknown_student_is_rejected(db, tmp_path):
    rows = csv_rows(EXAMPLES / "attendance.csv")
    extra = {**rows[0], "Student Ref": "NOBODY"}
    upload = write_csv(tmp_path / "attendance.csv", [*rows, extra], list(rows[0]))
    (file,) = import_paths([upload], member="KENT", db=db, rejects_out=tmp_path / "r.csv").files
    assert file.rejected == 1
    assert file.result.errors["code"].to_list() == ["unknown-student"]
    assert file.result.errors["value"].to_list() == ["NOBODY"]
    assert file.unchanged == len(rows)


@settings(max_examples=8)
@given(st.data())
def test_importing_any_students_twice_in_any_order_changes_nothing(example_store, data):
    picks = data.draw(st.lists(st.integers(0, len(STUDENTS) - 1), min_size=1, unique=True))
    chosen = [STUDENTS[i] for i in picks]
    shuffled = data.draw(st.permutations(chosen))
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        db = copy_store(example_store, folder)
        first = write_csv(folder / "first.csv", chosen, HEADINGS)
        again = write_csv(folder / "again.csv", shuffled, HEADINGS)
        (one,) = import_paths([first], member="NEW", db=db, as_of=AS_OF).files
        (two,) = import_paths([again], member="NEW", db=db, as_of=AS_OF).files
        held = query(db, "SELECT student_ref FROM students WHERE member = 'NEW'")
    assert one.inserted == len(chosen)
    assert (two.inserted, two.updated, two.unchanged) == (0, 0, len(chosen))
    assert sorted(r[0] for r in held) == sorted(row["Student Ref"] for row in chosen)
