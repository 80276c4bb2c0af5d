"""The policy's [matching] table and the nickname table: checked when loaded."""

from __future__ import annotations

import pytest

from heattool.errors import BadPolicy
from heattool.rules.matching import Matching, nickname_pairs, parse_matching
from heattool.rules.policy import load_policy, policy_from_text
from tests.helpers import HEAT_TOML


def test_the_heat_policy_has_the_default_thresholds():
    assert load_policy().matching == Matching(match_at=0.95, review_at=0.5)


def test_a_policy_without_matching_uses_the_defaults():
    start = HEAT_TOML.index("[matching]")
    assert policy_from_text(HEAT_TOML[:start]).matching == Matching()


@pytest.mark.parametrize(
    ("table", "reason"),
    [
        ({"match_at": 1.5}, "match_at must be a probability above 0 and below 1, not 1.5"),
        ({"review_at": "high"}, "review_at must be a probability above 0 and below 1, not 'high'"),
        ({"match_at": True}, "match_at must be a probability above 0 and below 1, not true"),
        ({"match_at": 0.6, "review_at": 0.7}, "review_at (0.7) must not be above match_at (0.6)"),
        ({"threshold": 0.9}, "unknown key 'threshold' (allowed: match_at, review_at)"),
    ],
)
def test_a_bad_matching_table_names_the_key(table, reason):
    with pytest.raises(BadPolicy) as caught:
        parse_matching("mine.toml", table)
    assert str(caught.value) == f"mine.toml: [matching]: {reason}"


def test_the_shipped_nicknames_hold_the_names_the_issue_names():
    pairs = set(nickname_pairs())
    for pair in [("William", "Bill"), ("Catherine", "Kate"), ("Mohammed", "Muhammad")]:
        assert pair in pairs


def test_a_nickname_file_of_ones_own_is_checked(tmp_path):
    good = tmp_path / "names.csv"
    good.write_text("name,also\nGwilym,Gwil\n\n", "utf-8")
    assert nickname_pairs(good) == [("Gwilym", "Gwil")]
    bad = tmp_path / "bad.csv"
    bad.write_text("name,also\nGwilym\n", "utf-8")
    with pytest.raises(BadPolicy, match="line 2: give a name and another it is written as"):
        nickname_pairs(bad)
    with pytest.raises(BadPolicy, match="no such file"):
        nickname_pairs(tmp_path / "missing.csv")
