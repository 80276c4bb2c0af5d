"""The matching engine: what it must get right, pair by pair; the shipped model's shape; the
blocking and training rules, vetted by the pairs they make."""

from __future__ import annotations

import datetime as dt
import json
import random

import polars as pl
import pytest

from heattool.rules.matching import nickname_pairs
from heattool.store import matching

D = dt.date
TYPES = {"uid": pl.Int64, "date_of_birth": pl.Date, "postcode": pl.String, "school": pl.String}
BASE = ("Amelia", "Hughes", D(2009, 3, 14), "CT1 2EH", "Canterbury Academy")


def frame(records) -> pl.DataFrame:
    return pl.DataFrame(
        [(n, *r) for n, r in enumerate(records)],
        schema=list(matching.INPUT_COLUMNS),
        schema_overrides=TYPES,
        orient="row",
    )


def background(n: int = 300, seed: int = 7) -> list[tuple]:
    """Other people, so that a pair is judged among a store's worth of records."""
    rng = random.Random(seed)
    fore = ["Oliver", "Isla", "George", "Ava", "Noah", "Mia", "Leo", "Freya", "Harry", "Ella"]
    sur = ["Smith", "Jones", "Brown", "Patel", "Khan", "Wilson", "Evans", "Walker", "Wright"]
    return [
        (
            rng.choice(fore),
            rng.choice(sur),
            D(2008, 9, 1) + dt.timedelta(days=rng.randrange(1000)),
            f"ME{rng.randint(1, 20)} {rng.randint(0, 9)}{rng.choice('ABDEF')}{rng.choice('GHJLN')}",
            f"School {rng.randrange(30)}",
        )
        for _ in range(n)
    ]


def score(first: tuple, second: tuple) -> dict:
    people = frame([first, second, *background()])
    pairs = matching.score_within(None, people, nickname_pairs(), 0.0)
    found = pairs.filter((pl.col("uid_l") == 0) & (pl.col("uid_r") == 1))
    assert found.height == 1, "the pair was not blocked"
    return found.row(0, named=True)


@pytest.mark.parametrize(
    "other",
    [
        ("amelia", "HUGHES", *BASE[2:]),  # case
        ("Amelia", "Hughes", D(2009, 3, 14), None, "Canterbury Academy"),  # no postcode
        ("Amelai", "Hughes", D(2009, 3, 14), "CT1 2EH", None),  # a typo, no school
        ("Amelia", "Hughes-Smith", D(2009, 3, 14), "CT1 2EH", "Canterbury Academy"),
        ("Hughes", "Amelia", D(2009, 3, 14), "CT1 2EH", "Canterbury Academy"),  # swapped
        ("Amelia", "Hughes", D(2009, 14 % 12 or 12, 3), "CT1 2EH", "Canterbury Academy"),
        ("Amelia", "Hughes", D(2009, 3, 24), "CT1 2EH", "Canterbury Academy"),  # one digit
        ("Amelia", "Hughes", D(2009, 3, 14), "CT1 2EZ", "Canterbury Academy"),  # moved in sector
    ],
    ids=[
        "case",
        "no-postcode",
        "typo",
        "double-barrelled",
        "swapped",
        "dob-month",
        "dob-digit",
        "moved",
    ],
)
def test_variations_of_one_person_are_likely_the_same(other):
    pair = score(BASE, other)
    assert pair["match_probability"] >= 0.5, pair


def test_day_and_month_swapped_and_accents_and_nicknames_match():
    zoe = score(("Zoë", "O’Reilly", D(2009, 4, 11), "CT1 2EH", None),
                ("Zoe", "OReilly", D(2009, 11, 4), "CT1 2EH", None))  # fmt: skip
    bill = score(("William", "Jones", D(2009, 4, 11), "TN1 1AA", None),
                 ("Bill", "Jones", D(2009, 4, 11), "TN1 1AA", None))  # fmt: skip
    assert zoe["match_probability"] > 0.9 and bill["match_probability"] > 0.9


def test_twins_are_guarded_and_strangers_are_not_linked():
    twins = score(("Jack", "Evans", D(2008, 9, 30), "CT2 7NZ", "Simon Langton"),
                  ("Jacob", "Evans", D(2008, 9, 30), "CT2 7NZ", "Simon Langton"))  # fmt: skip
    assert twins["guarded"]
    typo = score(("Jack", "Evans", D(2008, 9, 30), "CT2 7NZ", None),
                 ("Jakc", "Evans", D(2008, 9, 30), None, None))  # fmt: skip
    assert typo["guarded"]  # only a person can tell a typo from a twin
    nickname = score(("William", "Evans", D(2008, 9, 30), "CT2 7NZ", None),
                     ("Bill", "Evans", D(2008, 9, 30), "CT2 7NZ", None))  # fmt: skip
    assert not nickname["guarded"]


def test_a_common_name_alone_does_not_link():
    people = frame([("Muhammad", "Khan", D(2006 + n % 8, 1 + n % 12, 1 + 3 * (n % 9)),
                     f"B{n % 20 + 1} {n % 9}AA", None) for n in range(60)])  # fmt: skip
    pairs = matching.score_within(None, people, nickname_pairs(), 0.5)
    assert pairs.is_empty()


def test_the_shipped_model_is_the_codes_shape():
    shipped = json.loads(matching._shipped_model())
    rules = [r["blocking_rule"] for r in shipped["blocking_rules_to_generate_predictions"]]
    assert rules == [matching._rule(r)["blocking_rule"] for r in matching.BLOCKING_RULES]
    for code, model in zip(matching.COMPARISONS, shipped["comparisons"], strict=True):
        assert [lv["sql_condition"] for lv in code["comparison_levels"]] == [
            lv["sql_condition"] for lv in model["comparison_levels"]
        ]
        for level in model["comparison_levels"]:
            if not level.get("is_null_level"):
                assert 0 < level["m_probability"] <= 1 and 0 < level["u_probability"] <= 1


def synthetic(n: int, seed: int = 3) -> pl.DataFrame:
    """People, a tenth of them twice (one field changed), for vetting the rules."""
    rng = random.Random(seed)
    people = background(n, seed)
    copies = []
    for person in rng.sample(people, n // 10):
        changed = list(person)
        at = rng.randrange(5)
        changed[at] = None if at in (3, 4) else changed[at]
        copies.append(tuple(changed))
    return frame(people + copies)


def test_the_blocking_rules_stay_tight():
    """A few pairs per record (ten forenames and nine surnames here: crowded). At a million
    synthetic records they make 3.3 million pairs; `dob` alone would make 171 million."""
    people = synthetic(3000)
    counts = matching.count_blocked_pairs(people, nickname_pairs(), matching.BLOCKING_RULES)
    assert sum(counts) < people.height * 4
    training = matching.count_blocked_pairs(people, nickname_pairs(), matching.TRAINING_RULES)
    assert sum(training) < people.height


def test_training_with_the_shipped_rules_estimates_every_comparison():
    trained = matching.train(synthetic(2000), nickname_pairs(), max_pairs=2e5, seed=1)
    for comparison in trained["comparisons"]:
        exact = comparison["comparison_levels"][1]
        assert exact["label_for_charts"] == "exact"
        assert exact["m_probability"] > exact["u_probability"]
