"""Read CSV, Excel and Parquet uploads into all-text Polars frames, with the facts needed to
cite cells."""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from heattool.errors import UnreadableInput

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
PARQUET_MAGIC = b"PAR1"  # the first and last four bytes of a Parquet file
UTF8_BOM = codecs.BOM_UTF8
FALLBACK_ENCODING = "cp1252"
DELIMITERS = (",", "\t", ";")  # tie-break order when a header line has as many of each
HEADER_SEARCH_ROWS = 10  # a title row (or several) above the headings: they are looked for here
STDIN = "-"  # the path that means standard input (a file named - is given by its full path)
STDIN_NAME = Path("<stdin>")  # how reports name that upload

# Whether a row of cells is an upload's headings (schemas/ knows; io/ only asks).
HeaderTest = Callable[[Sequence[str]], bool]


@dataclass
class RawTable:
    """An upload as read: every cell as text, headers as the user wrote them."""

    path: Path
    frame: pl.DataFrame
    sha256: str
    format: str  # "csv", "xlsx" or "parquet"
    sheet: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    encoding_note: str | None = None  # set when the encoding had to be guessed
    header_row: int = 1  # the spreadsheet row (1-based) of the headings; data rows follow it
    first_column: int = 0  # the spreadsheet column (0 is A) of the frame's first column

    @property
    def headers(self) -> list[str]:
        return self.frame.columns


def read_upload(
    path: Path,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    header_row: int | None = None,
    is_header: HeaderTest | None = None,
) -> RawTable:
    """Read one upload, choosing the reader from the file's suffix and first bytes.

    The headings are in `header_row` (1-based, as a spreadsheet numbers rows) when it is given.
    Otherwise, with `is_header`, they are the first of the first ten rows that it accepts (title
    rows may sit above them), and a workbook is read from the first sheet that has such a row;
    failing that, or without `is_header`, a CSV file's first row and the first non-empty row of
    the first non-empty sheet.
    """
    from_stdin = str(path) == STDIN
    path = Path(path)
    try:
        path, data = upload_bytes(path)
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
    if from_stdin and (is_zip or is_ole):
        raise UnreadableInput(
            f"{path}: looks like an Excel workbook; standard input takes CSV only, "
            "so give the workbook's file name instead of -"
        )
    if path.suffix.lower() in EXCEL_SUFFIXES or is_zip or is_ole:
        frame, sheet_name, row, column = _read_excel(path, sheet, header_row, is_header)
        return RawTable(
            path, frame, digest, "xlsx", sheet=sheet_name, header_row=row, first_column=column
        )
    if data[:4] == PARQUET_MAGIC or path.suffix.lower() == ".parquet":
        if sheet is not None or header_row is not None:
            option = "--sheet" if sheet is not None else "--header-row"
            raise UnreadableInput(f"{path}: {option} does not apply to a Parquet file")
        return RawTable(path, _read_parquet(path, data), digest, "parquet")
    if sheet is not None:
        raise UnreadableInput(f"{path}: --sheet applies to Excel files only; this is a CSV file")
    if encoding is None or _codec(encoding) == "utf-8":
        # Polars checks UTF-8 as it parses; decoding in Python first would only cost time.
        body = data[len(UTF8_BOM) :] if data.startswith(UTF8_BOM) else data
        _refuse_binary(path, body, "utf-8")
        try:
            frame, delimiter, row = _read_csv(path, body, header_row, is_header)
            return RawTable(
                path, frame, digest, "csv", encoding="utf-8", delimiter=delimiter, header_row=row
            )
        except _NotUtf8:
            pass  # find the bad byte, or read it as Windows-1252, below
    utf8, used, note = _to_utf8(path, data, encoding)
    frame, delimiter, row = _read_csv(path, utf8, header_row, is_header)
    return RawTable(
        path,
        frame,
        digest,
        "csv",
        encoding=used,
        delimiter=delimiter,
        encoding_note=note,
        header_row=row,
    )


def upload_name(path: Path) -> Path:
    """The name reports give an upload: `<stdin>` for `-`, else the path as given."""
    return STDIN_NAME if str(path) == STDIN else Path(path)


