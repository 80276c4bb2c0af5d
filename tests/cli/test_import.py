"""`heattool import` and `heattool summary`: counts, rejects, dry runs, faults, isolation."""

from __future__ import annotations

import csv
import json
import os
import stat

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import EXAMPLES, query

EXAMPLE_FILES = ["attendance.csv", "students.csv", "activities.csv", "ambassadors.csv"]
STUDENT_HEADER = "Student Ref,Forename,Surname,Date of Birth,Postcode,Permission to Track\n"


def write(path, text: str):
    path.write_text(text, encoding="utf-8")
    return path


def load_examples(invoke, db, member: str = "KENT"):
    return invoke("import", *(EXAMPLES / f for f in EXAMPLE_FILES), "--member", member, "--db", db)


@pytest.fixture
def db(tmp_path):
    return tmp_path / "heattool.duckdb"


def test_import_loads_every_kind_in_dependency_order(invoke, db):
    result = load_examples(invoke, db)
    assert result.exit_code == 0, result.stderr
    lines = [line for line in result.stdout.splitlines() if not line.startswith("  ")]
    # attendance was given first but loads last, after the students and activities it names
    assert [line.split(" (")[1].split(")")[0] for line in lines[:4]] == [
        "activities",
        "students",
        "ambassadors",
        "attendance",
    ]
    assert "(students): 13 rows: 13 inserted, 0 updated, 0 unchanged, 0 rejected" in lines[1]
    assert "(attendance): 16 rows: 16 inserted, 0 updated, 0 unchanged, 0 rejected" in lines[3]
    assert query(db, "SELECT count(*) FROM students WHERE member = 'KENT'") == [(13,)]
    batches = query(db, "SELECT kind, file_name, rows, inserted FROM import_batches ORDER BY 1")
    assert batches == [
        ("activities", "activities.csv", 6, 6),
        ("ambassadors", "ambassadors.csv", 4, 4),
        ("attendance", "attendance.csv", 16, 16),
        ("students", "students.csv", 13, 13),
    ]


def test_importing_the_same_file_twice_changes_nothing_and_says_so(invoke, db):
    assert load_examples(invoke, db).exit_code == 0
    before = query(db, "SELECT * FROM students ORDER BY student_ref")
    again = invoke("import", EXAMPLES / "students.csv", "--member", "KENT", "--db", db)
    assert again.exit_code == 0
    assert "13 rows: 0 inserted, 0 updated, 13 unchanged, 0 rejected" in again.stdout
    assert "already imported in batch 2 on " in again.stdout
    assert "nothing changed" in again.stdout
    assert query(db, "SELECT * FROM students ORDER BY student_ref") == before


def test_a_changed_row_is_updated_keeping_heat_id_and_created_time(invoke, db, tmp_path):
    first = write(tmp_path / "a.csv", STUDENT_HEADER + "S1,Ann,Lee,01/02/2009,CT1 2EH,Yes\n")
    second = write(
        tmp_path / "b.csv",
        STUDENT_HEADER + "S1,Ann,Lee,01/02/2009,ME4 4AA,Yes\nS2,Bob,Ray,,,No\n",
    )
    assert invoke("import", first, "-m", "KENT", "--db", db).exit_code == 0
    (heat_id, created, updated) = query(db, "SELECT heat_id, created_at, updated_at FROM students")[
        0
    ]
    result = invoke("import", second, "-m", "KENT", "--db", db, "--format", "json")
    assert result.exit_code == 0
    counts = json.loads(result.stdout)["files"][0]
    assert (counts["inserted"], counts["updated"], counts["unchanged"]) == (1, 1, 0)
    row = query(
        db,
        "SELECT heat_id, created_at, updated_at, postcode FROM students WHERE student_ref='S1'",
    )[0]
    assert row[0] == heat_id and row[1] == created and row[2] > updated
    assert row[3] == "ME4 4AA"


def test_invalid_rows_go_to_an_owner_only_rejects_file_and_the_rest_loads(invoke, db, tmp_path):
    upload = write(
        tmp_path / "students.csv",
        STUDENT_HEADER + "S1,Ann,Lee,01/02/2009,CT1 2EH,Yes\n"
        "S2,=HYPERLINK(1),Ray,31/02/2009,,Yes\n"
        "S3,Cat,Day,,NOT A POSTCODE,Yes\n",
    )
    rejects = tmp_path / "out" / "rejects.csv"
    result = invoke("import", upload, "-m", "KENT", "--db", db, "--rejects-out", rejects)
    assert result.exit_code == 1
    assert "3 rows: 1 inserted, 0 updated, 0 unchanged, 2 rejected" in result.stdout
    assert f"rejected rows written to {rejects}" in result.stdout
    assert stat.S_IMODE(rejects.stat().st_mode) == 0o600
    with rejects.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["heattool_row"], r["Student Ref"], r["heattool_codes"]) for r in rows] == [
        ("3", "S2", "invalid-date"),
        ("4", "S3", "invalid-postcode"),
    ]
    assert rows[0]["Forename"] == "'=HYPERLINK(1)"  # Excel-safe
    assert query(db, "SELECT student_ref FROM students") == [("S1",)]
    assert query(db, "SELECT rejected FROM import_batches") == [(2,)]


