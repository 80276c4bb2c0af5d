"""`heattool track-request`: eligibility and reasons, the file, manifest, batch and isolation."""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import json
import stat
import tempfile
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from heattool.actions.track_request import FILE_COLUMNS, track_request
from heattool.rules.policy import default_policy_path, load_policy
from heattool.store import Store
from tests.helpers import EXAMPLES, HEAT_TOML, add_people, query

POLICY = load_policy()


@pytest.fixture
def store():
    with Store.open(":memory:") as opened:
        opened.migrate()
        yield opened


def file_rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def reason_of(store: Store, kind: str, row: dict, target: str = "hesa", year: int = 2026):
    """The one reason the person is excluded for, or None when they are sent."""
    add_people(store, kind, [row])
    result = track_request(store, POLICY, target, year, dry_run=True)
    assert result.records + result.excluded_total == 1
    return next((code for code, n in result.excluded.items() if n), None)


# --- eligibility, one reason at a time -----------------------------------------------------------

REASONS = [
    ("students", {}, None),
    ("students", {"permission_to_track": False}, "no-permission"),
    ("students", {"permission_to_track": None}, "no-permission"),
    ("students", {"withdrawn_on": dt.date(2026, 3, 1)}, "withdrawn"),
    ("students", {"forename": None}, "missing-forename"),
    ("students", {"forename": "  "}, "missing-forename"),
    ("students", {"surname": ""}, "missing-surname"),
    ("students", {"date_of_birth": None}, "missing-dob"),
    ("students", {"postcode": None}, "missing-postcode"),
    ("students", {"postcode": "CT1 2EC"}, "invalid-postcode"),  # no C in the inward letters
    ("students", {"postcode": "NOT A POSTCODE"}, "invalid-postcode"),
    # stored before the area check (an older heattool): a postcode that cannot exist
    ("students", {"postcode": "QA1 1AA"}, "invalid-postcode"),
    ("students", {"postcode": "ZZ1 1ZZ"}, "invalid-postcode"),
    ("students", {"postcode": "EC1Z 1AA"}, "invalid-postcode"),
    ("students", {"expected_he_entry_year": None}, "no-entry-year"),
    ("students", {"sex": None}, None),  # sex is sent when known, not required
    ("ambassadors", {}, None),
    ("ambassadors", {"heat_privacy_notice": False}, "notice-not-served"),
    ("ambassadors", {"hesa_privacy_notice": None}, "notice-not-served"),
    ("ambassadors", {"permission_to_track": False}, "no-permission"),
    ("ambassadors", {"withdrawn_on": dt.date(2026, 3, 1)}, "withdrawn"),
    ("ambassadors", {"date_of_birth": None}, "missing-dob"),
]


@pytest.mark.parametrize(("kind", "change", "reason"), REASONS)
def test_each_exclusion_reason(store, kind, change, reason):
    assert reason_of(store, kind, change) == reason


@pytest.mark.parametrize(
    ("entry_year", "reason"),
    [(2014, "outside-window"), (2015, None), (2020, None), (2026, None), (2027, "outside-window")],
)
def test_hesa_window_is_earliest_track_year_to_the_track_year(store, entry_year, reason):
    assert reason_of(store, "students", {"expected_he_entry_year": entry_year}) == reason


@pytest.mark.parametrize(("kind", "entry_year"), [("ambassadors", 2014), ("ambassadors", 2027)])
def test_hesa_window_applies_to_ambassadors_too(store, kind, entry_year):
    assert reason_of(store, kind, {"expected_he_entry_year": entry_year}) == "outside-window"


@pytest.mark.parametrize(
    ("entry_year", "reason"),
    [
        (2025, "outside-window"),
        (2026, None),  # KS5 in summer 2026
        (2027, "outside-window"),
        (2028, None),  # KS4 (GCSEs) in summer 2026
        (2029, "outside-window"),
    ],
)
def test_npd_window_is_ks5_or_ks4_in_the_summer_of_the_track_year(store, entry_year, reason):
    row = {"expected_he_entry_year": entry_year}
    assert reason_of(store, "students", row, target="npd") == reason


def test_npd_takes_no_ambassadors(store):
    add_people(store, "ambassadors", [{}])
    result = track_request(store, POLICY, "npd", 2026, dry_run=True)
    assert (result.records, result.excluded_total) == (0, 0)


