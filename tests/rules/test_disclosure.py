"""Disclosure control: the shipped rules, worked examples, the statistics, bad rule files, and no
primary-suppressed cell recoverable from what is published (issue 12, "Outcomes")."""

from __future__ import annotations

import hashlib
import itertools
import math

import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from heattool.errors import BadPolicy, ExitCode
from heattool.rules.differencing import Line, _solved
from heattool.rules.disclosure import (
    NOT_FOR_PUBLICATION,
    Rounding,
    apply,
    disclosure_from_text,
    load_disclosure,
    mean_and_se,
    wilson_interval,
)
from tests.helpers import ROOT

HESA, OFS, NONE = load_disclosure("hesa"), load_disclosure("ofs"), load_disclosure("none")
RULES = ROOT / "src" / "heattool" / "rules" / "disclosure"
Z = 1.96
approx = pytest.approx


def wilson(n: int, d: int, z: float = Z) -> tuple[float, float]:
    """The Wilson score interval, written out from its formula (independent of the module)."""
    p = n / d
    centre = (p + z * z / (2 * d)) / (1 + z * z / d)
    half = (z / (1 + z * z / d)) * math.sqrt(p * (1 - p) / d + z * z / (4 * d * d))
    return max(0.0, centre - half), min(1.0, centre + half)


def one_way(first: tuple[int, int], *others: tuple[int, int]) -> pl.DataFrame:
    """Contact-hour bands, the first given, then its total: (numerator, denominator) each."""
    bands = ["under 3", "3 to 8", "8 and over"]
    cells = [first, *(others or [(30, 60), (45, 90)])]
    rows = [(band, n, d) for band, (n, d) in zip(bands, cells, strict=False)]
    rows.append((None, sum(n for n, _ in cells), sum(d for _, d in cells)))
    return pl.DataFrame(rows, schema=["hours", "numerator", "denominator"], orient="row")


def shown(frame: pl.DataFrame) -> list[tuple]:
    """Each published cell: its dimensions, numerator, denominator, rate, code, suppression."""
    keep = [c for c in frame.columns if c not in ("rate_low", "rate_high", "hidden")]
    return list(frame.select(keep).iter_rows())


# --- the shipped rules ------------------------------------------------------------------------


def test_shipped_rules_load_with_the_issues_numbers():
    assert load_disclosure() == HESA  # the default
    assert (HESA.rounding, OFS.rounding, NONE.rounding) == (
        Rounding(5, 2.5),
        Rounding(10, 5.0),
        Rounding(1, 0.5),
    )
    tests = [(s.code, s.test, s.value, s.hides) for s in HESA.suppressions]
    assert tests == [
        ("..", "denominator_below", 22.5, ("rate",)),
        ("..", "denominator_at_most", 7, ("mean",)),
    ]
    tests = [(s.code, s.test, s.value, s.hides) for s in OFS.suppressions]
    assert tests == [
        ("[low]", "denominator_below", 23, ("rate", "mean")),
        ("[DPL]", "numerator_at_most", 2, ("numerator",)),
        ("[DPH]", "numerator_within", 2, ("numerator",)),
    ]
    assert (HESA.secondary_code, OFS.secondary_code) == ("..", "[c]")
    assert HESA.publishable and OFS.publishable and HESA.banner is None


def test_a_rule_file_has_the_sha256_of_its_bytes_by_name_or_by_path(tmp_path):
    data = (RULES / "ofs.toml").read_bytes()
    assert OFS.sha256 == hashlib.sha256(data).hexdigest()
    (tmp_path / "mine.toml").write_bytes(data)
    mine = load_disclosure(tmp_path / "mine.toml")
    assert (mine.sha256, mine.source) == (OFS.sha256, str(tmp_path / "mine.toml"))
    assert mine.suppressions == OFS.suppressions


