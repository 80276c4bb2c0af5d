"""`heattool outcomes import`: track returns loaded by heat_id, only for people a request sent."""

from __future__ import annotations

import csv
import json
import os
import shutil
import stat
import uuid
from pathlib import Path

import polars as pl
import pytest

from heattool.findings import CODES
from heattool.store.erasure import PERSONAL_TABLES
from tests.helpers import EXAMPLES, query

UPLOADS = [EXAMPLES / f"{k}.csv" for k in ("activities", "students", "attendance", "ambassadors")]
HESA = "heat_id,Entered HE,HE Entry Year,HE Provider,HE Level,Tariff Group,Continued"
NPD = "heat_id,exam_year,attainment8,english_maths_4,english_maths_5,level3,fsm,idaci_decile"
HESA_MAPPING = (
    "  headings: heat_id -> heat_id, Entered HE -> entered_he, HE Entry Year -> he_entry_year, "
    "HE Provider -> he_provider, HE Level -> he_level, Tariff Group -> tariff_group, "
    "Continued -> continued"
)
OUTCOME_TABLES = ("outcomes_hesa", "outcomes_npd", "return_batches")


@pytest.fixture(scope="module")
def template(tmp_path_factory, invoke_fresh) -> Path:
    """Two members' examples, with the track requests that were really sent:
    KENT for HESA 2026 (entry years to 2026) and NPD 2025 (entry 2025 or 2027), OTHER for HESA.
    """
    folder = tmp_path_factory.mktemp("outcomes")
    db = folder / "store.duckdb"
    other = folder / "other"
    other.mkdir()
    for upload in UPLOADS:  # the same people, as another member's records
        shutil.copy(upload, other / upload.name)
    runs = [
        ["import", *UPLOADS, "--member", "KENT"],
        ["import", *sorted(other.iterdir()), "--member", "OTHER"],
        ["track-request", "--target", "hesa", "--year", "2026", "--member", "KENT",
         "--out", folder / "hesa-kent.csv"],
        ["track-request", "--target", "npd", "--year", "2025", "--member", "KENT",
         "--out", folder / "npd-kent.csv"],
        ["track-request", "--target", "hesa", "--year", "2026", "--member", "OTHER",
         "--out", folder / "hesa-other.csv"],
    ]  # fmt: skip
    for run in runs:
        result = invoke_fresh(*run, "--db", db)
        assert result.exit_code == 0, result.stderr
    return db


@pytest.fixture
def db(template, tmp_path) -> Path:
    path = tmp_path / "store.duckdb"
    shutil.copy(template, path)
    return path


def heat_id(db: Path, ref: str, member: str = "KENT") -> str:
    table = "ambassadors" if ref.startswith("SA") else "students"
    column = f"{table.removesuffix('s')}_ref"
    rows = query(
        db, f"SELECT heat_id FROM {table} WHERE member = ? AND {column} = ?", [member, ref]
    )
    return str(rows[0][0])


def sent(db: Path, target: str, ref: str, member: str = "KENT") -> bool:
    rows = query(
        db,
        "SELECT count(*) FROM track_batch_records JOIN track_batches USING (track_batch_id) "
        "WHERE target = ? AND heat_id = ?::UUID",
        [target, heat_id(db, ref, member)],
    )
    return rows[0][0] > 0


def write(path: Path, header: str, *rows: str) -> Path:
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def outcomes(invoke, db, *args):
    return invoke("outcomes", "import", *args, "--db", db)


def snapshot(db: Path) -> dict[str, list[tuple]]:
    """Every row of every table of the store."""
    tables = [t for (t,) in query(db, "SELECT table_name FROM duckdb_tables()")]
    return {t: query(db, f"SELECT * FROM {t} ORDER BY ALL") for t in sorted(tables)}


def stored_hesa(db: Path) -> list[tuple]:
    return query(
        db,
        "SELECT heat_id::VARCHAR, member, kind, entered_he, he_entry_year, he_provider, he_level, "
        "tariff_group, continued, return_batch_id FROM outcomes_hesa ORDER BY member, heat_id",
    )


# -- a return loads -----------------------------------------------------------------------------


def test_the_people_the_requests_sent(db):
    """What the other tests rely on: who was sent for which target."""
    assert [sent(db, "hesa", r) for r in ("S0004", "S0009", "SA01", "S0001", "S0013")] == [
        True, True, True, False, False,
    ]  # fmt: skip
    assert [sent(db, "npd", r) for r in ("S0001", "S0004", "S0012", "S0013")] == [
        True, False, False, False,
    ]  # fmt: skip
    assert sent(db, "hesa", "S0012")


