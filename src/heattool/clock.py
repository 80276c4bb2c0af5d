"""The one clock: naive UTC timestamps, as the store keeps them, and their text form."""

from __future__ import annotations

import datetime as dt


def utc_now() -> dt.datetime:
    """Now in UTC, without a time zone (DuckDB's TIMESTAMP)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


def utc_text(moment: dt.datetime) -> str:
    """A UTC timestamp as documents show it: `2026-11-24T09:30:00Z`."""
    return moment.isoformat(timespec="seconds") + "Z"


def file_stamp(moment: dt.datetime) -> str:
    """A UTC timestamp for a file name: `20261124T093000`."""
    return f"{moment:%Y%m%dT%H%M%S}"
