"""One Pandera DataFrameModel per upload kind and per track return, checked after parsing.

Each field's `metadata` tells the parser how to read the cell text: `codes` names a code list
in `codes/` (labels and codes both accepted, the code stored) and `error` the finding code for a
value not in it; `postcode` marks a postcode and `heat_id` a heat_id; `number = "whole"` reads
a whole number (not a year); `error` alone names the finding for text the column's parser
cannot read. Check names are the stable finding codes.
The frame also carries `_as_of`, the date the upload is judged at, for the age checks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pandera.polars as pa
import polars as pl
from pandera.api.polars.types import PolarsData

from heattool.schemas.postcode import is_valid_postcode

MIN_AGE_YEARS = 3
MAX_AGE_YEARS = 100
EARLIEST_ENTRY_YEAR = 1950
LATEST_ENTRY_YEAR_AHEAD = 20


def _text(*, required: bool = False, **metadata: str) -> Any:
    """A text field: `pa.Field`, typed Any as it is, to stand for the column's value."""
    return pa.Field(nullable=not required, metadata=metadata or None)


def _unique(data: PolarsData) -> pl.LazyFrame:
    """False on every row whose value is on another row too.

    Hashes first (about three times faster than comparing text); only the rows whose hashes
    repeat, a few at most, are compared as text, so a clean file pays for the hash alone.
    """
    values = data.lazyframe.select(pl.col(data.key)).collect().to_series()
    unique = pl.repeat(True, values.len(), eager=True)
    suspects = values.hash().is_duplicated().arg_true()
    if suspects.len():
        unique = unique.scatter(suspects, ~values.gather(suspects).is_duplicated())
    return pl.LazyFrame({data.key: unique})


def _shared_check(
    field: str, name: str
) -> Callable[[Callable[..., pl.LazyFrame]], classmethod[Any, Any, Any]]:
    """`pa.check(field, name=name)` for a check that more than one model inherits.

    Pandera takes a check's `name` away the first time a model is built from it, so a second
    model that inherits the check would name it after its function instead: the function is
    given the finding code for its name too.
    """

    def decorate(function: Callable[..., pl.LazyFrame]) -> classmethod[Any, Any, Any]:
        function.__name__ = name
        return pa.check(field, name=name)(function)

    return decorate


class _Person(pa.DataFrameModel):
    """Checks shared by every kind that holds a person's date of birth and postcode."""

    @_shared_check("postcode", "invalid-postcode")
    def _postcode_valid(cls, data: PolarsData) -> pl.LazyFrame:
        """A real area, district and inward code (format, areas: `schemas/postcode.py`)."""
        return data.lazyframe.select(is_valid_postcode(pl.col(data.key)))

    @_shared_check("date_of_birth", "dob-in-future")
    def _dob_not_future(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key) <= pl.col("_as_of"))

    @_shared_check("date_of_birth", "implausible-age")
    def _dob_plausible_age(cls, data: PolarsData) -> pl.LazyFrame:
        dob, as_of = pl.col(data.key), pl.col("_as_of")
        youngest = as_of.dt.offset_by(f"-{MIN_AGE_YEARS}y")
        oldest = as_of.dt.offset_by(f"-{MAX_AGE_YEARS}y")
        return data.lazyframe.select((dob > as_of) | dob.is_between(oldest, youngest))

    class Config:
        strict = False


class Students(_Person):
    """A student upload: one outreach participant per row."""

    student_ref: str = pa.Field(nullable=False)
    heat_student_id: str = _text()  # HEAT's own id of the student; never heattool's heat_id
    forename: str = _text()
    middle_name: str = _text()
    surname: str = _text()
    date_of_birth: dt.date = pa.Field(nullable=True)
    postcode: str = _text(postcode="yes")
    school: str = _text()
    nation: str = _text(codes="nation", error="invalid-nation")
    sex: str = _text(codes="sex", error="invalid-code")
    gender_identity: str = _text()
    ethnicity: str = _text(codes="ethnicity", error="invalid-code")
    disability: str = _text(codes="disability", error="invalid-code")
    religion: str = _text()
    permission_to_track: bool = pa.Field(nullable=True)
    expected_he_entry_year: int = pa.Field(nullable=True)
    # Contextual flags, as in HEAT's Student Export.
    care_leaver: bool = pa.Field(nullable=True)
    young_carer: bool = pa.Field(nullable=True)
    first_generation_he: bool = pa.Field(nullable=True)
    estranged: bool = pa.Field(nullable=True)
    refugee_asylum_seeker: bool = pa.Field(nullable=True)
    service_children: bool = pa.Field(nullable=True)
    # participant or comparison: a comparison group is recorded so that its outcomes can be set
    # beside the participants' (README "Outcome reports"); empty means a participant.
    evaluation_group: str = _text(codes="evaluation_group", error="invalid-code")

    @pa.check("student_ref", name="duplicate-ref")
    def _ref_unique(cls, data: PolarsData) -> pl.LazyFrame:
        return _unique(data)

    @pa.check("expected_he_entry_year", name="implausible-year")
    def _entry_year_plausible(cls, data: PolarsData) -> pl.LazyFrame:
        latest = pl.col("_as_of").dt.year() + LATEST_ENTRY_YEAR_AHEAD
        return data.lazyframe.select(pl.col(data.key).is_between(EARLIEST_ENTRY_YEAR, latest))


