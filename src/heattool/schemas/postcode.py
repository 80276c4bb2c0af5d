"""UK postcode normalisation and format, as Polars expressions."""

from __future__ import annotations

import polars as pl

# Outward code AN, ANN, ANA, AAN, AANN, AANA; inward code NAA without C, I, K, M, O, V.
# BFPO (BF1 nAA) is an AAN outward code, so the general form covers it; GIR 0AA is special.
POSTCODE_PATTERN = (
    r"^(?:(?:[A-Z][0-9]{1,2}|[A-Z][0-9][A-Z]|[A-Z]{2}[0-9]{1,2}|[A-Z]{2}[0-9][A-Z])"
    r" [0-9][ABD-HJLNP-UW-Z]{2}|GIR 0AA)$"
)


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