def test_a_valid_hesa_return_loads_its_outcomes_by_heat_id(invoke, db, tmp_path):
    ids = [heat_id(db, r) for r in ("S0004", "S0009", "SA01")]
    path = write(
        tmp_path / "hesa-2026.csv",
        HESA,
        f"{ids[0]},Yes,2025/26,University of Kent,First degree,High tariff,yes",
        f"{ids[1]},No,,,,,",
        f" {ids[2].upper()} ,Y,2024,Canterbury Christ Church University,postgraduate,low,",
    )
    result = outcomes(invoke, db, path, "--target", "hesa", "--member", "KENT")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines() == [
        f"{path} (hesa return): 3 rows: 3 inserted, 0 replaced, 0 unchanged, 0 rejected",
        HESA_MAPPING,
        f"loaded into {db} for member KENT",
    ]
    assert sorted(stored_hesa(db)) == sorted(
        [
            (ids[0], "KENT", "students", True, 2025, "University of Kent", "first-degree",
             "high", True, 1),
            (ids[1], "KENT", "students", False, None, None, None, None, None, 1),
            (ids[2], "KENT", "ambassadors", True, 2024, "Canterbury Christ Church University",
             "postgraduate", "low", None, 1),
        ]
    )  # fmt: skip
    (batch,) = query(db, "SELECT * EXCLUDE (imported_at, tool_version) FROM return_batches")
    sha256 = json.loads(outcomes(invoke, db, path, "-t", "hesa", "-f", "json").stdout)["files"][0]
    assert batch == (1, "hesa", "KENT", "hesa-2026.csv", sha256["sha256"], 3, 3, 0, 0, 0)
    assert not list(tmp_path.glob("*rejects*"))


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".parquet"])
def test_an_npd_return_reads_the_same_as_csv_excel_or_parquet(invoke, db, tmp_path, suffix):
    ids = [heat_id(db, r) for r in ("S0001", "S0002")]
    frame = pl.DataFrame(
        {
            "heat_id": ids,
            "Exam Year": [2025, 2025],
            "Attainment 8": [52.5, 31.0],
            "English and Maths 4+": [True, False],
            "English and Maths 5+": [True, None],
            "Level 3": [None, None],
            "FSM": [False, True],
            "IDACI Decile": [7, 2],
        }
    )
    path = tmp_path / f"npd{suffix}"
    {".csv": frame.write_csv, ".xlsx": frame.write_excel, ".parquet": frame.write_parquet}[suffix](
        path
    )
    result = outcomes(invoke, db, path, "--target", "npd", "--member", "KENT")
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[0] == (
        f"{path} (npd return): 2 rows: 2 inserted, 0 replaced, 0 unchanged, 0 rejected"
    )
    stored = query(
        db,
        "SELECT heat_id::VARCHAR, kind, exam_year, attainment8, english_maths_4, english_maths_5, "
        "level3, fsm, idaci_decile FROM outcomes_npd ORDER BY attainment8 DESC",
    )
    assert stored == [
        (ids[0], "students", 2025, 52.5, True, True, None, False, 7),
        (ids[1], "students", 2025, 31.0, False, None, None, True, 2),
    ]


# -- rows the store rejects ---------------------------------------------------------------------