def test_the_first_failing_reason_counts_and_the_list_gives_them_all(store, tmp_path):
    add_people(
        store,
        "students",
        [
            {"ref": "S1", "permission_to_track": False, "date_of_birth": None},
            {"ref": "S2", "withdrawn_on": dt.date(2026, 1, 1), "permission_to_track": False},
            {"ref": "S3", "surname": None, "expected_he_entry_year": 2030},
        ],
    )
    listed = tmp_path / "excluded.csv"
    result = track_request(store, POLICY, "hesa", 2026, dry_run=True, excluded_out=listed)
    assert {k: v for k, v in result.excluded.items() if v} == {
        "withdrawn": 1,
        "no-permission": 1,
        "missing-surname": 1,
    }
    rows = file_rows(listed)
    assert [(r["ref"], r["reason"], r["all_reasons"]) for r in rows] == [
        ("S1", "no-permission", "no-permission; missing-dob"),
        ("S2", "withdrawn", "withdrawn; no-permission"),
        ("S3", "missing-surname", "missing-surname; outside-window"),
    ]
    assert list(rows[0]) == [
        "member",
        "kind",
        "ref",
        "heat_id",
        "expected_he_entry_year",
        "reason",
        "all_reasons",
    ]
    assert "Ann" not in listed.read_text("utf-8-sig")  # refs, never names
    assert stat.S_IMODE(listed.stat().st_mode) == 0o600


def policy_with_track(tmp_path: Path, track: str, name: str = "mine.toml") -> Path:
    """The HEAT policy with its [track.*] tables replaced."""
    head = HEAT_TOML.split("# Track requests", 1)[0]
    path = tmp_path / name
    path.write_text(head + track, encoding="utf-8")
    return path


def test_window_and_required_fields_come_from_the_policy(store, tmp_path):
    path = policy_with_track(
        tmp_path,
        '[track.hesa]\nkinds = ["students"]\nrequired = ["forename", "surname", "sex"]\n'
        "window = { from_year = 2020, to_offset = 1 }\n",
    )
    policy = load_policy(path)
    add_people(
        store,
        "students",
        [
            {"ref": "S1", "expected_he_entry_year": 2019},
            {"ref": "S2", "expected_he_entry_year": 2020, "postcode": None},
            {"ref": "S3", "expected_he_entry_year": 2027, "date_of_birth": None},
            {"ref": "S4", "expected_he_entry_year": 2028},
            {"ref": "S5", "sex": " "},
        ],
    )
    add_people(store, "ambassadors", [{}])  # not a kind this target takes
    result = track_request(store, policy, "hesa", 2026, dry_run=True)
    assert result.records == 2
    assert {k: v for k, v in result.excluded.items() if v} == {
        "outside-window": 2,
        "missing-sex": 1,
    }
    assert "notice-not-served" not in result.excluded


# --- the command: file, manifest, batch ----------------------------------------------------------


@pytest.fixture
def db(tmp_path):
    """A store file of one member: five students and two ambassadors."""
    path = tmp_path / "heattool.duckdb"
    with Store.open(path) as opened:
        opened.migrate()
        add_people(
            opened,
            "students",
            [
                {"ref": "S1", "forename": "Ann", "surname": "Lee"},
                {
                    "ref": "S2",
                    "forename": "Zoë",
                    "surname": "Ng",
                    "date_of_birth": dt.date(2002, 3, 15),
                    "postcode": "ME4 4AA",
                    "sex": "11",
                    "expected_he_entry_year": 2020,
                },
                {"ref": "S3", "forename": "Bob", "permission_to_track": False},
                {"ref": "S4", "forename": "Cat", "expected_he_entry_year": 2029},
                {"ref": "S5", "forename": "Dan", "date_of_birth": None},
            ],
        )
        add_people(
            opened,
            "ambassadors",
            [
                {
                    "ref": "A1",
                    "forename": "Eve",
                    "date_of_birth": dt.date(2004, 2, 3),
                    "postcode": "CT2 7NZ",
                    "expected_he_entry_year": 2022,
                },
                {"ref": "A2", "forename": "Fay", "hesa_privacy_notice": False},
            ],
        )
    return path


def request(invoke, db, out, *extra):
    return invoke(
        "track-request", "--target", "hesa", "--year", "2026", "--db", db, "--out", out, *extra
    )