def test_none_is_not_for_publication_and_shows_everything_exactly():
    assert (NONE.publishable, NONE.banner) == (False, NOT_FOR_PUBLICATION)
    assert shown(apply(NONE, one_way((1, 2)), ["hours"])) == [
        ("under 3", 1, 2, 0.5, None, None),
        ("3 to 8", 30, 60, 0.5, None, None),
        ("8 and over", 45, 90, 0.5, None, None),
        (None, 76, 152, 0.5, None, None),
    ]


def test_the_readme_shows_the_shipped_rules_as_they_are():
    readme = (ROOT / "README.md").read_text("utf-8")
    for name in ("hesa", "ofs"):
        text = (RULES / f"{name}.toml").read_text("utf-8")
        assert text[text.index("[disclosure]") :] in readme, name


# --- rounding -----------------------------------------------------------------------------------


def rounded(rounding: Rounding, values: list[float]) -> list[int]:
    frame = pl.DataFrame({"v": pl.Series(values, dtype=pl.Float64, strict=False)})
    return frame.select(rounding.expression(pl.col("v")).cast(pl.Int64).alias("v"))["v"].to_list()


def test_hesa_rounds_to_5_with_0_1_2_to_0_and_halves_up():
    values = [0, 1, 2, 2.4, 2.5, 3, 7, 7.5, 8, 12, 12.5, 13, 102]
    assert rounded(HESA.rounding, values) == [0, 0, 0, 0, 5, 5, 5, 10, 10, 10, 15, 15, 100]


def test_ofs_rounds_headcounts_to_10():
    values = [0, 4, 5, 14, 15, 23, 25, 130]
    assert rounded(OFS.rounding, values) == [0, 0, 10, 10, 20, 20, 30, 130]


def test_none_leaves_counts_alone_and_nulls_stay_null():
    assert rounded(NONE.rounding, [0, 1, 2, 7, 22, None]) == [0, 1, 2, 7, 22, None]


@pytest.mark.parametrize(
    "rounding",
    [Rounding(5, 2.5), Rounding(10, 5), Rounding(1, 0.5), Rounding(5, 1), Rounding(5, 4)],
)
def test_range_of_a_published_count_is_exactly_the_counts_that_round_to_it(rounding):
    counts = list(range(0, 200))
    for count, published in zip(counts, rounded(rounding, counts), strict=True):
        low, high = rounding.range_of(published)
        assert low <= count <= high
        assert rounded(rounding, [low, high]) == [published, published]
        assert low == 0 or rounded(rounding, [low - 1]) != [published]
        assert rounded(rounding, [high + 1]) != [published]


# --- the statistics -------------------------------------------------------------------------------


def test_wilson_interval_known_values():
    frame = pl.DataFrame({"n": [0, 10, 5, 1, 0], "d": [10, 10, 10, 3, 0]})
    low, high = wilson_interval("n", "d")
    got = frame.select(low.alias("low"), high.alias("high")).rows()
    assert got[:4] == [approx(wilson(n, d)) for n, d in [(0, 10), (10, 10), (5, 10), (1, 3)]]
    # Published figures for n = 10: 0/10 is (0, 0.2775), 10/10 (0.7225, 1), 5/10 (0.2366, 0.7634).
    assert got[:3] == [approx(v, abs=5e-5) for v in [(0, 0.2775), (0.7225, 1), (0.2366, 0.7634)]]
    assert got[4] == (None, None)  # no denominator, no interval


@given(st.integers(1, 5000).flatmap(lambda d: st.tuples(st.integers(0, d), st.just(d))))
def test_wilson_interval_holds_the_rate_inside_0_and_1(counts):
    n, d = counts
    low, high = wilson_interval(pl.lit(n), pl.lit(d))
    got_low, got_high = pl.select(low.alias("low"), high.alias("high")).row(0)
    assert 0 <= got_low <= n / d <= got_high <= 1
    assert (got_low, got_high) == approx(wilson(n, d))


def test_mean_and_standard_error():
    frame = pl.DataFrame({"sum": [10.0, 4.0, 0.0], "sum_sq": [30.0, 16.0, 0.0], "n": [4, 1, 0]})
    mean, se = mean_and_se("sum", "sum_sq", "n")
    got = frame.select(mean.alias("m"), se.alias("se")).rows()
    # 1, 2, 3, 4: mean 2.5, sample sd √(5/3), se sd/2; one score: no se; none: no mean.
    assert got == [(2.5, approx(math.sqrt(5 / 3) / 2)), (4.0, None), (None, None)]


