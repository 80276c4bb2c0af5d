"""Files written by DuckDB straight from a query: millions of rows never pass through Python."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from heattool.background import beside
from heattool.errors import UnreadableInput, first_line
from heattool.io.files import FORMULA_CODES, UTF8_BOM, private_files, refuse_link, temporary_beside
from heattool.io.writers import csv_header, finish_partial


def sql_text(text: str) -> str:
    """A string literal for SQL."""
    return "'" + text.replace("'", "''") + "'"


def sql_name(name: str) -> str:
    """A quoted identifier for SQL."""
    return '"' + name.replace('"', '""') + '"'


def _excel_safe_sql(column: str) -> str:
    """`io.files.excel_safe` in SQL; testing the first character's code is cheaper than a regex."""
    name = sql_name(column)
    starts = f"ord({name}) IN {FORMULA_CODES}"
    return f"CASE WHEN {starts} THEN concat(chr(39), {name}) ELSE {name} END AS {name}"


def write_query(
    con: duckdb.DuckDBPyConnection,
    query: str,
    path: Path,
    file_format: str = "csv",
    params: dict[str, Any] | None = None,
    while_hashing: Callable[[], None] | None = None,
) -> str:
    """Write a DuckDB query's rows straight from the database, mode 0600; returns the sha256.

    CSV is UTF-8 with a BOM and formula-safe like `io.writers.write_csv` (text columns
    neutralised in SQL, the header line by `csv_header`); Parquet keeps the column types.
    DuckDB writes to a new private file of an unpredictable name beside `path`, which replaces
    `path` only once whole (a symbolic link at `path` is refused). `while_hashing` runs (on
    the connection, in this thread) while a second thread finishes the file and hashes it; if
    it fails, the file is removed.
    """
    path = Path(path)
    refuse_link(path)
    head = b""
    if file_format == "csv":
        columns = con.execute(f"DESCRIBE {query}", params or {}).fetchall()
        select = ", ".join(
            _excel_safe_sql(name) if kind == "VARCHAR" else sql_name(name)
            for name, kind, *_ in columns
        )
        head = UTF8_BOM + csv_header([name for name, *_ in columns])
    partial = temporary_beside(path)
    if file_format == "csv":
        copy = f"COPY (SELECT {select} FROM ({query})) TO {sql_text(str(partial))} (HEADER false)"
    else:
        copy = f"COPY ({query}) TO {sql_text(str(partial))} (FORMAT parquet)"
    try:
        with private_files():
            con.execute(copy, params or {})
    except (OSError, duckdb.Error) as exc:
        partial.unlink(missing_ok=True)
        reason = exc.strerror if isinstance(exc, OSError) else first_line(exc)
        raise UnreadableInput(f"{path}: cannot write ({reason})") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    finishing = beside(finish_partial, partial, path, head)
    try:
        if while_hashing is not None:
            while_hashing()
    except BaseException:
        if finishing.settle() is not None:  # the new file is in place: it must not stay
            path.unlink(missing_ok=True)
        raise
    return finishing.result()