def test_request_writes_file_manifest_batch_and_says_what_it_left_out(invoke, db, tmp_path):
    out = tmp_path / "send" / "hesa-2026.csv"
    result = request(invoke, db, out, "--member", "KENT")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == (
        "hesa track request for 2026 for member KENT (entry years 2015 to 2026): "
        "3 records (2 students, 1 ambassador)"
    )
    assert lines[2:] == [
        f"  manifest {out}.manifest.json",
        f"  batch 1 recorded in {db}",
        "excluded: 4",
        "  no-permission      1",
        "  missing-dob        1",
        "  notice-not-served  1",
        "  outside-window     1",
        "first hesa request for 2026 for member KENT",
    ]
    rows = file_rows(out)
    assert list(rows[0]) == list(FILE_COLUMNS)
    assert sorted((r["kind"], r["forename"], r["date_of_birth"], r["postcode"]) for r in rows) == [
        ("ambassadors", "Eve", "2004-02-03", "CT2 7NZ"),
        ("students", "Ann", "2007-10-01", "CT1 2EH"),
        ("students", "Zoë", "2002-03-15", "ME4 4AA"),
    ]
    sent = {r["heat_id"] for r in rows}
    stored = query(db, "SELECT heat_id::VARCHAR, student_ref FROM students")
    assert sent < {h for h, _ in stored} | {
        h for (h,) in query(db, "SELECT heat_id::VARCHAR FROM ambassadors")
    }
    assert not any(ref in out.read_text("utf-8-sig") for _, ref in stored)  # heat_id, never refs
    assert {r["sex"] for r in rows} == {"10", "11", ""}
    assert {r["expected_he_entry_year"] for r in rows} == {"2026", "2020", "2022"}
    assert stat.S_IMODE(out.stat().st_mode) == 0o600

    manifest_path = Path(f"{out}.manifest.json")
    manifest = json.loads(manifest_path.read_text("utf-8"))
    assert stat.S_IMODE(manifest_path.stat().st_mode) == 0o600
    assert manifest["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert (
        manifest["policy"]["sha256"]
        == hashlib.sha256(default_policy_path().read_bytes()).hexdigest()
    )
    assert (manifest["batch_id"], manifest["target"], manifest["year"]) == (1, "hesa", 2026)
    assert manifest["records"] == len(rows)
    by_member_kind: dict[str, dict[str, int]] = {}
    for row in rows:
        kinds = by_member_kind.setdefault(row["member"], {})
        kinds[row["kind"]] = kinds.get(row["kind"], 0) + 1
    assert manifest["counts"] == by_member_kind  # the manifest's counts equal the file
    assert manifest["excluded_total"] == 4 and manifest["excluded"]["outside-window"] == 1
    assert dt.datetime.fromisoformat(manifest["created_at"].rstrip("Z"))

    assert query(
        db,
        "SELECT track_batch_id, target, year, member, file_name, records, "
        "file_sha256 FROM track_batches",
    ) == [(1, "hesa", 2026, "KENT", "hesa-2026.csv", 3, manifest["sha256"])]
    recorded = query(db, "SELECT heat_id::VARCHAR FROM track_batch_records")
    assert {h for (h,) in recorded} == sent
    details, sha = query(
        db, "SELECT details, sha256 FROM audit_events WHERE event = 'track-request'"
    )[0]
    assert sha == manifest["sha256"] and json.loads(details)["records"] == 3
    assert not any(name in details for name in ("Ann", "Eve", "Lee", "CT2 7NZ", "S1"))