def test_default_rejects_file_sits_beside_the_store(invoke, db, tmp_path):
    upload = write(tmp_path / "s.csv", STUDENT_HEADER + "S1,Ann,Lee,31/02/2009,,Yes\n")
    result = invoke("import", upload, "-m", "KENT", "--db", db, "-f", "json")
    assert result.exit_code == 1
    (path,) = json.loads(result.stdout)["rejects_files"]
    assert path.startswith(str(tmp_path / "heattool-rejects-KENT-"))
    assert os.path.exists(path)


def test_on_invalid_abort_loads_nothing_and_exits_1(invoke, db, tmp_path):
    upload = write(
        tmp_path / "s.csv",
        STUDENT_HEADER + "S1,Ann,Lee,01/02/2009,,Yes\nS2,Bob,Ray,31/02/2009,,Yes\n",
    )
    rejects = tmp_path / "r.csv"
    result = invoke(
        "import", upload, "-m", "KENT", "--db", db, "--on-invalid", "abort", "--rejects-out",
        rejects,
    )  # fmt: skip
    assert result.exit_code == 1
    assert "1 row invalid and --on-invalid is abort: nothing was loaded" in result.stdout
    assert not db.exists()  # the store was new: none is left behind
    assert rejects.exists()


def test_attendance_must_name_a_student_and_activity_of_the_same_member(invoke, db, tmp_path):
    assert load_examples(invoke, db, "KENT").exit_code == 0
    other = invoke("import", EXAMPLES / "activities.csv", "-m", "OTHER", "--db", db)
    assert other.exit_code == 0
    register = write(
        tmp_path / "register.csv",
        "Student Ref,Activity Ref,Date Attended\n"
        "S9,A001,10/10/2024\n"  # S9 unknown for OTHER
        "S0001,A001,10/10/2024\n",  # S0001 is KENT's student, not OTHER's
    )
    students = write(tmp_path / "s.csv", STUDENT_HEADER + "S9,Ann,Lee,01/02/2009,,Yes\n")
    rejects = tmp_path / "r.csv"
    result = invoke(
        "import", register, students, "-m", "OTHER", "--db", db, "--rejects-out", rejects
    )
    assert result.exit_code == 1
    assert "(attendance): 2 rows: 1 inserted, 0 updated, 0 unchanged, 1 rejected" in result.stdout
    with rejects.open(encoding="utf-8-sig") as handle:
        rows = list(csv.DictReader(handle))
    assert [(r["heattool_row"], r["heattool_codes"]) for r in rows] == [("3", "unknown-student")]
    assert "import the student first" in rows[0]["heattool_messages"]
    assert query(db, "SELECT count(*) FROM attendance WHERE member = 'OTHER'") == [(1,)]
    unknown_activity = write(
        tmp_path / "r2.csv", "Student Ref,Activity Ref,Date Attended\nS9,ZZZ,\n"
    )
    result = invoke("import", unknown_activity, "-m", "OTHER", "--db", db, "-f", "json")
    assert result.exit_code == 1
    assert json.loads(result.stdout)["files"][0]["rejected"] == 1


def test_dry_run_prints_the_counts_and_writes_nothing(invoke, db, tmp_path):
    args = [*(EXAMPLES / f for f in EXAMPLE_FILES), "-m", "KENT", "--db", db, "--dry-run"]
    result = invoke("import", *args)
    assert result.exit_code == 0
    assert "(attendance): 16 rows: 16 inserted" in result.stdout
    assert f"dry run: nothing was written to {db}" in result.stdout
    assert not db.exists()
    assert load_examples(invoke, db).exit_code == 0
    before = db.read_bytes()
    changed = write(tmp_path / "s.csv", STUDENT_HEADER + "S0001,New,Name,,,No\nS99,A,B,,,No\n")
    result = invoke("import", changed, "-m", "KENT", "--db", db, "--dry-run")
    assert "2 rows: 1 inserted, 1 updated, 0 unchanged, 0 rejected" in result.stdout
    assert db.read_bytes() == before
    assert sorted(os.listdir(db.parent)) == ["heattool.duckdb", "s.csv"]


