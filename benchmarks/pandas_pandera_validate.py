"""Validate a student upload with pandas and a Pandera DataFrameModel: the benchmark's peer.

The checks mirror `heattool validate --kind students`: headings matched by their letters and
digits, cells trimmed, a unique non-empty ref, a readable and plausible date of birth (day-first
or ISO), a UK postcode after normalising case and spacing, HESA codes or labels in any case,
yes/no flags and a plausible expected entry year. Prints a JSON summary; exit 1 if invalid.

    python benchmarks/pandas_pandera_validate.py FILE --as-of 2026-11-24
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import re
import sys
from pathlib import Path

import pandas as pd
import pandera.errors
import pandera.pandas as pa
from pandera.typing import Series

CODES_DIR = Path(__file__).resolve().parent.parent / "src" / "heattool" / "schemas" / "codes"
COLUMNS = [
    "student_ref", "forename", "surname", "date_of_birth", "postcode", "school", "nation", "sex",
    "gender_identity", "ethnicity", "disability", "religion", "permission_to_track",
    "expected_he_entry_year",
]  # fmt: skip
POSTCODE_PATTERN = (
    r"^(?:(?:[A-Z][0-9]{1,2}|[A-Z][0-9][A-Z]|[A-Z]{2}[0-9]{1,2}|[A-Z]{2}[0-9][A-Z])"
    r" [0-9][ABD-HJLNP-UW-Z]{2}|GIR 0AA)$"
)
DATE_FORMATS = ("%d/%m/%Y", "%Y-%m-%d", "%d-%m-%Y", "%d.%m.%Y")
FLAGS = {"yes", "y", "true", "1", "no", "n", "false", "0"}
MIN_AGE_YEARS, MAX_AGE_YEARS = 3, 100
AS_OF = dt.date.today()  # set from --as-of before validating


def key(text: pd.Series) -> pd.Series:
    """Lower-case letters and digits only, as heattool matches headings and labels."""
    return text.str.lower().str.replace(r"[^0-9a-z]+", "", regex=True)


def code_keys(name: str) -> set[str]:
    with (CODES_DIR / f"{name}.csv").open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    return {re.sub(r"[^0-9a-z]+", "", v.lower()) for row in rows for v in row.values()}


NATIONS, SEX, ETHNICITY, DISABILITY = (
    code_keys(n) for n in ("nation", "sex", "ethnicity", "disability")
)


def parse_dates(text: pd.Series) -> pd.Series:
    """Day-first or ISO dates; an impossible date is NaT."""
    parsed = pd.to_datetime(text, format=DATE_FORMATS[0], errors="coerce")
    for fmt in DATE_FORMATS[1:]:
        todo = parsed.isna()
        if not todo.any():
            break
        parsed[todo] = pd.to_datetime(text[todo], format=fmt, errors="coerce")
    return parsed


class Students(pa.DataFrameModel):
    """A student upload, all cells as trimmed text (empty cells null)."""

    student_ref: Series[str] = pa.Field(nullable=False, unique=True)
    forename: Series[str] = pa.Field(nullable=True)
    surname: Series[str] = pa.Field(nullable=True)
    date_of_birth: Series[str] = pa.Field(nullable=True)
    postcode: Series[str] = pa.Field(nullable=True)
    school: Series[str] = pa.Field(nullable=True)
    nation: Series[str] = pa.Field(nullable=True)
    sex: Series[str] = pa.Field(nullable=True)
    gender_identity: Series[str] = pa.Field(nullable=True)
    ethnicity: Series[str] = pa.Field(nullable=True)
    disability: Series[str] = pa.Field(nullable=True)
    religion: Series[str] = pa.Field(nullable=True)
    permission_to_track: Series[str] = pa.Field(nullable=True)
    expected_he_entry_year: Series[str] = pa.Field(nullable=True)

    @pa.check("date_of_birth", name="invalid-or-implausible-date")
    def _dob(cls, text: Series[str]) -> Series[bool]:
        as_of = pd.Timestamp(AS_OF)
        dob = parse_dates(text)
        youngest = as_of - pd.DateOffset(years=MIN_AGE_YEARS)
        oldest = as_of - pd.DateOffset(years=MAX_AGE_YEARS)
        return dob.between(oldest, youngest)

    @pa.check("postcode", name="invalid-postcode")
    def _postcode(cls, text: Series[str]) -> Series[bool]:
        compact = text.str.replace(r"\s+", "", regex=True).str.upper()
        spaced = compact.str[:-3] + " " + compact.str[-3:]
        return spaced.str.match(POSTCODE_PATTERN)

    @pa.check("nation", name="invalid-nation")
    def _nation(cls, text: Series[str]) -> Series[bool]:
        return key(text).isin(NATIONS)

    @pa.check("sex", name="invalid-code")
    def _sex(cls, text: Series[str]) -> Series[bool]:
        return key(text).isin(SEX)

    @pa.check("ethnicity", name="invalid-code")
    def _ethnicity(cls, text: Series[str]) -> Series[bool]:
        return key(text).isin(ETHNICITY)

    @pa.check("disability", name="invalid-code")
    def _disability(cls, text: Series[str]) -> Series[bool]:
        return key(text).isin(DISABILITY)

    @pa.check("permission_to_track", name="invalid-boolean")
    def _flag(cls, text: Series[str]) -> Series[bool]:
        return text.str.lower().isin(FLAGS)

    @pa.check("expected_he_entry_year", name="implausible-year")
    def _entry_year(cls, text: Series[str]) -> Series[bool]:
        year = pd.to_numeric(text.str.extract(r"^(\d{1,4})(?:\.0+|/\d{2})?$")[0], errors="coerce")
        return year.between(1950, AS_OF.year + 20)

    class Config:
        strict = False


def read_upload(path: Path) -> pd.DataFrame:
    """Every cell as trimmed text, empty cells null, headings matched to the model's columns."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    by_key = {re.sub(r"[^0-9a-z]+", "", c): c for c in COLUMNS}
    frame = frame.rename(columns=lambda h: by_key.get(re.sub(r"[^0-9a-z]+", "", h.lower()), h))
    for column in frame.columns:
        trimmed = frame[column].str.strip()
        frame[column] = trimmed.where(trimmed.str.len() > 0)
    return frame


def main() -> int:
    global AS_OF
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", type=Path)
    parser.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date.today())
    parser.add_argument("--max-errors", type=int, default=50)
    args = parser.parse_args()
    AS_OF = args.as_of
    frame = read_upload(args.path)
    try:
        Students.validate(frame, lazy=True)
        cases = pd.DataFrame(columns=["column", "check", "index", "failure_case"])
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
    cases = cases.sort_values("index", kind="stable")
    summary = {
        "file": str(args.path),
        "rows": len(frame),
        "invalid_rows": int(cases["index"].nunique()),
        "errors_by_check": cases["check"].value_counts().to_dict(),
        "errors": cases.head(args.max_errors).to_dict(orient="records"),
    }
    print(json.dumps(summary, indent=2, default=str))
    return 1 if len(cases) else 0


if __name__ == "__main__":
    sys.exit(main())