def test_parquet_request_has_the_same_rows_with_types(invoke, db, tmp_path):
    out = tmp_path / "hesa.parquet"
    result = request(invoke, db, out, "--file-format", "parquet")
    assert result.exit_code == 0, result.stderr
    frame = pl.read_parquet(out)
    assert frame.columns == list(FILE_COLUMNS)
    assert frame.height == 3
    assert frame.schema["date_of_birth"] == pl.Date
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    manifest = json.loads(Path(f"{out}.manifest.json").read_text("utf-8"))
    assert manifest["format"] == "parquet"
    assert manifest["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()


def test_a_dry_run_writes_and_records_nothing(invoke, db, tmp_path):
    out = tmp_path / "hesa.csv"
    result = request(invoke, db, out, "--dry-run")
    assert result.exit_code == 0, result.stderr
    assert "3 records" in result.stdout.splitlines()[0]
    assert f"dry run: no file written, nothing recorded in {db}" in result.stdout
    assert not out.exists() and not Path(f"{out}.manifest.json").exists()
    assert query(db, "SELECT count(*) FROM track_batches") == [(0,)]
    assert query(db, "SELECT count(*) FROM audit_events WHERE event = 'track-request'") == [(0,)]


def test_a_withdrawn_person_disappears_from_the_next_request(invoke, db, tmp_path):
    first, second = tmp_path / "first.csv", tmp_path / "second.csv"
    assert request(invoke, db, first).exit_code == 0
    (heat_id,) = query(db, "SELECT heat_id::VARCHAR FROM students WHERE student_ref = 'S1'")[0]
    assert heat_id in {r["heat_id"] for r in file_rows(first)}
    con = duckdb.connect(str(db))
    con.execute("UPDATE students SET withdrawn_on = DATE '2026-11-01' WHERE student_ref = 'S1'")
    con.execute("UPDATE students SET permission_to_track = true WHERE student_ref = 'S3'")
    con.close()
    result = request(invoke, db, second)
    assert result.exit_code == 0, result.stderr
    assert heat_id not in {r["heat_id"] for r in file_rows(second)}
    assert len(file_rows(second)) == 3
    assert "  withdrawn          1" in result.stdout
    assert result.stdout.splitlines()[-1].endswith(": 1 added, 1 removed (1 withdrawn)")
    assert result.stdout.splitlines()[-1].startswith("since batch 1 (")
    manifest = json.loads(Path(f"{second}.manifest.json").read_text("utf-8"))
    assert manifest["changes"]["previous_batch_id"] == 1
    assert (manifest["changes"]["added"], manifest["changes"]["removed"]) == (1, 1)
    assert query(
        db, "SELECT track_batch_id, count(*) FROM track_batch_records GROUP BY 1 ORDER BY 1"
    ) == [
        (1, 3),
        (2, 3),
    ]


def test_changes_are_counted_against_the_last_request_of_that_target_and_year(invoke, db, tmp_path):
    assert request(invoke, db, tmp_path / "a.csv").exit_code == 0
    npd = invoke(
        "track-request",
        "--target",
        "npd",
        "--year",
        "2026",
        "--db",
        db,
        "--out",
        tmp_path / "n.csv",
    )
    assert npd.stdout.splitlines()[-1] == "first npd request for 2026"
    again = request(invoke, db, tmp_path / "b.csv", "--member", "KENT")
    assert again.stdout.splitlines()[-1].endswith(": 0 added, 0 removed")


def test_the_csv_neutralises_formula_like_values(store, tmp_path):
    add_people(
        store,
        "students",
        [
            {"forename": '=HYPERLINK("http://x")', "surname": "+44 7700"},
            {"forename": "@SUM(A1)", "surname": "-Lee", "sex": "=1"},
            {"forename": "Ann", "surname": "O'Neill"},
        ],
    )
    out = tmp_path / "hesa.csv"
    track_request(store, POLICY, "hesa", 2026, out=out)
    rows = file_rows(out)
    assert sorted((r["forename"], r["surname"], r["sex"]) for r in rows) == [
        ('\'=HYPERLINK("http://x")', "'+44 7700", "10"),
        ("'@SUM(A1)", "'-Lee", "'=1"),
        ("Ann", "O'Neill", "10"),
    ]
    assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM, so Excel reads it


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--target", "ucas"], 2, "no track target 'ucas' in heat.toml; it has hesa, npd"),
        (["--member", "MEDWAY"], 2, "has no records of member MEDWAY; it holds KENT"),
        (["--member", "bad code"], 2, "'bad code' is not a member code"),
        (["--year", "2010"], 2, "--year 2010: the hesa window starts at entry year 2015"),
        (["--no-out"], 2, "give --out FILE for the request (or --dry-run to see the counts)"),
        (
            ["--policy", "examples/policies/kent-staff.toml"],
            3,
            "kent-staff.toml: no [track.<target>] tables, so nothing can be tracked",
        ),
    ],
)
def test_usage_and_policy_errors_are_one_line_with_their_exit_code(
    invoke, db, tmp_path, args, code, message
):
    from tests.helpers import ROOT

    argv = ["track-request", "--target", "hesa", "--year", "2026", "--db", db]
    if "--no-out" not in args:
        argv += ["--out", tmp_path / "x.csv"]
    args = [a for a in args if a != "--no-out"]
    args = [str(ROOT / a) if a.endswith(".toml") else a for a in args]
    result = invoke(*argv, *args)
    assert result.exit_code == code
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "x.csv").exists()


def test_no_store_is_exit_2_and_creates_none(invoke, tmp_path):
    missing = tmp_path / "none.duckdb"
    result = request(invoke, missing, tmp_path / "x.csv")
    assert result.exit_code == 2
    assert f"no store at {missing}; create one with heattool import" in result.stderr
    assert not missing.exists()


