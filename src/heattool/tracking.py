"""Track requests: who may be sent for linkage, the request file, its manifest and its batch.

Eligibility is one SQL statement over the store: every person of the target's kinds (of one
member, with --member) with the first exclusion reason that holds, or none. The policy's
`[track.<target>]` table gives the kinds, required fields, notices and window (rules/track.py,
which also fixes the order reasons are tried in). The counts, the request file (written by DuckDB
itself), the excluded list and the batch of heat_ids recorded in the store all come from that
one statement.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console

from heattool import __version__
from heattool.errors import BadPolicy, HeattoolError, StoreError
from heattool.io.writers import write_csv, write_json, write_query
from heattool.rules.policy import Policy
from heattool.rules.track import TRACK_KINDS, TrackTarget
from heattool.schemas.postcode import POSTCODE_PATTERN
from heattool.store import MEMORY, Store, resolve_db_path
from heattool.store.store import utc_now

FILE_FORMATS = ("csv", "parquet")
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
# Each kind's columns under the names the request uses; a column a kind lacks is NULL.
_KIND_SOURCES = {
    "students": (
        "students",
        "student_ref",
        {"heat_privacy_notice": "NULL::BOOLEAN", "hesa_privacy_notice": "NULL::BOOLEAN"},
    ),
    "ambassadors": ("ambassadors", "ambassador_ref", {"sex": "NULL::VARCHAR"}),
}
_PERSON_COLUMNS = (
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
)


def manifest_path(out: Path) -> Path:
    return Path(f"{out}.manifest.json")


# --- eligibility: one statement ---------------------------------------------------------------


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
    pattern = POSTCODE_PATTERN.replace("'", "''")
    tests.append(
        (
            "invalid-postcode",
            f"{_present('postcode')} AND NOT regexp_matches(postcode, '{pattern}')",
        )
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


def people_sql(target: TrackTarget, member: str | None) -> str:
    """Every person of the target's kinds (only `member`'s when given), under common names."""
    parts = []
    for kind in target.kinds:
        table, ref, absent = _KIND_SOURCES[kind]
        columns = ", ".join(f"{absent.get(c, c)} AS {c}" for c in _PERSON_COLUMNS)
        where = "WHERE member = $member" if member is not None else ""
        parts.append(f"SELECT '{kind}' AS kind, {ref} AS ref, {columns} FROM {table} {where}")
    return "\nUNION ALL\n".join(parts)


def eligibility_sql(target: TrackTarget, year: int, member: str | None) -> str:
    """One statement: each person with `reason`, the first exclusion that holds (NULL: eligible).

    With a member it takes the parameter $member.
    """
    first = " ".join(f"WHEN {test} THEN '{code}'" for code, test in reason_tests(target, year))
    all_reasons = all_reasons_sql(target, year)
    return (
        f"SELECT *, CASE {first} END AS reason, {all_reasons} AS all_reasons "
        f"FROM ({people_sql(target, member)})"
    )


def all_reasons_sql(target: TrackTarget, year: int) -> str:
    """Every reason that holds, '; '-separated, so an officer fixes a record in one pass."""
    parts = ", ".join(
        f"CASE WHEN {test} THEN '{code}' END" for code, test in reason_tests(target, year)
    )
    return f"concat_ws('; ', {parts})"


# --- the request ------------------------------------------------------------------------------


@dataclass
class TrackResult:
    """What a track request sent (or, in a dry run, would send) and what it left out."""

    target: str
    year: int
    member: str | None
    db: str
    window: str
    policy_name: str
    policy_sha256: str
    dry_run: bool
    records: int
    counts: dict[str, dict[str, int]]  # member -> kind -> records sent
    excluded: dict[str, int]  # reason -> records, every reason the target can give
    created_at: dt.datetime
    out: Path | None = None
    file_format: str = "csv"
    file_sha256: str | None = None
    batch_id: int | None = None
    previous: dict[str, Any] | None = None  # the last request for this target and year
    excluded_out: Path | None = None
    reason_order: list[str] = field(default_factory=list)

    @property
    def excluded_total(self) -> int:
        return sum(self.excluded.values())

    def manifest(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "target": self.target,
            "year": self.year,
            "member": self.member,
            "window": self.window,
            "file": self.out.name if self.out else None,
            "format": self.file_format,
            "sha256": self.file_sha256,
            "records": self.records,
            "created_at": self.created_at.isoformat(timespec="seconds") + "Z",
            "policy": {"name": self.policy_name, "sha256": self.policy_sha256},
            "tool_version": __version__,
            "counts": self.counts,
            "excluded": self.excluded,
            "excluded_total": self.excluded_total,
            "changes": self.previous,
        }


def track_request(
    store: Store,
    policy: Policy,
    target: str,
    year: int,
    *,
    member: str | None = None,
    out: Path | None = None,
    file_format: str = "csv",
    dry_run: bool = False,
    excluded_out: Path | None = None,
) -> TrackResult:
    """Build a track request from the store: file, manifest, batch and audit event.

    A dry run writes no request file, manifest or batch (the excluded list, if asked for, is
    still written: it is how an officer fixes the data before the deadline).
    """
    from heattool.retention_store import policy_sha256

    chosen = track_target(policy, target)
    if file_format not in FILE_FORMATS:
        raise HeattoolError(f"--format must be one of {', '.join(FILE_FORMATS)}")
    if out is None and not dry_run:
        raise HeattoolError("give --out FILE for the request (or --dry-run to see the counts)")
    _check_year(chosen, year)
    _check_member(store, member)
    query = eligibility_sql(chosen, year, member)
    params = {"member": member} if member is not None else {}
    # Row order in the file is not promised; letting DuckDB write in any order doubles its speed.
    store.con.execute("SET preserve_insertion_order = false")
    try:
        store.con.execute(
            f"CREATE OR REPLACE TEMP TABLE {CANDIDATES} AS "
            f"SELECT kind, member, heat_id, reason FROM ({query})",
            params,
        )
        result = TrackResult(
            target=chosen.name,
            year=year,
            member=member,
            db=str(store.path),
            window=chosen.window.words(year),
            policy_name=policy.name,
            policy_sha256=policy_sha256(policy),
            dry_run=dry_run,
            records=0,
            counts={},
            excluded=dict.fromkeys(chosen.reason_codes(), 0),
            created_at=utc_now(),
            out=out,
            file_format=file_format,
            reason_order=chosen.reason_codes(),
        )
        _count(store, result)
        result.previous = _changes(store, result)
        if excluded_out is not None:
            _write_excluded(store, query, params, excluded_out)
            result.excluded_out = excluded_out
        if not dry_run:
            _send(store, result, query, params)
    finally:
        store.con.execute(f"DROP TABLE IF EXISTS {CANDIDATES}")
        store.con.execute("RESET preserve_insertion_order")
    return result


def track_target(policy: Policy, target: str) -> TrackTarget:
    if not policy.tracks:
        raise BadPolicy(
            f"{policy.source}: no [track.<target>] tables, so nothing can be tracked; "
            "add [track.hesa] (see README, 'Rules and retention policies')"
        )
    if target not in policy.tracks:
        raise HeattoolError(
            f"no track target '{target}' in {policy.source}; "
            f"it has {', '.join(sorted(policy.tracks))}"
        )
    return policy.tracks[target]


def _check_year(target: TrackTarget, year: int) -> None:
    window = target.window
    if not window.offsets and year + window.to_offset < window.from_year:
        raise HeattoolError(
            f"--year {year}: the {target.name} window starts at entry year {window.from_year}; "
            f"give a later year"
        )


def _check_member(store: Store, member: str | None) -> None:
    if member is None:
        return
    from heattool.importer import check_member

    check_member(member)
    found = store.con.execute("SELECT count(*) FROM members WHERE member = ?", [member]).fetchone()
    if not found[0]:
        raise HeattoolError(f"the store {store.path} has no records of member '{member}'")


def _count(store: Store, result: TrackResult) -> None:
    rows = store.con.execute(
        f"SELECT member, kind, reason, count(*) FROM {CANDIDATES} GROUP BY ALL ORDER BY ALL"
    ).fetchall()
    for member, kind, reason, n in rows:
        if reason is None:
            result.counts.setdefault(member, {})[kind] = n
            result.records += n
        else:
            result.excluded[reason] += n


def _previous_batch(store: Store, result: TrackResult) -> tuple[int, dt.datetime] | None:
    """The last batch of this target and year that covered this request's people."""
    scope = "member IS NULL" if result.member is None else "(member IS NULL OR member = $member)"
    params: dict[str, Any] = {"target": result.target, "year": result.year}
    if result.member is not None:
        params["member"] = result.member
    return store.con.execute(
        "SELECT track_batch_id, created_at FROM track_batches "
        f"WHERE target = $target AND year = $year AND {scope} "
        "ORDER BY track_batch_id DESC LIMIT 1",
        params,
    ).fetchone()


