"""Track targets as policy data: who may be sent for linkage, with which fields, in which years.

A policy's `[track.<target>]` table (`[track.hesa]`, `[track.npd]`) names the record kinds a
target takes, the fields each record must have, the notices each kind must have been served,
the nations of schooling it covers (all, unless it names them: NPD is England's) and the window
of Expected HE Entry Years for a track year T. README.md ("Rules and retention
policies") documents the format; `heat.toml` holds HEAT's defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from heattool.errors import BadPolicy
from heattool.rules._toml import check_keys, describe
from heattool.rules.entry_year import default_entry_year_rules

TRACK_KINDS = ("students", "ambassadors")
# The fields a target may require, by the kinds that keep them, and the code of their absence.
REQUIRED_FIELDS = {
    "forename": (TRACK_KINDS, "missing-forename"),
    "surname": (TRACK_KINDS, "missing-surname"),
    "date_of_birth": (TRACK_KINDS, "missing-dob"),
    "postcode": (TRACK_KINDS, "missing-postcode"),
    "sex": (("students",), "missing-sex"),
}
NOTICE_FIELDS = {"ambassadors": ("heat_privacy_notice", "hesa_privacy_notice")}
# The reason of a record schooled in a nation the target does not cover (`nations`).
NOT_IN_NATION = "not-in-npd-nation"
# Exclusion reasons, in the order they are tried: a record is excluded for the first that holds.
# The missing-* codes of the required fields come in the policy's order at their place.
REASON_ORDER = (
    "withdrawn",
    "no-permission",
    "missing-*",
    "invalid-postcode",
    NOT_IN_NATION,
    "notice-not-served",
    "no-entry-year",
    "outside-window",
)
_YEAR_LOW, _YEAR_HIGH = 1900, 3000
_MAX_OFFSET = 30


@dataclass(frozen=True)
class Window:
    """The Expected HE Entry Years a track for year T takes.

    Either a range, `from_year` (a year) to T + `to_offset`, or a set of offsets: entry year
    T + offset for each offset (NPD: KS5 in summer T is entry year T, KS4 entry year T + 2).
    """

    from_year: int | None = None
    to_offset: int | None = None
    offsets: tuple[int, ...] = ()

    def years(self, year: int) -> tuple[int, int] | tuple[int, ...]:
        """The entry years for track year `year`: (first, last) of a range, or the set."""
        if self.offsets:
            return tuple(year + offset for offset in self.offsets)
        assert self.from_year is not None and self.to_offset is not None  # parse_tracks checks
        return (self.from_year, year + self.to_offset)

    def words(self, year: int) -> str:
        if self.offsets:
            return "entry year " + " or ".join(str(y) for y in self.years(year))
        first, last = self.years(year)
        return f"entry years {first} to {last}"


@dataclass(frozen=True)
class TrackTarget:
    """One `[track.<name>]` table, checked."""

    name: str
    kinds: tuple[str, ...]
    required: tuple[str, ...]
    notices: dict[str, tuple[str, ...]]
    window: Window
    description: str = ""
    nations: tuple[str, ...] = ()  # the nations of schooling it covers; none named: all

    def missing_code(self, field: str) -> str:
        return REQUIRED_FIELDS[field][1]

    def reason_codes(self) -> list[str]:
        """Every exclusion reason this target can give, in the order they are tried."""
        codes: list[str] = []
        for code in REASON_ORDER:
            if code == "missing-*":
                codes.extend(self.missing_code(f) for f in self.required)
            elif code != "notice-not-served" or self.notices:
                codes.append(code)
        return [code for code in codes if code != NOT_IN_NATION or self.nations]


def parse_tracks(source: str, table: Any, earliest: int | None) -> dict[str, TrackTarget]:
    """The `[track]` table, one target per sub-table; BadPolicy names file, target, reason."""
    if not isinstance(table, dict):
        raise BadPolicy(f"{source}: [track] must be a table of targets such as [track.hesa]")
    return {name: _parse_target(source, name, entry, earliest) for name, entry in table.items()}


def _parse_target(source: str, name: str, entry: Any, earliest: int | None) -> TrackTarget:
    where = f"{source}: [track.{name}]"
    check_keys(where, entry, ["kinds", "required", "window"], ["notices", "description", "nations"])
    kinds = entry["kinds"]
    kinds = [kinds] if isinstance(kinds, str) else kinds
    if not isinstance(kinds, list) or not kinds or not all(k in TRACK_KINDS for k in kinds):
        raise BadPolicy(f"{where}: kinds must list some of {', '.join(TRACK_KINDS)}")
    required = entry["required"]
    if not isinstance(required, list) or not all(isinstance(f, str) for f in required):
        raise BadPolicy(f"{where}: required must be a list of field names")
    for field in required:
        if field not in REQUIRED_FIELDS:
            raise BadPolicy(
                f"{where}: required field '{field}' is not one of {', '.join(REQUIRED_FIELDS)}"
            )
        lacking = [k for k in kinds if k not in REQUIRED_FIELDS[field][0]]
        if lacking:
            raise BadPolicy(f"{where}: required field '{field}' is not kept for {lacking[0]}")
    if len(set(required)) != len(required):
        raise BadPolicy(f"{where}: required lists a field twice")
    notices = entry.get("notices", {})
    if not isinstance(notices, dict):
        raise BadPolicy(f"{where}: notices must be a table such as {{ ambassadors = [...] }}")
    for kind, fields in notices.items():
        allowed = NOTICE_FIELDS.get(kind, ())
        if kind not in kinds or not allowed:
            raise BadPolicy(f"{where}: notices for '{kind}', which this target does not take")
        if not isinstance(fields, list) or not fields or not all(f in allowed for f in fields):
            raise BadPolicy(f"{where}: notices.{kind} must list some of {', '.join(allowed)}")
    description = entry.get("description", "")
    if not isinstance(description, str):
        raise BadPolicy(f"{where}: description must be text")
    window = _parse_window(f"{where} window", entry["window"], earliest)
    return TrackTarget(
        name,
        tuple(kinds),
        tuple(required),
        {kind: tuple(fields) for kind, fields in notices.items()},
        window,
        description,
        nations=_parse_nations(where, entry.get("nations")),
    )


def _parse_nations(where: str, nations: Any) -> tuple[str, ...]:
    """The nations of schooling a target covers, by the entry-year rules' names; () is all."""
    if nations is None:
        return ()
    known = [n.nation for n in default_entry_year_rules().nations]
    if not isinstance(nations, list) or not nations:
        raise BadPolicy(f"{where}: nations must list some of {', '.join(known)}")
    for nation in nations:
        if nation not in known:
            raise BadPolicy(f"{where}: nation {describe(nation)} is not one of {', '.join(known)}")
    if len(set(nations)) != len(nations):
        raise BadPolicy(f"{where}: nations lists a nation twice")
    return tuple(nations)