@pytest.mark.parametrize(
    ("track", "reason"),
    [
        ('kinds = ["staff"]', "kinds must list some of students, ambassadors"),
        ('required = ["shoe_size"]', "required field 'shoe_size' is not one of"),
        (
            'required = ["sex"]\nkinds = ["ambassadors"]',
            "required field 'sex' is not kept for ambassadors",
        ),
        ("window = { offsets = [0, 2], from_year = 2015 }", "give either offsets or from_year"),
        ("window = { from_year = 'soon' }", "from_year 'soon' is not a year"),
        ("window = { offsets = [] }", "offsets must be a list of whole numbers"),
        ("notices = { students = ['heat_privacy_notice'] }", "notices for 'students'"),
        ("colour = 'blue'", "unknown key 'colour'"),
        (
            'nations = ["Englnd"]',
            "nation 'Englnd' is not one of England, Wales, Northern Ireland, Scotland",
        ),
        ('nations = ["england"]', "nation 'england' is not one of England, Wales"),
        ('nations = ["ENG"]', "nation 'ENG' is not one of England, Wales"),
        ('nations = ["England", "England"]', "nations lists a nation twice"),
        ("nations = []", "nations must list some of England, Wales, Northern Ireland, Scotland"),
        ('nations = "England"', "nations must list some of England"),
    ],
)
def test_a_bad_track_table_exits_3_naming_file_target_and_reason(
    invoke, db, tmp_path, track, reason
):
    base = {
        "kinds": 'kinds = ["students", "ambassadors"]',
        "required": 'required = ["forename"]',
        "window": "window = { to_offset = 0 }",
    }
    for line in track.splitlines():
        key = line.split("=")[0].strip()
        base[key] = line
    path = policy_with_track(tmp_path, "[track.hesa]\n" + "\n".join(base.values()) + "\n")
    result = request(invoke, db, tmp_path / "x.csv", "--policy", path)
    assert result.exit_code == 3, result.stderr
    assert result.stderr.startswith(f"error: {path}: [track.hesa]")
    assert reason in result.stderr


def test_kent_staff_policy_still_loads():
    from tests.helpers import ROOT

    policy = load_policy(ROOT / "examples" / "policies" / "kent-staff.toml")
    assert policy.tracks == {}


# --- member isolation, against an oracle -------------------------------------------------------

MEMBERS = ("KENT", "MEDWAY", "SUSSEX")
person = st.fixed_dictionaries(
    {
        "member": st.sampled_from(MEMBERS),
        "permission_to_track": st.sampled_from([True, True, True, False, None]),
        "withdrawn_on": st.sampled_from([None, None, None, dt.date(2026, 2, 1)]),
        "forename": st.sampled_from(["Ann", "Bob", "", None, "=1+1"]),
        "date_of_birth": st.sampled_from([dt.date(2007, 10, 1), None]),
        "postcode": st.sampled_from(["CT1 2EH", "ME4 4AA", None, "BAD"]),
        "expected_he_entry_year": st.sampled_from([None, 2014, 2015, 2020, 2026, 2027, 2028]),
        "heat_privacy_notice": st.booleans(),
    }
)


def oracle(kind: str, row: dict, year: int) -> bool:
    """Eligibility for HESA written out by hand, to check the SQL against."""
    return (
        row["withdrawn_on"] is None
        and row["permission_to_track"] is True
        and bool((row["forename"] or "").strip())
        and row["date_of_birth"] is not None
        and row["postcode"] in ("CT1 2EH", "ME4 4AA")
        and (kind == "students" or row["heat_privacy_notice"])
        and row["expected_he_entry_year"] is not None
        and 2015 <= row["expected_he_entry_year"] <= year
    )


@given(
    students=st.lists(person, min_size=1, max_size=25),
    ambassadors=st.lists(person, max_size=10),
    member=st.sampled_from(MEMBERS),
    year=st.sampled_from([2015, 2026, 2027]),
)
def test_a_member_scoped_request_holds_no_other_members_records(
    students, ambassadors, member, year
):
    with Store.open(":memory:") as store, tempfile.TemporaryDirectory() as folder:
        store.migrate()
        for name in MEMBERS:
            store.ensure_member(name)
        people = []
        for kind, rows in (("students", students), ("ambassadors", ambassadors)):
            if not rows:
                continue
            if kind == "students":
                rows = [{k: v for k, v in r.items() if k != "heat_privacy_notice"} for r in rows]
            else:  # an ambassador's names are NOT NULL in the store; blank is still missing
                rows = [{**r, "forename": r["forename"] or ""} for r in rows]
            ids = add_people(store, kind, rows)
            people += [(kind, row, heat_id) for row, heat_id in zip(rows, ids, strict=True)]
        out, excluded = Path(folder) / "r.csv", Path(folder) / "x.csv"
        result = track_request(
            store, POLICY, "hesa", year, member=member, out=out, excluded_out=excluded
        )
        mine = [(kind, row, h) for kind, row, h in people if row["member"] == member]
        expected = {h for kind, row, h in mine if oracle(kind, row, year)}
        sent = file_rows(out)
        assert {r["heat_id"] for r in sent} == expected
        assert {r["member"] for r in sent} <= {member}
        assert set(result.counts) <= {member}
        assert result.records == len(sent)
        listed = file_rows(excluded)
        assert {r["member"] for r in listed} <= {member}
        assert {r["heat_id"] for r in listed} == {h for _, _, h in mine} - expected
        recorded = store.con.execute("SELECT DISTINCT member FROM track_batch_records").fetchall()
        assert recorded in ([], [(member,)])


