"""Outcome reports: each person's engagement, and a target's outcome table, each one statement.

`engagement_sql` is who is who (issue 12, "Who is who"): per student, from the register, the
contact hours attended (the activity's hours for every register row, summed), the hours band,
engaged or not, the number of activities, the first and last activity year (the academic
year's start: 2024 for 2024/25), the type of activity they spent most hours at, and their
evaluation group. `outcome_cells` is a report's table: one statement that labels every person
with a return row of the target, groups them by one or two dimensions with every margin
(GROUP BY CUBE) and crosses the categories so that every cell is there, empty ones as 0.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import polars as pl

from heattool.rules.outcomes import (
    COMPARISON_ATTENDED,
    MEAN,
    MEASURES,
    NONE,
    STUDENT_FLAGS,
    UNKNOWN,
    OutcomeSettings,
)
from heattool.store.exports import sql_text
from heattool.store.outcomes import outcome_table
from heattool.store.store import Store

# HESA code lists (DOMAIN.md "Records"): sex; disability, any impairment or none.
SEX_LABELS = {"10": "female", "11": "male", "12": "other"}
DISABILITY_ANY = ("51", "52", "53", "54", "55", "56", "57", "58", "59", "96")
DISABILITY_NONE = ("95",)
# measure -> (numerator, denominator) per person, or the score of a mean (`p`: the person with
# their return row).
_RATE_PARTS = {
    "entered_he": ("p.entered_he", "true"),
    "continued": ("p.entered_he AND p.continued", "p.entered_he AND p.continued IS NOT NULL"),
    "high_tariff": (
        "p.entered_he AND p.tariff_group = 'high'",
        "p.entered_he AND p.tariff_group IS NOT NULL",
    ),
    "english_maths_4": ("p.english_maths_4", "p.english_maths_4 IS NOT NULL"),
    "english_maths_5": ("p.english_maths_5", "p.english_maths_5 IS NOT NULL"),
    "level3": ("p.level3", "p.level3 IS NOT NULL"),
}
_MEAN_SCORES = {"attainment8": "p.attainment8"}


def _in(values: Sequence[str]) -> str:
    return "(" + ", ".join(sql_text(v) for v in values) + ")"


def _academic_year(day: str) -> str:
    return f"(year({day}) - CASE WHEN month({day}) < 9 THEN 1 ELSE 0 END)"


def engagement_sql(settings: OutcomeSettings) -> str:
    """Each student (member, student_ref, heat_id) with their engagement: one row each.

    Reads `$member` (null: every member).
    """
    engaged_types = _in([t.lower() for t in settings.engaged_types])
    day = "coalesce(r.attended_on, t.start_date)"
    bands = settings.band_labels()
    band_cases = " ".join(
        f"WHEN e.contact_hours < {edge!r} THEN {sql_text(label)}"
        for edge, label in zip(settings.hours_bands, bands, strict=False)
    )
    return f"""
    WITH register AS (
        SELECT r.member, r.student_ref, r.activity_ref, t.activity_type,
               coalesce(t.hours, 0) AS hours, {_academic_year(day)} AS activity_year
        FROM attendance AS r
        JOIN activities AS t ON t.member = r.member AND t.activity_ref = r.activity_ref
        WHERE $member IS NULL OR r.member = $member
    ),
    by_type AS (
        SELECT member, student_ref, activity_type, sum(hours) AS hours
        FROM register GROUP BY member, student_ref, activity_type
    ),
    main_type AS (
        SELECT member, student_ref,
               first(activity_type ORDER BY hours DESC, activity_type) AS main_activity_type
        FROM by_type GROUP BY member, student_ref
    ),
    attended AS (
        SELECT member, student_ref,
               sum(hours) AS contact_hours,
               coalesce(sum(hours) FILTER (WHERE lower(activity_type) IN {engaged_types}), 0)
                   AS engaged_hours,
               count(DISTINCT activity_ref) AS activities,
               min(activity_year) AS first_activity_year,
               max(activity_year) AS last_activity_year
        FROM register GROUP BY member, student_ref
    ),
    e AS (
        SELECT s.member, s.student_ref, s.heat_id,
               coalesce(s.evaluation_group, 'participant') AS evaluation_group,
               a.student_ref IS NOT NULL AS attended,
               coalesce(a.contact_hours, 0) AS contact_hours,
               coalesce(a.engaged_hours, 0) AS engaged_hours,
               coalesce(a.activities, 0) AS activities,
               a.first_activity_year, a.last_activity_year, m.main_activity_type
        FROM students AS s
        LEFT JOIN attended AS a USING (member, student_ref)
        LEFT JOIN main_type AS m USING (member, student_ref)
        WHERE $member IS NULL OR s.member = $member
    )
    SELECT e.*,
           CASE WHEN NOT e.attended THEN {sql_text(NONE)} {band_cases}
                ELSE {sql_text(bands[-1])} END AS hours_band,
           e.engaged_hours >= {settings.engaged_hours!r} AS engaged,
           e.evaluation_group = 'comparison' AND e.attended AS comparison_attended
    FROM e
    """


def engagement(store: Store, settings: OutcomeSettings, member: str | None) -> pl.DataFrame:
    """Each student's engagement (engagement_sql), by member and ref."""
    sql = f"SELECT * EXCLUDE (heat_id) FROM ({engagement_sql(settings)}) ORDER BY ALL"
    return store.con.execute(sql, {"member": member}).pl()


