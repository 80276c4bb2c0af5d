"""`heattool query`: one read-only SELECT over the store, audited by its counts."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from heattool.io.writers import check_output_path, write_frame
from heattool.store import Store, queries


@dataclass
class QueryResult:
    rows: pl.DataFrame
    member: str | None
    out: Path | None = None


def query(
    db: Path | str | None,
    key: str | None,
    sql: str,
    *,
    member: str | None = None,
    out: Path | None = None,
) -> QueryResult:
    """The rows of `sql` (of one member's records, if given); written to `out` if given.

    The audit records the query's sha256 and its row count, never its text (which may name
    people) or its rows.
    """
    check_output_path(out)
    with Store.open_existing(db, key) as store:
        member = store.known_member(member)
        rows = queries.read_only(store, sql, member)
        with store.transaction():
            store.audit(
                "query",
                member=member,
                sha256=hashlib.sha256(sql.encode()).hexdigest(),
                details={"rows": rows.height, "columns": rows.width},
            )
    if out is not None:
        write_frame(rows, out)
    return QueryResult(rows, member, out)
