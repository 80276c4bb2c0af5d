"""Fuzz `heattool validate` and `heattool import` with hostile uploads, in-process.

Each upload is generated from a seed: CSV (most) or XLSX, of every kind (students, activities,
attendance, ambassadors), with realistic headings (the alias table's, HEAT export headings) or
hostile ones (duplicates, `file`, `_index`, `error_codes`, rich markup, empty, over two lines),
and cells that are mostly plausible with hostile values mixed in: `Label (code)` values, accented
names, NaN/inf/1e309, non-ASCII digits, `[/]` and `[bold]` markup, leading `=+-@`, huge cells,
quotes and line breaks. Files are then spoilt at random: byte-order marks, other encodings,
other delimiters and line endings, ragged rows, truncation, flipped bytes, random bytes, empty
files. File names carry markup, accents and spaces too.

Every upload goes through `heattool validate` and `heattool import` (Typer's CliRunner, with
`from heattool.cli import app`), into a copy of a store that already holds the examples. Each run
is checked against the contracts in the README:

- the exit code is 0, 1, 2 or 3: never 4 (an internal error), never an uncaught exception;
- no traceback on stdout or stderr; stderr is one `error: ...` line per error, nothing else;
- validate: rows = valid + invalid, the error count adds up, the exit code matches the verdict;
- import: for each file, inserted + updated + unchanged + rejected = its data rows (as validate
  counted them), the rejects file holds exactly the rejected rows, the exit code is 1 exactly when
  rows were rejected, and the store changed by exactly what was reported;
- import: the store is untouched by a dry run, by an unreadable upload (exit 2 or 3) and, with
  `--on-invalid abort`, by any upload with an error; no store file is made for an unreadable
  upload;
- in text output the file name is shown literally (markup in it is not interpreted, a line
  break or other control character in it escaped, as `\n`).

    .venv/bin/python benchmarks/fuzz.py --uploads 10000            # the full run
    .venv/bin/python benchmarks/fuzz.py --uploads 300 --seed 7     # about what CI runs

It prints the counts (uploads, runs, exit codes, violations grouped by cause) and keeps one
reproducer per cause in `--keep` (default benchmarks/out/fuzz/): the upload and the command.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import io
import json
import os
import random
import re
import shutil
import sys
import tempfile
import time
import tomllib
import traceback
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
AS_OF = "2026-11-24"
MEMBER = "KENT"
KINDS = ("students", "activities", "attendance", "ambassadors")

# -- the pools ----------------------------------------------------------------------------------

MARKUP = [
    "[/]",
    "[bold]",
    "[bold]x",
    "[red]alert[/red]",
    "[/bold]",
    "[link=http://x]y[/link]",
    "[",
    "]",
    "[[/]]",
    "\\[bold]",
    "[bold red on white]",
    ":warning:",
    "[/]x[/]",
]
FORMULA = [
    "=1+1",
    '=HYPERLINK("http://x","y")',
    "+44 1227",
    "-1",
    "@SUM(A1)",
    "=cmd|' /C calc'!A0",
    "\t=1",
    "\r=1",
]
NUMBERISH = [
    "NaN",
    "nan",
    "inf",
    "-inf",
    "Infinity",
    "1e309",
    "-1e309",
    "1e-400",
    "0",
    "-0",
    "00",
    "1_000",
    "0x10",
    "1,5",
    "2.5",
    " 7 ",
    "+3",
    "١٢",
    "٣",
    "۲۰۲۶",
    "२०२६",
    "２０２６",
    "12345678901234567890",
    "9" * 40,
    "1e18",
    "-2147483649",
    "None",
    "null",
    "NULL",
    "#N/A",
    "#DIV/0!",
    "TRUE",
    "FALSE",
]
WEIRD_TEXT = [
    "",
    " ",
    "  ",
    "\u00a0",
    "\u200b",
    "\u202e",
    "\ufeff",
    "Zoë",
    "Siân",
    "Ó Súilleabháin",
    "Brontë",
    "Chloé",
    "Renée",
    "Ní Bhriain",
    "O'Brien",
    "李雷",
    "Ωμέγα",
    "🙂",
    'a"b',
    '"',
    "a,b",
    "a;b",
    "a\tb",
    "line\nbreak",
    "cr\rcr",
    "back\\slash",
    "'quoted'",
    "\x07",
    "\x1b[31mred",
    "ｃｔ１ ２ｅｈ",
    "é" * 300,
]
HOSTILE = MARKUP + FORMULA + NUMBERISH + WEIRD_TEXT

FORENAMES = [
    "Amelia",
    "Oliver",
    "Zoë",
    "Siân",
    "Seán",
    "Niamh",
    "Chloé",
    "Anaïs",
    "Oisín",
    "Ciarán",
    "Muhammad",
    "Aisha",
    "Kacper",
    "Zofia",
    "Tomás",
    "Ellie-Mae",
    "Dafydd",
    "Eilidh",
]
SURNAMES = [
    "Hughes",
    "Khan",
    "O'Brien",
    "Ní Bhriain",
    "ap Rhys",
    "Ó Súilleabháin",
    "Brontë",
    "Nowak",
    "Smith-Jones",
    "MacDonald",
    "Okafor",
    "Zoë-Ann Price",
    "Llewellyn",
    "Patel",
]
POSTCODES = [
    "CT1 2EH",
    "ct12eh",
    "ME4 4AA",
    "me44aa",
    "SW1A 1AA",
    "EH1 1YZ",
    "BT1 5GS",
    "CF10 3AT",
    "GIR 0AA",
    "BF1 3AA",
    "TD15 1AA",
    "G1 1XQ",
    "CT1 1CI",
    "12345",
    "NOT KNOWN",
    "SW1A1A",
    "ＳＷ１Ａ １ＡＡ",
    "ct1  2eh",
    " ct1 2eh ",
]
DATES = [
    "14/03/2009",
    "02/09/2008",
    "1/9/2008",
    "2008-09-01",
    "01-09-2008",
    "01.09.2008",
    "1 Sep 2008",
    "1 September 2008",
    "39448",
    "39448.0",
    "31/02/2009",
    "29/02/2008",
    "29/02/2009",
    "09/13/2008",
    "2031-05-05",
    "1900-01-01",
    "0001-01-01",
    "9999-12-31",
    "00/00/0000",
    "2008-09-01T00:00:00",
    "2008-09-01 12:00",
    "٠١/٠٩/٢٠٠٨",
    "2008/09/01",
    "-1",
    "99999999",
    "1e309",
    "13/13/2013",
    "01/01/1900",
]
ACTIVITY_DATES = ["10/10/2024", "2025-07-21", "05/02/2025", "1 Mar 2025", "2024-13-01", "45000"]
SEX = [
    "10",
    "11",
    "12",
    "96",
    "99",
    "Female",
    "Male",
    "F",
    "M",
    "female",
    "Female (10)",
    "Male (11)",
    "Other (12)",
    "(10)",
    "10 (Female)",
    "X",
    "3",
    "Unknown",
]
ETHNICITY = [
    "160",
    "104",
    "100",
    "White - British",
    "White - British (160)",
    "Asian - Indian",
    "119",
    "998",
    "White Other",
]
DISABILITY = ["95", "51", "No known disability", "No known disability (95)", "7", "A"]
BOOLS = [
    "Yes",
    "No",
    "Y",
    "N",
    "y",
    "n",
    "TRUE",
    "False",
    "1",
    "0",
    "yes (1)",
    "Yes (Y)",
    "maybe",
    "١",
    "Oui",
]
YEARS = [
    "",
    "2026",
    "2027",
    "2026/27",
    "2026.0",
    "٢٠٢٦",
    "20260",
    "-2026",
    "1e309",
    "inf",
    " 2026 ",
]
NATIONS = ["", "England", "Wales", "Scotland", "Northern Ireland", "ENGLAND", "Eng", "Cymru", "UK"]
STAGES = ["pre-entry", "post-entry", "Pre-entry", "Pre Entry", "pre entry", "during", ""]
HOURS = ["5", "30", "2.5", "0", "-1", "1e309", "inf", "-inf", "NaN", "١", "1,5", "", "3 hours"]
TEXT = [
    "Canterbury Academy",
    "Chatham Grammar",
    "Campus visit",
    "Summer school",
    "In person",
    "Online",
    "Residential",
    "No religion",
    "Muslim",
    "Woman",
    "Man",
    "BSc Biology",
    "University of Kent",
    "Year 10 Campus Visit",
]

# HEAT's own export headings, and the `Label (code)` headings some exports carry.
HEAT_HEADINGS = {
    "student_ref": ["Student HEAT ID", "HEAT ID", "Student ID"],
    "forename": ["First Name"],
    "surname": ["Last Name"],
    "date_of_birth": ["Date of Birth"],
    "postcode": ["Home Postcode"],
    "sex": ["Sex (code)", "Sex"],
    "ethnicity": ["Ethnicity (code)"],
    "disability": ["Disability (code)"],
    "activity_ref": ["Activity HEAT ID", "Activity ID"],
    "attended_on": ["Date Attended"],
}
RESERVED_HEADINGS = [
    "file",
    "_index",
    "_row",
    "row",
    "error_codes",
    "error_messages",
    "heat_id",
    "batch_id",
    "member",
    "created_at",
    "updated_at",
    "severity",
    "code",
    "message",
    "value",
    "cell",
    "column",
    "field",
    "kind",
    "",
    " ",
    "index",
    "_erased",
    "_no_student",
    "_no_activity",
    "_as_of",
    "len",
]


def _aliases() -> dict[str, list[str]]:
    path = ROOT / "src" / "heattool" / "schemas" / "aliases.toml"
    table: dict[str, list[str]] = tomllib.loads(path.read_text("utf-8"))["aliases"]
    return table


ALIASES = _aliases()

COLUMNS = {
    "students": [
        "student_ref",
        "forename",
        "surname",
        "date_of_birth",
        "postcode",
        "school",
        "nation",
        "sex",
        "gender_identity",
        "ethnicity",
        "disability",
        "religion",
        "permission_to_track",
        "expected_he_entry_year",
    ],
    "activities": [
        "activity_ref",
        "name",
        "activity_type",
        "start_date",
        "end_date",
        "delivery_mode",
        "hours",
        "stage",
    ],
    "attendance": ["student_ref", "activity_ref", "attended_on"],
    "ambassadors": [
        "ambassador_ref",
        "forename",
        "surname",
        "date_of_birth",
        "postcode",
        "he_provider",
        "course",
        "permission_to_track",
        "heat_privacy_notice",
        "hesa_privacy_notice",
    ],
}
REQUIRED = {
    "students": ["student_ref"],
    "activities": ["activity_ref", "name", "activity_type", "start_date"],
    "attendance": ["student_ref", "activity_ref"],
    "ambassadors": ["ambassador_ref", "forename", "surname"],
}
REFS = {
    "student_ref": [f"S{n:04d}" for n in range(1, 16)] + ["M001", "s0001", " S0002", "S0001 "],
    "activity_ref": [f"A{n:03d}" for n in range(1, 9)] + ["a001"],
    "ambassador_ref": [f"SA{n:02d}" for n in range(1, 6)],
}


def plausible(rng: random.Random, column: str) -> str:
    """A value a real upload might hold in this column (some of them wrong)."""
    if column in REFS:
        return (
            rng.choice(REFS[column])
            if rng.random() < 0.7
            else f"{column[0].upper()}{rng.randrange(10**6)}"
        )
    pools = {
        "forename": FORENAMES,
        "surname": SURNAMES,
        "date_of_birth": DATES,
        "postcode": POSTCODES,
        "sex": SEX,
        "ethnicity": ETHNICITY,
        "disability": DISABILITY,
        "nation": NATIONS,
        "permission_to_track": BOOLS,
        "heat_privacy_notice": BOOLS,
        "hesa_privacy_notice": BOOLS,
        "expected_he_entry_year": YEARS,
        "stage": STAGES,
        "hours": HOURS,
        "start_date": ACTIVITY_DATES,
        "end_date": [*ACTIVITY_DATES, ""],
        "attended_on": [*ACTIVITY_DATES, ""],
    }
    pool = pools.get(column, TEXT)
    # the valid values of each pool come first: favour them, so that many rows load
    return pool[min(int(rng.expovariate(0.35)), len(pool) - 1)]


LIMITS = {"cell": 200_000, "rows": 2000}  # CI's reduced run sets smaller ones: see fuzz()


def hostile(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.03:
        times = min(rng.choice([1000, 40000, 200000]), LIMITS["cell"])
        return rng.choice(["x", "é", "[/]", '""', "a\nb"]) * times
    if roll < 0.08:
        return "".join(
            chr(
                rng.choice(
                    [
                        rng.randrange(1, 0x80),
                        rng.randrange(0x80, 0x800),
                        rng.randrange(0x800, 0xD800),
                        rng.randrange(0xE000, 0x10FFFF),
                    ]
                )
            )
            for _ in range(rng.randrange(1, 12))
        )
    if roll < 0.15:
        return rng.choice(HOSTILE) + rng.choice(HOSTILE)
    return rng.choice(HOSTILE)


def heading_for(rng: random.Random, column: str) -> str:
    roll = rng.random()
    if roll < 0.08 and column in HEAT_HEADINGS:
        return rng.choice(HEAT_HEADINGS[column])
    if roll < 0.25:
        return column
    options = ALIASES.get(column, [column])
    heading = rng.choice(options)
    style = rng.random()
    if style < 0.1:
        heading = heading.upper()
    elif style < 0.2:
        heading = heading.lower().replace(" ", "_")
    elif style < 0.25:
        heading = f"  {heading} "
    elif style < 0.265:
        heading = f"{heading} (code)"
    elif style < 0.28:
        heading = f"[bold]{heading}[/]"
    return heading


# -- uploads ------------------------------------------------------------------------------------


@dataclass
class Upload:
    """One generated upload: its file name, bytes and what the generator did to it."""

    name: str
    data: bytes
    kind: str | None  # the kind it was built as (None: random bytes)
    notes: list[str] = field(default_factory=list)
    subdir: str = ""  # a folder for names holding '/', e.g. `[/]`


def table(rng: random.Random, kind: str, notes: list[str]) -> list[list[str]]:
    """A header row and data rows for a kind, realistic with hostile parts."""
    columns = list(REQUIRED[kind])
    optional = [c for c in COLUMNS[kind] if c not in columns]
    columns += rng.sample(optional, rng.randrange(len(optional) + 1))
    if rng.random() < 0.08:  # a required column missing
        columns.remove(rng.choice(REQUIRED[kind]))
        notes.append("missing-required")
    rng.shuffle(columns)
    header = [heading_for(rng, c) for c in columns]
    if rng.random() < 0.12:  # a column from another kind
        other = rng.choice(KINDS)
        column = rng.choice(COLUMNS[other])
        columns.append(column)
        header.append(heading_for(rng, column))
        notes.append("foreign-column")
    if rng.random() < 0.1 and columns:  # the same column twice
        i = rng.randrange(len(columns))
        columns.append(columns[i])
        header.append(heading_for(rng, columns[i]) if rng.random() < 0.5 else header[i])
        notes.append("duplicate-heading")
    for _ in range(rng.choice([0] * 6 + [1, 1, 2, 3])):  # headings a rejects file also uses
        columns.append("?")
        header.append(rng.choice(RESERVED_HEADINGS))
        notes.append("reserved-heading")
    if rng.random() < 0.08:
        columns.append("?")
        header.append(rng.choice([*MARKUP, "line\nbreak", "Notes", "Gender (code)"]))
        notes.append("odd-heading")
    if rng.random() < 0.02:  # very wide
        for n in range(rng.randrange(50, 400)):
            columns.append("?")
            header.append(f"Extra {n}")
        notes.append("wide")
    rows = [header]
    size = rng.choice([0, 1, 1, 2, 3, 5, 8, 13, 20, 40]) if rng.random() > 0.01 else LIMITS["rows"]
    mutation = rng.choice([0.0, 0.02, 0.05, 0.1, 0.3])
    for _ in range(size):
        row = [
            hostile(rng) if rng.random() < mutation else plausible(rng, c if c != "?" else "school")
            for c in columns
        ]
        if rng.random() < 0.03:
            row = [""] * len(row)  # a blank row
        rows.append(row)
    if size > 1 and rng.random() < 0.1:  # a duplicated row
        rows.append(list(rng.choice(rows[1:])))
        notes.append("duplicate-row")
    return rows


def to_csv(rng: random.Random, rows: list[list[str]], notes: list[str]) -> bytes:
    delimiter = rng.choice([",", ",", ",", ",", ";", "\t"] * 5 + ["|"])
    quoting = rng.choice([csv.QUOTE_MINIMAL, csv.QUOTE_MINIMAL, csv.QUOTE_ALL])
    ending = rng.choice(["\r\n", "\n", "\n", "\r"])
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, quoting=quoting, lineterminator=ending)
    for row in rows:
        if rng.random() < 0.01 and row:
            row = row[: rng.randrange(len(row))] if rng.random() < 0.5 else [*row, "extra"]
            notes.append("ragged")
        writer.writerow(row)
    text = buffer.getvalue()
    if rng.random() < 0.03:
        text += rng.choice(["\n\n\n", ending * 2, '"unterminated', ",,,\n", "\x1a"])
        notes.append("tail")
    encoding = rng.choice(
        ["utf-8"] * 16
        + ["utf-8-sig"] * 6
        + ["cp1252"] * 3
        + ["latin-1", "utf-16", "utf-16-le", "shift_jis", "cp437"]
    )
    data = text.encode(encoding, errors="replace")
    if encoding != "utf-8":
        notes.append(encoding)
    if rng.random() < 0.03:
        data = b"\xef\xbb\xbf" + data  # a second (or a stray) byte-order mark
        notes.append("extra-bom")
    return data


def to_xlsx(rng: random.Random, rows: list[list[str]], notes: list[str]) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True, "strings_to_numbers": False})
    sheets = []
    if rng.random() < 0.2:
        sheets.append(workbook.add_worksheet("Empty"))  # an empty first sheet
        notes.append("empty-first-sheet")
    sheet = workbook.add_worksheet("Data")
    sheets.append(sheet)
    date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            value = value[:32000]  # Excel's own limit on a cell
            roll = rng.random()
            if r and roll < 0.1 and re.fullmatch(r"-?\d+(\.\d+)?", value):
                sheet.write_number(r, c, float(value))
            elif r and roll < 0.15 and re.fullmatch(r"\d\d/\d\d/\d{4}", value):
                day, month, year = map(int, value.split("/"))
                try:
                    import datetime as dt

                    sheet.write_datetime(r, c, dt.datetime(year, month, day), date_format)
                except ValueError:
                    sheet.write_string(r, c, value)
            elif r and roll < 0.17:
                sheet.write_formula(r, c, rng.choice(["=1/0", "=NA()", "=1+1", '="x"&"y"']))
            elif r and roll < 0.19:
                sheet.write_boolean(r, c, rng.random() < 0.5)
            elif value:
                sheet.write_string(r, c, value)
    workbook.close()
    data = buffer.getvalue()
    sheet_name = None
    if rng.random() < 0.3:
        sheet_name = rng.choice([*MARKUP, "Zoë's sheet", "Students & Co", "<b>", 'Sheet "1"'])
        data = rename_sheet(data, "Data", sheet_name)
        notes.append("sheet-name")
    if rng.random() < 0.05:
        data = data[: rng.randrange(len(data))]  # a truncated workbook
        notes.append("truncated")
    return data


def rename_sheet(data: bytes, old: str, new: str) -> bytes:
    """The workbook with a sheet renamed to what Excel would refuse (brackets, slashes)."""
    from xml.sax.saxutils import quoteattr

    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            body = source.read(item.filename)
            if item.filename in ("xl/workbook.xml", "docProps/app.xml"):
                text = body.decode("utf-8")
                text = text.replace(f'name="{old}"', f"name={quoteattr(new)}")
                text = text.replace(
                    f"<vt:lpstr>{old}</vt:lpstr>", f"<vt:lpstr>{_xml(new)}</vt:lpstr>"
                )
                body = text.encode("utf-8")
            target.writestr(item, body)
    return out.getvalue()


def _xml(text: str) -> str:
    from xml.sax.saxutils import escape

    return escape(text)


NAMES = [
    "upload",
    "students",
    "Zoë's register",
    "export 2026",
    "[bold]x",
    "[red]upload[/red]",
    "=cmd",
    "+file",
    "-dash",
    "@at",
    "new\nline",
    "tab\there",
    "名簿",
    "a" * 120,
    "students (1)",
    "[link=x]y",
    "  spaced  ",
    "semi;colon",
    'quote"d',
]


def file_name(rng: random.Random, suffix: str) -> tuple[str, str]:
    """(folder, file name): a folder only when the name holds `[/]`, which a file name can't."""
    if rng.random() < 0.04:
        return "[", f"]{rng.choice(['', 'x', '[bold]'])}{suffix}"  # the path holds `[/]`
    stem = rng.choice(NAMES) if rng.random() < 0.5 else f"upload{rng.randrange(1000)}"
    if rng.random() < 0.05:
        suffix = rng.choice([".CSV", ".txt", "", ".xlsx", ".csv", ".xls", ".ods", ".tsv"])
    return "", stem + suffix