def test_summary_counts_per_member_and_lists_the_last_imports(invoke, db):
    load_examples(invoke, db, "KENT")
    invoke("import", EXAMPLES / "activities.csv", "-m", "OTHER", "--db", db)
    result = invoke("summary", "--db", db, "--format", "json")
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["members"] == [
        {"member": "KENT", "students": 13, "activities": 6, "attendance": 16, "ambassadors": 4},
        {"member": "OTHER", "students": 0, "activities": 6, "attendance": 0, "ambassadors": 0},
    ]
    assert [i["batch_id"] for i in document["recent_imports"]] == [5, 4, 3, 2, 1]
    only = json.loads(invoke("summary", "--db", db, "-m", "OTHER", "-f", "json").stdout)
    assert [m["member"] for m in only["members"]] == ["OTHER"]
    assert {i["member"] for i in only["recent_imports"]} == {"OTHER"}
    text = invoke("summary", "--db", db)
    assert text.exit_code == 0
    assert "KENT" in text.stdout and "activities.csv" in text.stdout


def test_summary_of_a_missing_store_is_a_usage_error(invoke, tmp_path):
    result = invoke("summary", "--db", tmp_path / "none.duckdb")
    assert result.exit_code == 2
    assert "no store at" in result.stderr and "heattool import" in result.stderr


def test_db_comes_from_the_environment(invoke, tmp_path, monkeypatch):
    monkeypatch.setenv("HEATTOOL_DB", str(tmp_path / "env.duckdb"))
    assert invoke("import", EXAMPLES / "activities.csv", "-m", "KENT").exit_code == 0
    assert (tmp_path / "env.duckdb").exists()


def test_default_db_is_heattool_duckdb_in_the_working_folder(invoke, tmp_path, monkeypatch):
    monkeypatch.delenv("HEATTOOL_DB", raising=False)
    monkeypatch.chdir(tmp_path)
    assert invoke("import", EXAMPLES / "activities.csv", "-m", "KENT").exit_code == 0
    assert (tmp_path / "heattool.duckdb").exists()


def test_a_bad_member_code_is_a_usage_error_before_touching_the_store(invoke, db):
    result = invoke("import", EXAMPLES / "students.csv", "-m", "bad code!", "--db", db)
    assert result.exit_code == 2
    assert "'bad code!' is not a member code" in result.stderr
    assert not db.exists()


def test_kind_forces_the_schema_and_a_missing_column_rejects_every_row(invoke, db):
    result = invoke("import", EXAMPLES / "students.csv", "-m", "KENT", "--kind", "attendance",
                    "--db", db, "-f", "json")  # fmt: skip
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    assert document["files"][0]["kind"] == "attendance"
    assert document["files"][0]["rejected"] == 13
    assert query(db, "SELECT count(*) FROM attendance") == [(0,)]


def test_an_unreadable_file_stops_the_whole_import(invoke, db, tmp_path):
    result = invoke(
        "import", EXAMPLES / "activities.csv", tmp_path / "missing.csv", "-m", "KENT", "--db", db
    )
    assert result.exit_code == 2
    assert "missing.csv: no such file" in result.stderr
    assert not db.exists()


def test_a_store_path_that_cannot_be_written_is_one_line_exit_2(invoke, tmp_path):
    blocker = write(tmp_path / "file", "x")
    result = invoke("import", EXAMPLES / "activities.csv", "-m", "KENT", "--db", blocker / "s")
    assert result.exit_code == 2
    assert "cannot open the store" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_file_that_is_not_a_store_is_refused(invoke, tmp_path):
    junk = write(tmp_path / "junk.duckdb", "not a database at all" * 100)
    result = invoke("summary", "--db", junk)
    assert result.exit_code == 2
    assert "is not a heattool store" in result.stderr


def test_a_second_writer_gets_a_one_line_error(invoke, db):
    from heattool.store import Store

    with Store.open(db):
        result = invoke("import", EXAMPLES / "activities.csv", "-m", "KENT", "--db", db)
    assert result.exit_code == 2
    assert "is in use by another heattool" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_store_and_its_files_are_owner_only(invoke, db):
    old = os.umask(0o022)
    try:
        assert load_examples(invoke, db).exit_code == 0
        assert os.umask(0o022) == 0o022  # the store gave the umask back
    finally:
        os.umask(old)
    assert stat.S_IMODE(db.stat().st_mode) == 0o600


# -- property: idempotence and member isolation ---------------------------------------------