def upload_bytes(path: Path) -> tuple[Path, bytes]:
    """An upload's name and bytes: `-` is standard input (never a terminal), else the file."""
    if str(path) != STDIN:
        return path, path.read_bytes()
    stream = sys.stdin
    if stream is None:  # no standard input at all (a closed descriptor 0)
        return STDIN_NAME, b""
    if stream.isatty():
        raise UnreadableInput(
            f"{STDIN_NAME}: standard input is a terminal; pipe a CSV file in "
            "(heattool validate - < upload.csv) or give the file's name"
        )
    return STDIN_NAME, stream.buffer.read()


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


def _read_csv(
    path: Path, data: bytes, header_row: int | None, is_header: HeaderTest | None
) -> tuple[pl.DataFrame, str, int]:
    """The frame, its delimiter and the row of its headings (1-based).

    The first row is read as the headings first, as nearly every upload has them there; only
    when `is_header` turns it down (or it cannot head the rows below it, as a title of one cell
    cannot) are the next rows tried, and the file read again below the first that it accepts.
    """
    head = data[:65536].decode("utf-8", errors="ignore")
    if header_row is not None:
        skip = header_row - 1
        delimiter = _delimiter_of(_head_rows(head, header_row), skip, head)
        return _parse_csv(path, data, delimiter, skip), delimiter, header_row
    delimiter = sniff_delimiter(head)
    try:
        frame = _parse_csv(path, data, delimiter)
    except UnreadableInput:
        below = _below_title(path, data, head, is_header)
        if below is None:
            raise
        return below
    if is_header is None or is_header(frame.columns):
        return frame, delimiter, 1
    return _below_title(path, data, head, is_header) or (frame, delimiter, 1)


def _below_title(
    path: Path, data: bytes, head: str, is_header: HeaderTest | None
) -> tuple[pl.DataFrame, str, int] | None:
    """The file read below its title rows, when `is_header` accepts one of the rows after the
    first; else None."""
    found = _find_header(_head_rows(head, HEADER_SEARCH_ROWS), is_header) if is_header else None
    if found is None:
        return None
    skip, delimiter = found
    return _parse_csv(path, data, delimiter, skip), delimiter, skip + 1


def _head_rows(head: str, count: int) -> dict[str, list[list[str]]]:
    """The first `count` rows of the text, split at each delimiter (quoted cells kept whole)."""
    rows = {}
    for delimiter in DELIMITERS:
        found: list[list[str]] = []
        try:
            for row in csv.reader(io.StringIO(head, newline=""), delimiter=delimiter):
                found.append(row)
                if len(found) == count:
                    break
        except csv.Error:
            pass  # a row cut off where the head ends: the rows before it stand
        rows[delimiter] = found
    return rows


def _delimiter_of(rows: dict[str, list[list[str]]], number: int, head: str) -> str:
    """The delimiter that splits row `number` (0-based) into the most cells."""
    cells = {d: len(r[number]) for d, r in rows.items() if len(r) > number}
    if not cells:  # beyond the head of the file
        return sniff_delimiter(head)
    return max(DELIMITERS, key=lambda d: cells.get(d, 0))  # max keeps the first of equals


def _find_header(rows: dict[str, list[list[str]]], is_header: HeaderTest) -> tuple[int, str] | None:
    """The first row after the first that `is_header` accepts, and its delimiter."""
    for number in range(1, HEADER_SEARCH_ROWS):
        split = {d: r[number] for d, r in rows.items() if len(r) > number and r[number]}
        for delimiter in sorted(split, key=lambda d: -len(split[d])):
            if is_header(split[delimiter]):
                return number, delimiter
    return None


def _parse_csv(path: Path, data: bytes, delimiter: str, skip_rows: int = 0) -> pl.DataFrame:
    try:
        frame = pl.read_csv(
            data,
            separator=delimiter,
            infer_schema=False,
            has_header=True,
            skip_rows=skip_rows,
            raise_if_empty=False,
        )
    except pl.exceptions.PolarsError as exc:
        # Polars' own text quotes the cells it could not read: the fault is found again here
        # and named by its row, never by its text.
        reason = re.sub(r"`[^`]*`", "", str(exc)).lower()  # not a quoted cell's words
        if "utf-8" in reason or "utf8" in reason:
            raise _NotUtf8 from None
        fault = csv_fault(data, delimiter, skip_rows)
        raise UnreadableInput(f"{path}: malformed CSV: {fault}") from None
    if not frame.columns:
        if skip_rows:
            raise UnreadableInput(
                f"{path}: nothing in row {skip_rows + 1}; give the row that holds the headings "
                "(--header-row)"
            )
        raise UnreadableInput(f"{path}: no header row; the first row must hold the column names")
    return frame


