"""Who is who (issue 12 section 2): each student's contact hours, band, engaged flag, activities,
activity years and evaluation group, computed in SQL from the register; the [outcomes] policy."""

from __future__ import annotations

import pytest

from heattool.errors import BadPolicy
from heattool.rules.outcomes import OutcomeSettings
from heattool.rules.policy import load_policy, policy_from_text
from heattool.store import Store
from heattool.store.outcome_reports import engagement
from tests.helpers import EXAMPLES, csv_rows, write_csv

UPLOADS = [EXAMPLES / f"{k}.csv" for k in ("activities", "students", "attendance")]
HEAD = '[policy]\nname = "t"\n[[rule]]\nname = "r"\nkind = "students"\nperiod = "7y"\n'
HEAD += 'anchor = "last_activity_on"\naction = "delete"\n'


def test_the_default_bands_and_engagement_are_heats():
    settings = load_policy().outcomes
    assert settings.band_labels() == ("<3", "3–8", "≥8")
    assert settings.engaged_hours == 5
    assert "Mentoring" in settings.engaged_types
    assert settings == OutcomeSettings()  # heat.toml's table is the defaults


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("hours_bands = [8, 3]", r"\[outcomes\] hours_bands: a list is not a list of rising"),
        ("hours_bands = 3", r"hours_bands: 3 is not"),
        ("engaged = { hours = -1 }", r"engaged hours: -1 is not a number of hours"),
        ("engaged = { types = [] }", r"\[outcomes\] engaged: unknown key 'types'"),
        ("ethnicity_groups = { A = [100, 130], B = [120, 139] }", r"B: its codes overlap"),
        ("ethnicity_groups = { A = [100] }", r"A: a list is not \[first code, last code\]"),
        ("colour = 1", r"\[outcomes\]: unknown key 'colour'"),
    ],
)
def test_a_bad_outcomes_table_names_its_key(table, message):
    with pytest.raises(BadPolicy, match=message):
        policy_from_text(HEAD + "[outcomes]\n" + table + "\n")


def test_other_bands_give_other_labels():
    policy = policy_from_text(HEAD + "[outcomes]\nhours_bands = [2.5, 10, 20]\n")
    assert policy.outcomes.band_labels() == ("<2.5", "2.5–10", "10–20", "≥20")


def test_each_students_engagement_from_the_register(tmp_path, invoke):
    students = tmp_path / "students.csv"
    rows = csv_rows(UPLOADS[1])
    headings = [*rows[0], "Evaluation Group"]
    for row in rows:
        row["Evaluation Group"] = {"S0003": "comparison", "S0013": "Comparison"}.get(
            row["Student Ref"], ""
        )
    write_csv(students, rows, headings)
    db = tmp_path / "s.duckdb"
    result = invoke("import", UPLOADS[0], students, UPLOADS[2], "--member", "KENT", "--db", db)
    assert result.exit_code == 0, result.stdout
    with Store.open_existing(db, None) as store:
        frame = engagement(store, load_policy().outcomes, "KENT")
    by_ref = {r["student_ref"]: r for r in frame.iter_rows(named=True)}
    # S0001: a 5-hour campus visit and a 1.5-hour taster; S0002 a visit and a 30-hour summer
    # school (engaged: 30 hours of an engaged type); S0010 two activities 15 years apart.
    picked = {
        ref: (
            r["contact_hours"], r["hours_band"], r["engaged"], r["activities"],
            r["first_activity_year"], r["last_activity_year"], r["main_activity_type"],
            r["evaluation_group"], r["comparison_attended"],
        )
        for ref, r in by_ref.items()
        if ref in ("S0001", "S0002", "S0003", "S0005", "S0010", "S0013")
    }  # fmt: skip
    assert picked == {
        "S0001": (6.5, "3–8", False, 2, 2024, 2024, "Campus visit", "participant", False),
        "S0002": (35.0, "≥8", True, 2, 2024, 2024, "Summer school", "participant", False),
        "S0003": (1.5, "<3", False, 1, 2024, 2024, "Subject taster", "comparison", True),
        "S0005": (12.0, "≥8", True, 1, 2024, 2024, "Mentoring", "participant", False),
        "S0010": (5.0, "3–8", False, 2, 2009, 2025, "Transition support", "participant", False),
        "S0013": (2.0, "<3", False, 1, 2009, 2009, "Information and guidance", "comparison", True),
    }
