"""Track requests in SQL: eligibility as one statement, the candidates, batches and changes.

Every person of the target's kinds (of one member, with a member) gets the first exclusion
reason that holds, or none. The policy's `[track.<target>]` table gives the kinds, required
fields, notices and window (rules/track.py, which also fixes the order reasons are tried in).
The counts, the request file (written by DuckDB itself), the excluded list and the batch of
heat_ids recorded in the store all come from that one statement.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import polars as pl

from heattool import __version__
from heattool.rules.track import NOT_IN_NATION, TrackTarget
from heattool.schemas.postcode import valid_postcode_pattern
from heattool.store.exports import sql_text, write_query
from heattool.store.people import SCHOOL_NATION, people_sql
from heattool.store.store import Store

CANDIDATES = "track_candidates"  # one request's people by heat_id, with their reasons
# The request file: one row per person. heat_id, never the member's ref, identifies them.
FILE_COLUMNS = (
    "heat_id",
    "kind",
    "member",
    "forename",
    "surname",
    "date_of_birth",
    "postcode",
    "sex",
    "expected_he_entry_year",
)
# The excluded list: refs to find the record by, never names.
EXCLUDED_COLUMNS = (
    "member",
    "kind",
    "ref",
    "heat_id",
    "expected_he_entry_year",
    "reason",
    "all_reasons",
)
_PERSON_COLUMNS = (
    "ref",
    "member",
    "heat_id",
    "forename",
    "surname",
    "date_of_birth",
    "postcode",
    "sex",
    "expected_he_entry_year",
    "permission_to_track",
    "withdrawn_on",
    "heat_privacy_notice",
    "hesa_privacy_notice",
    SCHOOL_NATION,
)


def _present(column: str) -> str:
    if column == "date_of_birth":
        return f"{column} IS NOT NULL"
    return f"nullif(trim({column}), '') IS NOT NULL"


def reason_tests(target: TrackTarget, year: int) -> list[tuple[str, str]]:
    """(code, SQL condition) for every exclusion reason, in the order they are tried."""
    tests = [
        ("withdrawn", "withdrawn_on IS NOT NULL"),
        ("no-permission", "permission_to_track IS NOT TRUE"),
    ]
    tests += [(target.missing_code(f), f"NOT ({_present(f)})") for f in target.required]
    # A postcode that can exist (a real area, district and letters), as validation checks it: a
    # store filled before that check may hold others. 0.3 s a million against 0.16 s for the
    # format alone (DuckDB's RE2, 2 cores).
    pattern = valid_postcode_pattern().replace("'", "''")
    tests.append(
        (
            "invalid-postcode",
            f"{_present('postcode')} AND NOT regexp_matches(postcode, '{pattern}')",
        )
    )
    if target.nations:
        # school_nation is the importer's (migration 0007's for older rows), from the one
        # entry-year rule; unknown is never taken for a covered nation.
        covered = ", ".join(sql_text(n) for n in target.nations)
        tests.append(
            (NOT_IN_NATION, f"{SCHOOL_NATION} IS NULL OR {SCHOOL_NATION} NOT IN ({covered})")
        )
    if target.notices:
        unserved = " OR ".join(
            f"(kind = '{kind}' AND NOT ({' AND '.join(f'coalesce({n}, false)' for n in notices)}))"
            for kind, notices in target.notices.items()
        )
        tests.append(("notice-not-served", unserved))
    tests.append(("no-entry-year", "expected_he_entry_year IS NULL"))
    window = target.window
    years = window.years(year)
    inside = (
        f"expected_he_entry_year IN ({', '.join(str(int(y)) for y in years)})"
        if window.offsets
        else f"expected_he_entry_year BETWEEN {int(years[0])} AND {int(years[1])}"
    )
    tests.append(("outside-window", f"NOT ({inside})"))
    assert [code for code, _ in tests] == target.reason_codes()
    return tests


def eligibility_sql(target: TrackTarget, year: int, member: str | None) -> str:
    """One statement: each person with `reason`, the first exclusion that holds (NULL: eligible),
    and `all_reasons`. With a member it takes the parameter $member."""
    tests = reason_tests(target, year)
    first = " ".join(f"WHEN {test} THEN '{code}'" for code, test in tests)
    # Every reason that holds, '; '-separated, so an officer fixes a record in one pass.
    every = ", ".join(f"CASE WHEN {test} THEN '{code}' END" for code, test in tests)
    people = people_sql(
        _PERSON_COLUMNS,
        kinds=target.kinds,
        where="member = $member" if member is not None else "",
    )
    return (
        f"SELECT *, CASE {first} END AS reason, concat_ws('; ', {every}) AS all_reasons "
        f"FROM ({people})"
    )


def _params(member: str | None) -> dict[str, Any]:
    return {"member": member} if member is not None else {}


class Request:
    """One request's candidates (a temp table) while it is built; `with Request(...)`."""

    def __init__(self, store: Store, target: TrackTarget, year: int, member: str | None):
        self.store = store
        self.member = member
        self.query = eligibility_sql(target, year, member)
        self.params = _params(member)

    def __enter__(self) -> Request:
        con = self.store.con
        # Row order in the file is not promised; letting DuckDB write in any order doubles its
        # speed.
        con.execute("SET preserve_insertion_order = false")
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {CANDIDATES} AS "
            f"SELECT kind, member, heat_id, reason FROM ({self.query})",
            self.params,
        )
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.store.con.execute(f"DROP TABLE IF EXISTS {CANDIDATES}")
        self.store.con.execute("RESET preserve_insertion_order")

    def counts(self) -> list[tuple[str, str, str | None, int]]:
        """(member, kind, reason, records) for every combination present."""
        rows = self.store.con.execute(
            f"SELECT member, kind, reason, count(*) FROM {CANDIDATES} GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        return [(m, k, r, int(n)) for m, k, r, n in rows]

    def previous_batch(self, target: str, year: int) -> tuple[int, dt.datetime] | None:
        """The last batch of this target and year that covered this request's people."""
        scope = "member IS NULL" if self.member is None else "(member IS NULL OR member = $member)"
        row = self.store.con.execute(
            "SELECT track_batch_id, created_at FROM track_batches "
            f"WHERE target = $target AND year = $year AND {scope} "
            "ORDER BY track_batch_id DESC LIMIT 1",
            {"target": target, "year": year, **self.params},
        ).fetchone()
        return (int(row[0]), row[1]) if row else None

    def changes(self, batch_id: int) -> tuple[int, dict[str, int]]:
        """Heat_ids added since batch_id, and those removed by the reason they now have."""
        member_filter = "" if self.member is None else "AND member = $member"
        params = {"batch": batch_id, **self.params}
        before = (
            f"SELECT heat_id FROM track_batch_records WHERE track_batch_id = $batch {member_filter}"
        )
        now = f"SELECT heat_id FROM {CANDIDATES} WHERE reason IS NULL"
        added = self.store.scalar(
            f"SELECT count(*) FROM ({now}) AS n ANTI JOIN ({before}) AS b USING (heat_id)",
            params,
        )
        removed = self.store.con.execute(
            f"SELECT coalesce(c.reason, 'no-longer-in-store') AS why, count(*) "
            f"FROM ({before}) AS b ANTI JOIN ({now}) AS n USING (heat_id) "
            f"LEFT JOIN {CANDIDATES} AS c USING (heat_id) GROUP BY ALL ORDER BY ALL",
            params,
        ).fetchall()
        return int(added), {why: int(n) for why, n in removed}

    def excluded(self) -> pl.DataFrame:
        """The excluded records: refs and reasons, never names."""
        return (
            self.store.con.execute(
                f"SELECT member, kind, ref, heat_id::VARCHAR AS heat_id, expected_he_entry_year, "
                f"reason, all_reasons FROM ({self.query}) WHERE reason IS NOT NULL "
                "ORDER BY member, kind, ref",
                self.params,
            )
            .pl()
            .select(EXCLUDED_COLUMNS)
        )

    def write(self, out: Path, file_format: str, batch_id: int) -> str:
        """Write the request file from the store and record its heat_ids under batch_id (in the
        caller's transaction) while the file is hashed; returns its sha256."""
        columns = ", ".join(
            "heat_id::VARCHAR AS heat_id" if c == "heat_id" else c for c in FILE_COLUMNS
        )
        rows = f"SELECT {columns} FROM ({self.query}) WHERE reason IS NULL"

        def record_heat_ids() -> None:
            self.store.con.execute(
                f"INSERT INTO track_batch_records SELECT $batch, member, kind, heat_id "
                f"FROM {CANDIDATES} WHERE reason IS NULL",
                {"batch": batch_id},
            )

        return write_query(self.store.con, rows, out, file_format, self.params, record_heat_ids)


def record_track_batch(store: Store, values: list[Any]) -> None:
    """One row of track_batches: id, target, year, member, file, sha256, policy, records, time."""
    store.con.execute(
        "INSERT INTO track_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", [*values, __version__]
    )


def trackable_counts(
    store: Store, target: TrackTarget, year: int, member: str | None
) -> tuple[int, int]:
    """How many people a request for `year` would send, and how many it would leave out."""
    sql = eligibility_sql(target, year, member)
    row = store.con.execute(
        f"SELECT count(*) FILTER (WHERE reason IS NULL), "
        f"count(*) FILTER (WHERE reason IS NOT NULL) FROM ({sql})",
        _params(member),
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def trackable(
    store: Store, tracks: dict[str, TrackTarget], year: int, member: str | None = None
) -> dict[str, dict[str, Any]]:
    """For each track target: how many people a request for `year` would send and leave out."""
    counts = {}
    for name, target in sorted(tracks.items()):
        eligible, excluded = trackable_counts(store, target, year, member)
        counts[name] = {
            "year": year,
            "window": target.window.words(year),
            "eligible": eligible,
            "excluded": excluded,
        }
    return counts
