"""A record is never overdue for a time the policy kept it (issue 11, item 9).

When the rule that decides a record changes with the as-of day alone (a `within` window lapses,
an `older_than` age is reached, a date tested as `present` comes, such as `withdrawn_on`), the
record *fell* on that day: its period under the new rule ends no earlier than that day (or than
the day its old period ended, if that came first). So it is ready for deletion on the first
ready-for-deletion day after, never overdue overnight.
"""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from heattool.rules.calendar import Period, map_days
from heattool.rules.policy import FieldTest, Policy, load_policy, policy_from_text
from heattool.rules.retention import evaluate_policy, evaluate_table
from tests.helpers import EXAMPLES, STORE_SCHEMA, judge, student

D = dt.date
HEAT = load_policy()
KENT = load_policy(EXAMPLES / "policies" / "kent-staff.toml")
DUE = ("ready-for-deletion", "overdue")


def one(record: dict, as_of: dt.date, policy: Policy = HEAT) -> dict:
    (row,) = judge(record, as_of=as_of, policy=policy)
    return row


def dates(row: dict) -> tuple:
    return row["rule"], row["status"], row["expires_on"], row["ready_on"], row["delete_by"]


# --- the HEAT default: a pupil's 15-year activity window lapses ------------------------------

# Last active on 2016-03-10, entry year 2020: tracked (kept to 2035-09-01) while there is an
# activity in the last 15 years, i.e. up to 2031-03-10. Untracked, 7 years from 2016-03-10 ended
# on 2023-03-10: before this rule, the day the window lapsed it was "overdue: should have been
# deleted by 2023-10-31".
PUPIL = student(last_activity_on=D(2016, 3, 10), expected_he_entry_year=2020)


def test_a_pupil_is_not_overdue_the_day_after_the_activity_window_lapses():
    assert dates(one(PUPIL, D(2031, 3, 10))) == (
        "tracked",
        "retained",
        D(2035, 9, 1),
        D(2035, 9, 1),
        D(2035, 10, 31),
    )
    row = one(PUPIL, D(2031, 3, 11))
    assert dates(row) == ("untracked", "retained", D(2031, 3, 11), D(2031, 9, 1), D(2031, 10, 31))
    assert row["reason"] == (
        "untracked record: 7 years from last_activity_on (2016-03-10) would end on 2023-03-10, "
        "but it was under rule 'tracked' until 2031-03-10 (no last_activity_on within 15 years "
        "from 2031-03-11), so it ends on 2031-03-11; retained; ready for deletion on 2031-09-01"
    )


@pytest.mark.parametrize(
    ("as_of", "status"),
    [
        (D(2031, 8, 31), "retained"),
        (D(2031, 9, 1), "ready-for-deletion"),
        (D(2031, 10, 31), "ready-for-deletion"),  # the last working day of October 2031
        (D(2031, 11, 1), "overdue"),
    ],
)
def test_the_fallen_pupil_follows_the_annual_calendar_from_the_day_it_fell(as_of, status):
    row = one(PUPIL, as_of)
    assert (row["status"], row["ready_on"], row["delete_by"]) == (
        status,
        D(2031, 9, 1),
        D(2031, 10, 31),
    )


def test_a_window_lapsing_on_31_august_is_ready_the_next_day():
    # 2026-08-31 is the last day within 15 years of 2011-08-31: it falls on 2026-09-01, itself a
    # ready-for-deletion day, and has until the last working day of October.
    record = student(last_activity_on=D(2011, 8, 31), expected_he_entry_year=2027)
    assert one(record, D(2026, 8, 31))["status"] == "retained"
    assert dates(one(record, D(2026, 9, 1))) == (
        "untracked",
        "ready-for-deletion",
        D(2026, 9, 1),
        D(2026, 9, 1),
        D(2026, 10, 30),
    )


def test_withdrawal_starts_the_untracked_period_no_earlier_than_its_day():
    record = student(last_activity_on=D(2015, 6, 1), withdrawn_on=D(2026, 3, 1))
    assert one(record, D(2026, 2, 28))["rule"] == "tracked"  # a withdrawal dated later: not yet
    row = one(record, D(2026, 3, 1))
    assert dates(row) == ("untracked", "retained", D(2026, 3, 1), D(2026, 9, 1), D(2026, 10, 30))
    assert (
        "but it was under rule 'tracked' until 2026-02-28 (withdrawn_on 2026-03-01)"
        in (row["reason"])
    )


