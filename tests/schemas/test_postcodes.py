"""Postcodes that cannot exist are refused; every real one is accepted (issue 11, item 7)."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import polars as pl
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from heattool.findings import CODES
from tests.helpers import DATA

AS_OF = "2026-11-24"
STUDENTS = "Student Ref,Forename,Surname,Date of Birth,Postcode\n"
AMBASSADORS = "Ambassador Ref,Forename,Surname,Date of Birth,Postcode\n"
REFUSED = CODES["invalid-postcode"].message
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"  # no C, I, K, M, O, V


def real_postcodes() -> list[str]:
    lines = (DATA / "real_postcodes.txt").read_text("utf-8").splitlines()
    return [" ".join(line.split()[:2]) for line in lines if line and not line.startswith("#")]


def areas() -> list[dict[str, str]]:
    from heattool.schemas.postcode import postcode_areas

    return list(postcode_areas())


def valid(values: list[str | None]) -> list[bool | None]:
    from heattool.schemas.postcode import is_valid_postcode, normalise_postcodes

    series = normalise_postcodes(pl.Series("p", values, dtype=pl.String))
    return series.to_frame().select(is_valid_postcode(pl.col("p"))).to_series().to_list()


def upload(tmp_path: Path, header: str, postcodes: list[str], name: str = "upload.csv") -> Path:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    for n, postcode in enumerate(postcodes):
        writer.writerow([f"R{n}", "Ann", "Lee", "01/02/2004", postcode])
    path = tmp_path / name
    path.write_text(header + buffer.getvalue(), encoding="utf-8")
    return path


def errors(result) -> list[dict]:
    return json.loads(result.stdout)["files"][0]["errors"]


# -- the data ----------------------------------------------------------------------------------


def test_the_areas_are_the_uk_postcode_areas_bfpo_and_the_non_geographic_bx():
    names = [row["area"] for row in areas()]
    assert len(names) == len(set(names)) == 124 + 2  # 121 UK, GY JE IM; and BF, BX
    assert {"AB", "B", "BT", "EC", "GY", "IM", "JE", "WC", "ZE", "BF", "BX"} <= set(names)
    assert not {"AA", "QA", "ZZ", "BF1", "GIR", "O", "XM"} & set(names)


def test_every_area_follows_royal_mails_letter_rules():
    for name in (row["area"] for row in areas()):
        assert re.fullmatch(r"[A-Z]{1,2}", name), name
        assert name[0] not in "QVX", name  # never Q, V, X first
        assert len(name) == 1 or name[1] not in "IJZ", name  # never I, J, Z second


def test_every_area_has_a_real_postcode_in_the_test_list():
    listed = {re.match(r"[A-Z]+", p).group() for p in real_postcodes()}
    assert {row["area"] for row in areas()} - listed == {"BF"}  # BFPO units are not published


def test_every_real_postcode_is_valid_in_any_case_and_spacing():
    reals = real_postcodes()
    assert len(reals) > 150
    written = [*reals, *(p.lower() for p in reals), *(p.replace(" ", "") for p in reals)]
    assert all(valid(written)), [p for p, ok in zip(written, valid(written), strict=True) if not ok]


# Districts that are real but rare in addresses: a letter after the number outside SW1/W1/EC/WC,
# district 0, non-geographic and two-digit-only areas, BFPO.
EDGE_OUTWARDS = [
    "E1W", "N1C", "N1P", "NW1W", "SE1P", "EC50", "W1A", "W1W", "EC1A", "EC4Y", "WC2R", "SW1Y",
    "BL0", "BS0", "CM0", "CR0", "FY0", "HA0", "PR0", "SL0", "SS0", "AB10", "AB56", "LL11",
    "LL78", "SO14", "SO53", "BX1", "BX9", "BF1", "IM99", "CR44", "BL78", "SL60", "SW95",
    "GY10", "ZE3", "E20", "E98", "N81", "NW26", "TD12", "TD15", "BT94", "KW17", "G90",
]  # fmt: skip


def test_rare_real_districts_are_valid():
    assert all(valid([f"{outward} 1AB" for outward in EDGE_OUTWARDS]))
    assert valid(["GIR 0AA", "gir0aa", "BF1 3AA"]) == [True, True, True]


IMPOSSIBLE = {
    "AA1 1AA": "no area AA",
    "QA1 1AA": "no area starts with Q",
    "ZZ1 1ZZ": "no area ZZ",
    "EC1Z 1AA": "Z never follows the district number of an AA9A outward code",
    "BF2 4BB": "BFPO is BF1 only",
    "O1 0AA": "no area O",
    "SW1O 0AA": "O never follows the district number",
    "XA1 1AA": "no area starts with X",
    "VA1 1AA": "no area starts with V",
    "AI1 1AA": "no area has I second",
    "SW1 1AA": "SW1 is always written with a letter (SW1A)",
    "W1 1AA": "W1 is always written with a letter (W1A)",
    "WC1 1AA": "WC districts always have a letter",
    "EC3 1AA": "EC1-EC4 always have a letter",
    "W1M 1AA": "M never follows the district number of an A9A outward code",
    "B1A 1AA": "only E1, N1 and W1 take a letter in a one-letter area",
    "CT1A 1AA": "only EC, NW, SE, SW and WC districts take a letter in a two-letter area",
    "AB1 1AA": "Aberdeen districts have two digits",
    "SO1 1AA": "Southampton districts have two digits",
    "HA10 1AA": "Harrow districts have one digit",
    "B0 1AA": "no district 0 in B",
    "B01 1AA": "a district number never starts with 0",
    "CT1 1CI": "no C or I in the inward letters",
    "GIR 1AA": "GIR 0AA alone",
}


@pytest.mark.parametrize("postcode", sorted(IMPOSSIBLE))
def test_a_postcode_that_cannot_exist_is_invalid(postcode):
    assert valid([postcode]) == [False], IMPOSSIBLE[postcode]


def test_postcode_pattern_stays_a_format_check_that_duckdb_reads():
    import duckdb

    from heattool.schemas.postcode import POSTCODE_PATTERN

    pattern = POSTCODE_PATTERN.replace("'", "''")
    rows = duckdb.sql(
        f"SELECT p, regexp_matches(p, '{pattern}') FROM (VALUES ('AA1 1AA'), ('SW1A 1AA'),"
        " ('CT1 2EC'), ('GIR 0AA')) t(p) ORDER BY p"
    ).fetchall()
    assert rows == [("AA1 1AA", True), ("CT1 2EC", False), ("GIR 0AA", True), ("SW1A 1AA", True)]


# -- through the command line -------------------------------------------------------------------


def test_a_file_of_every_real_postcode_is_valid(invoke, tmp_path):
    path = upload(tmp_path, STUDENTS, real_postcodes())
    result = invoke("validate", path, "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 0, result.stdout
    assert errors(result) == []


@pytest.mark.parametrize(("header", "kind"), [(STUDENTS, "students"), (AMBASSADORS, "ambassadors")])
def test_postcodes_that_cannot_exist_are_errors_at_their_cells(invoke, tmp_path, header, kind):
    postcodes = sorted(IMPOSSIBLE)
    result = invoke(
        "validate", upload(tmp_path, header, postcodes), "--as-of", AS_OF, "--format", "json"
    )
    assert result.exit_code == 1, result.stdout + result.stderr
    found = errors(result)
    assert [(e["row"], e["cell"], e["code"]) for e in found] == [
        (n + 2, f"E{n + 2}", "invalid-postcode") for n in range(len(postcodes))
    ]
    assert json.loads(result.stdout)["files"][0]["kind"] == kind
    for error, postcode in zip(found, postcodes, strict=True):
        if postcode != "SW1O 0AA":
            assert error["message"] == REFUSED, postcode


def test_an_o_for_a_zero_is_named_in_the_message(invoke, tmp_path):
    path = upload(tmp_path, STUDENTS, ["CT2 7NZ", "sw1o 0aa", "0X1 2JD", "O1 0AA", "SWIA 1AA"])
    result = invoke("validate", path, "--as-of", AS_OF, "--format", "json")
    assert result.exit_code == 1
    # where to swap what, never the postcode it makes (a postcode is personal data)
    fix = CODES["invalid-postcode"].fix.format
    assert [(e["row"], e["column"], e["message"]) for e in errors(result)] == [
        (3, "Postcode", fix(fix="the digit 0, not the letter O, as its 4th letter or digit")),
        (4, "Postcode", fix(fix="the letter O, not the digit 0, as its 1st letter or digit")),
        (5, "Postcode", REFUSED),  # O1 0AA: no swap makes a real postcode
        (6, "Postcode", fix(fix="the digit 1, not the letter I, as its 3rd letter or digit")),
    ]
    assert errors(result)[0]["message"] == (
        "not a UK postcode; write the digit 0, not the letter O, as its 4th letter or digit "
        "(the letters O and I look like 0 and 1)"
    )


def test_two_swaps_are_both_named(invoke, tmp_path):
    path = upload(tmp_path, STUDENTS, ["CT2 7NZ", "SWIO 0AA"])
    result = invoke("validate", path, "--as-of", AS_OF, "--format", "json")
    (error,) = errors(result)
    assert error["message"] == (
        "not a UK postcode; write the digit 1, not the letter I, as its 3rd letter or digit; "
        "and the digit 0, not the letter O, as its 4th letter or digit (the letters O and I "
        "look like 0 and 1)"
    )


def test_the_table_and_the_rejects_carry_the_suggestion(invoke, tmp_path):
    path = upload(tmp_path, STUDENTS, ["CT2 7NZ", "SW1O 0AA"])
    result = invoke("validate", path, "--as-of", AS_OF)
    assert result.exit_code == 1
    said = "write the digit 0, not the letter O, as its 4th letter or digit"
    assert said in " ".join(result.stdout.replace("│", " ").split())
    rejects = tmp_path / "rejects.csv"
    result = invoke(
        "import", path, "--member", "KENT", "--db", tmp_path / "s.duckdb", "--rejects-out", rejects
    )
    assert result.exit_code == 1, result.stdout + result.stderr
    (row,) = pl.read_csv(rejects, infer_schema=False).to_dicts()
    assert row["heattool_codes"] == "invalid-postcode"
    assert said in row["heattool_messages"]


# -- the suggestion -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("written", "suggested"),
    [
        ("SW1O 0AA", "SW10 0AA"),
        ("0X1 2JD", "OX1 2JD"),
        ("SWIA 1AA", "SW1A 1AA"),
        ("S017 1BJ", "SO17 1BJ"),  # Southampton: the district has two digits
        ("GIR OAA", "GIR 0AA"),
        ("b1o1aa", "B10 1AA"),
        ("E1O 1AA", "E10 1AA"),  # O never follows a district number: E10, not E1O
        ("O1 0AA", None),  # neither O1 nor 01
        ("AA1 1AA", None),  # nothing to swap
        ("CT1 2EC", None),
        ("", None),
        (None, None),
    ],
)
def test_the_suggestion_is_the_only_swap_that_makes_a_real_postcode(written, suggested):
    from heattool.schemas.postcode import suggest_postcodes

    series = pl.Series("p", [written], dtype=pl.String)
    assert suggest_postcodes(series).to_list() == [suggested]


# -- properties ---------------------------------------------------------------------------------


def district_numbers(text: str) -> list[int]:
    if not text:
        return []
    low, _, high = text.partition("-")
    return list(range(int(low), int(high or low) + 1))


DISTRICT_LETTERS = {1: "ABCDEFGHJKPSTUW", 2: "ABEHMNPRVWXY"}


def can_exist(postcode: str) -> bool:
    """The rules of postcode_areas.csv read directly, with no regular expression."""
    if postcode == "GIR 0AA":
        return True
    outward, space, inward = postcode.partition(" ")
    if not space or len(inward) != 3 or not inward[0].isascii() or not inward[0].isdigit():
        return False
    if any(c not in INWARD_LETTERS for c in inward[1:]):
        return False
    for row in areas():
        area = row["area"]
        rest = outward[len(area) :]
        if not outward.startswith(area) or not rest[:1].isdigit():
            continue
        number, letter = (rest[:-1], rest[-1]) if rest[-1:].isalpha() else (rest, "")
        if not (number.isascii() and number.isdigit()) or str(int(number)) != number:
            continue
        if letter:
            if letter in DISTRICT_LETTERS[len(area)] and int(number) in district_numbers(
                row["lettered"]
            ):
                return True
        elif int(number) in district_numbers(row["districts"]):
            return True
    return False


@st.composite
def possible_postcodes(draw) -> str:
    """A real area, a district it uses (with a letter where it takes one), any inward code."""
    row = draw(st.sampled_from(areas()))
    lettered = district_numbers(row["lettered"])
    if lettered and (not row["districts"] or draw(st.booleans())):
        letter = draw(st.sampled_from(DISTRICT_LETTERS[len(row["area"])]))
        district = f"{draw(st.sampled_from(lettered))}{letter}"
    else:
        district = str(draw(st.sampled_from(district_numbers(row["districts"]))))
    inward = f"{draw(st.integers(0, 9))}{draw(st.sampled_from(INWARD_LETTERS))}" + draw(
        st.sampled_from(INWARD_LETTERS)
    )
    return f"{row['area']}{district} {inward}"


@st.composite
def written_postcodes(draw, postcodes) -> str:
    """A postcode as people write it: any case, no space or extra spaces, around it too."""
    postcode = draw(postcodes)
    compact = postcode.replace(" ", "")
    spaced = compact[:-3] + draw(st.sampled_from(["", " ", "  ", "\t"])) + compact[-3:]
    return draw(st.sampled_from([spaced, spaced.lower(), f" {spaced} ", spaced.swapcase()]))


real_outward = st.sampled_from(
    sorted({p.split()[0] for p in real_postcodes() if p != "GIR 0AA"} | set(EDGE_OUTWARDS))
)
real_district_postcodes = st.builds(
    lambda outward, digit, a, b: f"{outward} {digit}{a}{b}",
    real_outward,
    st.integers(0, 9),
    st.sampled_from(INWARD_LETTERS),
    st.sampled_from(INWARD_LETTERS),
)


@given(st.lists(written_postcodes(real_district_postcodes), min_size=1, max_size=30))
def test_a_real_district_with_any_inward_code_is_never_refused(values):
    assert all(valid(values)), values


@given(st.lists(written_postcodes(possible_postcodes()), min_size=1, max_size=30))
def test_a_real_area_with_a_district_it_uses_is_never_refused(values):
    assert all(valid(values)), values


postcode_like = st.text(alphabet="ABCDEGIJKLMNOPQSTUVWXZ0123456789 ", min_size=4, max_size=9)


@given(st.lists(st.one_of(postcode_like, possible_postcodes()), max_size=30))
@example(["SW1A 1AA", "SW1 1AA", "EC50 1AA", "EC5 1AA", "W1 1AA", "W2 1AA", "BF1 1AA"])
def test_the_check_accepts_exactly_what_the_area_rules_allow(values):
    from heattool.schemas.postcode import normalise_postcodes

    normalised = normalise_postcodes(pl.Series(values, dtype=pl.String)).to_list()
    assert valid(values) == [can_exist(p) for p in normalised]


@given(st.lists(st.one_of(postcode_like, possible_postcodes()), max_size=30))
def test_every_valid_postcode_matches_the_format_pattern(values):
    from heattool.schemas.postcode import POSTCODE_PATTERN, normalise_postcodes

    normalised = normalise_postcodes(pl.Series(values, dtype=pl.String))
    formatted = normalised.str.contains(POSTCODE_PATTERN).to_list()
    for ok, well_formed in zip(valid(values), formatted, strict=True):
        assert not ok or well_formed


any_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12
)


@given(st.lists(st.one_of(any_text, postcode_like, written_postcodes(possible_postcodes()))))
def test_normalising_is_idempotent_and_the_fast_path_agrees(values):
    from heattool.schemas.postcode import normalise_postcode, normalise_postcodes

    series = pl.Series("p", values, dtype=pl.String)
    once = normalise_postcodes(series)
    assert normalise_postcodes(once).to_list() == once.to_list()
    slow = series.to_frame().select(normalise_postcode(pl.col("p"))).to_series()
    assert once.to_list() == slow.to_list()


@given(st.lists(st.one_of(postcode_like, written_postcodes(possible_postcodes())), max_size=30))
def test_a_suggestion_is_valid_and_differs_only_by_o_0_and_i_1(values):
    from heattool.schemas.postcode import normalise_postcodes, suggest_postcodes

    normalised = normalise_postcodes(pl.Series(values, dtype=pl.String))
    for written, suggestion in zip(normalised, suggest_postcodes(normalised), strict=True):
        if suggestion is None:
            continue
        assert valid([suggestion]) == [True]
        compact, fixed = written.replace(" ", ""), suggestion.replace(" ", "")
        assert len(compact) == len(fixed)
        for a, b in zip(compact, fixed, strict=True):
            assert a == b or {a, b} in ({"O", "0"}, {"I", "1"})