def test_a_heat_id_the_store_or_the_member_does_not_hold_is_unknown(invoke, db, tmp_path):
    kent, other = heat_id(db, "S0004"), heat_id(db, "S0004", "OTHER")
    path = write(
        tmp_path / "hesa.csv",
        HESA,
        f"{kent},Yes,2025,,,,",
        f"{uuid.uuid4()},Yes,2025,,,,",
        "not-a-heat-id,No,,,,,",
        f"{other},Yes,2025,,,,",  # another member's person, sent for HESA by that member
    )
    rejects = tmp_path / "rejects.csv"
    result = outcomes(invoke, db, path, "-t", "hesa", "-m", "KENT", "--rejects-out", rejects)
    assert result.exit_code == 1, result.stderr
    assert result.stdout.splitlines() == [
        f"{path} (hesa return): 4 rows: 1 inserted, 0 replaced, 0 unchanged, 3 rejected",
        "  headings: heat_id -> heat_id, Entered HE -> entered_he, HE Entry Year -> "
        "he_entry_year, HE Provider -> he_provider, HE Level -> he_level, Tariff Group -> "
        "tariff_group, Continued -> continued",
        "  unknown-heat-id: 3 rows (3, 4, 5), in heat_id",
        f"rejected rows written to {rejects} (fix them there and import it again)",
        f"loaded into {db} for member KENT",
    ]
    assert [(r[0], r[1]) for r in stored_hesa(db)] == [(kent, "KENT")]
    assert stat.S_IMODE(os.stat(rejects).st_mode) == 0o600
    with rejects.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [*HESA.split(","), "heattool_row", "heattool_codes",
                             "heattool_messages"]  # fmt: skip
    assert [(r["heattool_row"], r["heattool_codes"]) for r in rows] == [
        ("3", "unknown-heat-id"), ("4", "unknown-heat-id"), ("5", "unknown-heat-id"),
    ]  # fmt: skip
    # the same message whether the heat_id is nobody's or another member's
    assert {r["heattool_messages"] for r in rows} == {
        "heat_id: " + CODES["unknown-heat-id"].message
    }

    # Without --member each row is its heat_id's person's, of whichever member.
    result = outcomes(invoke, db, path, "-t", "hesa", "--no-rejects")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].endswith("4 rows: 1 inserted, 0 replaced, 1 unchanged, "
                                                  "2 rejected")  # fmt: skip
    assert result.stdout.splitlines()[-1] == (
        f"loaded into {db}, each row for its person's member (KENT 1, OTHER 1)"
    )
    assert [(r[0], r[1]) for r in stored_hesa(db)] == [(kent, "KENT"), (other, "OTHER")]


def test_a_person_never_sent_for_the_target_is_not_requested(invoke, db, tmp_path):
    # S0013 was never sent; S0001 only for NPD; S0004 and S0012 only for HESA. A dry-run request
    # records nothing, so it sends nobody: S0012 is in an NPD one.
    dry = invoke("track-request", "--target", "npd", "--year", "2026", "--member", "KENT",
                 "--dry-run", "--db", db)  # fmt: skip
    assert dry.exit_code == 0 and "1 record (1 student)" in dry.stdout
    ids = {r: heat_id(db, r) for r in ("S0013", "S0001", "S0004", "S0012")}
    hesa = write(
        tmp_path / "hesa.csv",
        HESA,
        f"{ids['S0013']},No,,,,,",
        f"{ids['S0001']},No,,,,,",
        f"{ids['S0004']},Yes,2025,,,,",
    )
    result = outcomes(invoke, db, hesa, "-t", "hesa", "-m", "KENT", "--no-rejects")
    assert result.exit_code == 1
    assert result.stdout.splitlines()[0].endswith("1 inserted, 0 replaced, 0 unchanged, 2 rejected")
    assert "  not-requested: 2 rows (2, 3), in heat_id" in result.stdout.splitlines()
    assert [r[0] for r in stored_hesa(db)] == [ids["S0004"]]

    npd = write(
        tmp_path / "npd.csv", NPD, f"{ids['S0012']},2025,40,,,,,", f"{ids['S0001']},2025,,,,,,"
    )
    result = outcomes(invoke, db, npd, "-t", "npd", "--no-rejects", "-f", "json")
    assert result.exit_code == 1
    (file,) = json.loads(result.stdout)["files"]
    assert (file["inserted"], file["rejected"], file["rejected_by_code"]) == (
        1, 1, {"not-requested": 1},
    )  # fmt: skip
    assert [(e["row"], e["cell"], e["column"], e["code"]) for e in file["errors"]] == [
        (2, "A2", "heat_id", "not-requested")
    ]
    assert query(db, "SELECT heat_id::VARCHAR FROM outcomes_npd") == [(ids["S0001"],)]


RETURN_CASES = {
    # code: (target, header, row after the heat_id, spreadsheet row, column as headed)
    "invalid-year": ("hesa", HESA, "Yes,2999,,,,", 2, "HE Entry Year"),
    "invalid-score": ("npd", NPD, "2025,91,,,,,", 2, "attainment8"),
    "invalid-decile": ("npd", NPD, "2025,40,,,,,11", 2, "idaci_decile"),
    "unknown-heat-id": ("hesa", HESA, "Yes,2025,,,,", 2, "heat_id"),
    "not-requested": ("hesa", HESA, "No,,,,,", 2, "heat_id"),
}


