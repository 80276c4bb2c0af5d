"""UK postcode normalisation, format and validity, as Polars expressions.

`POSTCODE_PATTERN` is the format alone (any letters where letters go); it is a plain regular
expression that DuckDB's `regexp_matches` reads too, and the track request re-checks stored
postcodes with it. Validation uses `is_valid_postcode`, which also holds the outward code to
the real postcode areas of `codes/postcode_areas.csv`, their district numbers and the letters
Royal Mail allows in each position.
"""

from __future__ import annotations

import csv
import io
from functools import cache
from importlib import resources

import polars as pl

# Outward code AN, ANN, ANA, AAN, AANN, AANA; inward code NAA without C, I, K, M, O, V.
# BFPO (BF1 nAA) is an AAN outward code, so the general form covers it; GIR 0AA is special.
POSTCODE_PATTERN = (
    r"^(?:(?:[A-Z][0-9]{1,2}|[A-Z][0-9][A-Z]|[A-Z]{2}[0-9]{1,2}|[A-Z]{2}[0-9][A-Z])"
    r" [0-9][ABD-HJLNP-UW-Z]{2}|GIR 0AA)$"
)
INWARD = "[0-9][ABD-HJLNP-UW-Z]{2}"  # never C, I, K, M, O or V in the inward letters
# Royal Mail: the letter after the district number of an A9A outward code (W1A) is one of
# these, and of an AA9A one (SW1A) one of these.
DISTRICT_LETTER = {1: "ABCDEFGHJKPSTUW", 2: "ABEHMNPRVWXY"}
_SWAPS = {"O": "0", "0": "O", "I": "1", "1": "I"}  # the letters and digits that look alike


def normalise_postcode(column: pl.Expr) -> pl.Expr:
    """Strip all spaces, upper-case, and put one space before the last three characters."""
    compact = column.str.replace_all(r"\s+", "").str.to_uppercase()
    spaced = pl.concat_str(compact.str.head(-3), pl.lit(" "), compact.str.tail(3))
    return pl.when(compact.str.len_chars() > 3).then(spaced).otherwise(compact)


# Already upper-case, one space before the inward code: most cells of most uploads.
_CANONICAL = r"^[A-Z0-9]{2,4} [0-9][A-Z]{2}$"


def normalise_postcodes(text: pl.Series) -> pl.Series:
    """`normalise_postcode` over a column, skipping the cells already in canonical form."""
    todo = ~text.str.contains(_CANONICAL).fill_null(True) & text.is_not_null()
    if not todo.any():
        return text
    index = todo.arg_true()
    subset = text.gather(index).to_frame("p").select(normalise_postcode(pl.col("p"))).to_series()
    return text.scatter(index, subset)


@cache
def postcode_areas() -> tuple[dict[str, str], ...]:
    """The rows of `codes/postcode_areas.csv`: area, name, districts, lettered.

    `districts` is the range of district numbers written without a letter (`1-99`; `10-99`
    where every district has two digits, as in AB; `0-99` where a district 0 exists, as in
    BL; empty where every district takes a letter, as in WC); `lettered` the district numbers
    that are also written with a letter after them (SW1A, EC4M, W1D). A range only leaves out
    the numbers known never to be used, so that no real postcode is refused.
    """
    path = resources.files("heattool.schemas").joinpath("codes", "postcode_areas.csv")
    # Traversable.open is typed without the newline= it takes: wrap its bytes ourselves.
    with io.TextIOWrapper(path.open("rb"), encoding="utf-8", newline="") as handle:
        return tuple(csv.DictReader(handle))


def _range(text: str) -> tuple[int, int] | None:
    if not text:
        return None
    low, _, high = text.partition("-")
    return int(low), int(high or low)


def _class(low: int, high: int) -> str:
    return str(low) if low == high else f"[{low}-{high}]"


def _numbers(low: int, high: int) -> list[str]:
    """Alternatives that match the whole numbers low..high (0-99), written without leading 0."""
    alternatives = []
    if low <= min(high, 9):
        alternatives.append(_class(low, min(high, 9)))
    low = max(low, 10)
    if low <= high:
        first, last = low // 10, high // 10
        if first == last:
            return [*alternatives, f"{first}{_class(low % 10, high % 10)}"]
        if low % 10:
            alternatives.append(f"{first}{_class(low % 10, 9)}")
            first += 1
        if high % 10 != 9:
            alternatives.append(f"{last}{_class(0, high % 10)}")
            last -= 1
        if first <= last:
            alternatives.append(f"{_class(first, last)}[0-9]")
    return alternatives


