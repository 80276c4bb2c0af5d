"""File safety, in one place: owner-only files, the UTF-8 BOM, formula-safe cells."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import polars as pl

from heattool.errors import UnreadableInput

PRIVATE_MODE = 0o600
PRIVATE_UMASK = 0o077
UTF8_BOM = b"\xef\xbb\xbf"
# What Excel, LibreOffice and Sheets may run as a formula when a cell starts with it.
FORMULA_START = r"^[=+\-@\t\r]"
FORMULA_CODES = (61, 43, 45, 64, 9, 13)  # = + - @ tab CR: the characters of FORMULA_START


@contextlib.contextmanager
def private_files() -> Iterator[None]:
    """Files created inside the block (by DuckDB, which takes no mode) are owner-only.

    The umask is the process's: hold it only around the calls that create files.
    """
    old = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(old)


def open_private(path: Path, mode: str = "w", **kwargs: Any) -> IO[Any]:
    """Open a file for writing that only its owner can read, whatever the umask."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
        os.chmod(path, PRIVATE_MODE)  # an existing file keeps its old mode through O_CREAT
        return os.fdopen(fd, mode, **kwargs)
    except OSError as exc:
        raise UnreadableInput(f"{path}: cannot write ({exc.strerror})") from None


def make_private(path: Path) -> None:
    """chmod 0600, if the file exists and is not already."""
    import stat

    with contextlib.suppress(FileNotFoundError):
        if stat.S_IMODE(path.stat().st_mode) != PRIVATE_MODE:
            os.chmod(path, PRIVATE_MODE)


def excel_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Neutralise text cells that Excel would run as a formula, by a leading apostrophe."""
    return frame.with_columns(
        pl.when(pl.col(name).str.contains(FORMULA_START))
        .then(pl.lit("'") + pl.col(name))
        .otherwise(pl.col(name))
        .alias(name)
        for name, dtype in frame.schema.items()
        if dtype == pl.String
    )