# --- worked examples: the first band is the cell in question -----------------------------------


def test_hesa_a_cell_of_2_is_suppressed_and_secondary_suppression_hides_another():
    assert shown(apply(HESA, one_way((1, 2)), ["hours"])) == [
        ("under 3", 0, 0, None, "..", "primary"),
        ("3 to 8", 30, 60, None, "..", "secondary"),  # else 76 - 30 - 45 = 1 of 152 - 60 - 90 = 2
        ("8 and over", 45, 90, 0.5, None, None),
        (None, 75, 150, 0.5, None, None),  # 76/152, from the unrounded counts
    ]


def test_hesa_a_cell_of_22_is_suppressed_and_23_is_not():
    assert shown(apply(HESA, one_way((10, 22)), ["hours"]))[:2] == [
        ("under 3", 10, 20, None, "..", "primary"),
        ("3 to 8", 30, 60, None, "..", "secondary"),
    ]
    assert shown(apply(HESA, one_way((10, 23)), ["hours"])) == [
        ("under 3", 10, 25, approx(10 / 23), None, None),
        ("3 to 8", 30, 60, 0.5, None, None),
        ("8 and over", 45, 90, 0.5, None, None),
        (None, 85, 175, approx(85 / 173), None, None),
    ]


def test_hesa_does_not_test_the_numerator():
    assert shown(apply(HESA, one_way((29, 30)), ["hours"]))[0] == (
        "under 3",
        30,
        30,
        approx(29 / 30),
        None,
        None,
    )
    assert shown(apply(HESA, one_way((2, 30)), ["hours"]))[0] == (
        "under 3",
        0,
        30,
        approx(2 / 30),
        None,
        None,
    )


def test_ofs_a_cell_of_2_and_of_22_is_low_and_23_is_not():
    for first, published, total in [
        ((1, 2), (0, 0), (80, 150, 76 / 152)),
        ((10, 22), (10, 20), (90, 170, 85 / 172)),  # 85 rounds up, halves up
    ]:
        assert shown(apply(OFS, one_way(first), ["hours"])) == [
            ("under 3", *published, None, "[low]", "primary"),
            ("3 to 8", 30, 60, None, "[c]", "secondary"),
            ("8 and over", 50, 90, 0.5, None, None),  # 45 to the nearest 10, halves up
            (None, total[0], total[1], approx(total[2]), None, None),
        ]
    assert shown(apply(OFS, one_way((10, 23)), ["hours"]))[0] == (
        "under 3",
        10,
        20,
        approx(10 / 23),
        None,
        None,
    )


def test_ofs_a_numerator_within_2_of_the_denominator_is_dph_and_of_2_or_fewer_dpl():
    assert shown(apply(OFS, one_way((29, 30)), ["hours"])) == [
        ("under 3", None, 30, None, "[DPH]", "primary"),  # the numerator hidden too
        ("3 to 8", 30, 60, None, "[c]", "secondary"),
        ("8 and over", 50, 90, 0.5, None, None),
        (None, 100, 180, approx(104 / 180), None, None),
    ]
    assert shown(apply(OFS, one_way((2, 30)), ["hours"]))[:2] == [
        ("under 3", None, 30, None, "[DPL]", "primary"),
        ("3 to 8", 30, 60, None, "[c]", "secondary"),
    ]
    # In that order: a denominator under 23 is [low] whatever its numerator.
    assert shown(apply(OFS, one_way((1, 20)), ["hours"]))[0][4] == "[low]"