@given(st.lists(st.text(max_size=6) | st.sampled_from(["=1", "+1", "-1", "@a", "\tx", "\rx"])))
def test_the_sql_writer_neutralises_exactly_what_write_csv_does(values):
    from heattool.io.writers import write_csv
    from heattool.store.exports import write_query

    frame = pl.DataFrame(
        {"n": range(len(values)), "cell": values}, schema_overrides={"cell": pl.String}
    )
    con = duckdb.connect()
    con.register("cells", frame)
    with tempfile.TemporaryDirectory() as folder:
        by_sql, by_polars = Path(folder) / "sql.csv", Path(folder) / "polars.csv"
        write_query(con, "SELECT n, cell FROM cells ORDER BY n", by_sql)
        write_csv(frame, by_polars)
        assert pl.read_csv(by_sql, infer_schema=False).equals(
            pl.read_csv(by_polars, infer_schema=False)
        )


# --- NPD is England's: the nation of schooling -------------------------------------------------

# Every one of them enters HE in 2026 by their nation's cut-off (born 10 May 2008), so only the
# nation tells them apart.
PUPILS = [
    ("E1", "CT1 2EH", "", "England"),
    ("E2", "CH1 4BJ", "", "England"),  # Chester
    ("E3", "EH1 1YZ", "England", "England"),  # the upload's nation wins over the postcode
    ("W1", "CF10 3AT", "", "Wales"),
    ("W2", "CT1 2EH", "Wales", "Wales"),
    ("W3", "CH5 1AB", "", "Wales"),  # Deeside: a Welsh district of the Chester area
    ("S1", "EH1 1YZ", "", "Scotland"),
    ("N1", "BT7 1NN", "", "Northern Ireland"),
]


@pytest.fixture
def pupils(invoke, tmp_path):
    """A store of the PUPILS, loaded by `heattool import`."""
    db = tmp_path / "heattool.duckdb"
    upload = tmp_path / "pupils.csv"
    upload.write_text(
        "Student Ref,Forename,Surname,Date of Birth,Postcode,Nation,Permission to Track\n"
        + "".join(f"{ref},Ann,Lee,10/05/2008,{pc},{nation},Yes\n" for ref, pc, nation, _ in PUPILS),
        encoding="utf-8",
    )
    loaded = invoke("import", upload, "-m", "KENT", "--db", db)
    assert loaded.exit_code == 0, loaded.stderr
    assert query(db, "SELECT DISTINCT expected_he_entry_year FROM students") == [(2026,)]
    return db