def _districts(row: dict[str, str]) -> str:
    """The regular expression of an area's district part: the number and any letter."""
    alternatives = []
    if plain := _range(row["districts"]):
        alternatives += _numbers(*plain)
    if lettered := _range(row["lettered"]):
        letters = DISTRICT_LETTER[len(row["area"])]
        alternatives.append(f"(?:{'|'.join(_numbers(*lettered))})[{letters}]")
    return "|".join(alternatives)


@cache
def valid_postcode_pattern() -> str:
    """One anchored regular expression for every postcode that can exist, as validation writes
    it ('SW1A 1AA'): a real area, a district number it uses, a letter allowed there, and an
    inward code; or GIR 0AA. Areas whose districts look alike share one alternative.
    """
    by_districts: dict[str, list[str]] = {}
    for row in postcode_areas():
        by_districts.setdefault(_districts(row), []).append(row["area"])
    outward = "|".join(
        f"(?:{'|'.join(areas)})(?:{districts})" for districts, areas in by_districts.items()
    )
    return f"^(?:(?:{outward}) {INWARD}|GIR 0AA)$"


def is_valid_postcode(postcode: pl.Expr) -> pl.Expr:
    """Whether a normalised postcode ('SW1A 1AA') can exist; null stays null."""
    return postcode.str.contains(valid_postcode_pattern())


def suggest_postcodes(postcodes: pl.Series) -> pl.Series:
    """For each postcode, the one valid postcode that swapping O and 0, I and 1 makes of it.

    Null where there is none, or more than one. Every swappable character is tried both ways:
    `SW1O 0AA` gives `SW10 0AA`, `0X1 2JD` gives `OX1 2JD`, `O1 0AA` nothing. Each postcode
    with k swappable characters makes 2^k candidates (at most 128), all checked at once.
    """
    compact = pl.col("c")
    frame = (
        pl.DataFrame({"c": postcodes.cast(pl.String)})
        .with_row_index("i")
        .with_columns(compact.str.replace_all(r"\s+", "").str.to_uppercase())
        .filter(compact.str.len_chars().is_between(5, 7) & compact.str.contains("[OI01]"))
    )
    for position in range(7):
        char = compact.str.slice(position, 1)
        swapped = frame.filter(char.is_in(list(_SWAPS))).with_columns(
            pl.concat_str(
                compact.str.slice(0, position),
                char.replace_strict(_SWAPS, return_dtype=pl.String),
                compact.str.slice(position + 1),
            )
        )
        frame = pl.concat([frame, swapped])
    spaced = pl.concat_str(compact.str.head(-3), pl.lit(" "), compact.str.tail(3))
    found = (
        frame.select("i", spaced.alias("p"))
        .filter(is_valid_postcode(pl.col("p")))
        .unique()
        .group_by("i")
        .agg(pl.col("p").first(), pl.len().alias("n"))
        .filter(pl.col("n") == 1)
    )
    suggestions = pl.Series(postcodes.name, [None] * postcodes.len(), dtype=pl.String)
    return suggestions.scatter(found["i"], found["p"]) if found.height else suggestions


_LOOK_ALIKE = {"O": "the letter O", "0": "the digit 0", "I": "the letter I", "1": "the digit 1"}
_ORDINALS = ("1st", "2nd", "3rd", "4th", "5th", "6th", "7th")


def describe_swaps(postcodes: pl.Series, suggestions: pl.Series) -> pl.Series:
    """What to change in each postcode to make its suggestion, in words that quote neither:
    `the digit 0, not the letter O, as its 4th letter or digit` (spaces are not counted).

    A message may not quote a postcode, which is personal data; the place of the swap and the
    characters swapped tell the officer what to change in the cell. Null where the suggestion
    is.
    """
    frame = pl.DataFrame({"p": postcodes.cast(pl.String), "s": suggestions.cast(pl.String)})
    was, now = (pl.col(c).str.replace_all(r"\s+", "").str.to_uppercase() for c in "ps")
    changes = []
    for position, ordinal in enumerate(_ORDINALS):
        before, after = was.str.slice(position, 1), now.str.slice(position, 1)
        changes.append(
            pl.when(before != after).then(
                pl.concat_str(
                    after.replace_strict(_LOOK_ALIKE, default=None),
                    pl.lit(", not "),
                    before.replace_strict(_LOOK_ALIKE, default=None),
                    pl.lit(f", as its {ordinal} letter or digit"),
                )
            )
        )
    words = pl.concat_str(changes, separator="; and ", ignore_nulls=True)
    return frame.select(pl.when(pl.col("s").is_not_null() & (words != "")).then(words)).to_series()