def test_published_intervals_are_wilson_from_the_unrounded_counts():
    frame = apply(HESA, one_way((10, 23)), ["hours"])
    counts = [(10, 23), (30, 60), (45, 90), (85, 173)]
    for row, (n, d) in zip(frame.iter_rows(named=True), counts, strict=True):
        assert (row["rate_low"], row["rate_high"]) == approx(wilson(n, d))
    hidden = apply(HESA, one_way((1, 2)), ["hours"]).row(0, named=True)
    assert (hidden["rate"], hidden["rate_low"], hidden["rate_high"]) == (None, None, None)
    assert hidden["hidden"] == ["rate"]


def test_a_two_way_table_with_one_small_cell_hides_a_rectangle():
    frame = two_way(
        {("yes", "under 3"): (1, 2), ("yes", "8+"): (20, 40)},
        {
            ("no", "under 3"): (30, 60),
            ("no", "8+"): (45, 90),
        },
    )
    marks = {
        key: row[-1]
        for key, row in zip(
            frame.select("fsm", "hours").rows(),
            shown(apply(HESA, frame, ["fsm", "hours"])),
            strict=True,
        )
    }
    assert marks == {
        ("yes", "under 3"): "primary",
        ("yes", "8+"): "secondary",  # the row
        ("no", "under 3"): "secondary",  # the column
        ("no", "8+"): "secondary",  # and the other row and column of those
        ("yes", None): None,
        ("no", None): None,
        (None, "under 3"): None,
        (None, "8+"): None,
        (None, None): None,
    }


def two_way(*parts: dict[tuple[str, str], tuple[int, int]]) -> pl.DataFrame:
    grid = {key: value for part in parts for key, value in part.items()}
    return with_margins(grid, ["fsm", "hours"])


# --- what a reader works out beyond plain subtraction ---------------------------------------------


def test_hesa_rounded_counts_at_the_top_of_their_ranges_are_protected_too():
    # 2 of 2 beside 22 of 42: shown 0 of 0 (0 to 2) and 20 of 40 (18 to 22 of 38 to 42). The
    # others' exact counts leave 24 of 44 for the two: only 2 of 2 and 22 of 42 fit.
    assert shown(apply(HESA, one_way((2, 2), (22, 42), (30, 60)), ["hours"]))[:3] == [
        ("under 3", 0, 0, None, "..", "primary"),
        ("3 to 8", 20, 40, None, "..", "secondary"),
        ("8 and over", 30, 60, None, "..", "secondary"),
    ]


def test_ofs_codes_are_read_too():
    # [DPL] says 0 to 2, and [c] beside it says 3 or more (it failed every test): with the
    # others exact, 3 left for the two gives 0 and 3 away. So a third cell is hidden.
    assert [
        row[3:] for row in shown(apply(OFS, one_way((0, 30), (3, 30), (50, 100)), ["hours"]))
    ] == [
        (None, "[DPL]", "primary"),
        (None, "[c]", "secondary"),
        (None, "[c]", "secondary"),
        (approx(53 / 160), None, None),
    ]


def test_lines_solved_together_fix_a_cell_joining_two_hidden_blocks():
    # Hidden: a 2x2 block (rows 0-1 x columns 0-1), another (rows 2-3 x columns 2-3) and the
    # cell (0, 2). Each row and column has 0 or 2+ hidden cells, yet (0, 2) is the sum of rows 0
    # and 1 less columns 0 and 1.
    size = 4
    index = {key: i for i, key in enumerate(itertools.product([*range(size), None], repeat=2))}
    lines = [
        Line(tuple(index[r, c] for c in range(size)), index[r, None]) for r in [*range(size), None]
    ]
    lines += [
        Line(tuple(index[r, c] for r in range(size)), index[None, c]) for c in [*range(size), None]
    ]
    blocks = {(r, c) for r in (0, 1) for c in (0, 1)} | {(r, c) for r in (2, 3) for c in (2, 3)}
    assert _solved(frozenset(index[k] for k in blocks | {(0, 2)}), lines) == {index[0, 2]}
    assert _solved(frozenset(index[k] for k in blocks), lines) == set()


# --- means --------------------------------------------------------------------------------------