def test_a_fall_before_the_new_period_ends_changes_nothing():
    record = student(last_activity_on=D(2019, 6, 1), withdrawn_on=D(2025, 2, 2))
    row = one(record, D(2026, 3, 1))
    assert dates(row) == ("untracked", "retained", D(2026, 6, 1), D(2026, 9, 1), D(2026, 10, 30))
    assert row["reason"].startswith(
        "untracked record: 7 years from last_activity_on (2019-06-01) ends on 2026-06-01; "
    )


def test_a_record_already_due_under_the_old_rule_stays_on_its_timetable():
    # Entry year 2025, last active 2025-09-15: tracked until 1 September 2040, the window lapses
    # on 2040-09-16. It was due already; falling gives it no more time.
    record = student(last_activity_on=D(2025, 9, 15), expected_he_entry_year=2025)
    assert dates(one(record, D(2040, 9, 1)))[1:] == (
        "ready-for-deletion",
        D(2040, 9, 1),
        D(2040, 9, 1),
        D(2040, 10, 31),
    )
    row = one(record, D(2040, 11, 1))
    assert dates(row) == ("untracked", "overdue", D(2040, 9, 1), D(2040, 9, 1), D(2040, 10, 31))
    assert (
        "but it was under rule 'tracked' until 2040-09-15 (no last_activity_on within 15 years "
        "from 2040-09-16), whose period ended on 2040-09-01, so it ends on 2040-09-01; overdue"
    ) in row["reason"]


def test_a_record_with_data_that_never_changes_is_judged_as_before():
    # Permission recorded as No has no date: the record was never tracked.
    record = student(last_activity_on=D(2010, 3, 12), permission_to_track=False)
    assert dates(one(record, D(2026, 11, 24))) == (
        "untracked",
        "overdue",
        D(2017, 3, 12),
        D(2017, 9, 1),
        D(2017, 10, 31),
    )


# --- any policy: the Kent staff example, a rule that starts to match, a plain file -----------


def staff(**changes) -> dict:
    record = {
        "kind": "staff",
        "ref": "ST-9",
        "outcome": None,
        "engagement_ended_on": None,
        "successful_candidate_started_on": None,
        "last_login_on": None,
        "created_on": None,
    }
    return record | changes


KENT_SCHEMA = {name: pl.Date for name in staff()} | {
    "kind": pl.String,
    "ref": pl.String,
    "outcome": pl.String,
}


def kent(records: list[dict], as_of: dt.date) -> list[dict]:
    frame = pl.DataFrame(records, schema=KENT_SCHEMA)
    return evaluate_policy(KENT, frame, as_of).to_dicts()


def test_kent_an_engagement_that_ends_later_is_current_until_then():
    record = staff(engagement_ended_on=D(2026, 12, 31))
    (before,) = kent([record], D(2026, 3, 1))
    assert (before["rule"], before["status"]) == ("current-engagement", "retained")
    (after,) = kent([record], D(2027, 1, 1))
    assert (after["rule"], after["expires_on"]) == ("ended-engagement", D(2033, 12, 31))


STALE = """
[policy]
name = "stale"
[settings]
delete_by = "30d"
[[rule]]
name = "stale"
kind = "*"
period = "1m"
anchor = "seen_on"
action = "anonymise"
condition = { field = "seen_on", older_than = "2y" }
[[rule]]
name = "rest"
kind = "*"
action = "keep"
"""


def test_a_rule_that_starts_to_match_counts_from_the_day_it_did():
    policy = policy_from_text(STALE)
    frame = pl.DataFrame({"seen_on": [D(2000, 1, 1)]})
    kept = evaluate_policy(policy, frame, D(2002, 1, 1), kind="any").row(0, named=True)
    assert (kept["rule"], kept["status"]) == ("rest", "retained")
    row = evaluate_policy(policy, frame, D(2002, 1, 2), kind="any").row(0, named=True)
    assert dates(row) == (
        "stale",
        "ready-for-deletion",
        D(2002, 1, 2),
        D(2002, 1, 2),
        D(2002, 2, 1),
    )