def _changes(store: Store, result: TrackResult) -> dict[str, Any] | None:
    """Heat_ids added and removed since the last request of this target and year."""
    previous = _previous_batch(store, result)
    if previous is None:
        return None
    batch_id, created_at = previous
    member_filter = "" if result.member is None else "AND member = $member"
    params: dict[str, Any] = {"batch": batch_id}
    if result.member is not None:
        params["member"] = result.member
    before = (
        f"SELECT heat_id FROM track_batch_records WHERE track_batch_id = $batch {member_filter}"
    )
    now = f"SELECT heat_id FROM {CANDIDATES} WHERE reason IS NULL"
    added = store.con.execute(
        f"SELECT count(*) FROM ({now}) AS n ANTI JOIN ({before}) AS b USING (heat_id)", params
    ).fetchone()[0]
    removed = store.con.execute(
        f"SELECT coalesce(c.reason, 'no-longer-in-store') AS why, count(*) "
        f"FROM ({before}) AS b ANTI JOIN ({now}) AS n USING (heat_id) "
        f"LEFT JOIN {CANDIDATES} AS c USING (heat_id) GROUP BY ALL ORDER BY ALL",
        params,
    ).fetchall()
    return {
        "previous_batch_id": batch_id,
        "previous_created_at": created_at.isoformat(timespec="seconds") + "Z",
        "added": added,
        "removed": sum(n for _, n in removed),
        "removed_by_reason": dict(removed),
    }