def spoil(rng: random.Random, data: bytes, notes: list[str]) -> bytes:
    roll = rng.random()
    if roll < 0.02 and data:
        notes.append("truncated")
        return data[: rng.randrange(len(data))]
    if roll < 0.04 and data:
        notes.append("flipped-bytes")
        buffer = bytearray(data)
        for _ in range(rng.randrange(1, 8)):
            buffer[rng.randrange(len(buffer))] = rng.randrange(256)
        return bytes(buffer)
    return data


def generate(seed: int) -> Upload:
    """The upload of one seed: the same seed gives the same bytes."""
    rng = random.Random(seed)
    roll = rng.random()
    notes: list[str] = []
    if roll < 0.03:
        data = rng.choice(
            [
                b"",
                b" ",
                b"\n\n",
                b"\xef\xbb\xbf",
                b"\xef\xbb\xbf\n",
                b"\xff\xfe",
                b",",
                b'"',
                b";;;\n",
                b"\x00" * 10,
                b"PK\x03\x04",
                b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
            ]
        )
        folder, name = file_name(rng, rng.choice([".csv", ".xlsx"]))
        return Upload(name, data, None, ["degenerate"], folder)
    if roll < 0.06:
        data = rng.randbytes(rng.randrange(1, 4096))
        folder, name = file_name(rng, rng.choice([".csv", ".xlsx"]))
        return Upload(name, data, None, ["random-bytes"], folder)
    kind = rng.choice(KINDS)
    rows = table(rng, kind, notes)
    if rng.random() < 0.12:
        folder, name = file_name(rng, ".xlsx")
        data = to_xlsx(rng, rows, notes)
    else:
        folder, name = file_name(rng, ".csv")
        data = spoil(rng, to_csv(rng, rows, notes), notes)
    return Upload(name, data, kind, notes, folder)


