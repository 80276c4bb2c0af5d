"""Read CSV and Excel uploads into all-text Polars frames, with the facts needed to cite cells."""

from __future__ import annotations

import codecs
import hashlib
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from heattool.errors import UnreadableInput

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
UTF8_BOM = codecs.BOM_UTF8
FALLBACK_ENCODING = "cp1252"
DELIMITERS = (",", "\t", ";")  # tie-break order when a header line has as many of each


@dataclass
class RawTable:
    """An upload as read: every cell as text, headers as the user wrote them."""

    path: Path
    frame: pl.DataFrame
    sha256: str
    format: str  # "csv" or "xlsx"
    sheet: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    encoding_note: str | None = None  # set when the encoding had to be guessed

    @property
    def headers(self) -> list[str]:
        return self.frame.columns


def read_upload(path: Path, *, sheet: str | None = None, encoding: str | None = None) -> RawTable:
    """Read one upload, choosing the reader from the file's suffix and first bytes."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UnreadableInput(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UnreadableInput(
            f"{path}: is a folder; give the path of a .csv or .xlsx file"
        ) from None
    except OSError as exc:
        raise UnreadableInput(f"{path}: cannot be read ({exc.strerror})") from None
    digest = hashlib.sha256(data).hexdigest()
    if not data or data.isspace():
        raise UnreadableInput(
            f"{path}: the file is empty; export the sheet again with its header row"
        )
    is_zip = data[:4] == b"PK\x03\x04"
    is_ole = data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # legacy .xls
    if path.suffix.lower() in EXCEL_SUFFIXES or is_zip or is_ole:
        frame, sheet_name = _read_excel(path, sheet)
        return RawTable(path, frame, digest, "xlsx", sheet=sheet_name)
    if sheet is not None:
        raise UnreadableInput(f"{path}: --sheet applies to Excel files only; this is a CSV file")
    if encoding is None or _codec(encoding) == "utf-8":
        # Polars checks UTF-8 as it parses; decoding in Python first would only cost time.
        body = data[len(UTF8_BOM) :] if data.startswith(UTF8_BOM) else data
        _refuse_binary(path, body, "utf-8")
        delimiter = sniff_delimiter(body[:65536].decode("utf-8", errors="ignore"))
        try:
            frame = _parse_csv(path, body, delimiter)
            return RawTable(path, frame, digest, "csv", encoding="utf-8", delimiter=delimiter)
        except _NotUtf8:
            pass  # find the bad byte, or read it as Windows-1252, below
    utf8, used, note = _to_utf8(path, data, encoding)
    delimiter = sniff_delimiter(utf8[:65536].decode("utf-8", errors="ignore"))
    frame = _parse_csv(path, utf8, delimiter)
    return RawTable(
        path, frame, digest, "csv", encoding=used, delimiter=delimiter, encoding_note=note
    )


def _to_utf8(path: Path, data: bytes, encoding: str | None) -> tuple[bytes, str, str | None]:
    """The file as UTF-8 bytes, the encoding used, and a note when it had to be guessed.

    Without --encoding: UTF-8 (with or without a BOM) when the bytes are UTF-8, otherwise
    Windows-1252, as Excel's plain "CSV" export writes it, with a note naming the first
    non-UTF-8 byte. With --encoding the bytes must be valid in that encoding.
    """
    bom = len(UTF8_BOM) if data.startswith(UTF8_BOM) else 0
    # A UTF-8 byte-order mark is never a heading, whatever encoding the rest is in.
    data = data[bom:]
    chosen = encoding or "utf-8"
    codec = _codec(chosen)
    _refuse_binary(path, data, codec)
    try:
        text = data.decode(codec)
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        where = f"byte {exc.start + bom} (line {line})"
        if encoding is None:
            try:
                text = data.decode(FALLBACK_ENCODING)
            except UnicodeDecodeError:
                pass
            else:
                note = f"not UTF-8 at {where}; read as Windows-1252 (give --encoding to choose)"
                return text.encode("utf-8"), FALLBACK_ENCODING, note
        hint = "try --encoding cp1252" if codec == "utf-8" else "try --encoding utf-8"
        raise UnreadableInput(f"{path}: not {chosen} at {where}; {hint}") from None
    return (data if codec == "utf-8" else text.encode("utf-8")), codec, None


class _NotUtf8(Exception):
    """Polars met bytes that are not UTF-8."""


def _codec(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise UnreadableInput(f"unknown encoding '{name}'; try utf-8 or cp1252") from None


def _refuse_binary(path: Path, data: bytes, codec: str) -> None:
    if b"\x00" in data[:8192] and not codec.startswith("utf-16"):
        raise UnreadableInput(
            f"{path}: looks like a binary file, not CSV text; upload a .csv or .xlsx file"
        )


def sniff_delimiter(text: str) -> str:
    """Choose `,`, tab or `;` by counting each outside quotes in the header line."""
    counts = dict.fromkeys(DELIMITERS, 0)
    in_quotes = False
    for char in text:
        if char == '"':
            in_quotes = not in_quotes
        elif not in_quotes:
            if char in "\r\n":
                break
            if char in counts:
                counts[char] += 1
    best = max(DELIMITERS, key=lambda d: counts[d])  # max keeps the first of equals
    return best


def _parse_csv(path: Path, data: bytes, delimiter: str) -> pl.DataFrame:
    try:
        frame = pl.read_csv(
            data,
            separator=delimiter,
            infer_schema=False,
            has_header=True,
            raise_if_empty=False,
        )
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError) as exc:
        reason = str(exc).splitlines()[0]
        if "utf-8" in reason.lower() or "utf8" in reason.lower():
            raise _NotUtf8 from None
        if "more fields" in reason:
            reason = "a row has more cells than the header row"
        raise UnreadableInput(
            f"{path}: malformed CSV ({reason}); check for a stray quote or an extra delimiter"
        ) from None
    except pl.exceptions.PolarsError as exc:
        raise UnreadableInput(f"{path}: malformed CSV ({str(exc).splitlines()[0]})") from None
    if not frame.columns:
        raise UnreadableInput(f"{path}: no header row; the first row must hold the column names")
    return frame


def _read_excel(path: Path, sheet: str | None) -> tuple[pl.DataFrame, str]:
    import fastexcel

    try:
        reader = fastexcel.read_excel(str(path))
    except Exception as exc:  # fastexcel raises its own error types for every failure
        raise UnreadableInput(
            f"{path}: cannot be read as an Excel workbook ({_first_line(exc)}); "
            "save it again as .xlsx or export it as CSV"
        ) from None
    names = reader.sheet_names
    if sheet is not None and sheet not in names:
        raise UnreadableInput(
            f"{path}: no sheet named '{sheet}'; the sheets are: {', '.join(names)}"
        )
    for name in [sheet] if sheet is not None else names:
        try:
            frame = reader.load_sheet(name, dtypes="string").to_polars()
        except Exception as exc:
            raise UnreadableInput(
                f"{path}: sheet '{name}' cannot be read ({_first_line(exc)})"
            ) from None
        if frame.width:
            return frame, name
    raise UnreadableInput(f"{path}: every sheet is empty; put the header row in row 1")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