def _write_excluded(store: Store, query: str, params: dict[str, Any], path: Path) -> None:
    frame = store.con.execute(
        f"SELECT member, kind, ref, heat_id::VARCHAR AS heat_id, expected_he_entry_year, reason, "
        f"all_reasons FROM ({query}) WHERE reason IS NOT NULL ORDER BY member, kind, ref",
        params,
    ).pl()
    write_csv(frame.select(EXCLUDED_COLUMNS), path)


def _send(store: Store, result: TrackResult, query: str, params: dict[str, Any]) -> None:
    """Write the file, then record the batch, its heat_ids and the audit event atomically.

    The file is written by DuckDB from the same statement; its heat_ids go into the store
    while another thread hashes it.
    """
    assert result.out is not None
    columns = ", ".join(
        "heat_id::VARCHAR AS heat_id" if c == "heat_id" else c for c in FILE_COLUMNS
    )
    rows = f"SELECT {columns} FROM ({query}) WHERE reason IS NULL"

    def record_heat_ids() -> None:
        store.con.execute(
            f"INSERT INTO track_batch_records SELECT $batch, member, kind, heat_id "
            f"FROM {CANDIDATES} WHERE reason IS NULL",
            {"batch": result.batch_id},
        )

    written = False
    try:
        with store.transaction():
            result.batch_id = store.con.execute("SELECT nextval('track_batch_seq')").fetchone()[0]
            result.file_sha256 = write_query(
                store.con, rows, result.out, result.file_format, params, record_heat_ids
            )
            written = True
            store.con.execute(
                "INSERT INTO track_batches VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    result.batch_id,
                    result.target,
                    result.year,
                    result.member,
                    result.out.name,
                    result.file_sha256,
                    result.policy_sha256,
                    result.records,
                    result.created_at,
                    __version__,
                ],
            )
            store.audit(
                "track-request",
                member=result.member,
                sha256=result.file_sha256,
                details={
                    "track_batch_id": result.batch_id,
                    "target": result.target,
                    "year": result.year,
                    "file": result.out.name,
                    "records": result.records,
                    "counts": result.counts,
                    "excluded": result.excluded,
                    "policy_sha256": result.policy_sha256,
                    "changes": result.previous,
                },
            )
    except BaseException:
        if written:  # the store does not record it, so the file must not exist either
            result.out.unlink(missing_ok=True)
        raise
    write_json(result.manifest(), manifest_path(result.out))


