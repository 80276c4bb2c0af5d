"""Dates a policy names in words (1 September, the last working day of October) and periods.

Each is computed as a Polars expression from a year or a date column, never hard-coded per year.
A working day is Monday to Friday, less the policy's `holidays`.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import polars as pl

from heattool.errors import BadPolicy
from heattool.rules._toml import check_keys, describe

LAST_DAY = "last-day"
LAST_WORKING_DAY = "last-working-day"
_PERIOD = re.compile(r"^(\d{1,4})([ymd])$")
_UNIT_WORDS = {"y": ("year", "years"), "m": ("month", "months"), "d": ("day", "days")}
_POLARS_UNIT = {"y": "y", "m": "mo", "d": "d"}  # Polars' "m" is minutes
FIRST_YEAR, LAST_YEAR = 1800, 2599  # the years a last (working) day is tabulated for


@dataclass(frozen=True)
class Period:
    """A whole number of years, months or days, written `15y`, `14m` or `30d`."""

    amount: int
    unit: str

    @classmethod
    def parse(cls, where: str, value: Any) -> Period:
        match = _PERIOD.match(value.strip().lower()) if isinstance(value, str) else None
        if match is None:
            shown = f"'{value}'" if isinstance(value, str) else describe(value)
            raise BadPolicy(f"{where}: period {shown} is not like 15y, 14m or 30d")
        return cls(int(match[1]), match[2])

    def __str__(self) -> str:
        return f"{self.amount}{self.unit}"

    def words(self) -> str:
        one, many = _UNIT_WORDS[self.unit]
        return f"{self.amount} {one if self.amount == 1 else many}"

    def after(self, date: pl.Expr) -> pl.Expr:
        """The date this period after `date`; 29 February plus a year is 28 February."""
        return date.dt.offset_by(f"{self.amount}{_POLARS_UNIT[self.unit]}")

    def before(self, date: pl.Expr) -> pl.Expr:
        return date.dt.offset_by(f"-{self.amount}{_POLARS_UNIT[self.unit]}")


@dataclass(frozen=True)
class AnnualDate:
    """A day that comes once a year: `{ month = 9, day = 1 }`, `day = "last-working-day"`."""

    month: int
    day: int | str

    @classmethod
    def parse(cls, where: str, value: Any) -> AnnualDate:
        table = check_keys(where, value, ["month", "day"])
        month, day = table["month"], table["day"]
        if isinstance(month, bool) or not isinstance(month, int) or not 1 <= month <= 12:
            raise BadPolicy(f"{where}: month {describe(month)} is not a number from 1 to 12")
        if isinstance(day, str):
            if day not in (LAST_DAY, LAST_WORKING_DAY):
                raise BadPolicy(
                    f"{where}: day '{day}' is not a number, '{LAST_DAY}' or '{LAST_WORKING_DAY}'"
                )
        elif isinstance(day, bool) or not isinstance(day, int):
            raise BadPolicy(f"{where}: day {describe(day)} is not a number")
        else:
            longest = _calendar.monthrange(2001, month)[1]  # a common year: 29 Feb is not yearly
            if not 1 <= day <= longest:
                raise BadPolicy(
                    f"{where}: day {day} is not in {_calendar.month_name[month]}"
                    + ("; write day = 'last-day'" if month == 2 and day == 29 else "")
                )
        return cls(month, day)

    def words(self) -> str:
        month = _calendar.month_name[self.month]
        if self.day == LAST_DAY:
            return f"the last day of {month}"
        if self.day == LAST_WORKING_DAY:
            return f"the last working day of {month}"
        return f"{self.day} {month}"

    def in_year(self, year: pl.Expr, holidays: Sequence[dt.date] = ()) -> pl.Expr:
        """This day in each `year` (an integer expression); null outside 1800-2599.

        A fixed day is built directly; a last (working) day is looked up in a table computed
        once per policy for every year, so a frame of millions pays a hash lookup per row.
        """
        if isinstance(self.day, int):
            return pl.date(year, self.month, self.day)
        years, days = _year_table(self, tuple(holidays))
        return year.cast(pl.Int32).replace_strict(years, days, default=None, return_dtype=pl.Date)

    def _computed_in_year(self, year: pl.Expr, holidays: Sequence[dt.date]) -> pl.Expr:
        month_end = pl.date(year, self.month, 1).dt.month_end()
        if self.day == LAST_DAY:
            return month_end
        return month_end.dt.add_business_days(0, roll="backward", holidays=list(holidays))

    def on_or_after(self, date: pl.Expr, holidays: Sequence[dt.date] = ()) -> pl.Expr:
        """The first occurrence of this day on or after each `date`."""
        year = date.dt.year()
        if isinstance(self.day, int):  # compare (month, day) as numbers: one date built per row
            month, day = date.dt.month(), date.dt.day()
            later = (month > self.month) | ((month == self.month) & (day > self.day))
            return pl.date(year + later.cast(pl.Int32), self.month, self.day)
        this_year = self.in_year(year, holidays)
        next_year = self.in_year(year + 1, holidays)
        return pl.when(this_year >= date).then(this_year).otherwise(next_year)

    def for_year(self, year: int, holidays: Sequence[dt.date] = ()) -> dt.date:
        """This day in one year, e.g. the track-data deadline for 2026."""
        return pl.select(self.in_year(pl.lit(year), holidays)).item()


@cache
def _year_table(day: AnnualDate, holidays: tuple[dt.date, ...]) -> tuple[pl.Series, pl.Series]:
    years = pl.int_range(FIRST_YEAR, LAST_YEAR + 1, dtype=pl.Int32, eager=True)
    days = pl.select(day._computed_in_year(pl.lit(years), holidays)).to_series()
    return years, days