# -- the checks ---------------------------------------------------------------------------------


@dataclass
class Run:
    command: list[str]
    exit_code: int
    stdout: str
    stderr: str
    exception: BaseException | None
    seconds: float = 0.0


class Runner:
    """heattool in-process, as `heattool ARGS` would run it: Typer's CliRunner on the app.

    The click command is built from the app once, not on every call (Typer takes 0.15 s to
    build it, three times what validating a small upload takes).
    """

    def __init__(self) -> None:
        from typer.main import get_command
        from typer.testing import CliRunner

        from heattool.cli import app

        self.app = app
        self.command = get_command(app)
        self.runner = CliRunner()

    def __call__(self, args: list[str]) -> Run:
        import typer.testing

        start = time.perf_counter()

        built = typer.testing._get_command
        typer.testing._get_command = lambda app: self.command  # type: ignore[assignment]
        try:
            result = self.runner.invoke(self.app, args)
        finally:
            typer.testing._get_command = built
        exception = result.exception
        if isinstance(exception, SystemExit):
            exception = None
        seconds = time.perf_counter() - start
        return Run(args, result.exit_code, result.stdout, result.stderr, exception, seconds)


STORE_TABLES = (
    "members",
    "students",
    "activities",
    "attendance",
    "ambassadors",
    "import_batches",
    "audit_events",
    "audit_records",
    "suppression_list",
)