def test_a_plain_file_reads_a_column_tested_as_present_as_dates():
    table = pl.DataFrame(
        {
            "ref": ["S1", "S2"],
            "forename": ["Amira", "Ben"],
            "surname": ["Hussain", "Carter"],
            "date_of_birth": ["2007-09-01", "2007-09-01"],
            "postcode": ["CT2 7NZ", "CT2 7NZ"],
            "permission_to_track": ["Yes", "Yes"],
            "withdrawn_on": ["01/03/2026", ""],
            "last_activity_on": ["2015-06-01", "2015-06-01"],
            "first_loaded_on": ["2015-01-01", "2015-01-01"],
        }
    )
    rows = evaluate_table(HEAT, table, D(2026, 3, 2), kind="students").to_dicts()
    assert dates(rows[0]) == (
        "untracked",
        "retained",
        D(2026, 3, 1),
        D(2026, 9, 1),
        D(2026, 10, 30),
    )
    assert rows[1]["rule"] == "tracked"
    # Text that is not dates stays text, and still counts as present.
    mixed = table.with_columns(pl.Series("withdrawn_on", ["yes", ""]))
    rows = evaluate_table(HEAT, mixed, D(2026, 3, 2), kind="students").to_dicts()
    assert (rows[0]["rule"], rows[0]["expires_on"]) == ("untracked", D(2022, 6, 1))


@pytest.mark.parametrize("period", ["0d", "1d", "30d", "0m", "1m", "13m", "14m", "1y", "4y", "15y"])
def test_the_switch_day_is_the_first_day_a_date_is_more_than_the_period_ago(period):
    period = Period.parse("test", period)
    days = pl.date_range(D(1999, 12, 1), D(2005, 3, 31), eager=True)
    switch = map_days(days, period.first_day_beyond)
    frame = pl.DataFrame({"v": days, "d": switch})
    for offset in range(-40, 41):  # `within` as the policy tests it, around the switch day
        day = pl.col("d").dt.offset_by(f"{offset}d")
        within = pl.col("v") >= period.before(day)
        assert frame.select((within == (offset < 0)).all()).item(), (str(period), offset)


# --- the invariant, for the HEAT and Kent policies and for generated ones ---------------------


def next_ready_after(policy: Policy, day: dt.date) -> dt.date | None:
    ready = policy.settings.ready_for_deletion
    if ready is None:
        return None
    return pl.select(ready.on_or_after(pl.lit(day + dt.timedelta(days=1)))).item()


def check_never_due_early(policy, frame, a, b, kind=None):
    """Not due on day a: on day b, either still not due or ready after a, so not before the
    first ready-for-deletion day after a (for a policy without one: overdue only when b is past
    a, plus its time to act, no earlier)."""
    at_a = evaluate_policy(policy, frame, a, kind=kind, reasons=False).to_dicts()
    at_b = evaluate_policy(policy, frame, b, kind=kind).to_dicts()
    first_ready = next_ready_after(policy, a)
    for then, now in zip(at_a, at_b, strict=True):
        if then["status"] in DUE or now["status"] not in DUE:
            continue
        assert now["ready_on"] > a, (then, now)
        if first_ready is not None:
            assert b >= first_ready, (then, now)
        if now["status"] == "overdue":
            assert now["delete_by"] >= now["ready_on"] > a


def check_stays_due(policy, frame, a, b, kind=None):
    at_a = evaluate_policy(policy, frame, a, kind=kind, reasons=False).to_dicts()
    at_b = evaluate_policy(policy, frame, b, kind=kind, reasons=False).to_dicts()
    for then, now in zip(at_a, at_b, strict=True):
        if then["status"] in DUE:
            assert now["status"] in DUE, (then, now)


def maybe(strategy):  # (Hypothesis favours the first choice: the interesting one)
    return strategy | st.none()


def days(low=D(1985, 1, 1), high=D(2045, 12, 31)):
    return st.dates(low, high)


def near(a: dt.date, *periods: str):
    """A day anywhere, or close to `a` less one of the periods (where a window lapses or an age
    is reached just after a), or close to a itself (a date that comes just after it)."""
    offsets = [
        0,
        *(Period.parse("test", p).amount * {"y": 365, "m": 30, "d": 1}[p[-1]] for p in periods),
    ]
    close = st.builds(
        lambda back, shift: a - dt.timedelta(days=back - shift),
        st.sampled_from(offsets),
        st.integers(-40, 400),
    )
    return close | days()


# Day a; b is usually within a year or two of it (where the annual run matters), sometimes
# decades on.
gaps = st.integers(1, 800) | st.integers(1, 12000)


