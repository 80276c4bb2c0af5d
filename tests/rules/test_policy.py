"""The policy language: shipped policies load; each kind of mistake exits 3 with its place."""

from __future__ import annotations

import datetime as dt

import pytest

from heattool.errors import BadPolicy
from heattool.rules.calendar import AnnualDate, Period
from heattool.rules.policy import (
    POLICY_ENV,
    AllOf,
    DateAnchor,
    FieldTest,
    YearAnchor,
    load_policy,
    policy_from_text,
)
from tests.helpers import EXAMPLES

D = dt.date
GOOD_RULE = """
[[rule]]
name = "tracked"
kind = "students"
period = "15y"
anchor = "last_activity_on"
action = "delete"
"""


def policy(rules: str = GOOD_RULE, settings: str = "", head: str = '[policy]\nname = "t"\n'):
    return policy_from_text(head + settings + rules)


def test_default_policy_is_domain_md_heat_rule():
    heat = load_policy()
    assert heat.source == "heat.toml"
    assert [r.name for r in heat.rules] == ["tracked", "untracked"]
    tracked, untracked = heat.rules
    assert (tracked.period, untracked.period) == (Period(15, "y"), Period(7, "y"))
    assert tracked.anchors == (YearAnchor("expected_he_entry_year", AnnualDate(9, 1)),)
    assert untracked.anchors == (DateAnchor("last_activity_on"), DateAnchor("first_loaded_on"))
    assert untracked.condition is None
    assert isinstance(tracked.condition, AllOf)
    assert FieldTest("last_activity_on", "within", Period(15, "y")) in tracked.condition.parts
    assert heat.settings.ready_for_deletion == AnnualDate(9, 1)
    assert heat.settings.delete_by == AnnualDate(10, "last-working-day")
    assert heat.settings.earliest_track_year == 2015
    assert heat.settings.track_deadline == AnnualDate(11, "last-working-day")


def test_kent_staff_example_loads():
    kent = load_policy(EXAMPLES / "policies" / "kent-staff.toml")
    assert {r.action for r in kent.rules} == {"delete", "anonymise", "keep"}
    assert {str(r.period) for r in kent.rules if r.period} == {"15y", "14m", "1y", "7y"}


def test_environment_variable_replaces_the_default(tmp_path, monkeypatch):
    path = tmp_path / "mine.toml"
    path.write_text('[policy]\nname = "mine"\n' + GOOD_RULE)
    monkeypatch.setenv(POLICY_ENV, str(path))
    assert load_policy().name == "mine"
    assert load_policy(EXAMPLES / "policies" / "kent-staff.toml").name.startswith("Kent")


BAD = [
    (GOOD_RULE.replace('"15y"', '"15 yrs"'), "rule 'tracked': period '15 yrs' is not like 15y"),
    (GOOD_RULE.replace('"15y"', "15"), "rule 'tracked': period 15 is not like"),
    (GOOD_RULE.replace('"delete"', '"shred"'), "action 'shred' is not one of delete, anonymise"),
    (GOOD_RULE + 'colour = "red"\n', "rule 'tracked': unknown key 'colour'"),
    (GOOD_RULE.replace('kind = "students"\n', ""), "rule 'tracked': missing 'kind'"),
    (GOOD_RULE.replace('name = "tracked"', "name = 3"), "rule 1: name must be text"),
    (GOOD_RULE + GOOD_RULE, "rule 'tracked': another rule has this name"),
    (
        GOOD_RULE.replace('anchor = "last_activity_on"', "anchor = []"),
        "rule 'tracked': anchor must name at least one date column",
    ),
    (
        GOOD_RULE.replace(
            'anchor = "last_activity_on"', 'anchor = { year = "y", month = 2, day = 30 }'
        ),
        "rule 'tracked': anchor: day 30 is not in February",
    ),
    (
        GOOD_RULE.replace('anchor = "last_activity_on"', 'anchor = { year = "y", month = 9 }'),
        "rule 'tracked': anchor: missing 'day'",
    ),
    (
        GOOD_RULE + 'condition = { field = "forename", exists = true }\n',
        "rule 'tracked': condition: unknown key 'exists'",
    ),
    (
        GOOD_RULE + 'condition = { field = "forename", present = true, is = "x" }\n',
        "field 'forename': give exactly one test",
    ),
    (
        GOOD_RULE + 'condition = { field = "last_activity_on", within = "a while" }\n',
        "field 'last_activity_on': within: period 'a while' is not like 15y",
    ),
    (GOOD_RULE + "condition = { all = [] }\n", "condition: 'all' must be a non-empty list"),
    (GOOD_RULE + "condition = { nand = [] }\n", "a condition is { field = ..., <test> = ... }"),
    (
        GOOD_RULE + 'condition = { field = "x", in = [1, "one"] }\n',
        "in must list values of one type",
    ),
    (
        GOOD_RULE.replace('action = "delete"', 'action = "keep"'),
        "rule 'tracked': a 'keep' rule has no period or anchor",
    ),
    (
        GOOD_RULE + GOOD_RULE.replace("tracked", "later"),
        "rule 'later' can never match: rule 'tracked' before it has no condition",
    ),
    (
        GOOD_RULE + 'condition = { field = "last_activity_on", is = true }\n',
        "field 'last_activity_on' is used as a date here but as true/false",
    ),
    ("", "policy.toml: missing 'rule'"),
    (GOOD_RULE + "[[rule]\n", "policy.toml: not valid TOML"),
]


