"""Expected HE Entry Year: DOMAIN.md's table, nation from column or postcode, overrides."""

from __future__ import annotations

import dataclasses
import datetime as dt

import polars as pl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from heattool.errors import BadPolicy
from heattool.rules.entry_year import (
    default_entry_year_rules,
    expected_entry_year,
    load_entry_year_rules,
)
from heattool.schemas.postcode import POSTCODE_PATTERN, normalise_postcodes
from tests.helpers import DATA

D = dt.date
CUTOFFS = {  # nation -> (month, day of the cut-off, entry year offset on/after it)
    "England": (9, 1, 19),
    "Wales": (9, 1, 19),
    "Northern Ireland": (7, 2, 19),
    "Scotland": (3, 1, 18),
}


def years(**columns) -> list:
    frame = expected_entry_year(pl.DataFrame(columns), with_nation=True)
    return frame.get_column("expected_he_entry_year").to_list()


def one(dob: dt.date | None, **columns):
    frame = pl.DataFrame(
        {"date_of_birth": [dob], **{k: [v] for k, v in columns.items()}},
        schema_overrides={"date_of_birth": pl.Date},
    )
    return expected_entry_year(frame, with_nation=True).row(0, named=True)


@pytest.mark.parametrize(
    ("dob", "year"),
    [(D(2007, 9, 1), 2026), (D(2008, 8, 31), 2026), (D(2008, 9, 1), 2027)],
)
def test_domain_examples_for_england(dob, year):
    row = one(dob, postcode="CT2 7NZ")
    assert (row["expected_he_entry_year"], row["entry_year_label"]) == (
        year,
        f"{year}/{year - 2000 + 1}",
    )
    assert row["entry_year_source"] == "dob"


@pytest.mark.parametrize(
    ("nation", "dob", "year"),
    [
        ("England", D(2008, 8, 31), 2026),
        ("England", D(2008, 9, 1), 2027),
        ("England", D(2008, 2, 29), 2026),
        ("Wales", D(2008, 8, 31), 2026),
        ("Wales", D(2008, 9, 1), 2027),
        ("Wales", D(2008, 2, 29), 2026),
        ("Northern Ireland", D(2008, 7, 1), 2026),
        ("Northern Ireland", D(2008, 7, 2), 2027),
        ("Northern Ireland", D(2008, 2, 29), 2026),
        ("Scotland", D(2008, 2, 29), 2025),
        ("Scotland", D(2008, 3, 1), 2026),
        ("Scotland", D(2007, 2, 28), 2024),
        ("Scotland", D(2007, 3, 1), 2025),
    ],
)
def test_day_before_and_day_of_each_cutoff(nation, dob, year):
    row = one(dob, nation=nation)
    assert row["expected_he_entry_year"] == year
    assert row["entry_year_nation"] == nation


@pytest.mark.parametrize(
    ("postcode", "nation"),
    [
        ("G1 1AA", "Scotland"),
        ("g11aa", "Scotland"),
        ("GL1 1AA", "England"),
        ("GU1 1AA", "England"),
        ("EH1 1YZ", "Scotland"),
        ("ZE1 0AA", "Scotland"),
        ("TD1 1AB", "Scotland"),
        ("TD13 5XX", "Scotland"),
        ("TD12 4AB", "England"),
        ("TD15 1AB", "England"),
        ("BT7 1NN", "Northern Ireland"),
        ("CF10 3AT", "Wales"),
        ("LD1 5LG", "Wales"),
        ("LL57 2DG", "Wales"),
        ("NP20 2BP", "Wales"),
        ("SA2 8PP", "Wales"),
        ("CH1 4BJ", "England"),  # Chester
        ("CH4 8AA", "England"),
        ("CH5 1AB", "Wales"),  # Deeside: a Welsh district of the Chester area
        ("ch51ab", "Wales"),
        ("CH8 7AA", "Wales"),
        ("CH9 1AA", "England"),
        ("SY14 1AA", "England"),
        ("SY15 6AA", "Wales"),
        ("SY23 3FL", "Wales"),  # Aberystwyth
        ("SY25 6AA", "Wales"),
        ("SY1 1AA", "England"),  # Shrewsbury: SY1 is not SY15
        ("C1 1AA", "England"),  # no such area, and not CF or CH
        ("BF1 3AA", "England"),
        ("not a postcode", "England"),
        (None, "England"),
    ],
)
def test_nation_from_postcode_area(postcode, nation):
    assert one(D(2008, 6, 1), postcode=postcode)["entry_year_nation"] == nation


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        ('also_districts = ["ch5"]', "also_districts must be outward codes such as 'CH5'"),
        ('also_districts = "CH5"', "also_districts must be outward codes such as 'CH5'"),
        ('also_districts = ["CF10"]', "also_districts 'CF10' is in an area the entry already has"),
    ],
)
def test_bad_also_districts_are_a_bad_policy(tmp_path, entry, reason):
    path = tmp_path / "rules_entry.toml"
    path.write_text(
        'default_nation = "England"\n'
        "[nation.England]\ncutoff = { month = 9, day = 1 }\non_or_after = 19\n"
        "[nation.Wales]\ncutoff = { month = 9, day = 1 }\non_or_after = 19\n"
        f'[[postcode]]\nnation = "Wales"\nareas = ["CF"]\n{entry}\n'
    )
    with pytest.raises(BadPolicy, match=rf"rules_entry.toml: postcode entry 1: {reason}"):
        load_entry_year_rules(path)


