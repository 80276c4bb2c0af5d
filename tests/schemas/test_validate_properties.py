"""Invariants of reading and validating uploads, checked with Hypothesis."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import polars as pl
from hypothesis import given
from hypothesis import strategies as st

from heattool.schemas.parse import parse_date
from heattool.schemas.postcode import POSTCODE_PATTERN, normalise_postcode, normalise_postcodes

OUTWARD_SHAPES = {"AN", "ANN", "ANA", "AAN", "AANN", "AANA"}
INWARD_LETTERS = set("ABDEFGHJLNPQRSTUWXYZ")  # no C, I, K, M, O, V


def normalised(values: list[str]) -> list[str]:
    frame = pl.DataFrame({"p": values}, schema={"p": pl.String})
    return frame.select(normalise_postcode(pl.col("p"))).to_series().to_list()


def accepted(values: list[str]) -> list[bool]:
    frame = pl.DataFrame({"p": normalised(values)}, schema={"p": pl.String})
    return frame.select(pl.col("p").str.contains(POSTCODE_PATTERN)).to_series().to_list()


def is_uk_postcode(text: str) -> bool:
    """An independent statement of DOMAIN.md's format, char by char."""
    compact = re.sub(r"\s", "", text).upper()
    if compact == "GIR0AA":
        return True
    outward, inward = compact[:-3], compact[-3:]
    shape = "".join(
        "A" if c.isascii() and c.isalpha() else "N" if c.isdigit() else "?" for c in outward
    )
    return (
        len(compact) >= 5
        and shape in OUTWARD_SHAPES
        and inward[0].isdigit()
        and inward[0].isascii()
        and set(inward[1:]) <= INWARD_LETTERS
    )


postcode_like = st.text(alphabet="ABCDEFGHIKMOVXYZabcmo0123456789 \t", min_size=0, max_size=10)


@st.composite
def valid_postcodes(draw) -> str:
    letter = st.sampled_from("ABCDEFGHIJKLMNOPRSTUWYZ")
    digit = st.sampled_from("0123456789")
    shape = draw(st.sampled_from(sorted(OUTWARD_SHAPES)))
    outward = "".join(draw(letter if c == "A" else digit) for c in shape)
    inward = draw(digit) + "".join(draw(st.sampled_from(sorted(INWARD_LETTERS))) for _ in "ab")
    spacing = draw(st.sampled_from(["", " ", "  "]))
    text = outward + spacing + inward
    return draw(st.sampled_from([text, text.lower(), f" {text} "]))


@given(st.lists(postcode_like, max_size=20))
def test_postcode_normalisation_is_idempotent(values):
    once = normalised(values)
    assert normalised(once) == once


@given(st.lists(st.one_of(postcode_like, valid_postcodes(), st.none()), max_size=20))
def test_the_column_fast_path_normalises_exactly_as_the_expression(values):
    series = pl.Series("p", values, dtype=pl.String)
    assert normalise_postcodes(series).to_list() == normalised(values)


@given(st.lists(postcode_like, max_size=20))
def test_postcode_check_never_accepts_an_invalid_postcode(values):
    for value, ok in zip(values, accepted(values), strict=True):
        if ok:
            assert is_uk_postcode(value), value


@given(st.lists(valid_postcodes(), min_size=1, max_size=20))
def test_every_well_formed_postcode_is_accepted_in_any_case_and_spacing(values):
    assert all(accepted(values))
    for value, result in zip(values, normalised(values), strict=True):
        compact = re.sub(r"\s", "", value).upper()
        assert result == f"{compact[:-3]} {compact[-3:]}"


@given(st.dates(min_value=dt.date(1000, 1, 1), max_value=dt.date(9999, 12, 31)))
def test_day_first_dates_are_read_day_first_in_every_form(day):
    forms = [
        f"{day.day:02d}/{day.month:02d}/{day.year}",
        f"{day.day}/{day.month}/{day.year}",
        f"{day.day:02d}-{day.month:02d}-{day.year}",
        f"{day.day:02d}.{day.month:02d}.{day.year}",
        day.isoformat(),
    ]
    assert parse_date(pl.Series(forms)).to_list() == [day] * len(forms)


@given(st.integers(1, 31), st.integers(1, 12), st.integers(1900, 2100))
def test_impossible_dates_are_never_guessed(day, month, year):
    try:
        expected = dt.date(year, month, day)
    except ValueError:
        expected = None
    assert parse_date(pl.Series([f"{day:02d}/{month:02d}/{year}"])).to_list() == [expected]


@given(st.binary(max_size=300))
def test_random_bytes_never_produce_a_traceback(tmp_path_factory, invoke_fresh, data):
    path = tmp_path_factory.mktemp("bytes") / "upload.csv"
    path.write_bytes(data)
    result = invoke_fresh("validate", path)
    assert result.exit_code in (0, 1, 2), result.stderr
    assert "Traceback" not in result.stdout + result.stderr


cell_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)
headings = st.sampled_from(
    [
        "Student Ref",
        "Forename",
        "DOB",
        "Postcode",
        "Sex",
        "Permission",
        "Hours",
        "Activity Ref",
        "x",
    ]
)


@given(
    st.lists(headings, min_size=1, max_size=6),
    st.lists(st.lists(cell_text, max_size=7), max_size=8),
)
def test_random_csv_text_never_produces_a_traceback(tmp_path_factory, invoke_fresh, header, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(rows)
    path = tmp_path_factory.mktemp("csv") / "upload.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    result = invoke_fresh("validate", path, "--format", "json")
    assert result.exit_code in (0, 1, 2), result.stderr
    assert "Traceback" not in result.stdout + result.stderr


@given(
    st.lists(
        st.sampled_from(["Amelia", "Ann\nMarie", "Jo\r\nJo", 'Say "hi"\nthere']),
        min_size=1,
        max_size=12,
    ),
    st.data(),
)
def test_row_numbers_count_records_not_lines(tmp_path_factory, names, data):
    from heattool.schemas.validate import validate_file

    bad = data.draw(st.integers(0, len(names) - 1))
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["Student Ref", "Forename", "Date of Birth"])
    for i, name in enumerate(names):
        writer.writerow([f"S{i}", name, "31/02/2009" if i == bad else "01/02/2009"])
    path = tmp_path_factory.mktemp("rows") / "upload.csv"
    path.write_text(buffer.getvalue(), encoding="utf-8")
    result = validate_file(path, as_of=dt.date(2026, 11, 24))
    assert result.errors["row"].to_list() == [bad + 2]
    assert result.errors["cell"].to_list() == [f"C{bad + 2}"]
