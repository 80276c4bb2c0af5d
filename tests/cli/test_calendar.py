"""`heattool calendar`: the year's dates from the policy, weekends and holidays, what is due now."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from heattool.store import Store
from tests.helpers import HEAT_TOML, ROOT, add_people


def dates(invoke, *args) -> dict[str, str]:
    result = invoke("calendar", "--format", "json", *args)
    assert result.exit_code == 0, result.stderr
    return {d["event"]: d["date"] for d in json.loads(result.stdout)["dates"]}


@pytest.mark.parametrize(
    ("year", "expected"),
    [
        # 31 October 2026 is a Saturday; 30 November 2026 a Monday
        (2026, ("2026-09-01", "2026-10-30", "2026-11-30")),
        # 30 November 2025 is a Sunday; 31 October 2025 a Friday
        (2025, ("2025-09-01", "2025-10-31", "2025-11-28")),
        # 31 October 2027 is a Sunday
        (2027, ("2027-09-01", "2027-10-29", "2027-11-30")),
        # 30 November 2024 is a Saturday
        (2024, ("2024-09-01", "2024-10-31", "2024-11-29")),
        # 30 November 2030 is a Saturday (the two never fall on a weekend in the same year)
        (2030, ("2030-09-01", "2030-10-31", "2030-11-29")),
    ],
)
def test_dates_move_back_from_a_weekend_to_the_friday(invoke, tmp_path, year, expected):
    found = dates(invoke, "--year", year)
    assert (found["ready-for-deletion"], found["deletion-due"], found["track-deadline"]) == expected
    for day in expected:
        assert dt.date.fromisoformat(day).weekday() < 5 or day.endswith("-09-01")


@pytest.fixture(autouse=True)
def _no_store_here(tmp_path, monkeypatch):
    """Each test runs in an empty folder, where the default store does not exist."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HEATTOOL_DB", raising=False)


def test_a_named_store_that_does_not_exist_is_an_error(invoke, tmp_path):
    typo = tmp_path / "typo.duckdb"
    result = invoke("calendar", "--year", "2026", "--db", typo)
    assert result.exit_code == 2
    assert result.stderr.strip() == f"error: no store at {typo}; create one with heattool import"
    assert not typo.exists()


def test_text_calendar_without_a_store(invoke, tmp_path):
    missing = Path("heattool.duckdb")
    result = invoke("calendar", "--year", "2026", "--as-of", "2026-10-01")
    assert result.exit_code == 0, result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    assert lines[0] == "2026 under HEAT default 2025.1"
    rows = [line for line in lines if line.startswith("2026-")]
    assert [row.split()[:2] for row in rows] == [
        ["2026-09-01", "Tue"],
        ["2026-10-30", "Fri"],
        ["2026-11-30", "Mon"],
    ]
    assert "the last working day of October" in rows[1]
    assert "next: deletion-due on 2026-10-30, in 29 days (as of 2026-10-01)" in lines
    assert lines[-1] == f"no store at {missing}: nothing to count"
    assert not missing.exists()


def test_the_year_defaults_to_that_of_as_of(invoke, tmp_path):
    found = dates(invoke, "--as-of", "2027-01-15")
    assert found["track-deadline"] == "2027-11-30"


def test_holidays_in_the_policy_are_not_working_days(invoke, tmp_path):
    policy = tmp_path / "closed.toml"
    policy.write_text(
        HEAT_TOML.replace("holidays = []", "holidays = [2026-10-30, 2026-11-30]"), "utf-8"
    )
    found = dates(invoke, "--year", "2026", "--policy", policy)
    assert (found["deletion-due"], found["track-deadline"]) == ("2026-10-29", "2026-11-27")


def test_a_policy_without_annual_dates_says_so(invoke, tmp_path):
    kent = ROOT / "examples" / "policies" / "kent-staff.toml"
    result = invoke("calendar", "--year", "2026", "--policy", kent)
    assert result.exit_code == 0, result.stderr
    assert "note: records are ready for deletion on the day each expires" in result.stdout
    assert "note: each record must be deleted within 30 days of expiring" in result.stdout
    assert "note: the policy sets no track deadline" in result.stdout


def test_a_bad_policy_exits_3(invoke, tmp_path):
    policy = tmp_path / "bad.toml"
    policy.write_text(HEAT_TOML.replace("month = 11", "month = 13"), "utf-8")
    result = invoke("calendar", "--policy", policy)
    assert result.exit_code == 3
    assert "[settings] track_deadline: month 13 is not a number from 1 to 12" in result.stderr


@pytest.fixture
def db(tmp_path):
    """KENT: two trackable students, one refused, one loaded 2019 and untracked; MEDWAY: one."""
    path = tmp_path / "heattool.duckdb"
    with Store.open(path) as store:
        store.migrate()
        add_people(
            store,
            "students",
            [
                {"ref": "S1"},
                {"ref": "S2", "expected_he_entry_year": 2028},  # NPD (KS4 in 2026), not HESA
                {"ref": "S3", "permission_to_track": False},
                {"ref": "S4", "date_of_birth": None, "expected_he_entry_year": None},
                {"ref": "M1", "member": "MEDWAY"},
            ],
        )
        # loaded on 1 March 2019, no activity, not tracked: expires 1 March 2026, ready for
        # deletion on 1 September 2026, to be deleted by 30 October 2026
        store.con.execute(
            "UPDATE students SET created_at = TIMESTAMP '2019-03-01' WHERE student_ref = 'S4'"
        )
    return path


def test_what_is_due_now_in_the_store(invoke, db):
    result = invoke("calendar", "--year", "2026", "--as-of", "2026-09-15", "--db", db)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.splitlines()[-4:] == [
        f"due now in {db}, as of 2026-09-15:",
        "  trackable for hesa 2026 (entry years 2015 to 2026): 2 (3 excluded)",
        "  trackable for npd 2026 (entry year 2026 or 2028): 3 (2 excluded)",
        "  ready for deletion: 1; overdue: 0",
    ]


def test_what_is_due_for_one_member_only(invoke, db):
    result = invoke(
        "calendar", "--as-of", "2026-11-02", "--db", db, "--member", "KENT", "-f", "json"
    )
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["year"] == 2026
    assert document["next"]["event"] == "track-deadline"
    assert document["next"]["days_from_as_of"] == 28
    store = document["store"]
    assert store["member"] == "KENT"
    assert store["trackable"]["hesa"] == {
        "year": 2026,
        "window": "entry years 2015 to 2026",
        "eligible": 1,
        "excluded": 3,
    }
    assert (store["ready_for_deletion"], store["overdue"]) == (0, 1)  # past 30 October


def test_an_unknown_member_is_exit_2(invoke, db):
    result = invoke("calendar", "--db", db, "--member", "SUSSEX")
    assert result.exit_code == 2
    assert "has no records of member SUSSEX; it holds" in result.stderr


@pytest.mark.parametrize("year", [1900, 2599, 2600, 2999])
def test_every_year_the_option_allows_has_its_days(invoke, year):
    """--year takes 1900-2999; the last working day of October is found in every one."""
    result = invoke("calendar", "--year", str(year), "--format", "json")
    assert result.exit_code == 0, result.stderr
    days = [dt.date.fromisoformat(d["date"]) for d in json.loads(result.stdout)["dates"]]
    october = [d for d in days if d.month == 10]
    assert october and all(d.year == year and d.weekday() < 5 for d in october)