def means(ns: list[int]) -> pl.DataFrame:
    rows = [(f"g{i}", float(5 * n), float(30 * n), n) for i, n in enumerate(ns)]
    rows.append((None, sum(r[1] for r in rows), sum(r[2] for r in rows), sum(ns)))
    return pl.DataFrame(rows, schema=["group", "sum", "sum_sq", "n"], orient="row")


def test_hesa_means_on_7_or_fewer_are_suppressed_rate_tests_do_not_apply():
    frame = apply(HESA, means([7, 8, 10, 40]), ["group"])
    assert frame.columns == ["group", "n", "mean", "mean_se", "suppressed", "suppression", "hidden"]
    got = frame.select("n", "mean", "suppressed", "suppression").rows()
    assert got == [
        (5, None, "..", "primary"),
        (10, None, "..", "secondary"),
        (10, 5.0, None, None),  # a base under 22.5 hides rates, not means
        (40, 5.0, None, None),
        (65, 5.0, None, None),
    ]


def test_ofs_low_hides_a_mean_on_under_23():
    got = apply(OFS, means([22, 23, 40]), ["group"]).select("mean", "suppressed").rows()
    assert got == [(None, "[low]"), (None, "[c]"), (5.0, None), (5.0, None)]


# --- tables apply refuses ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (one_way((1, 2)).filter(pl.col("hours").is_not_null()), "missing"),
        (pl.concat([one_way((1, 2)), one_way((1, 2)).head(1)]), "more than once"),
        (one_way((1, 2)).with_columns(numerator=pl.col("numerator") + 1), "adds to"),
        (one_way((3, 2)), "numerator <= denominator"),
        (one_way((1, 2)).with_columns(pl.col("numerator").cast(pl.Float64)), "whole numbers"),
        (one_way((1, 2)).drop("denominator"), "numerator and denominator"),
    ],
)
def test_apply_refuses_a_table_that_is_not_one(frame, message):
    with pytest.raises(ValueError, match=message):
        apply(HESA, frame, ["hours"])


# --- bad rule files -------------------------------------------------------------------------------

GOOD = """
[disclosure]
name = "mine"
publishable = true

[rounding]
base = 5

[[suppress]]
code = ".."
denominator_below = 10
hides = ["rate"]

[secondary]
code = ".."
"""


def rule(text: str) -> None:
    disclosure_from_text(text, "mine.toml")


def test_a_member_can_write_their_own_rule():
    mine = disclosure_from_text(GOOD, "mine.toml")
    assert (mine.name, mine.rounding, mine.secondary_code) == ("mine", Rounding(5, 2.5), "..")
    assert shown(apply(mine, one_way((5, 9), (6, 10)), ["hours"]))[0][3:] == (None, "..", "primary")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (("[secondary]", "[extra]\nx = 1\n[secondary]"), "mine.toml: unknown key 'extra'"),
        (('name = "mine"', 'name = "mine"\nowner = "me"'), r"\[disclosure\]: unknown key 'owner'"),
        (("publishable = true", 'publishable = "yes"'), "publishable: must be true or false"),
        (("publishable = true", ""), r"\[disclosure\]: missing 'publishable'"),
        (("publishable = true", 'publishable = true\nbanner = "x"'), "banner: only a rule with"),
        (("base = 5", "base = 0"), r"\[rounding\] base: must be a whole number 1 or more"),
        (("base = 5", 'base = "5"'), r"\[rounding\] base: must be a whole number"),
        (("base = 5", "base = true"), r"\[rounding\] base"),
        (("base = 5", "base = 5\nzero_below = 6"), r"zero_below: must be a number above 0"),
        (("base = 5", "base = 5\nhalves = 'up'"), r"\[rounding\]: unknown key 'halves'"),
        (("denominator_below = 10", "denominator_under = 10"), r"suppress 1 \('..'\): unknown key"),
        (
            ("denominator_below = 10", "denominator_below = 10\nnumerator_at_most = 2"),
            "give exactly one test",
        ),
        (("denominator_below = 10", ""), "give exactly one test"),
        (("denominator_below = 10", "denominator_below = -1"), "must be a number 0 or more"),
        (("denominator_below = 10", "denominator_below = '10'"), "must be a number 0 or more"),
        (("denominator_below = 10", "numerator_at_most = 0"), "the code itself say"),
        (('hides = ["rate"]', 'hides = ["rates"]'), "hides: must list some of rate, mean"),
        (('hides = ["rate"]', 'hides = "rate"'), "hides: must list some of"),
        (('hides = ["rate"]', "hides = []"), "hides: must list some of"),
        (('code = ".."\ndenominator', 'code = "5"\ndenominator'), "reads as a number"),
        (('code = ".."\ndenominator', 'code = " .."\ndenominator'), "without spaces"),
        (('[secondary]\ncode = ".."', ""), "missing \\[secondary\\] code"),
        (('[secondary]\ncode = ".."', '[secondary]\ncode = ".."\nshow = 1'), "unknown key 'show'"),
        (("[[suppress]]", "[suppress]"), "suppress: must be \\[\\[suppress\\]\\] tables"),
        (("[disclosure]", "[disclosure"), "not valid TOML"),
    ],
)
def test_a_bad_rule_names_the_file_and_the_key(change, message):
    old, new = change
    assert old in GOOD
    with pytest.raises(BadPolicy, match=message) as caught:
        rule(GOOD.replace(old, new, 1))
    assert str(caught.value).startswith("mine.toml")
    assert caught.value.exit_code == ExitCode.BAD_POLICY


