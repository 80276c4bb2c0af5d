"""Write exports: owner-only files put in place whole, formula-safe CSV and Excel, JSON, Parquet.

An output is chosen by its name's suffix (`write_frame`); `check_output_path` refuses a name
heattool cannot write before any work is done.
"""

from __future__ import annotations

import hashlib
import json
import string
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Any

import polars as pl

from heattool import __version__
from heattool.clock import utc_now, utc_text
from heattool.errors import UnreadableInput
from heattool.io.files import (
    UTF8_BOM,
    excel_safe,
    install,
    refuse_link,
    replacing,
    safe_text,
)

_CHUNK = 1 << 22
FRAME_SUFFIXES = (".csv", ".xlsx", ".json", ".parquet")  # what write_frame writes
DOCUMENT_SUFFIXES = (".json",)  # receipts, manifests, access packages
EXCEL_ROWS = 1_048_576  # a worksheet's rows, the header's included
EXCEL_COLUMNS = 16_384


def check_output_path(
    path: Path | None,
    suffixes: Sequence[str] = FRAME_SUFFIXES,
    why: str = "",
    *,
    folder_ok: bool = False,
) -> None:
    """Refuse, before any work is done, an output heattool will not write (exit 2).

    A symbolic link is refused, and so is a name whose suffix (any case) is not one of
    `suffixes`; `why` ends the message (e.g. "for --file-format csv"). None passes, and so does an
    existing folder if `folder_ok` (the files are written, and checked, inside it).
    """
    if path is None or (folder_ok and Path(path).is_dir()):
        return
    refuse_link(path)
    if Path(path).suffix.lower() not in suffixes:
        allowed = ", ".join(suffixes[:-1]) + (" or " if len(suffixes) > 1 else "")
        raise UnreadableInput(
            f"{path}: the file name must end {allowed}{suffixes[-1]}" + (f" {why}" if why else "")
        )


def write_frame(frame: pl.DataFrame, path: Path, about: dict[str, Any] | None = None) -> None:
    """`frame` as the file its name asks for, owner-only and put in place whole.

    `.csv`: formula-safe UTF-8 CSV with a BOM (`write_csv`); `.xlsx`: a formula-safe Excel
    workbook (`write_xlsx`, with `about` on a second sheet); `.json`: an array of records;
    `.parquet`: Parquet, the column types kept. Any other suffix is refused.
    """
    path = Path(path)
    check_output_path(path)
    if path.suffix.lower() == ".xlsx":
        write_xlsx(frame, path, about)
    else:
        _FRAME_WRITERS[path.suffix.lower()](frame, path)


def flat(frame: pl.DataFrame) -> pl.DataFrame:
    """`frame` with every nested column (list, struct, array) as its JSON text and every binary
    one as hex, for CSV and Excel, which hold only flat values (a query's rows may be nested)."""
    nested = [n for n, t in frame.schema.items() if t.is_nested()]
    binary = [n for n, t in frame.schema.items() if t == pl.Binary]
    if not nested and not binary:
        return frame
    return frame.with_columns(
        *(
            pl.when(pl.col(n).is_not_null())
            .then(pl.struct(pl.col(n).alias("v")).struct.json_encode().str.slice(5).str.head(-1))
            .alias(n)
            for n in nested
        ),
        *(pl.col(n).bin.encode("hex").alias(n) for n in binary),
    )


def csv_header(names: Sequence[str]) -> bytes:
    """The header line of a formula-safe CSV: each name neutralised, quoted as Polars quotes."""
    if not names:
        return b""
    row = pl.DataFrame([pl.Series(str(i), [safe_text(n)], pl.String) for i, n in enumerate(names)])
    return row.write_csv(include_header=False).encode()


def write_csv(frame: pl.DataFrame, path: Path) -> None:
    """Formula-safe UTF-8 CSV (with a BOM so Excel reads accents right), mode 0600.

    Every text cell and every heading that a spreadsheet would run as a formula (one starting
    `= + - @`, a tab or a carriage return) starts with an apostrophe.
    """
    with replacing(path, "wb") as handle:
        handle.write(UTF8_BOM + csv_header(frame.columns))
        excel_safe(flat(frame)).write_csv(handle, include_header=False)


def csv_text(frame: pl.DataFrame) -> str:
    """The formula-safe CSV of `frame` as text, for standard output (no BOM)."""
    rows = excel_safe(flat(frame)).write_csv(include_header=False)
    return csv_header(frame.columns).decode() + rows