class Ambassadors(_Person):
    """A student-ambassador upload: an HE student who helps deliver outreach."""

    ambassador_ref: str = pa.Field(nullable=False)
    forename: str = _text(required=True)
    surname: str = _text(required=True)
    date_of_birth: dt.date = pa.Field(nullable=True)
    postcode: str = _text(postcode="yes")
    he_provider: str = _text()
    course: str = _text()
    permission_to_track: bool = pa.Field(nullable=True)
    heat_privacy_notice: bool = pa.Field(nullable=True)
    hesa_privacy_notice: bool = pa.Field(nullable=True)
    # For an HE student, the year they entered HE: it overrides the year worked out from the
    # date of birth, which is wrong for a mature student.
    expected_he_entry_year: int = pa.Field(nullable=True)

    @pa.check("ambassador_ref", name="duplicate-ref")
    def _ref_unique(cls, data: PolarsData) -> pl.LazyFrame:
        return _unique(data)

    @pa.check("expected_he_entry_year", name="implausible-year")
    def _entry_year_plausible(cls, data: PolarsData) -> pl.LazyFrame:
        latest = pl.col("_as_of").dt.year() + LATEST_ENTRY_YEAR_AHEAD
        return data.lazyframe.select(pl.col(data.key).is_between(EARLIEST_ENTRY_YEAR, latest))


class Activities(pa.DataFrameModel):
    """An activity upload: one delivered outreach activity per row."""

    activity_ref: str = pa.Field(nullable=False)
    name: str = _text(required=True)
    activity_type: str = _text(required=True)
    start_date: dt.date = pa.Field(nullable=False)
    end_date: dt.date = pa.Field(nullable=True)
    delivery_mode: str = _text()
    hours: float = pa.Field(nullable=True)
    stage: str = _text(codes="stage", error="invalid-stage")

    @pa.check("activity_ref", name="duplicate-ref")
    def _ref_unique(cls, data: PolarsData) -> pl.LazyFrame:
        return _unique(data)

    @pa.check("end_date", name="end-before-start")
    def _end_after_start(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key) >= pl.col("start_date"))

    @pa.check("hours", name="negative-hours")
    def _hours_not_negative(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key) >= 0)

    class Config:
        strict = False


class Attendance(pa.DataFrameModel):
    """An attendance register: a student attended an activity (on a date)."""

    student_ref: str = pa.Field(nullable=False)
    activity_ref: str = pa.Field(nullable=False)
    attended_on: dt.date = pa.Field(nullable=True)

    class Config:
        strict = False
        unique = ("student_ref", "activity_ref", "attended_on")


# -- track returns: heattool's own layouts, one row per person sent, keyed by heat_id ----------

ATTAINMENT8_MAX = 90
IDACI_DECILES = (1, 10)


def _year_not_after_as_of(data: PolarsData) -> pl.LazyFrame:
    """A year from EARLIEST_ENTRY_YEAR to the year of `_as_of`: an outcome has happened."""
    latest = pl.col("_as_of").dt.year()
    return data.lazyframe.select(pl.col(data.key).is_between(EARLIEST_ENTRY_YEAR, latest))


class _Return(pa.DataFrameModel):
    """What every track return has: the heat_id heattool sent, once per return."""

    heat_id: str = pa.Field(nullable=False, metadata={"heat_id": "canonical"})

    @_shared_check("heat_id", "duplicate-ref")
    def _heat_id_unique(cls, data: PolarsData) -> pl.LazyFrame:
        return _unique(data)

    class Config:
        strict = False


class Hesa(_Return):
    """A HESA track return: whether each person sent entered higher education, and how."""

    entered_he: bool = pa.Field(nullable=False)
    # An academic year may be written 2025/26: its first year is the entry year.
    he_entry_year: int = pa.Field(nullable=True, metadata={"error": "invalid-year"})
    he_provider: str = _text()
    he_level: str = _text(codes="he_level", error="invalid-code")
    tariff_group: str = _text(codes="tariff_group", error="invalid-code")
    continued: bool = pa.Field(nullable=True)  # empty while not yet known

    @pa.check("he_entry_year", name="invalid-year")
    def _entry_year_past(cls, data: PolarsData) -> pl.LazyFrame:
        return _year_not_after_as_of(data)


class Npd(_Return):
    """An NPD track return: a person's key stage results and context from DfE."""

    # The summer of the exams: a whole year, never an academic year (2024/25 would be ambiguous).
    exam_year: int = pa.Field(nullable=False, metadata={"number": "whole", "error": "invalid-year"})
    attainment8: float = pa.Field(nullable=True)
    english_maths_4: bool = pa.Field(nullable=True)  # grades 9-4 in both English and maths
    english_maths_5: bool = pa.Field(nullable=True)  # grades 9-5 in both
    level3: bool = pa.Field(nullable=True)
    fsm: bool = pa.Field(nullable=True)
    idaci_decile: int = pa.Field(
        nullable=True, metadata={"number": "whole", "error": "invalid-decile"}
    )

    @pa.check("exam_year", name="invalid-year")
    def _exam_year_past(cls, data: PolarsData) -> pl.LazyFrame:
        return _year_not_after_as_of(data)

    @pa.check("attainment8", name="invalid-score")
    def _attainment8_range(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key).is_between(0, ATTAINMENT8_MAX))

    @pa.check("idaci_decile", name="invalid-decile")
    def _idaci_decile_range(cls, data: PolarsData) -> pl.LazyFrame:
        return data.lazyframe.select(pl.col(data.key).is_between(*IDACI_DECILES))


# Every kind validate_table reads: the uploads (schemas.KINDS) and the returns (RETURN_KINDS).
MODELS: dict[str, type[pa.DataFrameModel]] = {
    "students": Students,
    "activities": Activities,
    "attendance": Attendance,
    "ambassadors": Ambassadors,
    "hesa": Hesa,
    "npd": Npd,
}
