"""Write exports: owner-only files, Excel-safe CSV, JSON, and files written by DuckDB."""

from __future__ import annotations

import hashlib
import json
import os
import string
import uuid
from pathlib import Path
from typing import Any

import polars as pl

from heattool.errors import UnreadableInput
from heattool.io.files import PRIVATE_MODE, UTF8_BOM, excel_safe, open_private

_CHUNK = 1 << 22


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


def finish_partial(partial: Path, path: Path, bom: bool) -> str:
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
