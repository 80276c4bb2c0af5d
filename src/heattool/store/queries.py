"""Read-only SQL over the store (`heattool query`) and one kind's records (`heattool export`).

A query is one SELECT, checked by DuckDB's own parser, run in a transaction that is rolled
back, with DuckDB's file access switched off: it cannot change the store or read or write any
other file. For one member, every table it names is replaced by a view of that member's rows
(tables without a member column are filtered through their event, batch or person). The store's
own secret (the suppression-hash key in `store_settings`) is never shown.
"""

from __future__ import annotations

import duckdb
import polars as pl

from heattool.errors import HeattoolError, first_line
from heattool.schemas import PERSON_KINDS, REF_COLUMNS
from heattool.store.exports import sql_name
from heattool.store.store import CATALOG, Store

SECRET_TABLES = frozenset({"store_settings"})  # the suppression-hash key
MEMBER_VARIABLE = "heattool_query_member"


class BadQuery(HeattoolError):
    """A query heattool will not run: not one SELECT, or naming what it may not read."""


def _columns(store: Store) -> dict[str, set[str]]:
    rows = store.con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = ?",
        [CATALOG],
    ).fetchall()
    found: dict[str, set[str]] = {}
    for table, column in rows:
        found.setdefault(table, set()).add(column)
    return found


def _member_filter(table: str, columns: set[str]) -> str | None:
    """The condition that keeps one member's rows of `table`; None if it cannot be told."""
    member = f"getvariable('{MEMBER_VARIABLE}')"
    if "member" in columns:
        return f"member = {member}"
    if "event_id" in columns:
        return f"event_id IN (SELECT event_id FROM {CATALOG}.audit_events WHERE member = {member})"
    if "track_batch_id" in columns:
        return (
            f"track_batch_id IN (SELECT track_batch_id FROM {CATALOG}.track_batches "
            f"WHERE member = {member})"
        )
    if "heat_id" in columns:
        people = " UNION ALL ".join(
            f"SELECT heat_id FROM {CATALOG}.{kind} WHERE member = {member}" for kind in PERSON_KINDS
        )
        return f"heat_id IN ({people})"
    if table == "schema_version":
        return "true"
    return None


def check_query(store: Store, sql: str) -> set[str]:
    """The store tables a query reads; refuses anything but one SELECT over them."""
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise BadQuery(f"the query is not SQL DuckDB can read: {first_line(exc)}") from None
    if len(statements) != 1 or statements[0].type != duckdb.StatementType.SELECT:
        raise BadQuery("heattool query runs one SELECT statement, which cannot change the store")
    try:
        names = store.con.get_table_names(sql, qualified=True)
    except duckdb.Error as exc:
        raise BadQuery(f"the query is not SQL DuckDB can read: {first_line(exc)}") from None
    tables = set()
    for name in names:
        parts = name.split(".")
        if len(parts) > 1:
            raise BadQuery(f"name the store's tables without a catalog or schema ({name})")
        if parts[0] in SECRET_TABLES:
            raise BadQuery(f"{parts[0]} holds the store's own secret: heattool does not show it")
        tables.add(parts[0])
    return tables


def read_only(store: Store, sql: str, member: str | None = None) -> pl.DataFrame:
    """The rows of one SELECT over the store (of one member's rows, if given), read-only."""
    tables = check_query(store, sql)
    con = store.con
    columns = _columns(store)
    with store.transaction() as tx:
        tx.commit = False  # whatever the query did (a sequence's nextval) is rolled back
        if member is not None:
            con.execute(f"SET VARIABLE {MEMBER_VARIABLE} = ?", [member])
            for table in sorted(tables & set(columns)):
                condition = _member_filter(table, columns[table])
                if condition is None:
                    raise BadQuery(f"{table} cannot be read for one member; query it without -m")
                con.execute(
                    f"CREATE OR REPLACE TEMP VIEW {sql_name(table)} AS "
                    f"SELECT * FROM {CATALOG}.main.{sql_name(table)} WHERE {condition}"
                )
        con.execute("SET enable_external_access = false")  # no file but the store, from here on
        try:
            return con.execute(sql).pl()
        except duckdb.Error as exc:
            raise BadQuery(f"the query failed: {first_line(exc)}") from None


_ORDER = {"attendance": "student_ref, activity_ref, attended_on"}


def kind_records_sql(kind: str) -> str:
    """Every record of one kind, of the member in `$member`, in the order of their refs."""
    order = _ORDER.get(kind) or REF_COLUMNS[kind]
    return f"SELECT * FROM {CATALOG}.main.{sql_name(kind)} WHERE member = $member ORDER BY {order}"


def kind_records(store: Store, kind: str, member: str) -> pl.DataFrame:
    """Every record of one kind of `member`, as `kind_records_sql` orders them."""
    return store.con.execute(kind_records_sql(kind), {"member": member}).pl()


def count_kind(store: Store, kind: str, member: str) -> int:
    return int(store.scalar(f"SELECT count(*) FROM {sql_name(kind)} WHERE member = ?", [member]))