def open_store(db: Path | str | None, key: str | None) -> Store:
    """The existing store at db (a request never creates one)."""
    target = resolve_db_path(db)
    if target != MEMORY and not Path(target).exists():
        raise StoreError(f"no store at {target}; create it with heattool import")
    store = Store.open(target, key)
    try:
        store.migrate()
    except BaseException:
        store.close()
        raise
    return store


def run_track_request(
    db: Path | str | None,
    key: str | None,
    policy: Policy,
    target: str,
    year: int,
    **options: Any,
) -> TrackResult:
    """`heattool track-request`: open the store, make the request, close the store."""
    with open_store(db, key) as store:
        return track_request(store, policy, target, year, **options)


def trackable(
    store: Store, policy: Policy, year: int, member: str | None = None
) -> dict[str, dict[str, Any]]:
    """For each track target: how many people a request for `year` would send and leave out."""
    _check_member(store, member)
    params = {"member": member} if member is not None else {}
    counts = {}
    for name, target in sorted(policy.tracks.items()):
        sql = eligibility_sql(target, year, member)
        eligible, excluded = store.con.execute(
            f"SELECT count(*) FILTER (WHERE reason IS NULL), count(*) FILTER (WHERE reason "
            f"IS NOT NULL) FROM ({sql})",
            params,
        ).fetchone()
        counts[name] = {
            "year": year,
            "window": target.window.words(year),
            "eligible": eligible,
            "excluded": excluded,
        }
    return counts


# --- rendering --------------------------------------------------------------------------------


def _plural(n: int, word: str) -> str:
    return f"{n} {word if n == 1 else word + 's'}"


def _kinds(counts: dict[str, dict[str, int]]) -> str:
    totals: dict[str, int] = {}
    for kinds in counts.values():
        for kind, n in kinds.items():
            totals[kind] = totals.get(kind, 0) + n
    order = {kind: number for number, kind in enumerate(TRACK_KINDS)}
    return ", ".join(
        _plural(totals[kind], kind.removesuffix("s")) for kind in sorted(totals, key=order.get)
    )


def render_track_request(console: Console, result: TrackResult) -> None:
    """The counts, where the file went, what was excluded and why, and what changed."""

    def say(text: str) -> None:
        console.print(text, soft_wrap=True, markup=False, highlight=False)

    scope = f" for member {result.member}" if result.member else ""
    kinds = f" ({_kinds(result.counts)})" if result.records else ""
    say(
        f"{result.target} track request for {result.year}{scope} ({result.window}): "
        f"{_plural(result.records, 'record')}{kinds}"
    )
    if result.dry_run:
        say(f"dry run: no file written, nothing recorded in {result.db}")
    else:
        say(f"  written to {result.out} ({result.file_format}, sha256 {result.file_sha256[:12]})")
        say(f"  manifest {manifest_path(result.out)}")
        say(f"  batch {result.batch_id} recorded in {result.db}")
    say(f"excluded: {result.excluded_total}")
    width = max(map(len, result.excluded), default=0)
    for reason in result.reason_order:
        if result.excluded[reason]:
            say(f"  {reason:<{width}}  {result.excluded[reason]}")
    if result.excluded_out is not None:
        say(f"  excluded records listed in {result.excluded_out}")
    if result.previous is None:
        say(f"first {result.target} request for {result.year}{scope}")
    else:
        changes = result.previous
        removed = "; ".join(f"{n} {why}" for why, n in changes["removed_by_reason"].items())
        say(
            f"since batch {changes['previous_batch_id']} ({changes['previous_created_at'][:10]}): "
            f"{changes['added']} added, {changes['removed']} removed"
            + (f" ({removed})" if removed else "")
        )
