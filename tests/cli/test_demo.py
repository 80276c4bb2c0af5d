"""`heattool demo`: the README's main command walks the whole job and leaves it to explore."""

from __future__ import annotations

import csv
import json
import os
import stat

from heattool.actions.demo import steps


def test_demo_walks_the_whole_job_in_a_fresh_folder(invoke, tmp_path):
    folder = tmp_path / "demo"
    result = invoke("demo", "--dir", folder)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert out.count("$ heattool ") == len(steps()) == 15
    # the messy upload's errors, then its rejects
    assert "uploads/messy_students.csv: students, 11 rows, 3 valid, 8 invalid: invalid" in out
    assert "11 rows: 3 inserted, 0 updated, 0 unchanged, 8 rejected" in out
    with (folder / "out" / "messy_students.rejects.csv").open(encoding="utf-8-sig") as handle:
        assert len(list(csv.DictReader(handle))) == 8
    # retention as of a day on which a record is overdue, and the rehearsed purge
    assert "1 overdue" in out and "S0013" in out
    assert "dry run: would delete 1 record of member KENT" in out
    # the track request and its manifest
    manifest = json.loads((folder / "out" / "hesa-2026.csv.manifest.json").read_text("utf-8"))
    assert manifest["target"] == "hesa" and manifest["year"] == 2026
    # the subject access package
    package = json.loads((folder / "out" / "subject-access.json").read_text("utf-8"))
    assert package["record"]["student_ref"] == "S0001"
    # the cohort's HESA return comes back, and one outcome table with its suppression
    assert "out/hesa-return-cccu.csv (hesa return): 340 rows: 340 inserted" in out
    assert "  ≥8          15         15           ..     ..              primary" in out
    assert "suppressed: 2 cells, 1 primary" in out
    report = json.loads((folder / "out" / "entered-he-by-hours.csv.manifest.json").read_text())
    assert [c["suppression"] for c in report["suppressed"]] == ["secondary", "primary"]
    for made in [folder / "heattool.duckdb", *(folder / "out").iterdir()]:
        assert stat.S_IMODE(os.stat(made).st_mode) == 0o600, made


def test_demo_rebuilds_its_own_folder_but_never_touches_another(invoke, tmp_path):
    folder = tmp_path / "demo"
    assert invoke("demo", "--dir", folder).exit_code == 0
    again = invoke("demo", "--dir", folder)
    assert again.exit_code == 0, again.stderr
    assert "first hesa request for 2026" in again.stdout  # a fresh store, not the old one
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    refused = invoke("demo", "--dir", mine)
    assert refused.exit_code == 2
    assert "exists and was not made by the demo" in refused.stderr
    assert (mine / "notes.txt").read_text() == "keep me"