def heat_records(a: dt.date):
    return st.fixed_dictionaries(
        {
            "forename": st.sampled_from(["Amira", None, "  "]),
            "date_of_birth": maybe(days(D(1985, 1, 1), D(2015, 12, 31)) | near(a)),
            "permission_to_track": st.sampled_from([True, False, None]),
            "withdrawn_on": maybe(near(a)),
            "last_activity_on": maybe(near(a, "15y", "7y")),
            "first_loaded_on": maybe(near(a, "7y")),
            "expected_he_entry_year": maybe(st.integers(2000, 2035)),
        }
    )


def heat_frame(data, a, dated_by_a=False) -> pl.DataFrame:
    records = [student(**c) for c in data.draw(st.lists(heat_records(a), min_size=1, max_size=20))]
    if dated_by_a:  # data as of day a: a later date is data yet to arrive
        records = [{k: None if _later(v, a) else v for k, v in r.items()} for r in records]
    return pl.DataFrame(records, schema=STORE_SCHEMA)


def _later(value, a) -> bool:
    return isinstance(value, dt.date) and value > a


@given(st.data(), days(D(2000, 1, 1)), gaps)
def test_heat_a_record_not_due_is_not_due_before_the_next_1_september(data, a, gap):
    check_never_due_early(HEAT, heat_frame(data, a), a, a + dt.timedelta(days=gap))


@given(st.data(), days(D(2000, 1, 1)), gaps)
def test_heat_a_record_due_stays_due_while_no_new_data_arrives(data, a, gap):
    check_stays_due(HEAT, heat_frame(data, a, dated_by_a=True), a, a + dt.timedelta(days=gap))


def kent_frame(data, a, dated_by_a=False) -> pl.DataFrame:
    records = st.fixed_dictionaries(
        {
            "kind": st.sampled_from(["staff", "recruitment", "applicant-account", "archive"]),
            "outcome": st.sampled_from(["unsuccessful", "successful", None]),
            "engagement_ended_on": maybe(near(a, "7y", "15y")),
            "successful_candidate_started_on": maybe(near(a, "1y")),
            "last_login_on": maybe(near(a, "14m")),
            "created_on": maybe(near(a, "14m")),
        }
    )
    rows = [staff(**c) for c in data.draw(st.lists(records, min_size=1, max_size=20))]
    if dated_by_a:
        rows = [{k: None if _later(v, a) else v for k, v in r.items()} for r in rows]
    return pl.DataFrame(rows, schema=KENT_SCHEMA)


@given(st.data(), days(D(2000, 1, 1)), gaps)
def test_kent_a_record_not_due_is_ready_only_after_the_last_day_it_was_kept(data, a, gap):
    frame = kent_frame(data, a)
    check_never_due_early(KENT, frame, a, a + dt.timedelta(days=gap))
    at_b = evaluate_policy(KENT, frame, a + dt.timedelta(days=gap), reasons=False)
    assert (at_b["delete_by"] - at_b["ready_on"]).drop_nulls().dt.total_days().eq(30).all()


@given(st.data(), days(D(2000, 1, 1)), gaps)
def test_kent_a_record_due_stays_due_while_no_new_data_arrives(data, a, gap):
    check_stays_due(KENT, kent_frame(data, a, dated_by_a=True), a, a + dt.timedelta(days=gap))


# Generated policies: any rules the language accepts over two date columns, a text, a flag and
# a year, with any settings.
PERIODS = ["0d", "1d", "30d", "1m", "14m", "1y", "2y", "7y", "15y"]
time_tests = st.one_of(  # the tests whose answer changes with the day: most of them
    st.builds(
        lambda f, op, p: {"field": f, op: p},
        st.sampled_from(["d1", "d2"]),
        st.sampled_from(["within", "older_than"]),
        st.sampled_from(PERIODS),
    ),
    st.builds(
        lambda f, v: {"field": f, "present": v}, st.sampled_from(["d1", "d2"]), st.booleans()
    ),
)
constant_tests = st.one_of(
    st.builds(lambda f, v: {"field": f, "present": v}, st.sampled_from("tfy"), st.booleans()),
    st.builds(
        lambda op, v: {"field": "t", op: v},
        st.sampled_from(["is", "is_not"]),
        st.sampled_from("ab"),
    ),
    st.just({"field": "t", "in": ["a", "b"]}),
    st.builds(
        lambda op, v: {"field": "f", op: v}, st.sampled_from(["is", "is_not"]), st.booleans()
    ),
    st.builds(lambda v: {"field": "y", "is": v}, st.integers(2018, 2022)),
)
leaf_tests = st.one_of(time_tests, constant_tests)
conditions = st.recursive(
    leaf_tests,
    lambda inner: st.one_of(
        st.builds(lambda parts: {"all": parts}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda parts: {"any": parts}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda part: {"not": part}, inner),
    ),
    max_leaves=6,
)
ANCHORS = [
    '"d1"',
    '"d2"',
    '["d1", "d2"]',
    '{ year = "y", month = 9, day = 1 }',
    '{ year = "y", month = 2, day = "last-day" }',
    '["d2", { year = "y", month = 10, day = "last-working-day" }]',
]
annual = st.builds(
    lambda m, d: f"{{ month = {m}, day = {json.dumps(d)} }}",
    st.integers(1, 12),
    st.integers(1, 28) | st.sampled_from(["last-day", "last-working-day"]),
)