def store_state(db: Path) -> dict[str, object]:
    """What a store holds: the row count of each table and a checksum of each people table."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        state: dict[str, object] = {}
        for name in STORE_TABLES:
            state[name] = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]  # type: ignore[index]
        for name in ("students", "activities", "attendance", "ambassadors"):
            state[f"{name}_sum"] = con.execute(
                f"SELECT coalesce(sum(hash(t)::HUGEINT), 0)::VARCHAR FROM {name} AS t"
            ).fetchone()[0]  # type: ignore[index]
        return state
    finally:
        con.close()


def baseline_store(folder: Path, runner: Runner) -> Path:
    """A store holding the examples for KENT (and one other member), made once."""
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / "baseline.duckdb"
    files = [EXAMPLES / f"{k}.csv" for k in ("activities", "students", "attendance", "ambassadors")]
    for member in (MEMBER, "OTHER"):
        run = runner(
            ["import", *map(str, files), "--member", member, "--db", str(db), "--as-of", AS_OF]
        )
        if run.exit_code != 0:
            raise SystemExit(f"could not build the baseline store: {run.stderr}{run.exception}")
    return db


def empty_store(folder: Path) -> Path:
    """A new store as heattool makes it, with nothing loaded."""
    from heattool.store import Store

    db = folder / "empty.duckdb"
    with Store.open(db):
        pass
    return db


@dataclass
class Violation:
    cause: str  # grouped by this
    detail: str
    command: list[str]
    seed: int


SLOW = 60  # seconds: no generated upload is over a few MB

_VOLATILE = re.compile(r"(/[^\s:'\"]*)|(\d+)")


def cause_of(text: str) -> str:
    """A message's first line with paths, numbers and lists taken out: one bug is one group."""
    lines = text.strip().splitlines()
    first = re.sub(r"\[[^\]]*\]", "[...]", lines[0] if lines else "")
    return _VOLATILE.sub(lambda m: "<path>" if m.group(1) else "N", first)[:160]