def test_a_scottish_postcode_moves_a_spring_birthday_a_year_earlier():
    assert one(D(2008, 6, 1), postcode="GL1 1AA")["expected_he_entry_year"] == 2026
    assert one(D(2008, 6, 1), postcode="G1 1AA")["expected_he_entry_year"] == 2026
    assert one(D(2008, 2, 1), postcode="GL1 1AA")["expected_he_entry_year"] == 2026
    assert one(D(2008, 2, 1), postcode="G1 1AA")["expected_he_entry_year"] == 2025


@pytest.mark.parametrize(
    ("nation", "postcode", "used"),
    [
        ("England", "G1 1AA", "England"),
        ("scotland", "CT2 7NZ", "Scotland"),
        ("NI", None, "Northern Ireland"),
        ("Cymru", None, "Wales"),
        ("Atlantis", "G1 1AA", "Scotland"),  # unreadable nation: the postcode decides
        (None, "BT1 1AA", "Northern Ireland"),
    ],
)
def test_nation_column_wins_over_postcode(nation, postcode, used):
    assert one(D(2008, 6, 1), nation=nation, postcode=postcode)["entry_year_nation"] == used


def test_override_wins_and_is_marked():
    frame = pl.DataFrame(
        {
            "date_of_birth": [D(1990, 1, 1), D(2008, 9, 1), None, None],
            "expected_he_entry_year": [2024, None, 2099, None],
        }
    )
    result = expected_entry_year(frame)
    assert result.get_column("expected_he_entry_year").to_list() == [2024, 2027, 2099, None]
    assert result.get_column("entry_year_label").to_list() == [
        "2024/25",
        "2027/28",
        "2099/00",
        None,
    ]
    assert result.get_column("entry_year_source").to_list() == ["override", "dob", "override", None]


def test_text_columns_and_lazy_frames_are_accepted():
    lazy = pl.LazyFrame(
        {"date_of_birth": ["2008-09-01", ""], "expected_he_entry_year": [None, "2030/31"]}
    )
    result = expected_entry_year(lazy).collect()
    assert result.get_column("expected_he_entry_year").to_list() == [2027, 2030]
    assert result.get_column("entry_year_source").to_list() == ["dob", "override"]


def test_a_bad_rules_file_is_a_bad_policy(tmp_path):
    path = tmp_path / "rules_entry.toml"
    path.write_text(
        'default_nation = "England"\n'
        "[nation.England]\ncutoff = { month = 9, day = 1 }\non_or_after = 19\n"
        '[[postcode]]\nnation = "England"\nareas = ["g"]\n'
    )
    with pytest.raises(BadPolicy, match=r"rules_entry.toml: postcode entry 1: areas must be"):
        load_entry_year_rules(path)


def test_the_shipped_rules_hold_domain_md_table():
    rules = default_entry_year_rules()
    table = {n.nation: (n.cutoff.month, n.cutoff.day, n.on_or_after) for n in rules.nations}
    assert table == CUTOFFS


nations = st.sampled_from(sorted(CUTOFFS))


@given(nations, st.dates(D(1940, 1, 1), D(2030, 12, 31)), st.dates(D(1940, 1, 1), D(2030, 12, 31)))
def test_year_never_decreases_as_dob_increases(nation, first, second):
    early, late = sorted([first, second])
    year_early, year_late = years(date_of_birth=[early, late], nation=[nation, nation])
    assert year_early <= year_late


@given(nations, st.integers(1940, 2030))
def test_year_changes_once_per_calendar_year_on_the_cutoff(nation, year):
    days = pl.date_range(D(year, 1, 1), D(year + 1, 1, 1), eager=True)
    computed = years(date_of_birth=days, nation=[nation] * len(days))
    changes = [days[i] for i in range(1, len(days)) if computed[i] != computed[i - 1]]
    month, day, offset = CUTOFFS[nation]
    assert changes == [D(year, month, day)]  # and not at New Year, the last day in the list
    assert computed[0] == year + offset - 1