def toml(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {toml(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml(v) for v in value) + "]"
    return json.dumps(value)  # text, numbers, true/false


@st.composite
def policies(draw) -> Policy:
    ready = draw(st.just('"on-expiry"') | annual)
    delete_by = draw(st.builds(lambda n: f'"{n}d"', st.integers(0, 60)) | annual)
    holidays = draw(st.sampled_from(["[]", "[2026-10-30, 2027-10-29]"]))
    text = f'[policy]\nname = "generated"\n[settings]\nready_for_deletion = {ready}\n'
    text += f"delete_by = {delete_by}\nholidays = {holidays}\n"
    count = draw(st.integers(2, 4))
    for number in range(count):
        last = number == count - 1
        action = draw(st.sampled_from(["delete", "anonymise", "keep"]))
        text += f'[[rule]]\nname = "r{number}"\nkind = "*"\naction = "{action}"\n'
        if action != "keep":
            period, anchor = draw(st.sampled_from(PERIODS)), draw(st.sampled_from(ANCHORS))
            text += f'period = "{period}"\nanchor = {anchor}\n'
        if not last:  # the last rule takes every remaining record
            text += f"condition = {toml(draw(conditions))}\n"
    return policy_from_text(text)


GENERATED_SCHEMA = {"d1": pl.Date, "d2": pl.Date, "t": pl.String, "f": pl.Boolean, "y": pl.Int32}


def periods_of(policy: Policy) -> list[str]:
    """The periods of the policy's `within` and `older_than` tests."""

    def walk(condition):
        if isinstance(condition, FieldTest):
            return [str(condition.value)] if condition.op in ("within", "older_than") else []
        parts = getattr(condition, "parts", None) or [getattr(condition, "part", None)]
        return [period for part in parts if part is not None for period in walk(part)]

    return sorted({period for rule in policy.rules for period in walk(rule.condition)})


def generated_records(a: dt.date, periods: list[str]):
    """Records whose dates are often close to a switch day of the policy's tests after a."""
    return st.fixed_dictionaries(
        {
            "d1": maybe(near(a, *periods)),
            "d2": maybe(near(a, *periods)),
            "t": st.sampled_from(["a", "b", "", None]),
            "f": st.sampled_from([True, False, None]),
            "y": maybe(st.integers(1995, 2035)),
        }
    )


@given(policies(), st.data(), days(D(2000, 1, 1)), gaps)
def test_any_policy_a_record_not_due_is_not_due_before_its_next_ready_day(policy, data, a, gap):
    records = data.draw(st.lists(generated_records(a, periods_of(policy)), max_size=12))
    assume(records)
    frame = pl.DataFrame(records, schema=GENERATED_SCHEMA)
    check_never_due_early(policy, frame, a, a + dt.timedelta(days=gap), kind="any")


@given(policies(), st.data(), days(D(2000, 1, 1)))
def test_any_policy_judges_a_record_the_same_alone_or_among_others(policy, data, as_of):
    records = data.draw(st.lists(generated_records(as_of, periods_of(policy)), max_size=12))
    assume(len(records) > 1)
    frame = pl.DataFrame(records, schema=GENERATED_SCHEMA)
    together = evaluate_policy(policy, frame, as_of, kind="any")
    assume(together.height)
    for index in range(frame.height):
        alone = evaluate_policy(policy, frame.slice(index, 1), as_of, kind="any")
        assert alone.row(0) == together.row(index)