@pytest.mark.parametrize("code", sorted(RETURN_CASES))
def test_a_return_code_is_reported_at_its_row_and_column(invoke, db, tmp_path, code):
    target, header, rest, row, column = RETURN_CASES[code]
    who = {
        "unknown-heat-id": str(uuid.uuid4()),
        "not-requested": heat_id(db, "S0013"),
    }.get(code, heat_id(db, "S0001" if target == "npd" else "S0004"))
    path = write(tmp_path / f"{target}.csv", header, f"{who},{rest}")
    result = outcomes(invoke, db, path, "-t", target, "-m", "KENT", "--no-rejects", "-f", "json")
    assert result.exit_code == 1, result.stderr
    (error,) = json.loads(result.stdout)["files"][0]["errors"]
    assert (error["row"], error["column"], error["code"]) == (row, column, code)
    assert error["message"] == CODES[code].message.format(column=column)
    assert "value" not in error  # a return's cells are outcomes: never printed


def test_one_heat_id_twice_is_a_duplicate_on_both_rows(invoke, db, tmp_path):
    who = heat_id(db, "S0004")
    path = write(tmp_path / "hesa.csv", HESA, f"{who},Yes,2025,,,,", f"{who},No,,,,,",
                 f"{{{who.upper()}}},No,,,,,")  # fmt: skip
    result = outcomes(invoke, db, path, "-t", "hesa", "--no-rejects")
    assert result.exit_code == 1
    assert "  duplicate-ref: 3 rows (2, 3, 4), in heat_id" in result.stdout.splitlines()
    assert stored_hesa(db) == []


# -- idempotent, replaced, audited ----------------------------------------------------------------


def test_the_same_return_twice_changes_nothing(invoke, db, tmp_path):
    ids = [heat_id(db, r) for r in ("S0004", "S0009")]
    path = write(tmp_path / "hesa.csv", HESA, f"{ids[0]},Yes,2025,,,,", f"{ids[1]},No,,,,,")
    assert outcomes(invoke, db, path, "-t", "hesa").exit_code == 0
    before = query(db, "SELECT * FROM outcomes_hesa ORDER BY heat_id")
    again = outcomes(invoke, db, path, "-t", "hesa", "-m", "KENT")
    assert again.exit_code == 0, again.stderr
    lines = again.stdout.splitlines()
    assert lines[0] == (
        f"{path} (hesa return): 2 rows: 0 inserted, 0 replaced, 2 unchanged, 0 rejected"
    )
    assert lines[2].startswith("  already imported in return batch 1 on ")
    assert lines[2].endswith(" UTC; nothing changed")
    assert query(db, "SELECT * FROM outcomes_hesa ORDER BY heat_id") == before
    (last,) = query(db, "SELECT max(event_id) FROM audit_events WHERE event = 'outcomes-import'")
    assert query(db, "SELECT count(*) FROM audit_records WHERE event_id = ?", [last[0]]) == [(0,)]