refs = st.sampled_from(["S1", "S2", "S3", "S4"])
versions = st.fixed_dictionaries(
    {
        "forename": st.sampled_from(["Ann", "Bea", None]),
        "postcode": st.sampled_from(["CT1 2EH", ""]),
    }
)
uploads = st.dictionaries(refs, versions, min_size=1, max_size=4)


def student_csv(path, rows: dict) -> None:
    lines = [STUDENT_HEADER]
    lines += [
        f"{ref},{v['forename'] or ''},Lee,01/02/2009,{v['postcode']},Yes\n"
        for ref, v in rows.items()
    ]
    write(path, "".join(lines))


def student_rows(db, member: str) -> list[tuple]:
    return query(
        db,
        "SELECT student_ref, forename, surname, date_of_birth, postcode, permission_to_track "
        "FROM students WHERE member = ? ORDER BY student_ref",
        [member],
    )


@settings(max_examples=10)
@given(sequence=st.lists(uploads, min_size=1, max_size=3), repeat=st.booleans())
def test_any_sequence_of_uploads_equals_its_final_state_once(tmp_path_factory, sequence, repeat):
    from heattool.actions.load import import_paths

    folder = tmp_path_factory.mktemp("prop")
    db, fresh = folder / "seq.duckdb", folder / "fresh.duckdb"
    other = folder / "other.csv"
    student_csv(other, {"S1": {"forename": "Zed", "postcode": "ME4 4AA"}})
    import_paths([other], member="B", db=db)
    other_before = query(db, "SELECT * FROM students WHERE member = 'B'")

    final: dict = {}
    for number, upload in enumerate(sequence + (sequence if repeat else [])):
        path = folder / f"u{number}.csv"
        student_csv(path, upload)
        import_paths([path], member="A", db=db)
        final.update(upload)
    path = folder / "final.csv"
    student_csv(path, final)
    once = import_paths([path], member="A", db=fresh)
    assert once.files[0].inserted == len(final)
    assert student_rows(db, "A") == student_rows(fresh, "A")
    again = import_paths([path], member="A", db=db)
    assert (again.files[0].inserted, again.files[0].updated) == (0, 0)
    assert query(db, "SELECT * FROM students WHERE member = 'B'") == other_before


LAST_ACTIVITY = """
    SELECT s.member, s.student_ref, s.last_activity_on,
           (SELECT max(coalesce(a.attended_on, act.start_date)) FROM attendance AS a
            LEFT JOIN activities AS act
                   ON act.member = a.member AND act.activity_ref = a.activity_ref
            WHERE a.member = s.member AND a.student_ref = s.student_ref) AS from_register
    FROM students AS s ORDER BY ALL
"""
start_days = st.sampled_from(["01/10/2020", "15/03/2022", "30/06/2019"])
register_rows = st.tuples(
    st.sampled_from(["S1", "S2", "S3"]),
    st.sampled_from(["A1", "A2"]),
    st.sampled_from(["", "02/10/2020", "16/03/2022"]),
)
steps = st.one_of(
    st.tuples(st.just("activities"), st.dictionaries(st.sampled_from(["A1", "A2"]), start_days)),
    st.tuples(st.just("attendance"), st.lists(register_rows, max_size=4)),
)


@settings(max_examples=10, deadline=None)
@given(steps=st.lists(steps, min_size=1, max_size=5), member=st.sampled_from(["A", "B"]))
def test_a_students_last_activity_always_follows_the_register_and_activity_starts(
    tmp_path_factory, steps, member
):
    """Retention reads last_activity_on from the student's row, so after every import it must
    equal the latest register day (an undated row counting from its activity's start)."""
    from heattool.actions.load import import_paths

    folder = tmp_path_factory.mktemp("last")
    db = folder / "s.duckdb"
    people = write(
        folder / "students.csv",
        STUDENT_HEADER + "S1,Ann,Lee,01/02/2009,,Yes\n"
        "S2,Bea,Lee,01/02/2009,,Yes\nS3,Cy,Lee,01/02/2009,,Yes\n",
    )
    first = write(
        folder / "activities.csv",
        "Activity Ref,Activity Name,Activity Type,Start Date\n"
        "A1,Visit,Campus visit,01/09/2018\nA2,Talk,Workshop,01/09/2018\n",
    )
    for code in ("A", "B"):
        import_paths([people, first], member=code, db=db)
    for number, (kind, content) in enumerate(steps):
        path = folder / f"{number}-{kind}.csv"
        if kind == "activities":
            write(
                path,
                "Activity Ref,Activity Name,Activity Type,Start Date\n"
                + "".join(f"{ref},Visit,Campus visit,{day}\n" for ref, day in content.items()),
            )
        else:
            write(
                path,
                "Student Ref,Activity Ref,Date Attended\n"
                + "".join(f"{s},{a},{d}\n" for s, a, d in content),
            )
        import_paths([path], member=member, db=db)
        for code, ref, stored, expected in query(db, LAST_ACTIVITY):
            assert stored == expected, (code, ref, steps[: number + 1])