def _yes_no(value: str) -> str:
    return f"CASE WHEN {value} THEN 'yes' WHEN NOT {value} THEN 'no' ELSE {sql_text(UNKNOWN)} END"


def _dimension(name: str, settings: OutcomeSettings) -> str:
    """A person's category of a dimension, never null (null is the margin): `p` is the person
    (engagement_sql's row, their students row and their return row)."""
    unknown = sql_text(UNKNOWN)
    if name == "group":
        return (
            "CASE WHEN p.evaluation_group = 'comparison' THEN 'comparison' "
            "WHEN p.attended THEN 'participant' ELSE 'no attendance' END"
        )
    if name == "activity_type":
        return f"coalesce(p.main_activity_type, {sql_text(NONE)})"
    if name == "hours_band":
        return "p.hours_band"
    if name == "engaged":
        return _yes_no("p.engaged")
    if name == "entry_year":
        return f"coalesce(p.expected_he_entry_year::VARCHAR, {unknown})"
    if name == "sex":
        cases = " ".join(f"WHEN {sql_text(c)} THEN {sql_text(v)}" for c, v in SEX_LABELS.items())
        return f"CASE p.sex {cases} ELSE {unknown} END"
    if name == "ethnicity_group":
        code = "TRY_CAST(p.ethnicity AS INTEGER)"
        cases = " ".join(
            f"WHEN {code} BETWEEN {low} AND {high} THEN {sql_text(group)}"
            for group, low, high in settings.ethnicity_groups
        )
        return f"CASE {cases} ELSE {unknown} END"
    if name == "disability":
        return (
            f"CASE WHEN p.disability IN {_in(DISABILITY_ANY)} THEN 'any' "
            f"WHEN p.disability IN {_in(DISABILITY_NONE)} THEN {sql_text(NONE)} "
            f"ELSE {unknown} END"
        )
    if name == "nation":
        return f"coalesce(p.school_nation, {unknown})"
    if name in STUDENT_FLAGS:
        return _yes_no(f"p.{name}")
    if name == "fsm":
        return _yes_no("p.fsm")
    raise ValueError(f"not a dimension: {name!r}")


def _people_sql(settings: OutcomeSettings, target: str) -> str:
    """The students with a return row of the target (of $member), with their engagement."""
    columns = ", ".join(
        f"s.{c}"
        for c in (
            "expected_he_entry_year",
            "sex",
            "ethnicity",
            "disability",
            "school_nation",
            *STUDENT_FLAGS,
        )
    )
    return f"""
        SELECT p.*, {columns}, o.* EXCLUDE (heat_id, member, kind)
        FROM ({engagement_sql(settings)}) AS p
        JOIN students AS s USING (member, student_ref)
        JOIN {outcome_table(target)} AS o ON o.heat_id = p.heat_id AND o.member = p.member
        WHERE o.kind = 'students'
    """