def test_a_publishable_rule_must_do_something_and_an_unpublishable_one_says_so():
    with pytest.raises(BadPolicy, match="must round counts or suppress cells"):
        rule('[disclosure]\nname = "x"\npublishable = true\n')
    with pytest.raises(BadPolicy, match="banner: must be text containing 'NOT FOR PUBLICATION'"):
        rule('[disclosure]\nname = "x"\npublishable = false\nbanner = "draft"\n')
    mine = disclosure_from_text(
        '[disclosure]\nname = "x"\npublishable = false\nbanner = "NOT FOR PUBLICATION: Kent"\n'
    )
    assert mine.banner == "NOT FOR PUBLICATION: Kent"
    assert disclosure_from_text('[disclosure]\nname = "x"\npublishable = false\n').banner == (
        NOT_FOR_PUBLICATION
    )


def test_a_rule_whose_codes_give_a_cell_away_is_refused_when_applied():
    # [b] says "not under 10 but under 11": exactly 10. Nothing else hidden can cover that.
    pinned = GOOD.replace(
        '[[suppress]]\ncode = ".."\ndenominator_below = 10\nhides = ["rate"]',
        '[[suppress]]\ncode = "[a]"\ndenominator_below = 10\nhides = ["counts"]\n\n'
        '[[suppress]]\ncode = "[b]"\ndenominator_below = 11\nhides = ["counts"]',
    )
    mine = disclosure_from_text(pinned, "mine.toml")
    assert [s.code for s in mine.suppressions] == ["[a]", "[b]"]
    assert apply(mine, one_way((5, 9), (6, 12)), ["hours"])["suppressed"].to_list()[0] == "[a]"
    with pytest.raises(
        BadPolicy, match=r"mine.toml: the codes of this rule give .* \('under 3',\)"
    ):
        apply(mine, one_way((5, 10), (6, 12)), ["hours"])


def test_a_missing_or_unreadable_rule_file(tmp_path):
    with pytest.raises(BadPolicy, match=r"no such file .*hesa, ofs, none"):
        load_disclosure(tmp_path / "nope.toml")
    (tmp_path / "latin.toml").write_bytes(b'[disclosure]\nname = "caf\xe9"\n')
    with pytest.raises(BadPolicy, match="not UTF-8"):
        load_disclosure(tmp_path / "latin.toml")
    with pytest.raises(BadPolicy, match="no such file"):
        load_disclosure("hesa.toml")  # a name is one of the shipped three; anything else a path


# --- no primary-suppressed cell can be worked out from what is published ----------------------


