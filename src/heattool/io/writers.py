"""Write exports: owner-only files, Excel-safe CSV, JSON."""

from __future__ import annotations

import concurrent.futures
import contextlib
import hashlib
import json
import os
import string
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import polars as pl

from heattool.errors import UnreadableInput

PRIVATE_MODE = 0o600
PRIVATE_UMASK = 0o077
UTF8_BOM = "\ufeff".encode()
_CHUNK = 1 << 22
_FORMULA_START = r"^[=+\-@\t\r]"  # what Excel, LibreOffice and Sheets may run as a formula


def open_private(path: Path, mode: str = "w", **kwargs: Any):
    """Open a file for writing that only its owner can read, whatever the umask."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
        os.chmod(path, PRIVATE_MODE)  # an existing file keeps its old mode through O_CREAT
        return os.fdopen(fd, mode, **kwargs)
    except OSError as exc:
        raise UnreadableInput(f"{path}: cannot write ({exc.strerror})") from None


def excel_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Neutralise text cells that Excel would run as a formula, by a leading apostrophe."""
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(_FORMULA_START))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name, dtype in frame.schema.items()
        if dtype == pl.String
    )


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    """Excel-safe UTF-8 CSV (with a BOM so Excel reads accents right), mode 0600."""
    with open_private(path, "wb") as handle:
        excel_safe(frame).write_csv(handle, include_bom=True)


LONG_LIST = 1000
# Text that JSON writes as it is, between quotes (and the newline that joins a list of it).
_PLAIN = (string.ascii_letters + string.digits + "_.:-\n").encode()


def _plain_list(value: Any) -> str | None:
    """A long list of plain strings (ids) as indented JSON, or None for anything else."""
    if not isinstance(value, list) or len(value) < LONG_LIST or not value:
        return None
    try:
        lines = "\n".join(value)
    except TypeError:  # not all text
        return None
    split = lines.count("\n") != len(value) - 1  # a newline inside an item
    empty = "\n\n" in lines or lines.startswith("\n") or lines.endswith("\n")
    if split or empty or not lines.isascii() or lines.encode().translate(None, _PLAIN):
        return None
    return '[\n    "' + lines.replace("\n", '",\n    "') + '"\n  ]'


def write_json(document: Any, path: Path) -> None:
    """`document` as indented JSON, mode 0600."""
    write_text(json_text(document) + "\n", path)


def write_text(text: str, path: Path) -> None:
    with open_private(path, "w", encoding="utf-8") as handle:
        handle.write(text)


def json_text(document: Any) -> str:
    """`json.dumps(document, indent=2, default=str)`, faster for long lists of ids.

    A receipt lists up to millions of heat_ids, which Python's indenting encoder writes at
    about a second a million. Long lists of plain text (ids: no character that JSON escapes)
    at the top level are joined directly instead: the same text, several times faster.
    """
    listed = {}
    if isinstance(document, dict):
        listed = {k: text for k, v in document.items() if (text := _plain_list(v)) is not None}
    if not listed:
        return json.dumps(document, indent=2, default=str)
    marker = {key: f"@@{uuid.uuid4().hex}@@" for key in listed}
    text = json.dumps({**document, **marker}, indent=2, default=str)
    quoted = {key: json.dumps(m) for key, m in marker.items()}
    if any(text.count(q) != 1 for q in quoted.values()):  # a value that looks like a marker
        return json.dumps(document, indent=2, default=str)
    for key, value in listed.items():
        text = text.replace(quoted[key], value, 1)
    return text


def _sql_text(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_name(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


_FORMULA_CODES = (61, 43, 45, 64, 9, 13)  # = + - @ tab CR: the characters of _FORMULA_START


def _excel_safe_sql(column: str) -> str:
    """`excel_safe` in SQL; testing the first character's code is cheaper than a regex."""
    name = _sql_name(column)
    starts = f"ord({name}) IN {_FORMULA_CODES}"
    return f"CASE WHEN {starts} THEN concat(chr(39), {name}) ELSE {name} END AS {name}"


@contextlib.contextmanager
def _private_files() -> Iterator[None]:
    old = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(old)


def write_query(
    con: Any,
    query: str,
    path: Path,
    file_format: str = "csv",
    params: dict[str, Any] | None = None,
    while_hashing: Callable[[], None] | None = None,
) -> str:
    """Write a DuckDB query's rows straight from the database, mode 0600; returns the sha256.

    CSV is UTF-8 with a BOM and Excel-safe like `write_csv` (text columns neutralised in SQL);
    Parquet keeps the column types. Millions of rows never pass through Python.
    `while_hashing` runs (on the connection, in this thread) while another thread finishes the
    file and hashes it; if it fails, the file is removed.
    """
    import duckdb

    path = Path(path)
    partial = path.with_name(f".{path.name}.partial")
    if file_format == "csv":
        columns = con.execute(f"DESCRIBE {query}", params or {}).fetchall()
        select = ", ".join(
            _excel_safe_sql(name) if kind == "VARCHAR" else _sql_name(name)
            for name, kind, *_ in columns
        )
        copy = f"COPY (SELECT {select} FROM ({query})) TO {_sql_text(str(partial))} (HEADER)"
    else:
        copy = f"COPY ({query}) TO {_sql_text(str(partial))} (FORMAT parquet)"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with _private_files():
            con.execute(copy, params or {})
    except (OSError, duckdb.Error) as exc:
        partial.unlink(missing_ok=True)
        reason = exc.strerror if isinstance(exc, OSError) else str(exc).splitlines()[0]
        raise UnreadableInput(f"{path}: cannot write ({reason})") from None
    with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
        finishing = pool.submit(_finish, partial, path, file_format == "csv")
        try:
            if while_hashing is not None:
                while_hashing()
        except BaseException:
            concurrent.futures.wait([finishing])
            path.unlink(missing_ok=True)
            raise
        return finishing.result()


def _finish(partial: Path, path: Path, bom: bool) -> str:
    """Put the written rows in place (after a BOM for CSV) and hash them as they go."""
    digest = hashlib.sha256()
    try:
        if bom:
            with open(partial, "rb") as source, open_private(path, "wb") as target:
                digest.update(UTF8_BOM)
                target.write(UTF8_BOM)
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
                    target.write(chunk)
        else:
            with open(partial, "rb") as source:
                while chunk := source.read(_CHUNK):
                    digest.update(chunk)
            os.chmod(partial, PRIVATE_MODE)
            os.replace(partial, path)
    except OSError as exc:
        path.unlink(missing_ok=True)
        raise UnreadableInput(f"{path}: cannot write ({exc.strerror})") from None
    finally:
        partial.unlink(missing_ok=True)
    return digest.hexdigest()
