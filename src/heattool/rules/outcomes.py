"""Outcome reports as policy data: hours bands, who is engaged, ethnicity groups; and the names.

A policy's optional `[outcomes]` table (README.md "Outcome reports"; `heat.toml` holds the
defaults, used too when a policy has no such table):

    hours_bands       the edges of the contact-hours bands, rising: [3, 8] gives "<3", "3–8"
                      and "≥8" (a band holds its lower edge: 3 hours is "3–8")
    engaged           { hours = 5, activity_types = [...] }: engaged is at least `hours` of
                      attendance at activities whose type is one of `activity_types` (any case)
    ethnicity_groups  { Asian = [100, 119], ... }: each group's range of HESA 3-digit codes;
                      any other code, or none, is "unknown"

Which measures each target has, and the dimensions a report can be broken down by, are named
here too: what they mean in SQL is store/outcome_reports.py's.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise
from typing import Any

from heattool.errors import BadPolicy
from heattool.rules._toml import check_keys, describe

RATE, MEAN = "rate", "mean"  # the kinds of measure, as rules/disclosure.py names its tables
# target -> measure -> kind
MEASURES: dict[str, dict[str, str]] = {
    "hesa": {"entered_he": RATE, "continued": RATE, "high_tariff": RATE},
    "npd": {
        "english_maths_4": RATE,
        "english_maths_5": RATE,
        "level3": RATE,
        "attainment8": MEAN,
    },
}
# Who each measure's denominator counts, of the students with a return row of the target.
DENOMINATORS = {
    "entered_he": "students with a HESA return row",
    "continued": "entrants (entered_he yes) whose continuation is known",
    "high_tariff": "entrants whose provider's tariff group is known",
    "english_maths_4": "students with an NPD return row giving english_maths_4",
    "english_maths_5": "students with an NPD return row giving english_maths_5",
    "level3": "students with an NPD return row giving level3",
    "attainment8": "students with an NPD return row giving an attainment8 score",
}
# The students' yes/no contextual flags (the upload's), and the NPD return's own.
STUDENT_FLAGS = (
    "care_leaver",
    "young_carer",
    "first_generation_he",
    "estranged",
    "refugee_asylum_seeker",
    "service_children",
)
RETURN_FLAGS = {"npd": ("fsm",)}
DIMENSIONS = (
    "group",
    "activity_type",
    "hours_band",
    "engaged",
    "entry_year",
    "sex",
    "ethnicity_group",
    "disability",
    "nation",
    *STUDENT_FLAGS,
)
UNKNOWN = "unknown"  # the label of a person whose value is not known (null is the total)
NONE = "none"  # the hours band and activity type of someone with no attendance
GROUPS = ("participant", "comparison", "no attendance")
COMPARISON_ATTENDED = "comparison-attended"  # the finding of a comparison person who attended


def dimensions(target: str) -> tuple[str, ...]:
    """The dimensions a report of this target can be broken down by."""
    return (*DIMENSIONS, *RETURN_FLAGS.get(target, ()))


@dataclass(frozen=True)
class OutcomeSettings:
    """A policy's `[outcomes]` table, checked (the defaults are heat.toml's)."""

    hours_bands: tuple[float, ...] = (3.0, 8.0)
    engaged_hours: float = 5.0
    engaged_types: tuple[str, ...] = (
        "Mentoring",
        "Tutoring",
        "Summer school",
        "Skills and attainment",
    )
    ethnicity_groups: tuple[tuple[str, int, int], ...] = (
        ("Asian", 100, 119),
        ("Black", 120, 139),
        ("Mixed", 140, 159),
        ("White", 160, 178),
        ("Other", 179, 180),
    )

    def band_labels(self) -> tuple[str, ...]:
        """Each band's label, lowest first: "<3", "3–8", "≥8"."""
        edges = [_number_text(edge) for edge in self.hours_bands]
        middle = [f"{low}–{high}" for low, high in pairwise(edges)]
        return (f"<{edges[0]}", *middle, f"≥{edges[-1]}")

    def order(self, dimension: str) -> tuple[str, ...]:
        """The categories of a dimension in the order a table shows them (others after, A-Z)."""
        if dimension == "group":
            return GROUPS
        if dimension == "hours_band":
            return (NONE, *self.band_labels())
        if dimension == "engaged" or dimension in STUDENT_FLAGS or dimension == "fsm":
            return ("yes", "no", UNKNOWN)
        if dimension == "ethnicity_group":
            return (*(name for name, _, _ in self.ethnicity_groups), UNKNOWN)
        if dimension == "disability":
            return ("any", NONE, UNKNOWN)
        if dimension == "sex":
            return ("female", "male", "other", UNKNOWN)
        return ()


def _number_text(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parse_outcomes(source: str, table: Any) -> OutcomeSettings:
    """The `[outcomes]` table, checked; BadPolicy names the file and the key."""
    where = f"{source}: [outcomes]"
    check_keys(where, table, [], ["hours_bands", "engaged", "ethnicity_groups"])
    default = OutcomeSettings()
    bands = table.get("hours_bands", list(default.hours_bands))
    if (
        not isinstance(bands, list)
        or not bands
        or not all(_is_number(b) and b > 0 for b in bands)
        or any(a >= b for a, b in pairwise(bands))
    ):
        raise BadPolicy(
            f"{where} hours_bands: {describe(bands)} is not a list of rising numbers of hours "
            "above 0, such as [3, 8]"
        )
    engaged = check_keys(
        f"{where} engaged", table.get("engaged", {}), [], ["hours", "activity_types"]
    )
    hours = engaged.get("hours", default.engaged_hours)
    if not _is_number(hours) or hours < 0:
        raise BadPolicy(f"{where} engaged hours: {describe(hours)} is not a number of hours")
    types = engaged.get("activity_types", list(default.engaged_types))
    if not isinstance(types, list) or not all(isinstance(t, str) and t.strip() for t in types):
        raise BadPolicy(f"{where} engaged activity_types: must be a list of activity types")
    groups_table = table.get("ethnicity_groups")
    groups = default.ethnicity_groups
    if groups_table is not None:
        groups = _parse_groups(f"{where} ethnicity_groups", groups_table)
    return OutcomeSettings(tuple(float(b) for b in bands), float(hours), tuple(types), groups)


def _parse_groups(where: str, table: Any) -> tuple[tuple[str, int, int], ...]:
    if not isinstance(table, dict) or not table:
        raise BadPolicy(f"{where}: must be a table of group = [first code, last code]")
    groups: list[tuple[str, int, int]] = []
    for name, codes in table.items():
        if (
            not isinstance(codes, list)
            or len(codes) != 2
            or not all(isinstance(c, int) and not isinstance(c, bool) for c in codes)
            or not 100 <= codes[0] <= codes[1] <= 999
        ):
            raise BadPolicy(
                f"{where} {name}: {describe(codes)} is not [first code, last code] of HESA "
                "3-digit ethnicity codes, such as [100, 119]"
            )
        if name == UNKNOWN:
            raise BadPolicy(f"{where}: '{UNKNOWN}' is the label of codes in no group")
        for other, low, high in groups:
            if codes[0] <= high and low <= codes[1]:
                raise BadPolicy(f"{where} {name}: its codes overlap those of {other}")
        groups.append((name, codes[0], codes[1]))
    return tuple(groups)