def test_an_npd_request_leaves_out_pupils_schooled_outside_england(invoke, pupils, tmp_path):
    out, listed = tmp_path / "npd-2026.csv", tmp_path / "fix.csv"
    result = invoke(
        "track-request", "--target", "npd", "--year", "2026", "--db", pupils,
        "--out", out, "--excluded-out", listed,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert (
        lines[0] == "npd track request for 2026 (entry year 2026 or 2028): 3 records (3 students)"
    )
    assert lines[4:7] == [
        "excluded: 5",
        "  not-in-npd-nation  5",
        f"  excluded records listed in {listed}",
    ]
    stored = dict(query(db := pupils, "SELECT heat_id::VARCHAR, student_ref FROM students"))
    assert sorted(stored[r["heat_id"]] for r in file_rows(out)) == ["E1", "E2", "E3"]
    assert sorted((r["ref"], r["reason"], r["all_reasons"]) for r in file_rows(listed)) == [
        (ref, "not-in-npd-nation", "not-in-npd-nation")
        for ref, *_, nation in sorted(PUPILS)
        if nation != "England"
    ]
    manifest = json.loads(Path(f"{out}.manifest.json").read_text("utf-8"))
    assert manifest["nations"] == ["England"]
    assert manifest["excluded"]["not-in-npd-nation"] == 5 and manifest["excluded_total"] == 5
    assert manifest["records"] == 3
    details = json.loads(
        query(db, "SELECT details FROM audit_events WHERE event = 'track-request'")[0][0]
    )
    assert details["excluded"]["not-in-npd-nation"] == 5


def test_a_hesa_request_takes_pupils_of_every_nation(invoke, pupils, tmp_path):
    out = tmp_path / "hesa-2026.csv"
    result = request(invoke, pupils, out)
    assert result.exit_code == 0, result.stderr
    assert "8 records (8 students)" in result.stdout.splitlines()[0]
    assert "excluded: 0" in result.stdout.splitlines()
    assert "not-in-npd-nation" not in result.stdout
    manifest = json.loads(Path(f"{out}.manifest.json").read_text("utf-8"))
    assert manifest["nations"] is None and "not-in-npd-nation" not in manifest["excluded"]


def test_the_calendar_counts_only_pupils_schooled_in_england_as_trackable_for_npd(invoke, pupils):
    result = invoke("calendar", "--year", "2026", "--as-of", "2026-03-01", "--db", pupils)
    assert result.exit_code == 0, result.stderr
    assert "  trackable for npd 2026 (entry year 2026 or 2028): 3 (5 excluded)" in result.stdout
    assert "  trackable for hesa 2026 (entry years 2015 to 2026): 8 (0 excluded)" in result.stdout


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"postcode": "EH1 1YZ"}, "not-in-npd-nation"),
        ({"postcode": "BT7 1NN"}, "not-in-npd-nation"),
        ({"postcode": "CF10 3AT"}, "not-in-npd-nation"),
        ({"postcode": "SY23 3FL"}, "not-in-npd-nation"),
        ({"nation": "Wales"}, "not-in-npd-nation"),
        ({"nation": "Scotland", "postcode": None}, "missing-postcode"),  # tried before the nation
        ({"nation": "Scotland", "permission_to_track": False}, "no-permission"),
        ({"postcode": "EH1 1YZ", "expected_he_entry_year": 2027}, "not-in-npd-nation"),
        ({"nation": "England", "postcode": "EH1 1YZ"}, None),
        ({"postcode": "CH1 4BJ"}, None),
        ({"postcode": None}, "missing-postcode"),  # no postcode, no nation: England's default
        ({"school_nation": None}, "not-in-npd-nation"),  # an unknown nation is never sent
    ],
)
def test_the_npd_reason_and_its_place_in_the_order(store, change, reason):
    assert reason_of(store, "students", change, target="npd") == reason


@pytest.mark.parametrize("postcode", ["EH1 1YZ", "BT7 1NN", "CF10 3AT", "CH5 1AB"])
def test_hesa_takes_every_nation(store, postcode):
    assert reason_of(store, "students", {"postcode": postcode}) is None


def test_all_reasons_name_the_nation_too(store, tmp_path):
    add_people(store, "students", [{"ref": "S1", "postcode": "EH1 1YZ", "forename": None}])
    listed = tmp_path / "x.csv"
    track_request(store, POLICY, "npd", 2026, dry_run=True, excluded_out=listed)
    assert [(r["reason"], r["all_reasons"]) for r in file_rows(listed)] == [
        ("missing-forename", "missing-forename; not-in-npd-nation")
    ]


def test_the_policy_names_the_nations_a_target_covers():
    assert POLICY.tracks["npd"].nations == ("England",)
    assert POLICY.tracks["hesa"].nations == ()
    assert "not-in-npd-nation" in POLICY.tracks["npd"].reason_codes()
    assert "not-in-npd-nation" not in POLICY.tracks["hesa"].reason_codes()