class Fuzzer:
    def __init__(
        self, folder: Path, keep: Path | None = None, prefix: str = "", import_share: float = 1.0
    ) -> None:
        self.folder = folder
        self.import_share = import_share  # CI imports only some uploads: an import takes 0.3 s
        self.keep = keep
        self.prefix = prefix
        self.run = Runner()
        self.baseline = baseline_store(folder / "base", self.run)
        self.before = store_state(self.baseline)
        self.empty = store_state(empty_store(folder / "base"))
        self.uploads = 0
        self.runs = 0
        self.exits: Counter[tuple[str, int]] = Counter()
        self.violations: list[Violation] = []
        self.kept: set[str] = set()

    # each check adds a violation rather than stopping, so that one run finds every cause
    def flag(self, cause: str, detail: str, run: Run, seed: int, uploads: list[Path]) -> None:
        self.violations.append(Violation(cause, detail, run.command, seed))
        if self.keep is not None and cause not in self.kept:
            self.kept.add(cause)
            case = self.keep / f"{self.prefix}case-{len(self.kept):03d}-seed-{seed}"
            case.mkdir(parents=True, exist_ok=True)
            for n, path in enumerate(uploads):
                if path.exists():
                    shutil.copyfile(path, case / f"{n}-{_safe(path.name)}")
            (case / "README.txt").write_text(
                f"cause: {cause}\nseed: {seed}\n"
                f"command: heattool {' '.join(map(repr, run.command))}\n"
                f"exit: {run.exit_code}\nstderr:\n{run.stderr}\ndetail:\n{detail}\n",
                "utf-8",
            )

    def check_run(self, run: Run, seed: int, uploads: list[Path]) -> bool:
        """The checks every command must pass; False when the run crashed."""
        self.runs += 1
        self.exits[(run.command[0], run.exit_code)] += 1
        ok = True
        if run.seconds > SLOW:
            self.flag(
                f"slow: {run.command[0]} over {SLOW} s", f"{run.seconds:.1f} s", run, seed, uploads
            )
        if run.exception is not None:
            text = "".join(traceback.format_exception_only(type(run.exception), run.exception))
            self.flag(
                f"uncaught {type(run.exception).__name__}: {cause_of(text)}",
                text,
                run,
                seed,
                uploads,
            )
            return False
        if run.exit_code == 4:
            self.flag(f"exit 4: {cause_of(run.stderr)}", run.stderr, run, seed, uploads)
            ok = False
        elif run.exit_code not in (0, 1, 2, 3):
            self.flag(f"exit {run.exit_code}", run.stderr, run, seed, uploads)
            ok = False
        if "Traceback" in run.stderr or "Traceback (most recent call last)" in run.stdout:
            self.flag("traceback printed", run.stderr[-2000:], run, seed, uploads)
        lines = run.stderr.splitlines()
        stray = [line for line in lines if not line.startswith("error: ")]
        if stray:
            where = (
                "a path with a line break" if any("\n" in a for a in run.command) else "a message"
            )
            self.flag(
                f"stderr: an error over several lines ({where}, exit {run.exit_code})",
                run.stderr[:2000],
                run,
                seed,
                uploads,
            )
        if run.exit_code in (2, 3, 4) and not lines:
            self.flag(
                f"exit {run.exit_code} with nothing on stderr", run.stdout[:500], run, seed, uploads
            )
        if run.exit_code in (0, 1) and run.command[0] == "import" and lines:
            self.flag("import exit 0/1 with an error on stderr", run.stderr, run, seed, uploads)
        return ok

    def place(self, upload: Upload, work: Path) -> Path:
        # a '/' in a name (`[/]`, `[red]x[/red]`) makes folders: the path still reads so
        path = work / upload.subdir / upload.name if upload.subdir else work / upload.name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(upload.data)
        return path

    def one(self, seed: int) -> None:
        """The case of one seed: one upload (or two or three) through validate and import."""
        rng = random.Random(seed ^ 0x5EED)
        count = 1 if rng.random() < 0.85 else rng.randrange(2, 4)
        self.check([generate(seed * 10 + n) for n in range(count)], seed, rng)

    def check(self, uploads: list[Upload], seed: int, rng: random.Random) -> None:
        """Run these uploads through validate and import (options drawn from rng), checked."""
        work = Path(tempfile.mkdtemp(dir=self.folder))
        try:
            paths = [self.place(u, work / f"u{n}") for n, u in enumerate(uploads)]
            self.uploads += len(uploads)
            extra: list[str] = []
            if rng.random() < 0.05:
                extra += ["--kind", rng.choice(KINDS)]
            if rng.random() < 0.03:
                extra += [
                    "--encoding",
                    rng.choice(["cp1252", "utf-8", "utf-16", "latin-1", "nonsense"]),
                ]
            if rng.random() < 0.03:
                extra += ["--sheet", rng.choice(["Data", "Empty", "[/]", "Sheet1"])]
            self.validate(seed, paths, extra, rng)
            if rng.random() < self.import_share:
                self.import_(seed, paths, extra, rng, work)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def validate(self, seed: int, paths: list[Path], extra: list[str], rng: random.Random) -> None:
        as_json = rng.random() < 0.6
        errors_out = paths[0].parent / "errors-out.csv" if rng.random() < 0.2 else None
        args = ["validate", *map(str, paths), "--as-of", AS_OF, *extra]
        args += ["--format", "json"] if as_json else []
        # all errors listed in a text table is slow past a few thousand: only for small uploads
        small = sum(p.stat().st_size for p in paths) < 20_000
        args += ["--max-errors", str(rng.choice([0, 1, 50] if as_json or small else [1, 50]))]
        args += ["--errors-out", str(errors_out)] if errors_out else []
        run = self.run(args)
        if not self.check_run(run, seed, paths) or run.exit_code == 3:
            return
        lines = run.stderr.splitlines()
        if not as_json:
            if run.exit_code in (0, 1):
                flat = re.sub(r"\s", "", run.stdout)
                for path in paths:
                    if re.sub(r"\s", "", _shown(path)) not in flat:
                        self.flag(
                            "validate text: file name not shown literally",
                            run.stdout[:1000],
                            run,
                            seed,
                            paths,
                        )
            return
        try:
            document = json.loads(run.stdout)
        except json.JSONDecodeError as exc:
            if run.exit_code != 2 or len(paths) > 1 or run.stdout.strip():
                self.flag(
                    "validate --format json: not JSON",
                    f"{exc}: {run.stdout[:500]}",
                    run,
                    seed,
                    paths,
                )
            return
        files = document["files"]
        unreadable = [f for f in files if not f["readable"]]
        if len(files) != len(paths):
            self.flag("validate json: not one object per file", run.stdout[:1000], run, seed, paths)
        if len(unreadable) != len(lines):
            self.flag("validate: stderr lines != unreadable files", run.stderr, run, seed, paths)
        for f in files:
            if not f["readable"]:
                continue
            if f["rows"] != f["valid_rows"] + f["invalid_rows"]:
                self.flag(
                    "validate json: rows != valid + invalid", json.dumps(f)[:500], run, seed, paths
                )
            if f["error_count"] != sum(f["errors_by_code"].values()):
                self.flag("validate json: error_count != sum(errors_by_code)", "", run, seed, paths)
            if f["valid"] != (f["error_count"] == 0):
                self.flag("validate json: valid disagrees with error_count", "", run, seed, paths)
            if f["invalid_rows"] and not f["error_count"]:
                self.flag("validate json: invalid rows without errors", "", run, seed, paths)
        expected = 2 if unreadable else (0 if all(f["valid"] for f in files) else 1)
        if run.exit_code != expected:
            self.flag(
                f"validate: exit {run.exit_code}, expected {expected}",
                run.stdout[:500],
                run,
                seed,
                paths,
            )
        if errors_out is not None and run.exit_code in (0, 1):
            if not errors_out.exists():
                self.flag("validate --errors-out: no file", "", run, seed, paths)
            else:
                found = _csv_rows(errors_out)
                listed = sum(f["error_count"] + len(f["warnings"]) for f in files if f["readable"])
                if found != listed:
                    self.flag(
                        "validate --errors-out: rows != findings",
                        f"{found} != {listed}",
                        run,
                        seed,
                        paths,
                    )
        self.counted = {f["file"]: f["rows"] for f in files if f["readable"]}

    def import_(
        self, seed: int, paths: list[Path], extra: list[str], rng: random.Random, work: Path
    ) -> None:
        fresh = rng.random() < 0.1
        db = work / ("fresh.duckdb" if fresh else "store.duckdb")
        if not fresh:
            shutil.copyfile(self.baseline, db)
        dry_run = rng.random() < 0.1
        abort = rng.random() < 0.3
        as_json = rng.random() < 0.7
        rejects = work / "rejects.csv"
        member = (
            MEMBER if rng.random() < 0.85 else rng.choice(["kent", "NEW", "NEW", "[bold]M", "Zoë"])
        )
        args = [
            "import",
            *map(str, paths),
            "--member",
            member,
            "--db",
            str(db),
            "--as-of",
            AS_OF,
            "--rejects-out",
            str(rejects),
            *extra,
        ]
        args += ["--on-invalid", "abort"] if abort else []
        args += ["--dry-run"] if dry_run else []
        args += ["--format", "json"] if as_json else []
        counted = getattr(self, "counted", {})
        self.counted = {}
        run = self.run(args)
        self.check_run(run, seed, paths)
        if fresh and not db.exists():
            if run.exit_code in (0, 1) and not dry_run and not (abort and run.exit_code == 1):
                self.flag("import: no store made", run.stdout[:500], run, seed, paths)
            return
        if fresh and (run.exit_code in (2, 3) or dry_run):
            self.flag(
                f"import: a store file made by an import that exits {run.exit_code}"
                f"{' (dry run)' if dry_run else ''}",
                run.stderr,
                run,
                seed,
                paths,
            )
            return
        # a new store made by an import that loads nothing holds its migrations' audit event
        before = self.empty if fresh else self.before
        try:
            after = store_state(db)
        except Exception as exc:  # the store must always open
            self.flag(
                f"import: store does not open: {cause_of(str(exc))}", str(exc), run, seed, paths
            )
            return
        if run.exit_code not in (0, 1):
            if not fresh and after != before:
                self.flag(
                    f"import: exit {run.exit_code} changed the store",
                    _diff(before, after),
                    run,
                    seed,
                    paths,
                )
            return
        if not as_json:
            flat = re.sub(r"\s", "", run.stdout)  # rich expands a tab in a name to spaces
            for path in paths:
                if re.sub(r"\s", "", f"{_shown(path)} (") not in flat:
                    self.flag(
                        "import text: file name not shown literally",
                        run.stdout[:1000],
                        run,
                        seed,
                        paths,
                    )
            return
        try:
            document = json.loads(run.stdout)
        except json.JSONDecodeError as exc:
            self.flag(
                "import --format json: not JSON", f"{exc}: {run.stdout[:500]}", run, seed, paths
            )
            return
        rejected = 0
        inserted: Counter[str] = Counter()
        for f in document["files"]:
            loaded = f["inserted"] + f["updated"] + f["unchanged"]
            if loaded + f["rejected"] != f["rows"]:
                self.flag(
                    "import: inserted + updated + unchanged + rejected != rows",
                    json.dumps(f),
                    run,
                    seed,
                    paths,
                )
            if f["file"] in counted and counted[f["file"]] != f["rows"]:
                self.flag(
                    "import: rows differ from validate's",
                    f"{counted[f['file']]} != {f['rows']}",
                    run,
                    seed,
                    paths,
                )
            rejected += f["rejected"]
            inserted[f["kind"]] += f["inserted"]
        if rejected != document["rejected"]:
            self.flag("import json: rejected != sum of files'", "", run, seed, paths)
        if (run.exit_code == 1) != (rejected > 0):
            self.flag(
                f"import: exit {run.exit_code} with {rejected} rejected", "", run, seed, paths
            )
        if rejected:  # one rejects file per upload (`rejects_files`), or one in all
            files = document.get("rejects_files") or [document.get("rejects_file") or rejects]
            written = [Path(f) for f in files if Path(f).exists()]
            found = sum(_csv_rows(f) for f in written) if written else None
            if found != rejected:
                self.flag(
                    "import: rejects files' rows != rejected",
                    f"{found} != {rejected}",
                    run,
                    seed,
                    paths,
                )
        unchanged_expected = dry_run or (abort and rejected > 0)
        if unchanged_expected:
            if after != before:
                why = "dry run" if dry_run else "--on-invalid abort with rejected rows"
                self.flag(
                    f"import: {why} changed the store", _diff(before, after), run, seed, paths
                )
            if document["loaded"]:
                self.flag("import json: loaded true when nothing may load", "", run, seed, paths)
            return
        for kind in ("students", "activities", "attendance", "ambassadors"):
            if after[kind] - before[kind] != inserted[kind]:  # type: ignore[operator]
                self.flag(
                    f"import: {kind} grew by other than the inserted count",
                    f"{after[kind]} - {before[kind]} != {inserted[kind]}",
                    run,
                    seed,
                    paths,
                )
        if after["import_batches"] - before["import_batches"] != len(paths):  # type: ignore[operator]
            self.flag(
                "import: import_batches grew by other than the files",
                _diff(before, after),
                run,
                seed,
                paths,
            )

    def totals(self) -> dict:
        return {
            "uploads": self.uploads,
            "runs": self.runs,
            "exits": self.exits,
            "violations": self.violations,
            "kept": self.kept,
        }

    def report(self, seconds: float) -> str:
        out = [
            f"uploads fuzzed: {self.uploads} in {self.runs} heattool runs, {seconds:.1f} s "
            f"({1000 * seconds / max(self.uploads, 1):.1f} ms an upload)"
        ]
        exits = Counter()
        for (command, code), n in self.exits.items():
            exits[f"{command} exit {code}"] += n
        out.append("exit codes: " + ", ".join(f"{k}: {v}" for k, v in sorted(exits.items())))
        crashes = [v for v in self.violations if v.cause.startswith(("exit 4", "uncaught"))]
        out.append(f"exit-4s and uncaught exceptions: {len(crashes)}")
        groups: dict[str, list[Violation]] = {}
        for violation in self.violations:
            groups.setdefault(violation.cause, []).append(violation)
        out.append(f"violations: {len(self.violations)} in {len(groups)} groups")
        for cause, found in sorted(groups.items(), key=lambda kv: -len(kv[1])):
            first = found[0]
            out.append(f"  {len(found):6d}  {cause}")
            out.append(
                f"          first at seed {first.seed}: heattool "
                + " ".join(_shell(a) for a in first.command)
            )
        return "\n".join(out)


