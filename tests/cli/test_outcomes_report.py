"""`heattool outcomes report`: outcome tables through the CLI on worked examples of the
disclosure rules, the manifest, member isolation and the NOT FOR PUBLICATION banner."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from pathlib import Path

import polars as pl
import pytest

from heattool.rules.disclosure import load_disclosure
from heattool.store import Store
from tests.helpers import ROOT

NOW = dt.datetime(2026, 11, 1, 12, 0)
# Each band's activity: one register row of it puts a student in that band.
HOURS = {"<3": ("A1", 1.0, "Campus visit"), "3–8": ("A5", 5.0, "Mentoring")}
HOURS["≥8"] = ("A10", 10.0, "Mentoring")


def cell(numerator: int, denominator: int, **person: object) -> list[dict]:
    """`denominator` students alike, `numerator` of whom entered HE."""
    return [{**person, "entered_he": i < numerator} for i in range(denominator)]


def build(path: Path, *cells: list[dict]) -> Path:
    """A store of students, each with a HESA return row and at most one register row.

    A person's keys: member (KENT), band (a key of HOURS, or none), group (evaluation_group),
    sex (a code), entered_he, continued, attainment8 (then an NPD row too).
    """
    people = [p for c in cells for p in c]
    students, attendance, hesa, npd = [], [], [], []
    for n, person in enumerate(people):
        member = str(person.get("member", "KENT"))
        ref = f"S{n:05}"
        heat_id = str(uuid.uuid4())
        students.append(
            {
                "member": member,
                "student_ref": ref,
                "heat_id": heat_id,
                "sex": person.get("sex", "10"),
                "evaluation_group": person.get("group"),
                "expected_he_entry_year": 2025,
                "created_at": NOW,
                "updated_at": NOW,
                "batch_id": 1,
            }
        )
        band = person.get("band")
        if band is not None:
            attendance.append(
                {
                    "member": member,
                    "student_ref": ref,
                    "activity_ref": HOURS[str(band)][0],
                    "attended_on": dt.date(2024, 10, 10),
                    "created_at": NOW,
                    "batch_id": 1,
                }
            )
        common = {"heat_id": heat_id, "member": member, "kind": "students", "created_at": NOW}
        common |= {"updated_at": NOW, "return_batch_id": 1}
        hesa.append(
            {
                **common,
                "entered_he": person["entered_he"],
                "continued": person.get("continued"),
            }
        )
        if "attainment8" in person:
            npd.append({**common, "exam_year": 2023, "attainment8": person["attainment8"]})
    members = sorted({s["member"] for s in students})
    with Store.open(path) as store:
        con = store.con
        for member in members:
            con.execute("INSERT INTO members VALUES (?, ?)", [member, NOW])
            for ref, hours, kind in HOURS.values():
                con.execute(
                    "INSERT INTO activities (member, activity_ref, name, activity_type, "
                    "start_date, hours, created_at, updated_at, batch_id) "
                    "VALUES (?, ?, ?, ?, DATE '2024-10-10', ?, ?, ?, 1)",
                    [member, ref, ref, kind, hours, NOW, NOW],
                )
        con.execute(
            "INSERT INTO return_batches VALUES (1, 'hesa', NULL, 'hesa-return.csv', 'abc123', "
            "?, ?, 0, 0, 0, ?, '0.1.0')",
            [len(hesa), len(hesa), NOW],
        )
        for table, rows in (
            ("students", students),
            ("attendance", attendance),
            ("outcomes_hesa", hesa),
            ("outcomes_npd", npd),
        ):
            if rows:
                con.register("frame", pl.DataFrame(rows, infer_schema_length=None))
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM frame")
                con.unregister("frame")
    return path


def report(invoke, db: Path, *args: object):
    return invoke("outcomes", "report", "--db", db, "--as-of", "2026-11-30", *args)


def table(invoke, db: Path, *args: object) -> list[tuple]:
    """The report as JSON on stdout: each cell's categories, counts, rate, code, suppression."""
    result = report(invoke, db, "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    dims = document["dimensions"]
    return [
        (
            *(c[d] for d in dims),
            c["numerator"],
            c["denominator"],
            None if c["rate"] is None else round(c["rate"], 4),
            c["suppressed"],
            c["suppression"],
        )
        for c in document["table"]
    ]


HESA_RATE = ("--target", "hesa", "--measure", "entered_he")


# -- the worked examples --------------------------------------------------------------------------


def test_a_cell_of_2_is_suppressed_and_the_next_smallest_too(tmp_path, invoke):
    """README "Disclosure rules": hours bands of 1 in 2, 30 in 60 and 45 in 90, under hesa."""
    db = build(
        tmp_path / "s.duckdb",
        cell(1, 2, band="<3"),
        cell(30, 60, band="3–8"),
        cell(45, 90, band="≥8"),
    )
    assert table(invoke, db, *HESA_RATE, "--by", "hours_band") == [
        ("<3", 0, 0, None, "..", "primary"),
        ("3–8", 30, 60, None, "..", "secondary"),  # else 76 - 30 - 45 = 1 in 152 - 60 - 90 = 2
        ("≥8", 45, 90, 0.5, None, None),
        ("all", 75, 150, 0.5, None, None),  # 76 in 152: the rate from the unrounded counts
    ]


def test_a_cell_of_22_hides_its_rate_and_one_of_23_shows_it(tmp_path, invoke):
    small = build(tmp_path / "a.duckdb", cell(10, 22, band="<3"), cell(45, 90, band="≥8"))
    rows = table(invoke, small, *HESA_RATE, "--by", "hours_band")
    assert rows[0] == ("<3", 10, 20, None, "..", "primary")
    assert rows[1][-1] == "secondary"  # alone beside it, the other band would give it away
    shown = build(tmp_path / "b.duckdb", cell(12, 23, band="<3"), cell(45, 90, band="≥8"))
    assert table(invoke, shown, *HESA_RATE, "--by", "hours_band") == [
        ("<3", 10, 25, round(12 / 23, 4), None, None),  # counts rounded, rate from 12 in 23
        ("≥8", 45, 90, 0.5, None, None),
        ("all", 55, 115, round(57 / 113, 4), None, None),
    ]


def test_a_numerator_within_2_of_its_denominator_under_ofs(tmp_path, invoke):
    db = build(
        tmp_path / "s.duckdb",
        cell(29, 30, band="<3"),
        cell(30, 60, band="3–8"),
        cell(45, 90, band="≥8"),
    )
    rows = table(invoke, db, *HESA_RATE, "--by", "hours_band", "--disclosure", "ofs")
    assert rows[0] == ("<3", None, 30, None, "[DPH]", "primary")
    assert [r[-2:] for r in rows[1:]] == [("[c]", "secondary"), (None, None), (None, None)]


def test_one_cell_alone_suppressed_in_a_row_hides_others_too(tmp_path, invoke):
    """Two dimensions: participant males are 1 in 2; the rest are large."""
    db = build(
        tmp_path / "s.duckdb",
        cell(30, 60, band="3–8", sex="10"),
        cell(1, 2, band="3–8", sex="11"),
        cell(40, 80, group="comparison", sex="10"),
        cell(30, 60, group="comparison", sex="11"),
    )
    rows = table(invoke, db, *HESA_RATE, "--by", "group", "--by", "sex")
    marks = {(r[0], r[1]): r[-1] for r in rows}
    assert marks[("participant", "male")] == "primary"
    secondary = [key for key, mark in marks.items() if mark == "secondary"]
    # its row and its column each lose another cell, so that neither gives it away
    assert any(k[0] == "participant" for k in secondary)
    assert any(k[1] == "male" for k in secondary)
    assert marks[("all", "all")] is None
    assert [r[:2] for r in rows[:3]] == [
        ("participant", "female"), ("participant", "male"), ("participant", "all"),
    ]  # fmt: skip


# -- the manifest, members, the banner ---------------------------------------------------------


def test_the_manifest_says_what_made_the_table(tmp_path, invoke):
    db = build(
        tmp_path / "s.duckdb",
        cell(1, 2, band="<3"),
        cell(30, 60, band="3–8"),
        cell(45, 90, band="≥8"),
    )
    out = tmp_path / "entry.csv"
    result = report(invoke, db, *HESA_RATE, "--by", "hours_band", "--out", out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-1] == f"wrote {out} and {out}.manifest.json"
    manifest = json.loads(Path(f"{out}.manifest.json").read_text("utf-8"))
    heat = (ROOT / "src" / "heattool" / "rules" / "heat.toml").read_bytes()
    assert manifest["store"] == str(db)
    assert manifest["as_of"] == "2026-11-30"
    assert manifest["dimensions"] == ["hours_band"]
    assert manifest["sha256"] == hashlib.sha256(out.read_bytes()).hexdigest()
    assert [(b["return_batch_id"], b["file"], b["sha256"]) for b in manifest["return_batches"]] == [
        (1, "hesa-return.csv", "abc123")
    ]
    assert manifest["policy"]["sha256"] == hashlib.sha256(heat).hexdigest()
    assert manifest["disclosure"] == {
        "name": "hesa",
        "source": "hesa",
        "sha256": load_disclosure("hesa").sha256,
        "publishable": True,
    }
    assert manifest["people"] == 152
    assert manifest["suppressed"] == [
        {"cell": {"hours_band": "<3"}, "code": "..", "suppression": "primary", "hidden": ["rate"]},
        {
            "cell": {"hours_band": "3–8"},
            "code": "..",
            "suppression": "secondary",
            "hidden": ["rate"],
        },
    ]
    frame = pl.read_csv(out)
    assert frame["hours_band"].to_list() == ["<3", "3–8", "≥8", "all"]
    assert frame["suppressed"].to_list() == ["..", "..", None, None]


def test_with_member_only_that_members_people(tmp_path, invoke):
    db = build(
        tmp_path / "s.duckdb",
        cell(30, 60, band="3–8"),
        cell(45, 90, band="≥8"),
        cell(5, 40, band="3–8", member="OTHER"),
    )
    kent = table(invoke, db, *HESA_RATE, "--by", "hours_band", "--member", "KENT")
    assert kent[-1][:3] == ("all", 75, 150)
    everyone = table(invoke, db, *HESA_RATE, "--by", "hours_band")
    assert everyone[-1][:3] == ("all", 80, 190)
    other = table(invoke, db, *HESA_RATE, "--by", "hours_band", "--member", "OTHER")
    assert other == [("3–8", 5, 40, 0.125, None, None), ("all", 5, 40, 0.125, None, None)]


def test_disclosure_none_says_not_for_publication_on_every_line(tmp_path, invoke):
    db = build(tmp_path / "s.duckdb", cell(1, 2, band="<3"), cell(30, 60, band="≥8"))
    result = report(invoke, db, *HESA_RATE, "--by", "hours_band", "--disclosure", "none")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert all(line.startswith("NOT FOR PUBLICATION") for line in lines), lines
    assert "1          2            50.0%" in result.stdout  # exact counts, nothing hidden
    out = tmp_path / "own.csv"
    result = report(invoke, db, *HESA_RATE, "--by", "hours_band", "--disclosure", "none", "-o", out)
    assert result.exit_code == 0, result.stderr
    for written in (out, Path(f"{out}.manifest.json")):
        lines = written.read_text("utf-8").splitlines()
        assert lines and all("NOT FOR PUBLICATION" in line for line in lines), written
    assert json.loads(Path(f"{out}.manifest.json").read_text())["banner"] == "NOT FOR PUBLICATION"


def test_a_comparison_person_who_attended_is_in_no_cell_and_is_counted(tmp_path, invoke):
    db = build(
        tmp_path / "s.duckdb",
        cell(30, 60, band="3–8"),
        cell(40, 80, group="comparison"),
        cell(1, 1, group="comparison", band="≥8"),
    )
    result = report(invoke, db, *HESA_RATE, "--by", "group", "--disclosure", "none")
    assert "left out: 1 student comparison-attended" in result.stdout
    rows = table(invoke, db, *HESA_RATE, "--by", "group", "--disclosure", "none")
    assert rows == [
        ("participant", 30, 60, 0.5, None, None),
        ("comparison", 40, 80, 0.5, None, None),
        ("all", 70, 140, 0.5, None, None),
    ]
    document = json.loads(
        report(invoke, db, *HESA_RATE, "--by", "group", "--format", "json").stdout
    )
    assert document["left_out"] == {"comparison-attended": 1}
    assert document["people"] == 140


def test_continued_counts_entrants_with_a_known_value_and_means_have_se(tmp_path, invoke):
    people = cell(20, 30, band="≥8", attainment8=50.0)
    for n, person in enumerate(people):
        person["continued"] = None if n >= 15 else n < 10  # 15 entrants known: 10 continued
    db = build(tmp_path / "s.duckdb", people)
    rows = table(invoke, db, "--target", "hesa", "--measure", "continued", "--by", "hours_band")
    assert rows[-1][:3] == ("all", 10, 15)
    result = report(
        invoke, db, "-t", "npd", "--measure", "attainment8", "--by", "engaged", "--format", "json"
    )
    cells = json.loads(result.stdout)["table"]
    assert [(c["engaged"], c["n"], c["mean"], c["mean_se"]) for c in cells] == [
        ("yes", 30, 50.0, 0.0),
        ("all", 30, 50.0, 0.0),
    ]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("-t", "hesa", "--measure", "level3", "--by", "sex"), "not a hesa measure; give one of"),
        (("-t", "hesa", "--measure", "entered_he", "--by", "fsm"), "--by fsm: not a dimension"),
        (
            (
                "-t",
                "hesa",
                "--measure",
                "entered_he",
                "--by",
                "sex",
                "--by",
                "group",
                "--by",
                "nation",
            ),
            "give one or two different dimensions",
        ),
        (("-t", "hesa", "--measure", "entered_he", "--by", "sex", "--format", "xlsx"), "--out"),
        (("-t", "hesa", "--measure", "entered_he", "--by", "sex", "--disclosure", "x.toml"), ""),
    ],
)
def test_mistakes_exit_2_or_3_naming_the_fix(tmp_path, invoke, args, message):
    db = build(tmp_path / "s.duckdb", cell(1, 2, band="<3"))
    result = report(invoke, db, *args)
    assert result.exit_code == (3 if "x.toml" in args else 2), result.stdout
    assert message in result.stderr