def test_a_later_return_replaces_the_earlier_and_the_audit_holds_no_outcome(invoke, db, tmp_path):
    ids = [heat_id(db, r) for r in ("S0004", "S0009", "SA01")]
    first = write(tmp_path / "first.csv", HESA, f"{ids[0]},Yes,2025,University of Kent,,high,",
                  f"{ids[1]},No,,,,,", f"{ids[2]},Yes,2024,,,,")  # fmt: skip
    assert outcomes(invoke, db, first, "-t", "hesa", "-m", "KENT").exit_code == 0
    (created,) = query(db, "SELECT created_at FROM outcomes_hesa WHERE heat_id = ?::UUID", [ids[0]])
    later = write(tmp_path / "later.csv", HESA,
                  f"{ids[0]},Yes,2025,University of Kent,first degree,high,yes",
                  f"{ids[1]},No,,,,,")  # fmt: skip
    result = outcomes(invoke, db, later, "-t", "hesa", "-m", "KENT")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[0] == (
        f"{later} (hesa return): 2 rows: 0 inserted, 1 replaced, 1 unchanged, 0 rejected"
    )
    rows = {r[0]: r for r in stored_hesa(db)}
    assert rows[ids[0]][3:] == (True, 2025, "University of Kent", "first-degree", "high", True, 2)
    assert rows[ids[1]][-1] == 1 and rows[ids[2]][-1] == 1  # unchanged, and not in the later one
    replaced = query(
        db, "SELECT created_at, updated_at FROM outcomes_hesa WHERE heat_id = ?::UUID", [ids[0]]
    )
    assert replaced[0][0] == created[0] and replaced[0][1] > created[0]

    (event_id, member, details) = query(
        db, "SELECT event_id, member, details FROM audit_events WHERE event = 'outcomes-import' "
        "ORDER BY event_id DESC LIMIT 1",
    )[0]  # fmt: skip
    assert member == "KENT"
    assert json.loads(details) == {
        "target": "hesa",
        "return_batch_id": 2,
        "file": "later.csv",
        "rows": 2,
        "inserted": 0,
        "replaced": 1,
        "unchanged": 1,
        "rejected": 0,
        "rejected_by_code": {},
        "by_member": {"KENT": 2},
        "replaced_return_batches": [1],
    }
    assert query(
        db, "SELECT heat_id::VARCHAR, change FROM audit_records WHERE event_id = ?", [event_id]
    ) == [(ids[0], "replaced")]
    trail = " ".join(d for (d,) in query(db, "SELECT details FROM audit_events"))
    assert "University of Kent" not in trail and "first-degree" not in trail
    assert "entered_he" not in trail and "tariff" not in trail


# -- files that cannot load -----------------------------------------------------------------------


BAD_FILES = {
    # name: (file contents, or None for no file; exit code)
    "missing": (None, 2),
    "empty": (b"", 2),
    "binary": (b"\x00\x01\x02PK not text", 2),
    "damaged parquet": (b"PAR1 not really a parquet file PAR1", 2),
    "no heat_id column": (b"HEAT Student ID,Entered HE\n123,Yes\n", 1),
    "a heading twice": (b"heat_id,Entered HE,Entered Higher Education\nx,Yes,Yes\n", 1),
    "a students upload": ((EXAMPLES / "students.csv").read_bytes(), 1),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_a_bad_file_leaves_the_store_exactly_as_it_was(invoke, db, tmp_path, name):
    contents, code = BAD_FILES[name]
    good = write(tmp_path / "good.csv", HESA, f"{heat_id(db, 'S0004')},Yes,2025,,,,")
    bad = tmp_path / ("bad.parquet" if "parquet" in name else "bad.csv")
    if contents is not None:
        bad.write_bytes(contents)
    before = snapshot(db)
    result = outcomes(invoke, db, good, bad, "-t", "hesa", "-m", "KENT", "--no-rejects")
    assert result.exit_code == code, result.stdout + result.stderr
    assert snapshot(db) == before
    if code == 1:
        assert result.stdout.splitlines()[-1] == (
            f"the headings of {bad} have errors: nothing was loaded into {db}; "
            "fix them and import again"
        )
    else:
        assert result.stderr.startswith(f"error: {bad}")


def test_a_dry_run_counts_and_writes_nothing(invoke, db, tmp_path):
    path = write(tmp_path / "hesa.csv", HESA, f"{heat_id(db, 'S0004')},Yes,2025,,,,",
                 f"{uuid.uuid4()},No,,,,,")  # fmt: skip
    before = snapshot(db)
    result = outcomes(invoke, db, path, "-t", "hesa", "--dry-run")
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0].endswith("2 rows: 1 inserted, 0 replaced, 0 unchanged, 1 rejected")
    assert lines[-1] == f"dry run: nothing was written to {db}"
    assert snapshot(db) == before
    assert not list(tmp_path.glob("*rejects*"))


def test_usage_errors_are_one_line_exit_2_and_create_no_store(invoke, db, tmp_path):
    path = write(tmp_path / "hesa.csv", HESA, f"{heat_id(db, 'S0004')},Yes,2025,,,,")
    unknown = outcomes(invoke, db, path, "-t", "hesa", "-m", "NOBODY")
    assert unknown.exit_code == 2
    assert unknown.stderr == (
        f"error: the store {db} has no records of member NOBODY; it holds KENT, OTHER\n"
    )
    missing = tmp_path / "missing.duckdb"
    none = outcomes(invoke, missing, path, "-t", "hesa")
    assert none.exit_code == 2 and not missing.exists()
    assert none.stderr == f"error: no store at {missing}; create one with heattool import\n"
    assert outcomes(invoke, db, path, "-t", "ilr").exit_code == 2


