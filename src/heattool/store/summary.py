"""What the store holds: counts per member and kind, entry years, the last imports."""

from __future__ import annotations

from typing import Any

from heattool.schemas import KINDS
from heattool.store.people import people_sql
from heattool.store.store import Store

RECENT_IMPORTS = 10


def _scope(member: str | None) -> tuple[str, dict[str, Any]]:
    return ("member = $member", {"member": member}) if member is not None else ("", {})


def counts(store: Store, member: str | None) -> dict[str, dict[str, int]]:
    """member -> kind -> records, for every member (or the one given), zeros included."""
    where, params = _scope(member)
    condition = f"WHERE {where}" if where else ""
    members = store.con.execute(
        f"SELECT member FROM members {condition} ORDER BY member", params
    ).fetchall()
    table = {m: dict.fromkeys(KINDS, 0) for (m,) in members}
    union = " UNION ALL ".join(
        f"SELECT member, '{kind}' AS kind, count(*) AS n FROM {kind} {condition} GROUP BY member"
        for kind in KINDS
    )
    for m, kind, n in store.con.execute(union, params).fetchall():
        table[m][kind] = int(n)
    return table


def recent_imports(store: Store, member: str | None) -> list[dict[str, Any]]:
    where, params = _scope(member)
    condition = f"WHERE {where}" if where else ""
    return (
        store.con.execute(
            "SELECT batch_id, member, kind, file_name, sha256, rows, inserted, updated, "
            f"unchanged, rejected, imported_at FROM import_batches {condition} "
            f"ORDER BY batch_id DESC LIMIT {RECENT_IMPORTS}",
            params,
        )
        .pl()
        .to_dicts()
    )


def entry_years(store: Store, member: str | None) -> list[dict[str, Any]]:
    """People per member and Expected HE Entry Year, and how many of them were overridden."""
    where, params = _scope(member)
    people = people_sql(
        ["member", "expected_he_entry_year", "entry_year_label", "entry_year_source"], where=where
    )
    return (
        store.con.execute(
            f"""
            SELECT member, expected_he_entry_year AS year,
                   coalesce(entry_year_label, 'none') AS entry_year, count(*) AS people,
                   count(*) FILTER (entry_year_source = 'override') AS overridden
            FROM ({people}) GROUP BY ALL ORDER BY member, year NULLS LAST
            """,
            params,
        )
        .pl()
        .drop("year")
        .to_dicts()
    )