def test_a_policy_may_send_other_nations(invoke, pupils, tmp_path):
    path = policy_with_track(
        tmp_path,
        '[track.npd]\nkinds = ["students"]\nrequired = ["forename"]\n'
        'nations = ["England", "Wales"]\nwindow = { offsets = [0] }\n',
    )
    result = invoke(
        "track-request", "--target", "npd", "--year", "2026", "--db", pupils, "--dry-run",
        "--policy", path,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "6 records" in result.stdout.splitlines()[0]
    assert "  not-in-npd-nation  2" in result.stdout.splitlines()


def test_a_policy_with_an_unknown_nation_is_refused(invoke, pupils, tmp_path):
    track = HEAT_TOML.split("# Track requests", 1)[1].replace(
        'nations = ["England"]', 'nations = ["England", "Cornwall"]'
    )
    path = policy_with_track(tmp_path, "# Track requests" + track)
    result = invoke(
        "track-request", "--target", "npd", "--year", "2026", "--db", pupils, "--dry-run",
        "--policy", path,
    )  # fmt: skip
    assert result.exit_code == 3
    assert result.stderr == (
        f"error: {path}: [track.npd]: nation 'Cornwall' is not one of England, Wales, "
        "Northern Ireland, Scotland\n"
    )
    assert query(pupils, "SELECT count(*) FROM track_batches") == [(0,)]


# The nations an upload's pupil is schooled in, written out by hand to check the store against:
# a readable nation column, else the postcode's, else England.
NATION_NAMES = {"England": "England", "Wales": "Wales", "Cymru": "Wales", "NI": "Northern Ireland",
                "Scotland": "Scotland", "Northern Ireland": "Northern Ireland"}  # fmt: skip
POSTCODE_NATIONS = {"CT1 2EH": "England", "CH1 4BJ": "England", "TD15 1AA": "England",
                    "BF1 3AA": "England", "CF10 3AT": "Wales", "CH5 1AB": "Wales",
                    "SY23 3FL": "Wales", "EH1 1YZ": "Scotland", "TD1 1AB": "Scotland",
                    "BT7 1NN": "Northern Ireland"}  # fmt: skip
ALL_NATIONS = ["England", "Wales", "Scotland", "Northern Ireland"]
pupil = st.fixed_dictionaries(
    {
        "member": st.sampled_from(MEMBERS),
        "postcode": st.sampled_from([*POSTCODE_NATIONS, None, "BAD"]),
        "nation": st.sampled_from([None, None, "Atlantis", *NATION_NAMES]),
        "permission_to_track": st.sampled_from([True, True, False]),
        "forename": st.sampled_from(["Ann", None]),
        "expected_he_entry_year": st.sampled_from([None, 2026, 2027, 2028]),
    }
)


def schooled_in(row: dict) -> str:
    return NATION_NAMES.get(row["nation"]) or POSTCODE_NATIONS.get(row["postcode"]) or "England"


@given(
    pupils=st.lists(pupil, min_size=1, max_size=25),
    ambassadors=st.integers(0, 3),
    nations=st.lists(st.sampled_from(ALL_NATIONS), min_size=1, max_size=4, unique=True),
    member=st.sampled_from([None, *MEMBERS]),
)
def test_npd_sends_only_the_nations_it_covers_and_every_record_has_one_verdict(
    pupils, ambassadors, nations, member
):
    with Store.open(":memory:") as store, tempfile.TemporaryDirectory() as folder:
        store.migrate()
        for name in MEMBERS:
            store.ensure_member(name)
        ids = add_people(store, "students", pupils)
        if ambassadors:  # not a kind NPD takes: never sent, never counted
            add_people(store, "ambassadors", [{"member": m} for m in MEMBERS[:ambassadors]])
        policy = policy_with_track(
            Path(folder),
            '[track.npd]\nkinds = ["students"]\nrequired = ["forename", "postcode"]\n'
            f"nations = {json.dumps(nations)}\nwindow = {{ offsets = [0, 2] }}\n",
        )
        out, listed = Path(folder) / "n.csv", Path(folder) / "x.csv"
        result = track_request(
            store, load_policy(policy), "npd", 2026, member=member, out=out, excluded_out=listed
        )
        considered = [
            (row, h)
            for row, h in zip(pupils, ids, strict=True)
            if member is None or row["member"] == member
        ]
        sent = {r["heat_id"] for r in file_rows(out)}
        assert sent <= {h for row, h in considered if schooled_in(row) in nations}
        assert result.records + result.excluded_total == len(considered)
        assert result.records == len(sent)
        assert sum(result.excluded.values()) == len(file_rows(listed))
        assert {r["heat_id"] for r in file_rows(listed)} == {h for _, h in considered} - sent
        # and the nation is the only reason a pupil of a covered nation is not excluded for
        for row in file_rows(listed):
            reasons = row["all_reasons"].split("; ")
            heat_row = next(r for r, h in considered if h == row["heat_id"])
            assert ("not-in-npd-nation" in reasons) == (schooled_in(heat_row) not in nations)


def test_format_is_the_output_and_the_file_format_follows_the_suffix(invoke, tmp_path):
    """--format is what goes to stdout (text or json); the request file's format is its suffix
    (or --file-format), as for every other file heattool writes (issue 14 item 7)."""
    db = tmp_path / "store.duckdb"
    uploads = [EXAMPLES / f"{k}.csv" for k in ("activities", "students", "attendance")]
    assert invoke("import", *uploads, "-m", "KENT", "--db", db).exit_code == 0
    out = tmp_path / "hesa.parquet"
    result = invoke(
        "track-request", "--target", "hesa", "--year", "2026", "--db", db, "--out", out,
        "--format", "json",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert (document["format"], document["out"]) == ("parquet", str(out))
    assert pl.read_parquet(out).height == document["records"] > 0
    assert document["records"] + document["excluded_total"] == sum(
        1 for _ in csv.DictReader((EXAMPLES / "students.csv").open(encoding="utf-8-sig"))
    )