def with_margins(
    grid: dict[tuple, tuple],
    dims: list[str],
    values: tuple[str, ...] = ("numerator", "denominator"),
) -> pl.DataFrame:
    """The cells and every margin: each key with any of its values replaced by None (all)."""
    totals: dict[tuple, list] = {}
    for key, cell in grid.items():
        for margin in itertools.product(*[(value, None) for value in key]):
            total = totals.setdefault(margin, [0] * len(cell))
            total[:] = [t + c for t, c in zip(total, cell, strict=True)]
    rows = [(*key, *cell) for key, cell in totals.items()]
    return pl.DataFrame(rows, schema=[*dims, *values], orient="row")


def lines_of(keys: list[tuple]) -> list[tuple[list[int], int]]:
    """Each total with the cells it adds up: the keys equal to it but at one of its Nones."""
    found = []
    for t, total in enumerate(keys):
        for place in (p for p, value in enumerate(total) if value is None):
            members = [
                i
                for i, key in enumerate(keys)
                if key[place] is not None
                and all(key[q] == total[q] for q in range(len(key)) if q != place)
            ]
            found.append((members, t))
    return found


def rounds_to(published: int, rounding: Rounding) -> tuple[int, int]:
    """The counts that round to `published`, found by trying them."""

    def nearest(v: int) -> int:
        return (
            0
            if v < rounding.zero_below
            else max(rounding.base, int(v / rounding.base + 0.5) * rounding.base)
        )

    fits = [v for v in range(published + rounding.base + 1) if nearest(v) == published]
    return min(fits), max(fits)


def counts_from_rate(row: dict, rounding: Rounding) -> tuple[int, int]:
    """The one (numerator, denominator) a published rate, interval and rounded count allow."""
    low, high = rounds_to(row["denominator"], rounding)
    fits = [
        (n, d)
        for d in range(max(low, 1), high + 1)
        for n in [round(row["rate"] * d)]
        if n <= d
        and math.isclose(n / d, row["rate"], abs_tol=1e-12)
        and (row["rate_low"], row["rate_high"]) == approx(wilson(n, d), abs=1e-9)
    ]
    assert len(fits) == 1, (row, fits)
    return fits[0]


def narrow(know: list[dict[str, list[float]]], lines: list[tuple[list[int], int]]) -> None:
    """Narrow each cell of each line to what its total less the line's other cells allows,
    again and again until nothing changes."""
    changed = True
    while changed:
        changed = False
        for members, total in lines:
            for count in know[total]:
                for target in [*members, total]:
                    others = [know[m][count] for m in members if m != target]
                    if target == total:
                        low, high = sum(o[0] for o in others), sum(o[1] for o in others)
                    else:
                        low = know[total][count][0] - sum(o[1] for o in others)
                        high = know[total][count][1] - sum(o[0] for o in others)
                    mine = know[target][count]
                    if low > mine[0] or high < mine[1]:
                        mine[:] = [max(low, mine[0]), min(high, mine[1])]
                        changed = True


def attack(published: pl.DataFrame, dims: list[str], rule) -> dict[int, list[str]]:
    """What a reader recovers of the primary-suppressed cells, by subtraction in rows and columns.

    Each count is exact where the rate is published (the rate and interval give the counts
    back), a range where only its rounded value is, else 0 or more.
    """
    rows = list(published.iter_rows(named=True))
    know: list[dict[str, list[float]]] = []
    for row in rows:
        if row["rate"] is not None:
            n, d = counts_from_rate(row, rule.rounding)
            know.append({"numerator": [n, n], "denominator": [d, d]})
            continue
        cell = {}
        for count in ("numerator", "denominator"):
            value = row[count]
            cell[count] = (
                list(rounds_to(value, rule.rounding)) if value is not None else [0, math.inf]
            )
        know.append(cell)
    narrow(know, lines_of(published.select(dims).rows()))
    recovered = {}
    for i, row in enumerate(rows):
        if row["suppression"] != "primary":
            continue
        n, d = know[i]["numerator"], know[i]["denominator"]
        got = []
        if row["suppressed"] in ("[DPL]", "[DPH]") and n[0] == n[1]:
            got.append("numerator")
        if (n[0] == n[1] and d[0] == d[1]) or n == [0, 0]:
            got.append("rate")
        if got:
            recovered[i] = got
    return recovered