@pytest.mark.parametrize(("rules", "message"), BAD)
def test_bad_rules_name_file_rule_and_reason(rules, message):
    with pytest.raises(BadPolicy) as caught:
        policy(rules)
    assert str(caught.value).startswith("policy.toml: ")
    assert message in str(caught.value)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ("[settings]\nready = 1\n", "[settings]: unknown key 'ready'"),
        (
            "[settings]\nready_for_deletion = { month = 13, day = 1 }\n",
            "ready_for_deletion: month 13 is not a number from 1 to 12",
        ),
        (
            "[settings]\ndelete_by = { month = 2, day = 29 }\n",
            "day 29 is not in February; write day = 'last-day'",
        ),
        (
            '[settings]\ndelete_by = { month = 10, day = "last-friday" }\n',
            "day 'last-friday' is not a number, 'last-day' or 'last-working-day'",
        ),
        ('[settings]\ndelete_by = "soon"\n', "delete_by: period 'soon' is not like"),
        ("[settings]\nholidays = ['25 Dec']\n", "holidays: must be a list of dates"),
        ("[settings]\nearliest_track_year = 15\n", "earliest_track_year: 15 is not a year"),
    ],
)
def test_bad_settings_name_the_setting(settings, message):
    with pytest.raises(BadPolicy, match=r"^policy\.toml: ") as caught:
        policy(settings=settings)
    assert message in str(caught.value)


def test_a_policy_needs_a_rule():
    with pytest.raises(BadPolicy, match=r"^policy.toml: give at least one \[\[rule\]\]"):
        policy_from_text('rule = []\n[policy]\nname = "t"\n')


def test_missing_policy_file_is_bad_policy(tmp_path):
    with pytest.raises(BadPolicy, match=r"nope.toml: no such file"):
        load_policy(tmp_path / "nope.toml")


def test_cli_bad_policy_exits_3_with_file_rule_and_reason(invoke, tmp_path):
    path = tmp_path / "policy.toml"
    path.write_text('[policy]\nname = "t"\n' + GOOD_RULE.replace('"15y"', '"15 yrs"'))
    result = invoke(
        "retention", "--policy", path, "--input", EXAMPLES / "policies" / "staff-records.csv"
    )
    assert result.exit_code == 3
    assert result.stdout == ""
    assert f"{path}: rule 'tracked': period '15 yrs' is not like 15y, 14m or 30d" in result.stderr


@pytest.mark.parametrize(
    ("day", "year", "expected"),
    [
        (AnnualDate(9, 1), 2026, D(2026, 9, 1)),
        (AnnualDate(10, "last-working-day"), 2026, D(2026, 10, 30)),  # 31st is a Saturday
        (AnnualDate(10, "last-working-day"), 2027, D(2027, 10, 29)),  # 31st is a Sunday
        (AnnualDate(10, "last-working-day"), 2025, D(2025, 10, 31)),  # a Friday
        (AnnualDate(11, "last-working-day"), 2025, D(2025, 11, 28)),
        (AnnualDate(2, "last-day"), 2028, D(2028, 2, 29)),
    ],
)
def test_annual_dates_are_computed_per_year(day, year, expected):
    assert day.for_year(year) == expected


def test_holidays_are_not_working_days():
    deadline = AnnualDate(11, "last-working-day")
    assert deadline.for_year(2026, holidays=[D(2026, 11, 30)]) == D(2026, 11, 27)
