"""Dates a policy names in words (1 September, the last working day of October) and periods.

Each is computed as a Polars expression from a year or a date column, never hard-coded per year.
A working day is Monday to Friday, less the policy's `holidays`.
"""

from __future__ import annotations

import calendar as _calendar
import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any, cast

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

    def first_day_beyond(self, date: pl.Expr) -> pl.Expr:
        """The first day on which `date` is more than this period ago: `within` it holds up to the
        day before, `older_than` it from this day on.

        That is the first day s with `before(s) > date`. `before` never decreases as s grows, so
        it is (date + 1 day) + period, or the day after that when the period ran into a shorter
        month (31 January + 1 month is 28 February, and 28 February - 1 month is 28 January).
        """
        if self.unit == "d":
            return date.dt.offset_by(f"{self.amount + 1}d")
        next_day = date.dt.offset_by("1d")
        later = self.after(next_day)
        return (
            pl.when(self.before(later) >= next_day).then(later).otherwise(later.dt.offset_by("1d"))
        )


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

        Looked up in a table of every year computed once per policy, so a frame of millions
        pays a gather per row rather than building a date.
        """
        days = _year_table(self, tuple(holidays))
        index = year.cast(pl.Int32) - FIRST_YEAR
        inside = (index >= 0) & (index < len(days))
        return pl.when(inside).then(pl.lit(days).gather(index.clip(0, len(days) - 1)))

    def _computed_in_year(self, year: pl.Expr, holidays: Sequence[dt.date]) -> pl.Expr:
        if isinstance(self.day, int):
            return pl.date(year, self.month, self.day)
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
        if isinstance(self.day, int):
            return dt.date(year, self.month, self.day)
        # One year: computed, not looked up, so that a year outside the table has its day too.
        return cast(dt.date, pl.select(self._computed_in_year(pl.lit(year), holidays)).item())


def map_days(dates: pl.Series, function: Callable[[pl.Expr], pl.Expr]) -> pl.Series:
    """`function` (of a Date expression) applied to each date, computed once per day.

    Millions of records hold a few thousand distinct days: the calendar arithmetic runs over the
    days from the earliest to the latest, and each record gathers its own (a null stays null).
    """
    days = dates.cast(pl.Date).cast(pl.Int32)
    bounds = int_bounds(days)
    if bounds is None:
        return pl.Series(dates.name, [None] * len(dates), pl.Date)
    first, last = bounds
    if last - first + 1 > len(dates):  # fewer records than days between them: per record
        return pl.select(function(pl.lit(dates.cast(pl.Date)))).to_series().alias(dates.name)
    span = pl.int_range(first, last + 1, dtype=pl.Int32, eager=True).cast(pl.Date)
    table = pl.select(function(pl.lit(span))).to_series()
    return table.gather(days - first).alias(dates.name)


def int_bounds(values: pl.Series) -> tuple[int, int] | None:
    """The least and greatest of an integer Series (days as Int32); None if it holds no value."""
    first, last = values.min(), values.max()
    if first is None or last is None:
        return None
    return cast(int, first), cast(int, last)  # Polars types min/max as any Python value


@cache
def _year_table(day: AnnualDate, holidays: tuple[dt.date, ...]) -> pl.Series:
    """The day in each year from FIRST_YEAR to LAST_YEAR."""
    years = pl.int_range(FIRST_YEAR, LAST_YEAR + 1, dtype=pl.Int32, eager=True)
    return pl.select(day._computed_in_year(pl.lit(years), holidays)).to_series()