def attack_means(published: pl.DataFrame, true: pl.DataFrame, dims: list[str], rule) -> list[int]:
    """The primary-suppressed means a reader recovers: n and the sum of scores both exact.

    A published mean and its standard error are taken to give n and the sum back (the
    module's assumption; the true values stand in); a rounded n gives a range; a sum not
    published is anything (scores could be negative).
    """
    know: list[dict[str, list[float]]] = []
    for row, cell in zip(published.iter_rows(named=True), true.iter_rows(named=True), strict=True):
        if row["mean"] is not None:
            know.append({"n": [cell["n"], cell["n"]], "sum": [cell["sum"], cell["sum"]]})
        else:
            n = list(rounds_to(row["n"], rule.rounding)) if row["n"] is not None else [0, math.inf]
            know.append({"n": n, "sum": [-math.inf, math.inf]})
    narrow(know, lines_of(published.select(dims).rows()))
    return [
        i
        for i, row in enumerate(published.iter_rows(named=True))
        if row["suppression"] == "primary" and all(low == high for low, high in know[i].values())
    ]


size = st.one_of(st.integers(0, 12), st.integers(0, 80))
counts = size.flatmap(lambda d: st.tuples(st.integers(0, d), st.just(d)))
# n, and a sum of scores of 0 to 9 each; Σx² = 9 Σx is possible with those scores.
scores = size.flatmap(lambda n: st.integers(0, 9 * n).map(lambda t: (float(t), 9.0 * t, n)))


@st.composite
def tables(draw, cell=counts, values=("numerator", "denominator")):
    if draw(st.booleans()):
        cells = draw(st.lists(cell, min_size=1, max_size=5))
        return with_margins({(f"g{i}",): v for i, v in enumerate(cells)}, ["a"], values), ["a"]
    rows, columns = draw(st.integers(1, 4)), draw(st.integers(1, 4))
    grid = {(f"r{i}", f"c{j}"): draw(cell) for i in range(rows) for j in range(columns)}
    return with_margins(grid, ["a", "b"], values), ["a", "b"]


@given(tables(), st.sampled_from(["hesa", "ofs"]))
def test_no_primary_suppressed_cell_is_recoverable_by_subtraction(table, name):
    frame, dims = table
    rule = load_disclosure(name)
    published = apply(rule, frame, dims)
    assert attack(published, dims, rule) == {}
    # Every suppressed cell shows a code, and hides at least what its test hides.
    for row in published.iter_rows(named=True):
        assert (row["suppressed"] is None) == (row["suppression"] is None) == (not row["hidden"])


@given(tables(scores, ("sum", "sum_sq", "n")), st.sampled_from(["hesa", "ofs"]))
def test_no_primary_suppressed_mean_is_recoverable_by_subtraction(table, name):
    frame, dims = table
    rule = load_disclosure(name)
    assert attack_means(apply(rule, frame, dims), frame, dims, rule) == []


def test_the_attacker_does_recover_a_lone_suppressed_cell():
    # Without secondary suppression the lone small cell's rate would be given away.
    published = apply(HESA, one_way((1, 2)), ["hours"]).with_columns(
        rate=pl.when(pl.col("suppression") == "secondary").then(pl.lit(0.5)).otherwise("rate"),
        rate_low=pl.when(pl.col("suppression") == "secondary")
        .then(pl.lit(wilson(30, 60)[0]))
        .otherwise("rate_low"),
        rate_high=pl.when(pl.col("suppression") == "secondary")
        .then(pl.lit(wilson(30, 60)[1]))
        .otherwise("rate_high"),
        suppression=pl.when(pl.col("suppression") == "secondary")
        .then(None)
        .otherwise("suppression"),
    )
    assert attack(published, ["hours"], HESA) == {0: ["rate"]}