def write_xlsx(frame: pl.DataFrame, path: Path, about: dict[str, Any] | None = None) -> None:
    """A formula-safe Excel workbook, mode 0600, for a person to open: the rows on a first sheet
    (header row frozen, filters on, columns sized, dates as dates, refs and postcodes as text so
    that leading zeros stay) and, on a second sheet "About", what the file is.

    Cells and headings are neutralised as in the CSV (the same values), every text is written
    as text (never as a formula, a number or a link), and the headings are made unique in any
    case, as an Excel table requires.
    """
    import xlsxwriter

    if frame.height + 1 > EXCEL_ROWS or frame.width > EXCEL_COLUMNS:
        raise UnreadableInput(
            f"{path}: {frame.height} rows and {frame.width} columns do not fit in an Excel "
            f"sheet ({EXCEL_ROWS - 1} rows of {EXCEL_COLUMNS} columns at most); "
            "write .csv or .parquet instead"
        )
    safe = excel_safe(flat(frame))
    safe.columns = _unique_headings([safe_text(name) for name in frame.columns])
    options = {
        "strings_to_formulas": False,
        "strings_to_numbers": False,
        "strings_to_urls": False,
        "nan_inf_to_errors": True,
        "in_memory": True,  # no copy of the cells in the system's temporary folder
        "default_date_format": "yyyy-mm-dd",
    }
    with replacing(path, "wb") as handle:
        workbook = xlsxwriter.Workbook(handle, options)
        safe.write_excel(workbook, "Data", autofit=True, autofilter=True, freeze_panes=(1, 0))
        details = {
            "written by": f"heattool {__version__}",
            "written at": utc_text(utc_now()),
            "rows": frame.height,
            **(about or {}),
        }
        sheet = workbook.add_worksheet("About")
        sheet.set_column(0, 0, max(len(k) for k in details) + 2)
        sheet.set_column(1, 1, 60)
        for row, (name, value) in enumerate(details.items()):
            sheet.write_string(row, 0, safe_text(str(name)))
            sheet.write_string(row, 1, safe_text("" if value is None else str(value)))
        workbook.close()


def _unique_headings(names: list[str]) -> list[str]:
    """Headings unique in any case (an Excel table's rule): a repeat gets " (2)", " (3)" ..."""
    seen: set[str] = set()
    unique = []
    for number, name in enumerate(names, 1):
        base = name or f"Column{number}"
        heading, count = base, 1
        while heading.lower() in seen:
            count += 1
            heading = f"{base} ({count})"
        seen.add(heading.lower())
        unique.append(heading)
    return unique


def write_records(frame: pl.DataFrame, path: Path) -> None:
    """`frame` as a JSON array of records, one object per row, mode 0600."""
    with replacing(path, "wb") as handle:
        handle.write(frame.write_json().encode() + b"\n")


def write_parquet(frame: pl.DataFrame, path: Path) -> None:
    """`frame` as Parquet, the column types kept, mode 0600."""
    with replacing(path, "wb") as handle:
        frame.write_parquet(handle)


_FRAME_WRITERS: dict[str, Callable[[pl.DataFrame, Path], None]] = {
    ".csv": write_csv,
    ".xlsx": write_xlsx,
    ".json": write_records,
    ".parquet": write_parquet,
}


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
    """`text` as UTF-8, mode 0600, put in place whole."""
    with replacing(path, "w", encoding="utf-8") as handle:
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


def finish_partial(partial: Path, path: Path, head: bytes = b"") -> str:
    """Put the rows written at `partial` in place at `path`, after `head`; their sha256.

    With a head (a BOM and header line), the rows are copied after it into a new private file
    that replaces `path` once whole; without, `partial` itself is renamed over `path`. Either
    way `partial` is gone afterwards, and on failure `path` is as it was.
    """
    digest = hashlib.sha256()
    try:
        if head:
            with open(partial, "rb") as source, replacing(path, "wb") as target:
                _copy(source, target, digest, head)
        else:
            refuse_link(path)
            with open(partial, "rb") as source:
                _copy(source, None, digest, b"")
            install(partial, path)
    except OSError as exc:
        raise UnreadableInput(f"{path}: cannot write ({exc.strerror})") from None
    finally:
        partial.unlink(missing_ok=True)
    return digest.hexdigest()


def _copy(source: IO[bytes], target: IO[bytes] | None, digest: Any, head: bytes) -> None:
    digest.update(head)
    if target is not None:
        target.write(head)
    while chunk := source.read(_CHUNK):
        digest.update(chunk)
        if target is not None:
            target.write(chunk)