def outcome_cells(
    store: Store,
    settings: OutcomeSettings,
    target: str,
    measure: str,
    dimensions: Sequence[str],
    member: str | None,
) -> pl.DataFrame:
    """The table of one measure by one or two dimensions with its margins, in one statement.

    One row per cell: the dimensions (null: all), then `numerator` and `denominator`, or
    `sum`, `sum_sq` and `n` of a mean. The people are the students of $member with a return
    row of the target; a comparison person who attended (comparison-attended) is in no cell.
    Categories come in the settings' order, then A to Z.
    """
    kind = MEASURES[target][measure]
    if kind == MEAN:
        score = _MEAN_SCORES[measure]
        parts = f"{score} AS _score"
        sums = "sum(_score) AS sum, sum(_score * _score) AS sum_sq, count(_score)::BIGINT AS n"
        filled = "coalesce(c.sum, 0.0) AS sum, coalesce(c.sum_sq, 0.0) AS sum_sq, "
        filled += "coalesce(c.n, 0)::BIGINT AS n"
    else:
        numerator, denominator = _RATE_PARTS[measure]
        parts = (
            f"coalesce(({numerator}), false)::INTEGER AS _num, "
            f"coalesce(({denominator}), false)::INTEGER AS _den"
        )
        sums = "sum(_num)::BIGINT AS numerator, sum(_den)::BIGINT AS denominator"
        filled = "coalesce(c.numerator, 0)::BIGINT AS numerator, "
        filled += "coalesce(c.denominator, 0)::BIGINT AS denominator"
    dims = [f"d{i}" for i in range(len(dimensions))]
    labels = ", ".join(
        f"{_dimension(name, settings)} AS {d}" for name, d in zip(dimensions, dims, strict=True)
    )
    categories = " CROSS JOIN ".join(
        f"(SELECT DISTINCT {d} FROM rows UNION ALL SELECT NULL) AS f{i}" for i, d in enumerate(dims)
    )
    joined = " AND ".join(f"c.{d} IS NOT DISTINCT FROM f.{d}" for d in dims)
    order = ", ".join(
        f"f.{d} IS NULL, list_position({_list(settings.order(name))}, f.{d}) NULLS LAST, f.{d}"
        for name, d in zip(dimensions, dims, strict=True)
    )
    named = ", ".join(f'f.{d} AS "{name}"' for name, d in zip(dimensions, dims, strict=True))
    sql = f"""
    WITH rows AS (
        SELECT {labels}, {parts}
        FROM ({_people_sql(settings, target)}) AS p
        WHERE NOT p.comparison_attended
    ),
    cells AS (SELECT {", ".join(dims)}, {sums} FROM rows GROUP BY CUBE ({", ".join(dims)})),
    f AS (SELECT * FROM {categories})
    SELECT {named}, {filled}
    FROM f LEFT JOIN cells AS c ON {joined}
    ORDER BY {order}
    """
    return store.con.execute(sql, {"member": member}).pl()


def _list(values: Sequence[str]) -> str:
    return "[" + ", ".join(sql_text(v) for v in values) + "]::VARCHAR[]"


def report_people(
    store: Store, settings: OutcomeSettings, target: str, member: str | None
) -> dict[str, Any]:
    """Who a report covers: the students with a return row, those left out as
    comparison-attended, and the return batches their rows came from (id, file, sha256)."""
    people = _people_sql(settings, target)
    row = store.con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE comparison_attended) FROM ({people})",
        {"member": member},
    ).fetchone()
    assert row is not None
    batches = store.con.execute(
        f"""
        SELECT b.return_batch_id, b.file_name, b.sha256, b.imported_at, count(*) AS people
        FROM ({people}) AS p JOIN return_batches AS b USING (return_batch_id)
        WHERE NOT p.comparison_attended
        GROUP BY ALL ORDER BY b.return_batch_id
        """,
        {"member": member},
    ).fetchall()
    return {
        "people": int(row[0]) - int(row[1]),
        COMPARISON_ATTENDED: int(row[1]),
        "batches": [
            {
                "return_batch_id": b[0],
                "file": b[1],
                "sha256": b[2],
                "imported_at": b[3],
                "people": b[4],
            }
            for b in batches
        ],
    }
