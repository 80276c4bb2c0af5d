"""Issue 11: mistakes are errors, never a reported success; deletion never runs ahead of time."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from tests.helpers import EXAMPLES, query

UPLOADS = [EXAMPLES / f"{k}.csv" for k in ("activities", "students", "attendance", "ambassadors")]


@pytest.fixture
def db(tmp_path, invoke):
    path = tmp_path / "store.duckdb"
    assert invoke("import", *UPLOADS, "--member", "KENT", "--db", path).exit_code == 0
    return path


def heat_id(db, ref: str) -> str:
    return str(query(db, "SELECT heat_id FROM students WHERE student_ref = ?", [ref])[0][0])


# -- 13. a missing store is an error -------------------------------------------------------------

MISSING_STORE_COMMANDS = [
    ["retention"],
    ["purge", "--as-of", "2026-09-01", "--yes"],
    ["summary"],
    ["calendar"],
    ["track-request", "--target", "hesa", "--year", "2026", "--dry-run"],
    ["subject", "find", "--forename", "A", "--surname", "B", "--dob", "2009-01-01"],
    ["subject", "access", "7a7db117-9a76-4b69-a3e1-44ff0ad23ebd"],
    ["subject", "withdraw", "7a7db117-9a76-4b69-a3e1-44ff0ad23ebd"],
    ["subject", "erase", "7a7db117-9a76-4b69-a3e1-44ff0ad23ebd", "--yes"],
]


@pytest.mark.parametrize("args", MISSING_STORE_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_every_command_but_import_refuses_a_store_that_is_not_there(invoke, tmp_path, args):
    typo = tmp_path / "typo.duckdb"
    result = invoke(*args, "--db", typo)
    assert result.exit_code == 2, result.stdout
    assert result.stderr == f"error: no store at {typo}; create one with heattool import\n"
    assert not typo.exists()


# -- 14. a member with no records is an error ------------------------------------------------------

MEMBER_COMMANDS = [
    ["retention"],
    ["purge", "--as-of", "2026-09-01", "--yes"],
    ["summary"],
    ["calendar"],
    ["track-request", "--target", "hesa", "--year", "2026", "--dry-run"],
    ["subject", "find", "--forename", "A", "--surname", "B", "--dob", "2009-01-01"],
    ["subject", "access", "--ref", "S0001"],
]


@pytest.mark.parametrize("args", MEMBER_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_member_the_store_does_not_hold_is_an_error_naming_those_it_does(invoke, db, args):
    result = invoke(*args, "--db", db, "--member", "KNET")
    assert result.exit_code == 2, result.stdout
    assert result.stderr == f"error: the store {db} has no records of member KNET; it holds KENT\n"


def test_member_codes_are_case_insensitive_and_matched_whole(invoke, db):
    lower = invoke("retention", "--db", db, "--member", "kent", "--as-of", "2026-11-24")
    assert lower.exit_code == 0, lower.stderr
    assert "13 records" in lower.stdout or "records" in lower.stdout
    assert query(db, "SELECT member FROM members") == [("KENT",)]
    for bad in ("KENT\n", "KENT;", " KENT"):
        result = invoke("retention", "--db", db, "--member", bad)
        assert result.exit_code == 2
        assert "is not a member code" in result.stderr


def test_an_import_stores_the_member_upper_case(invoke, tmp_path):
    path = tmp_path / "s.duckdb"
    assert invoke("import", UPLOADS[0], "--member", "kent", "--db", path).exit_code == 0
    assert query(path, "SELECT DISTINCT member FROM activities") == [("KENT",)]


# -- 10. no purge in the future ------------------------------------------------------------------


def test_purge_refuses_a_day_after_today(invoke, db):
    later = dt.date.today() + dt.timedelta(days=1)
    before = query(db, "SELECT count(*) FROM students")
    result = invoke("purge", "--db", db, "--as-of", later.isoformat(), "--yes")
    assert result.exit_code == 2
    assert f"--as-of {later} is after today" in result.stderr
    assert "--allow-future" in result.stderr
    assert query(db, "SELECT count(*) FROM students") == before
    rehearsed = invoke("purge", "--db", db, "--as-of", "2034-09-15", "--dry-run")
    assert rehearsed.exit_code == 0, rehearsed.stderr  # a dry run may look ahead
    meant = invoke("purge", "--db", db, "--as-of", "2034-09-15", "--yes", "--allow-future")
    assert meant.exit_code == 0, meant.stderr


# -- 11. rights by ref, and the erase prompt ------------------------------------------------------


def test_access_withdraw_and_erase_take_a_member_and_ref(invoke, db, tmp_path):
    out = tmp_path / "p.json"
    access = invoke(
        "subject", "access", "--member", "KENT", "--ref", "S0002", "--db", db, "-o", out
    )
    assert access.exit_code == 0, access.stderr
    assert heat_id(db, "S0002") in out.read_text()
    withdrawn = invoke("subject", "withdraw", "--member", "kent", "--ref", "S0002", "--db", db)
    assert withdrawn.exit_code == 0, withdrawn.stderr
    assert query(db, "SELECT withdrawn_on IS NOT NULL FROM students WHERE student_ref = 'S0002'")[
        0
    ] == (True,)
    erased = invoke("subject", "erase", "--member", "KENT", "--ref", "S0002", "--db", db, "--yes")
    assert erased.exit_code == 0, erased.stderr
    assert query(db, "SELECT count(*) FROM students WHERE student_ref = 'S0002'") == [(0,)]
    nobody = invoke("subject", "access", "--member", "KENT", "--ref", "S0002", "--db", db)
    assert nobody.exit_code == 2
    assert "no person with ref S0002 for member KENT" in nobody.stderr
    neither = invoke("subject", "access", "--db", db)
    assert neither.exit_code == 2
    assert "by their heat_id, or by --member and --ref" in neither.stderr


def test_declining_the_erase_prompt_names_the_person_and_erases_nothing(invoke, db, monkeypatch):
    from heattool.cli import commands

    monkeypatch.setattr(commands, "at_terminal", lambda: True)
    result = invoke(
        "subject", "erase", "--member", "KENT", "--ref", "S0003", "--db", db, input="n\n"
    )
    assert result.exit_code == 0, result.stderr
    assert f"Erase student S0003 of member KENT ({heat_id(db, 'S0003')})" in result.stdout
    assert "Nothing erased." in result.stdout
    assert query(db, "SELECT count(*) FROM students WHERE student_ref = 'S0003'") == [(1,)]


# -- 11. erased people stay erased ---------------------------------------------------------------

ERASED_HEADER = "Student Ref,Forename,Surname,Date of Birth,Postcode,Permission to Track\n"


def test_erased_people_are_refused_under_every_spelling_of_their_name(invoke, tmp_path):
    db = tmp_path / "s.duckdb"
    first = tmp_path / "first.csv"
    first.write_text(
        ERASED_HEADER + "Z1,Zoë,O'Reilly,14/03/2009,CT2 7NZ,Yes\n"
        "M1,Mary Jane,Smith,01/02/2010,CT2 7NZ,Yes\n",
        encoding="utf-8",
    )
    assert invoke("import", first, "--member", "KENT", "--db", db).exit_code == 0
    for ref in ("Z1", "M1"):
        erased = invoke("subject", "erase", "--member", "KENT", "--ref", ref, "--db", db, "--yes")
        assert erased.exit_code == 0, erased.stderr
    again = tmp_path / "again.csv"
    again.write_text(
        ERASED_HEADER + "Z2,Zoe,O'Reilly,14/03/2009,,Yes\n"
        "Z3,Zoë,O’Reilly,2009-03-14,,Yes\n"
        "Z4,ZOË,o reilly,14/03/2009,,Yes\n"
        "M2,Mary  Jane,Smith,01/02/2010,,Yes\n"
        "M3,Mary-Jane,Smith,01/02/2010,,Yes\n"
        "N1,Zoë,O'Reilly,15/03/2009,,Yes\n",  # another day of birth: another person
        encoding="utf-8",
    )
    result = invoke("import", again, "--member", "KENT", "--db", db, "-f", "json")
    assert result.exit_code == 1
    assert query(db, "SELECT student_ref FROM students ORDER BY 1") == [("N1",)]
    assert '"rejected": 5' in result.stdout


def test_subject_find_folds_names_and_reads_any_date_form(invoke, tmp_path):
    db = tmp_path / "s.duckdb"
    upload = tmp_path / "s.csv"
    upload.write_text(ERASED_HEADER + "Z1,Zoë,O'Reilly,14/03/2009,CT2 7NZ,Yes\n", encoding="utf-8")
    assert invoke("import", upload, "--member", "KENT", "--db", db).exit_code == 0
    for forename, surname, dob in [
        ("zoe", "O’Reilly", "14/03/2009"),
        ("ZOË", "oreilly", "2009-03-14"),
        ("Zoë", "O'Reilly", "14 Mar 2009"),
    ]:
        found = invoke(
            "subject", "find", "--forename", forename, "--surname", surname, "--dob", dob,
            "--db", db, "-f", "json",
        )  # fmt: skip
        assert found.exit_code == 0, found.stderr
        assert '"ref": "Z1"' in found.stdout, (forename, surname, dob)
    bad = invoke("subject", "find", "--forename", "a", "--surname", "b", "--dob", "31/02/2009")
    assert bad.exit_code == 2
    assert "not a date; write it as YYYY-MM-DD or DD/MM/YYYY" in bad.stderr
    assert "31/02/2009" not in bad.stderr  # a date of birth is not echoed


# -- 3, 4, 5. the mapping shown, aliases and warnings for import too ------------------------------


def test_validate_and_import_show_how_each_heading_was_read(invoke, tmp_path):
    upload = tmp_path / "s.csv"
    upload.write_text("Student Ref,Forename,Surname,Gender,Notes\nS1,Ann,Lee,Female,hi\n")
    checked = invoke("validate", upload)
    assert checked.exit_code == 0, checked.stderr
    expected = (
        "  headings: Student Ref -> student_ref, Forename -> forename, Surname -> surname, "
        "Gender -> gender_identity, Notes -> ignored"
    )
    assert expected in checked.stdout.splitlines()
    db = tmp_path / "s.duckdb"
    loaded = invoke("import", upload, "--member", "KENT", "--db", db)
    assert loaded.exit_code == 0, loaded.stderr
    assert expected in loaded.stdout.splitlines()
    assert "warning unknown-column" in loaded.stdout  # the same warning validate gives
    as_json = invoke("import", upload, "--member", "KENT", "--db", db, "-f", "json")
    document = json.loads(as_json.stdout)["files"][0]
    assert {"heading": "Gender", "cell": "D1", "column": "gender_identity"} in document["headings"]
    assert {"heading": "Notes", "cell": "E1", "column": None} in document["headings"]
    assert [w["code"] for w in document["warnings"]] == ["unknown-column"]


def test_import_takes_the_same_aliases_as_validate(invoke, tmp_path, monkeypatch):
    aliases = tmp_path / "aliases.toml"
    aliases.write_text('[aliases]\ndate_of_birth = ["Pupil Birthday"]\n', encoding="utf-8")
    upload = tmp_path / "s.csv"
    upload.write_text("Student Ref,Forename,Surname,Pupil Birthday\nS1,Ann,Lee,14/03/2009\n")
    db = tmp_path / "s.duckdb"
    given = invoke("import", upload, "--member", "KENT", "--db", db, "--aliases", aliases)
    assert given.exit_code == 0, given.stderr
    assert query(db, "SELECT date_of_birth FROM students") == [(dt.date(2009, 3, 14),)]
    monkeypatch.setenv("HEATTOOL_ALIASES", str(aliases))
    upload.write_text("Student Ref,Forename,Surname,Pupil Birthday\nS2,Bo,Ray,15/03/2009\n")
    from_env = invoke("import", upload, "--member", "KENT", "--db", db)
    assert from_env.exit_code == 0, from_env.stderr
    assert query(db, "SELECT date_of_birth FROM students WHERE student_ref = 'S2'") == [
        (dt.date(2009, 3, 15),)
    ]


# -- 22. rejects an officer can fix and re-upload; 20. and said to be plain text --------------


def test_each_upload_gets_its_own_rejects_file_that_can_be_fixed_and_imported(invoke, tmp_path):
    import csv

    students = tmp_path / "pupils.csv"
    students.write_text(
        "Surname,Student Ref,Forename,Date of Birth,Notes\n"
        "Lee,S1,Ann,14/03/2009,ok\n"
        "Ray,S2,Bob,31/02/2009,typo\n",
        encoding="utf-8",
    )
    activities = tmp_path / "events.csv"
    activities.write_text(
        "Activity Ref,Activity Name,Activity Type,Start Date\nA1,Visit,Campus visit,32/10/2025\n"
    )
    db = tmp_path / "s.duckdb"
    out = tmp_path / "rejects"
    out.mkdir()
    result = invoke("import", students, activities, "-m", "KENT", "--db", db, "--rejects-out", out)
    assert result.exit_code == 1
    pupils, events = out / "pupils.rejects.csv", out / "events.rejects.csv"
    assert sorted(p.name for p in out.iterdir()) == [events.name, pupils.name]
    with pupils.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    assert rows[0] == [
        "Surname", "Student Ref", "Forename", "Date of Birth", "Notes",
        "heattool_row", "heattool_codes", "heattool_messages",
    ]  # fmt: skip
    assert rows[1][:6] == ["Ray", "S2", "Bob", "31/02/2009", "typo", "3"]
    assert rows[1][6] == "invalid-date"
    rows[1][3] = "28/02/2009"  # the officer fixes the cell and uploads the file again
    with pupils.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    again = invoke("import", pupils, "-m", "KENT", "--db", db)
    assert again.exit_code == 0, again.stdout + again.stderr
    assert query(db, "SELECT student_ref FROM students ORDER BY 1") == [("S1",), ("S2",)]


def test_rejects_of_an_encrypted_store_are_said_to_be_plain_text_and_can_be_left_out(
    invoke, tmp_path, monkeypatch
):
    monkeypatch.setenv("HEATTOOL_KEY", "a-long-enough-test-key-0123456789")
    upload = tmp_path / "s.csv"
    upload.write_text("Student Ref,Forename,Date of Birth\nS1,Ann,31/02/2009\nS2,Bo,\n")
    db = tmp_path / "secret.duckdb"
    result = invoke("import", upload, "-m", "KENT", "--db", db)
    assert result.exit_code == 1
    assert "warning: the store is encrypted but rejects files are not" in result.stdout
    assert len(list(tmp_path.glob("secret-rejects-KENT-*-s.csv"))) == 1
    none = invoke("import", upload, "-m", "KENT", "--db", db, "--no-rejects", "-f", "json")
    assert none.exit_code == 1
    assert json.loads(none.stdout)["rejects_files"] == []
    assert len(list(tmp_path.glob("secret-rejects-*"))) == 1


# -- 16. exit 4 only for real bugs --------------------------------------------------------------


@pytest.mark.parametrize(
    "heading", ["file", "_index", "_row", "error_codes", "row", "heattool_row", "heattool_codes"]
)
def test_a_heading_named_like_the_tools_own_columns_is_an_ordinary_column(
    invoke, tmp_path, heading
):
    upload = tmp_path / "s.csv"
    upload.write_text(f"Student Ref,Forename,{heading}\nS1,Ann,x\nS1,Bob,y\n")
    db = tmp_path / "s.duckdb"
    result = invoke("import", upload, "-m", "KENT", "--db", db, "--rejects-out", tmp_path / "r.csv")
    assert result.exit_code == 1, result.stderr  # the duplicated ref, not a crash
    assert "duplicate-ref" in (tmp_path / "r.csv").read_text("utf-8-sig")


def test_an_alias_file_that_is_a_folder_is_a_configuration_error(invoke, tmp_path):
    result = invoke("validate", EXAMPLES / "students.csv", "--aliases", tmp_path)
    assert result.exit_code == 3
    assert (
        result.stderr == f"error: {tmp_path}: is a folder; give the path of an alias file (TOML)\n"
    )


def test_a_deeply_nested_policy_is_refused_as_a_bad_policy(invoke, db, tmp_path):
    deep = tmp_path / "deep.toml"
    nested = "{all = [" * 300 + '{field = "ref", present = true}' + "]}" * 300
    deep.write_text(
        '[policy]\nname = "x"\nversion = "1"\n[[rule]]\nname = "r"\nkind = "*"\n'
        f'period = "1y"\nanchor = "first_loaded_on"\naction = "delete"\nwhen = {nested}\n'
    )
    result = invoke("retention", "--policy", deep, "--db", db)
    assert result.exit_code == 3
    assert "nested more than 32 levels deep" in result.stderr


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_store_is_exit_2(invoke, db, tmp_path, damage):
    broken = tmp_path / "broken.duckdb"
    broken.write_bytes(db.read_bytes()[:5000] if damage == "truncated" else b"not a store\n")
    result = invoke("summary", "--db", broken)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"error: {broken}")


def test_json_to_a_reader_that_went_away_is_a_quiet_exit(tmp_path):
    import subprocess
    import sys

    upload = tmp_path / "bad.csv"
    upload.write_text(
        "Student Ref,Forename,Date of Birth\n"
        + "".join(f"S{i},Ann,31/02/2009\n" for i in range(30000))
    )
    command = [sys.executable, "-m", "heattool", "validate", str(upload), "-f", "json",
               "--max-errors", "0"]  # fmt: skip
    run = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert run.stdout is not None and run.stderr is not None
    run.stdout.read(10)
    run.stdout.close()  # as `| head -c 10` does
    error = run.stderr.read().decode()
    assert run.wait(timeout=120) == 1
    assert error == ""