def _whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_window(where: str, table: Any, earliest: int | None) -> Window:
    check_keys(where, table, [], ["from_year", "to_offset", "offsets"])
    if "offsets" in table:
        if set(table) != {"offsets"}:
            raise BadPolicy(f"{where}: give either offsets or from_year and to_offset, not both")
        offsets = table["offsets"]
        if (
            not isinstance(offsets, list)
            or not offsets
            or not all(_whole(o) and abs(o) <= _MAX_OFFSET for o in offsets)
        ):
            raise BadPolicy(f"{where}: offsets must be a list of whole numbers such as [0, 2]")
        return Window(offsets=tuple(sorted(set(offsets))))
    from_year = table.get("from_year", earliest)
    if from_year is None:
        raise BadPolicy(
            f"{where}: give from_year, or earliest_track_year in [settings], or offsets"
        )
    if not _whole(from_year) or not _YEAR_LOW < from_year < _YEAR_HIGH:
        raise BadPolicy(f"{where}: from_year {describe(from_year)} is not a year")
    to_offset = table.get("to_offset", 0)
    if not _whole(to_offset) or abs(to_offset) > _MAX_OFFSET:
        raise BadPolicy(f"{where}: to_offset {describe(to_offset)} is not a whole number of years")
    return Window(from_year=from_year, to_offset=to_offset)