def _shown(path: Path) -> str:
    """A path as heattool prints it: literally, its control characters escaped (`\\n`)."""
    from heattool.errors import printable

    return printable(path)


def _safe(name: str) -> str:
    return re.sub(r"[^\w.-]", "_", name)[:80] or "file"


def _shell(arg: str) -> str:
    return arg if re.fullmatch(r"[\w./:=-]+", arg) else repr(arg)


def _csv_rows(path: Path) -> int:
    csv.field_size_limit(sys.maxsize)
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return max(0, sum(1 for _ in csv.reader(handle)) - 1)


def _diff(before: dict, after: dict) -> str:
    return ", ".join(
        f"{k}: {before.get(k)} -> {after.get(k)}" for k in after if before.get(k) != after[k]
    )


def fuzz(
    uploads: int,
    seed: int = 0,
    keep: Path | None = None,
    progress: bool = False,
    worker: int = 0,
    jobs: int = 1,
    import_share: float = 1.0,
    small: bool = False,
) -> tuple[Fuzzer, float]:
    """Run at least `uploads` generated uploads; returns the fuzzer (counts, violations) and time.

    `small` caps huge cells at 1,000 characters and long uploads at 100 rows (CI's form).

    With `jobs` > 1 this is worker `worker` of them: it takes every `jobs`-th case.
    """
    if small:
        LIMITS.update(cell=1000, rows=100)
    shm = Path("/dev/shm")  # DuckDB syncs the store at each commit: cheap on a RAM disk
    folder = Path(tempfile.mkdtemp(prefix="heattool-fuzz-", dir=shm if shm.is_dir() else None))
    cwd = Path.cwd()
    os.chdir(folder)  # anything written beside "the current folder" lands here
    try:
        fuzzer = Fuzzer(folder, keep, f"w{worker}-" if jobs > 1 else "", import_share)
        start = time.perf_counter()
        n = worker
        done = 0
        while fuzzer.uploads < uploads:
            fuzzer.one(seed * 1_000_003 + n)
            n += jobs
            done += 1
            if progress and done % 250 == 0:
                print(
                    f"  [{worker}] {fuzzer.uploads} uploads, {len(fuzzer.violations)} violations, "
                    f"{time.perf_counter() - start:.0f} s",
                    file=sys.stderr,
                    flush=True,
                )
        return fuzzer, time.perf_counter() - start
    finally:
        os.chdir(cwd)
        shutil.rmtree(folder, ignore_errors=True)