def _read_parquet(path: Path, data: bytes) -> pl.DataFrame:
    """Every column of a Parquet file as text, as a CSV's cells are: dates as ISO dates, yes/no
    as true/false, numbers in digits; the same parsers then read them. Its rows are numbered as
    a spreadsheet would show them, the headings in row 1."""
    try:
        frame = pl.read_parquet(io.BytesIO(data))
        frame = frame.select(pl.all().cast(pl.String))
    except Exception as exc:  # Polars and pyarrow raise many kinds for a damaged file
        raise UnreadableInput(
            f"{path}: cannot be read as a Parquet file of plain columns ({type(exc).__name__}); "
            "write it again, or export it as CSV"
        ) from None
    if not frame.columns:
        raise UnreadableInput(f"{path}: the Parquet file has no columns")
    return frame


def csv_fault(data: bytes, delimiter: str, skip_rows: int = 0) -> str:
    """Where a file that is not well-formed CSV goes wrong, named by its row (and its line
    when a quoted cell over several lines makes them differ), and what to check; no cell is
    quoted. Rows count as a spreadsheet counts them, from the first; the headings are in row
    `skip_rows + 1`."""
    text = data.decode("utf-8", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    width, row, line = None, 0, 1  # line: where the next row starts
    limit = csv.field_size_limit()
    csv.field_size_limit(2**31 - 1)  # a cell of any size: Polars reads them
    try:
        for row, cells in enumerate(reader, 1):
            where = f"row {row}" + (f" (line {line})" if line != row else "")
            if row == skip_rows + 1:
                width = len(cells)
            elif width is not None and len(cells) > width:
                return (
                    f"{where} has {len(cells)} cells but the header row has {width}; check for "
                    "a stray quote or an extra delimiter"
                )
            line = reader.line_num + 1
    except csv.Error as exc:
        row += 1
        where = f"row {row}" + (f" (line {line})" if line != row else "")
        if "end of data" in str(exc):
            return f"the quoted cell in {where} is never closed; check for a stray quote"
        if "expected after" in str(exc):
            return (
                f"{where} has text after a quoted cell's closing quote; put the whole cell in "
                'quotes and double a quote inside it ("")'
            )
        return f"{where} cannot be read; check for a stray quote or an extra delimiter"
    finally:
        csv.field_size_limit(limit)
    return "check for a stray quote or an extra delimiter"


# What fastexcel's errors (calamine's) mean, in words that quote nothing: their own text can
# quote a cell ("Unsupported cell error value '...'").
_WORKBOOK_FAULTS = (
    ("zip", "the file is damaged or is not a workbook"),
    ("password", "it is protected by a password; save a copy without one"),
    ("encrypt", "it is protected by a password; save a copy without one"),
    ("cell error value", "a cell holds an error value Excel does not write"),
    ("cell 't' attribute", "a cell has a type Excel does not write"),
    ("parse float", "a number cell holds something that is not a number"),
    ("parse int", "a number cell holds something that is not a number"),
    ("shared strings", "a text cell points to text the workbook does not hold"),
    ("xml", "the XML inside it is damaged"),
)


def _workbook_fault(exc: BaseException) -> str:
    """Why a workbook or sheet could not be read, from fastexcel's error, quoting none of it
    but the error's type when nothing better is known."""
    text = str(exc).lower()
    for clue, reason in _WORKBOOK_FAULTS:
        if clue in text:
            return reason
    return f"the workbook is damaged ({type(exc).__name__})"


def _read_excel(
    path: Path, sheet: str | None, header_row: int | None, is_header: HeaderTest | None
) -> tuple[pl.DataFrame, str, int, int]:
    """The frame, its sheet, the row of its headings (1-based) and its first column (0 is A).

    Each sheet is read once, with no row taken as the headings, as the spreadsheet shows it
    from row 1 (fastexcel leaves out empty columns before the first used one, not empty rows),
    and the headings are chosen from its rows.
    """
    import fastexcel

    try:
        reader = fastexcel.read_excel(str(path))
    except Exception as exc:  # fastexcel raises its own error types for every failure
        raise UnreadableInput(
            f"{path}: cannot be read as an Excel workbook ({_workbook_fault(exc)}); "
            "save it again as .xlsx or export it as CSV"
        ) from None
    names = reader.sheet_names
    if sheet is not None:
        # Excel's sheet names are unique whatever their case, so at most one matches.
        matching = [n for n in names if n == sheet] or [
            n for n in names if n.casefold() == sheet.casefold()
        ]
        if not matching:
            raise UnreadableInput(
                f"{path}: no sheet named '{sheet}'; the sheets are: {', '.join(names)}"
            )
        names = matching[:1]
    fallback: tuple[pl.DataFrame, str, int] | None = None
    for name in names:
        try:
            loaded = reader.load_sheet(name, header_row=None, skip_rows=0, dtypes="string")
            grid = loaded.to_polars()
            columns = loaded.available_columns()
        except Exception as exc:
            raise UnreadableInput(
                f"{path}: sheet '{name}' cannot be read ({_workbook_fault(exc)}); save it "
                "again as .xlsx or export it as CSV"
            ) from None
        if not grid.width or grid.height == 0:
            continue
        first_column = columns[0].absolute_index if columns else 0
        row = _sheet_header(grid, header_row, is_header)
        if row is not None:
            return _headed(grid, row), name, row + 1, first_column
        if fallback is None:
            fallback = grid, name, first_column
    if fallback is None:
        raise UnreadableInput(f"{path}: every sheet is empty; put the header row in row 1")
    grid, name, first_column = fallback
    if header_row is not None:
        if header_row > grid.height:
            raise UnreadableInput(
                f"{path}: sheet '{name}' has no row {header_row}; give the row that holds "
                "the headings (--header-row)"
            )
        row = header_row - 1
    else:  # the first row with anything in it
        row = grid.select(pl.any_horizontal(pl.all().is_not_null())).to_series().arg_true()[0]
    return _headed(grid, row), name, row + 1, first_column


def _sheet_header(
    grid: pl.DataFrame, header_row: int | None, is_header: HeaderTest | None
) -> int | None:
    """The 0-based row of a sheet's headings, when `header_row` or `is_header` tells it."""
    if header_row is not None:
        fits = header_row <= grid.height
        if fits and is_header is not None:
            fits = is_header(_names(grid.row(header_row - 1)))
        return header_row - 1 if fits else None
    for number, cells in enumerate(grid.head(HEADER_SEARCH_ROWS).iter_rows()):
        if all(cell is None for cell in cells):
            continue
        if is_header is None:
            return number  # the first row with anything in it, as before title rows were sought
        if is_header(_names(cells)):
            return number
    return None


def _headed(grid: pl.DataFrame, row: int) -> pl.DataFrame:
    """The rows below `row`, named by its cells."""
    frame = grid.slice(row + 1)
    frame.columns = _names(grid.row(row))
    return frame


def _names(cells: Sequence[str | None]) -> list[str]:
    """Column names from heading cells, as fastexcel makes them: `__UNNAMED__2` for an empty
    cell, `Forename_1` for the second 'Forename'."""
    names: list[str] = []
    seen: set[str] = set()
    # the repeat each name was last given: those below it are taken still, so the search for a
    # free one starts there (from 0 each time, 16,384 cells 'Notes' took a minute)
    given: dict[str, int] = {}
    for position, cell in enumerate(cells):
        name = cell if cell else f"__UNNAMED__{position}"
        repeat = given.get(name, 0)
        candidate = f"{name}_{repeat}" if repeat else name
        while candidate in seen:
            repeat += 1
            candidate = f"{name}_{repeat}"
        given[name] = repeat
        seen.add(candidate)
        names.append(candidate)
    return names