# -- returns are told from uploads ----------------------------------------------------------------


def test_a_return_is_never_taken_for_an_upload(invoke, tmp_path):
    path = write(tmp_path / "hesa.csv", HESA, f"{uuid.uuid4()},Yes,2025,,,,")
    result = invoke("validate", path)
    assert result.exit_code == 2
    assert "cannot tell what kind of upload this is from its headings" in result.stderr
    students = write(tmp_path / "students.csv", "Student Ref,HE Entry Year,Entered HE", "S1,2026,x")
    document = json.loads(invoke("validate", students, "-f", "json").stdout)["files"][0]
    assert document["kind"] == "students"
    assert [h["column"] for h in document["headings"]] == [
        "student_ref", "expected_he_entry_year", None,
    ]  # fmt: skip


# -- outcomes are personal data -------------------------------------------------------------------


def test_outcomes_are_personal_data_shown_by_access_removed_by_erase_and_purge(
    invoke, db, tmp_path
):
    assert list(PERSONAL_TABLES).index("outcomes_hesa") < list(PERSONAL_TABLES).index("students")
    assert "outcomes_npd" in PERSONAL_TABLES
    s0004, s0001 = heat_id(db, "S0004"), heat_id(db, "S0001")
    hesa = write(tmp_path / "hesa.csv", HESA, f"{s0004},Yes,2025,University of Kent,,high,")
    npd = write(tmp_path / "npd.csv", NPD, f"{s0001},2025,48.5,yes,no,,no,4")
    assert outcomes(invoke, db, hesa, "-t", "hesa").exit_code == 0
    assert outcomes(invoke, db, npd, "-t", "npd").exit_code == 0

    package = json.loads(invoke("subject", "access", s0004, "--db", db).stdout)
    (held,) = package["held_in_tables"]["outcomes_hesa"]
    assert (held["he_provider"], held["tariff_group"], held["entered_he"]) == (
        "University of Kent", "high", True,
    )  # fmt: skip
    assert "outcomes-import" in [e["event"] for e in package["audit_events"]]
    pack = tmp_path / "pack.html"  # the pack the person reads lists them too
    assert invoke("subject", "access", s0004, "--db", db, "--pack", pack).exit_code == 0
    page = pack.read_text("utf-8")
    assert "outcomes_hesa" in page and "University of Kent" in page
    assert "We hold no outcomes about you" not in page

    receipt = tmp_path / "erasure.json"
    erased = invoke("subject", "erase", s0004, "--yes", "--db", db, "--receipt", receipt)
    assert erased.exit_code == 0, erased.stderr
    assert json.loads(receipt.read_text("utf-8"))["rows_deleted"]["outcomes_hesa"] == 1
    assert query(db, "SELECT count(*) FROM outcomes_hesa") == [(0,)]

    receipt = tmp_path / "purge.json"
    purged = invoke("purge", "--as-of", "2060-09-01", "--allow-future", "--yes", "--member",
                    "KENT", "--db", db, "--receipt", receipt)  # fmt: skip
    assert purged.exit_code == 0, purged.stderr
    assert json.loads(receipt.read_text("utf-8"))["rows_deleted"]["outcomes_npd"] == 1
    assert query(db, "SELECT count(*) FROM outcomes_npd") == [(0,)]
    # the batches keep their counts, never a person's outcome
    assert query(db, "SELECT target, rows, inserted FROM return_batches ORDER BY 1") == [
        ("hesa", 1, 1), ("npd", 1, 1),
    ]  # fmt: skip


def test_heattool_toml_gives_the_store_member_and_rejects_folder(invoke, db, tmp_path):
    folder = tmp_path / "rejects"
    config = tmp_path / "heattool.toml"
    config.write_text(f'db = "{db.name}"\nmember = "KENT"\nout_dir = "rejects"\n', "utf-8")
    path = write(tmp_path / "hesa.csv", HESA, f"{heat_id(db, 'S0004')},Yes,2025,,,,",
                 f"{uuid.uuid4()},No,,,,,")  # fmt: skip
    result = invoke("--config", config, "outcomes", "import", path, "-t", "hesa")
    assert result.exit_code == 1, result.stderr
    assert result.stdout.splitlines()[-1] == f"loaded into {db} for member KENT"
    assert [p.name for p in folder.iterdir()] == ["hesa.rejects.csv"]