def _worker(args: tuple[int, int, Path | None, int, int]) -> tuple[dict, float]:
    uploads, seed, keep, worker, jobs = args
    fuzzer, seconds = fuzz(uploads, seed, keep, progress=True, worker=worker, jobs=jobs)
    return fuzzer.totals(), seconds


def fuzz_parallel(uploads: int, seed: int, keep: Path | None, jobs: int) -> tuple[Fuzzer, float]:
    """`fuzz` in `jobs` processes (spawned: Polars and DuckDB threads do not survive a fork)."""
    import multiprocessing

    start = time.perf_counter()
    share = -(-uploads // jobs)
    with multiprocessing.get_context("spawn").Pool(jobs) as pool:
        parts = pool.map(_worker, [(share, seed, keep, w, jobs) for w in range(jobs)])
    merged = Fuzzer.__new__(Fuzzer)
    merged.uploads, merged.runs, merged.exits, merged.violations, merged.kept = (
        0,
        0,
        Counter(),
        [],
        set(),
    )
    for totals, _seconds in parts:
        merged.uploads += totals["uploads"]
        merged.runs += totals["runs"]
        merged.exits.update(totals["exits"])
        merged.violations += totals["violations"]
        merged.kept |= totals["kept"]
    return merged, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=1, help="processes (2 cores: 1 or 2)")
    parser.add_argument("--keep", type=Path, default=ROOT / "benchmarks" / "out" / "fuzz")
    args = parser.parse_args()
    args.keep = args.keep.resolve()  # the fuzzer works in a folder of its own
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(args.keep)
    if args.jobs > 1:
        fuzzer, seconds = fuzz_parallel(args.uploads, args.seed, args.keep, args.jobs)
    else:
        fuzzer, seconds = fuzz(args.uploads, args.seed, args.keep, progress=True)
    print(fuzzer.report(seconds))
    print(f"reproducers in {args.keep}" if fuzzer.kept else "no reproducers kept")
    sys.exit(1 if fuzzer.violations else 0)


if __name__ == "__main__":
    main()