def test_an_excel_sheet_is_imported_like_its_csv(invoke, db):
    result = invoke(
        "import", EXAMPLES / "students.xlsx", "--sheet", "Students", "-m", "KENT", "--db", db
    )
    assert result.exit_code == 0, result.stderr
    assert "13 rows: 13 inserted" in result.stdout
    again = invoke("import", EXAMPLES / "students.csv", "-m", "KENT", "--db", db)
    assert "13 rows: 0 inserted, 0 updated, 13 unchanged" in again.stdout


def test_summary_of_an_empty_store_says_so(invoke, db):
    from heattool.store import Store

    with Store.open(db) as store:
        store.migrate()
    result = invoke("summary", "--db", db)
    assert result.exit_code == 0
    assert result.stdout == f"{db}: no records yet\n"


def test_stored_entry_years_are_those_of_the_rules_for_every_kind_of_postcode(invoke, db, tmp_path):
    """The import works out the year while validating, from postcodes as validation leaves
    them; each stored year must be what the rules give the validated row."""
    from heattool.rules.entry_year import expected_entry_year
    from heattool.schemas.validate import validate_file

    postcodes = ["td12 1aa", "TD151AA", " g1 1aa ", "GL1 1AA", "bt7 1nn", "EH1  1AA", "CT1 2EH",
                 "GIR 0AA", "", "not a postcode", "ZE2 9ZZ", "KA10 6AB", "cf10 3at", "CH5 1AB",
                 "CH1 4BJ", "SY231AA"]  # fmt: skip
    rows = "".join(
        f"S{n:02d}{month},Ann,Lee,01/0{month}/2008,{postcode},Yes\n"
        for n, postcode in enumerate(postcodes)
        for month in (2, 6)  # before and after Scotland's cut-off; both before England's
    )
    upload = write(tmp_path / "s.csv", STUDENT_HEADER + rows)
    result = invoke("import", upload, "-m", "KENT", "--db", db, "-f", "json")
    assert result.exit_code == 1  # 'not a postcode' is rejected
    assert json.loads(result.stdout)["files"][0]["rejected"] == 2
    stored = query(
        db,
        "SELECT student_ref, expected_he_entry_year, entry_year_label, entry_year_source, "
        "school_nation FROM students ORDER BY student_ref",
    )
    valid = validate_file(upload).valid_frame()  # validated alone, then the general rule
    expected = expected_entry_year(valid, with_nation=True).sort("student_ref")
    assert stored == list(
        expected.select(
            "student_ref",
            "expected_he_entry_year",
            "entry_year_label",
            "entry_year_source",
            "entry_year_nation",  # stored as the nation of schooling
        ).iter_rows()
    )
    assert len(stored) == 30 and len({year for _, year, _, _, _ in stored}) == 2
    assert {nation for *_, nation in stored} == {"England", "Scotland", "Northern Ireland", "Wales"}


def test_the_nation_of_schooling_is_stored_and_follows_the_row(invoke, db, tmp_path):
    """An explicit nation wins, else the postcode; a changed row gets its nation again."""
    header = STUDENT_HEADER.replace("Postcode,", "Postcode,Nation,")
    first = write(
        tmp_path / "a.csv",
        header + "S1,Ann,Lee,01/06/2008,CF10 3AT,,Yes\n"
        "S2,Bob,Lee,01/06/2008,CT1 2EH,Wales,Yes\n"
        "S3,Cat,Lee,01/06/2008,CH5 1AB,,Yes\n"
        "S4,Dan,Lee,01/06/2008,CH1 4BJ,,Yes\n",
    )
    assert invoke("import", first, "-m", "KENT", "--db", db).exit_code == 0
    nations = "SELECT student_ref, school_nation FROM students ORDER BY 1"
    assert query(db, nations) == [
        ("S1", "Wales"),
        ("S2", "Wales"),
        ("S3", "Wales"),
        ("S4", "England"),
    ]
    moved = write(tmp_path / "b.csv", header + "S1,Ann,Lee,01/06/2008,EH1 1YZ,,Yes\n")
    result = invoke("import", moved, "-m", "KENT", "--db", db)
    assert "0 inserted, 1 updated" in result.stdout
    assert query(db, nations)[0] == ("S1", "Scotland")
