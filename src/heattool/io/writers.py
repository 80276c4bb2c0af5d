"""Write exports: owner-only files, Excel-safe CSV, JSON."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import polars as pl

from heattool.errors import UnreadableInput

PRIVATE_MODE = 0o600
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


def write_json(document: Any, path: Path) -> None:
    with open_private(path, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, default=str)
        handle.write("\n")