# Outward codes in and beside the areas and districts the shipped rules name.
OUTWARDS = ["BT7", "G1", "GL1", "TD1", "TD12", "TD15", "KA10", "CF10", "B1", "SW1A", "ZE2", "E1W"]


@st.composite
def typed_postcodes(draw) -> str:
    """A postcode as a person might type it: any case and spacing, now and then not valid."""
    outward = draw(
        st.one_of(st.sampled_from(OUTWARDS), st.from_regex(r"[A-Z]{1,3}[0-9]{0,3}", fullmatch=True))
    )
    inward = draw(
        st.one_of(
            st.sampled_from(["1AA", "9ZZ", "0NB"]), st.from_regex(r"[0-9A-Z]{3}", fullmatch=True)
        )
    )
    text = outward + draw(st.sampled_from(["", " ", "  "])) + inward
    return draw(st.sampled_from([text, text.lower(), f" {text} ", "GIR 0AA"]))


@given(
    st.lists(
        st.tuples(
            st.one_of(typed_postcodes(), st.none()),
            st.one_of(st.none(), st.sampled_from(["England", "Scotland"])),
            st.dates(D(1990, 1, 1), D(2020, 12, 31)),
        ),
        min_size=1,
        max_size=30,
    )
)
@example([("TD12 1AA", None, D(2008, 6, 1)), ("G1 1AA", None, D(2008, 6, 1))])
def test_validated_postcodes_give_the_same_years_without_the_pattern(rows):
    """Every row validation accepts gets the same year, and nation, from the fast outward code."""
    frame = pl.DataFrame(
        rows,
        schema={"postcode": pl.String, "nation": pl.String, "date_of_birth": pl.Date},
        orient="row",
    )
    frame = frame.with_columns(normalise_postcodes(frame["postcode"]))  # as validation does
    accepted = frame.filter(
        pl.col("postcode").is_null() | pl.col("postcode").str.contains(POSTCODE_PATTERN)
    )
    general = expected_entry_year(accepted, with_nation=True)
    fast = expected_entry_year(accepted, with_nation=True, canonical_postcodes=True)
    assert fast.equals(general)


def _real_postcodes() -> list[str]:
    lines = (DATA / "real_postcodes.txt").read_text("utf-8").splitlines()
    return [line.split("  ")[0].strip() for line in lines if line and not line.startswith("#")]


WELSH_BORDER = ["CH5 1AB", "CH7 1YA", "SY15 6AA", "SY25 6AA", "CH1 1AB", "SY14 8AA", "SY10 7AA"]


@given(
    st.lists(
        st.tuples(
            st.sampled_from(_real_postcodes() + WELSH_BORDER + ["BF1 3AA"]) | st.none(),
            st.none() | st.sampled_from(["England", "Wales", "Cymru", "Scotland", "Atlantis"]),
            st.dates(D(1940, 1, 1), D(2030, 12, 31)),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_telling_wales_from_england_changes_no_entry_year(rows):
    """England and Wales share a cut-off: the Welsh postcodes move only the nation, and only
    from England (the default they fell to before) to Wales."""
    frame = pl.DataFrame(
        rows,
        schema={"postcode": pl.String, "nation": pl.String, "date_of_birth": pl.Date},
        orient="row",
    )
    rules = default_entry_year_rules()
    before = dataclasses.replace(
        rules, postcodes=tuple(p for p in rules.postcodes if p.nation != "Wales")
    )
    assert len(before.postcodes) == len(rules.postcodes) - 1
    now = expected_entry_year(frame, rules, with_nation=True)
    then = expected_entry_year(frame, before, with_nation=True)
    assert now.drop("entry_year_nation").equals(then.drop("entry_year_nation"))
    changed = now["entry_year_nation"] != then["entry_year_nation"]
    assert set(now.filter(changed)["entry_year_nation"]) <= {"Wales"}
    assert set(then.filter(changed)["entry_year_nation"]) <= {"England"}
    # only where the postcode decides: no nation column, or one that cannot be read
    assert set(now.filter(changed)["nation"].fill_null("")) <= {"", "Atlantis"}
    # and every Welsh postcode did move: the default no longer hides Wales
    welsh = frame["postcode"].is_in(["CF10 3AT", "SA2 8PP", "CH5 1AB", "SY23 3FL", "SY25 6AA"])
    unread = frame["nation"].is_null() | (frame["nation"] == "Atlantis")
    assert (now.filter(welsh & unread)["entry_year_nation"] == "Wales").all()
