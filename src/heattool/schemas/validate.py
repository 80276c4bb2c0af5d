"""Validate a read upload: map headings, parse in Polars, check with Pandera, list findings."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import datetime as dt
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from heattool.findings import CODES, ERROR, WARNING, message, unquoted_message
from heattool.io.readers import HeaderTest, RawTable, read_upload
from heattool.schemas import KINDS
from heattool.schemas.headers import (
    HeaderMap,
    has_required_columns,
    kind_columns,
    map_headers,
    suggested_heading,
)

ROW = "_row"  # spreadsheet row number: the headings' row (raw.header_row) and one per data row
INDEX = "_index"  # 0-based position in the upload's data rows

# (kind, typed rows) -> the same rows in the same order, `_index` kept, with more columns
Derive = Callable[[str, pl.DataFrame], pl.DataFrame]

FINDING_SCHEMA = {
    "row": pl.Int64,
    "cell": pl.String,
    "column": pl.String,
    "field": pl.String,
    "value": pl.String,
    "code": pl.String,
    "severity": pl.String,
    "message": pl.String,
}

# Pandera's own check names, as finding codes.
_PANDERA_CHECKS = {
    "not_nullable": "missing-value",
    "multiple_fields_uniqueness": "duplicate-row",
}


@dataclass
class ValidationResult:
    """What validation found in one upload, and the parsed rows for loading."""

    raw: RawTable
    kind: str
    header: HeaderMap
    # canonical typed columns plus _row and _index, blank rows removed; and any columns a
    # `derive` added, right for the valid rows
    frame: pl.DataFrame
    findings: pl.DataFrame  # FINDING_SCHEMA, sorted by row
    invalid_index: pl.Series = field(repr=False)  # _index of every row with an error

    @property
    def rows(self) -> int:
        return self.frame.height

    @property
    def invalid_rows(self) -> int:
        return self.invalid_index.len()

    @property
    def valid_rows(self) -> int:
        return self.rows - self.invalid_rows

    @property
    def errors(self) -> pl.DataFrame:
        return self.findings.filter(pl.col("severity") == ERROR)

    @property
    def warnings(self) -> pl.DataFrame:
        return self.findings.filter(pl.col("severity") == WARNING)

    @property
    def valid(self) -> bool:
        return self.errors.is_empty()

    def with_row_findings(
        self, rejected: pl.DataFrame, flags: Sequence[tuple[str, str, str]]
    ) -> ValidationResult:
        """This result with findings only the store can make added: for each (field, flag,
        code), one at that field's cell of every row of `rejected` (INDEX, ROW, the fields and
        the flags) whose flag is true. Those rows become invalid."""
        sheet = f"{self.raw.sheet}!" if self.raw.sheet else ""
        parts = []
        for name, flag, code in flags:
            heading = self.header.columns[name]
            letter = column_letter(self.header.positions[name] + self.raw.first_column)
            parts.append(
                rejected.filter(pl.col(flag)).select(
                    pl.col(ROW).cast(pl.Int64).alias("row"),
                    pl.format(f"{sheet}{letter}{{}}", pl.col(ROW)).alias("cell"),
                    pl.lit(heading).alias("column"),
                    pl.lit(name).alias("field"),
                    pl.col(name).alias("value"),
                    pl.lit(code).alias("code"),
                    pl.lit(CODES[code].severity).alias("severity"),
                    pl.lit(message(code, heading)).alias("message"),
                )
            )
        findings = pl.concat([self.findings, *parts], how="vertical_relaxed").sort(
            "row", nulls_last=False, maintain_order=True
        )
        invalid = pl.concat([self.invalid_index, rejected[INDEX].cast(pl.UInt32)]).unique().sort()
        return dataclasses.replace(self, findings=findings, invalid_index=invalid)

    def headings(self) -> list[dict[str, str | None]]:
        """How each heading was read: the heading (None where it may not be quoted,
        `HeaderMap.quotable`), its cell, and its column (None when it was ignored)."""
        column_of = {heading: column for column, heading in self.header.columns.items()}
        sheet = f"{self.raw.sheet}!" if self.raw.sheet else ""
        return [
            {
                "heading": heading if self.header.quotable(heading) else None,
                "cell": f"{sheet}{column_letter(n + self.raw.first_column)}{self.raw.header_row}",
                "column": column_of.get(heading),
            }
            for n, heading in enumerate(self.raw.headers)
        ]

    def reported(self, findings: pl.DataFrame) -> pl.DataFrame:
        """`findings` as a report shows them: `value` only where a cell may be quoted
        (`quotable_columns`), and `hidden` true where a cell's text is left out."""
        from heattool.schemas import quotable_columns

        columns = quotable_columns(self.kind)
        if columns is None:
            return findings.with_columns(hidden=pl.lit(False))
        hidden = pl.col("value").is_not_null() & ~pl.col("field").is_in(list(columns))
        return findings.with_columns(hidden=hidden).with_columns(
            value=pl.when(~pl.col("hidden")).then(pl.col("value"))
        )

    def valid_frame(self) -> pl.DataFrame:
        """The typed rows with no error, ready to load."""
        return self.frame.filter(~pl.col(INDEX).is_in(self.invalid_index.implode()))

    def rejected_rows(self) -> pl.DataFrame:
        """Every row with an error, as the upload had it (its own headings, in its order), then
        `heattool_row`, `heattool_codes` and `heattool_messages`: fix the cells, drop those
        three columns (or keep them: they are ignored) and upload the file again.

        Those three of a rejects file imported again are replaced; a heading of the member's
        own that is one of them keeps its cells, and these three are then `heattool_row_2` ...
        (`findings_headings`)."""
        errors = self.errors.filter(pl.col("row").is_not_null())
        per_row = errors.group_by("row", maintain_order=True).agg(
            heattool_codes=pl.col("code").unique(maintain_order=True).str.join("; "),
            heattool_messages=pl.format("{}: {}", pl.col("column"), pl.col("message")).str.join(
                "; "
            ),
        )
        # The upload's own columns are renamed while joined: a heading may be `row` or `_index`.
        headings = self.raw.headers
        cells = self.raw.frame.rename({h: f"__cell_{n}" for n, h in enumerate(headings)})
        original = cells.with_row_index(INDEX).with_columns(
            (pl.col(INDEX).cast(pl.Int64) + self.raw.header_row + 1).alias("row")
        )
        original = original.filter(pl.col(INDEX).is_in(self.invalid_index.implode()))
        rejected = original.join(per_row, on="row", how="left").drop(INDEX)
        if not self.errors.filter(pl.col("row").is_null()).is_empty():
            whole_file = self.errors.filter(pl.col("row").is_null())
            rejected = rejected.with_columns(
                heattool_codes=pl.concat_str(
                    pl.lit("; ".join(whole_file["code"].unique(maintain_order=True))),
                    pl.col("heattool_codes"),
                    separator="; ",
                    ignore_nulls=True,
                )
            )
        ours, (row, codes, messages) = findings_headings(headings)
        return rejected.select(
            *(pl.col(f"__cell_{n}").alias(h) for n, h in enumerate(headings) if h not in ours),
            pl.col("row").alias(row),
            pl.col("heattool_codes").alias(codes),
            pl.col("heattool_messages").alias(messages),
        )


FINDINGS_HEADINGS = ("heattool_row", "heattool_codes", "heattool_messages")


def findings_headings(headings: Sequence[str]) -> tuple[set[str], tuple[str, ...]]:
    """The findings columns of an earlier rejects file among an upload's headings, and the
    headings of the findings columns of its rejects file.

    An earlier rejects file's are all three, with one suffix (none, or `_2`, `_3` ...); any
    other of these headings is the member's own column, whose cells a rejects file keeps. Its
    own findings columns are the first three free of the member's headings (in any case).
    """
    given = set(headings)
    suffixes = {h.removeprefix(FINDINGS_HEADINGS[0]) for h in headings}
    ours = {
        f"{name}{suffix}"
        for suffix in suffixes
        if re.fullmatch(r"(_[0-9]+)?", suffix)
        and {f"{name}{suffix}" for name in FINDINGS_HEADINGS} <= given
        for name in FINDINGS_HEADINGS
    }
    theirs = {h.casefold() for h in given - ours}
    number = 1
    while True:
        suffix = f"_{number}" if number > 1 else ""
        names = tuple(f"{name}{suffix}" for name in FINDINGS_HEADINGS)
        if not theirs & set(names):
            return ours, names
        number += 1


def validate_table(
    raw: RawTable,
    kind: str | None = None,
    *,
    as_of: dt.date | None = None,
    aliases: Path | None = None,
    derive: Derive | None = None,
) -> ValidationResult:
    """Validate one upload. Raises UnknownKind when the kind cannot be told.

    `derive(kind, typed)`, if given, adds columns to the typed rows, valid or not, while Pandera
    checks them; its frame becomes the result's `frame`. Its columns need only be right for the
    valid rows (it may assume what validation checks).
    """
    import pandera.errors
    import pandera.polars

    from heattool.schemas.models import MODELS
    from heattool.schemas.parse import Parser, clean_text, parser_for

    as_of = as_of or dt.date.today()
    header = map_headers(raw.headers, kind, aliases, raw.header_row)
    columns, _required = kind_columns(header.kind)
    model = MODELS[header.kind]
    schema = model.to_schema()
    letters = {c: column_letter(p + raw.first_column) for c, p in header.positions.items()}

    # the mapped columns picked out first: each select on a frame of 3,000,000 columns takes 1 s
    mapped = pl.DataFrame([raw.frame.get_column(h) for h in dict.fromkeys(header.columns.values())])
    text = clean_text(mapped, header.columns).with_row_index(INDEX)
    present = [c for c in columns if c in header.columns]
    if present:  # blank spreadsheet rows are not data
        text = text.filter(pl.any_horizontal(pl.col(present).is_not_null()))
    else:
        text = text.clear()

    exprs: list[pl.Expr] = []
    passes: dict[str, Parser] = {}  # the columns read by a pass of their own (`series`)
    errors: dict[str, str] = {}
    for name in columns:
        dtype = schema.columns[name].dtype.type
        if name not in header.columns:
            exprs.append(pl.lit(None, dtype=dtype).alias(name))
            continue
        parser = parser_for(str(schema.columns[name].dtype), schema.columns[name].metadata)
        expression = parser.expression(text[name], dtype)
        if expression is None:
            assert parser.series is not None  # a parser with no expression reads the Series
            passes[name] = parser.series
        exprs.append(pl.lit(None, dtype=dtype).alias(name) if expression is None else expression)
        if parser.error:
            errors[name] = parser.error

    def read(name: str, parse: Parser) -> pl.Series:
        return parse(text[name]).cast(schema.columns[name].dtype.type).alias(name)

    # The passes that need whole Series (dates, postcodes) run beside the one parallel select:
    # their string work is mostly single-threaded, so this keeps both cores busy.
    with concurrent.futures.ThreadPoolExecutor(max(1, len(passes))) as pool:
        done = {name: pool.submit(read, name, fn) for name, fn in passes.items()}
        typed = text.select(INDEX, *exprs)
        typed = typed.with_columns(future.result() for future in done.values())
    parts = []
    for name, error_code in errors.items():
        unreadable = text[name].is_not_null() & typed[name].is_null()
        if unreadable.any():
            parts.append(
                text.filter(unreadable).select(
                    INDEX, pl.lit(name).alias("field"), pl.lit(error_code).alias("code")
                )
            )

    # `derive` works on every typed row while Pandera checks them, mostly on one core.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        derived = pool.submit(derive, header.kind, typed) if derive else None
        try:
            model.validate(typed.drop(INDEX).with_columns(_as_of=pl.lit(as_of)), lazy=True)
        except pandera.errors.SchemaErrors as exc:
            unique_key = tuple(schema.unique or ())
            parts.append(_pandera_findings(exc.failure_cases, typed, unique_key))
        frame = typed
        if derived:
            frame = derived.result()
            if INDEX not in frame.columns or not frame[INDEX].equals(typed[INDEX]):
                raise RuntimeError("derive() must keep every row, in order, with its _index")

    row_findings = (
        pl.concat(parts)
        if parts
        else pl.DataFrame(schema={INDEX: pl.UInt32, "field": pl.String, "code": pl.String})
    )
    # A cell that could not be parsed is also null to Pandera: report the first finding only.
    row_findings = row_findings.unique(subset=[INDEX, "field"], keep="first", maintain_order=True)
    # A missing column is one whole-file finding, not a finding in every row.
    row_findings = row_findings.filter(~pl.col("field").is_in(header.missing))
    findings = _describe(_with_fixes(row_findings, typed), raw, header, letters)
    file_findings = _file_findings(raw, header)
    if file_findings.height:
        findings = pl.concat([file_findings, findings])

    if (file_findings["severity"] == ERROR).any():
        invalid_index = text[INDEX]
    else:
        invalid_index = row_findings[INDEX].unique().sort()
    frame = frame.with_columns((pl.col(INDEX).cast(pl.Int64) + raw.header_row + 1).alias(ROW))
    return ValidationResult(raw, header.kind, header, frame, findings, invalid_index)


def _pandera_findings(
    failure_cases: pl.DataFrame, typed: pl.DataFrame, unique_key: tuple[str, ...]
) -> pl.DataFrame:
    cases = failure_cases.filter(pl.col("index").is_not_null())
    unknown = set(cases["check"].unique()) - set(_PANDERA_CHECKS) - set(CODES)
    if unknown:
        raise RuntimeError(f"unexpected Pandera check failure: {sorted(unknown)}")
    code = pl.col("check").replace(_PANDERA_CHECKS)
    # Multi-column uniqueness has no single column: cite the first column of the key.
    column = (
        pl.when(pl.col("check") == "multiple_fields_uniqueness")
        .then(pl.lit(unique_key[0] if unique_key else None, dtype=pl.String))
        .otherwise(pl.col("column"))
    )
    positions = typed.select(INDEX).with_row_index("index")
    return (
        cases.select(pl.col("index").cast(pl.UInt32), column.alias("field"), code.alias("code"))
        .join(positions.with_columns(pl.col("index").cast(pl.UInt32)), on="index", how="left")
        .select(INDEX, "field", "code")
    )


def _with_fixes(found: pl.DataFrame, typed: pl.DataFrame) -> pl.DataFrame:
    """Add `fix`: the correction a finding's message can name (a postcode with an O for a 0
    or an I for a 1, when exactly one swap makes it valid: where to swap what, never the
    postcode), else null."""
    from heattool.schemas.postcode import describe_swaps, suggest_postcodes

    def swaps(postcodes: pl.Series) -> pl.Series:
        return describe_swaps(postcodes, suggest_postcodes(postcodes))

    found = found.with_columns(pl.lit(None, dtype=pl.String).alias("fix"))
    for code, suggest in {"invalid-postcode": swaps}.items():
        for name in found.filter(pl.col("code") == code)["field"].unique():
            rows = found.select((pl.col("code") == code) & (pl.col("field") == name)).to_series()
            cells = found.filter(rows).select(INDEX)
            values = cells.join(
                typed.select(INDEX, name), on=INDEX, how="left", maintain_order="left"
            )
            found = found.with_columns(found["fix"].scatter(rows.arg_true(), suggest(values[name])))
    return found


def _describe(
    found: pl.DataFrame, raw: RawTable, header: HeaderMap, letters: dict[str, str]
) -> pl.DataFrame:
    """Add row, cell, original heading, the cell's text and the message to each finding."""
    if found.is_empty():
        return pl.DataFrame(schema=FINDING_SCHEMA)
    values = []
    for (name,), group in found.partition_by("field", as_dict=True).items():
        cells = raw.frame.get_column(header.columns[name]).gather(group[INDEX])
        values.append(group.with_columns(cells.alias("value")))
    found = pl.concat(values)
    sheet = f"{raw.sheet}!" if raw.sheet else ""
    rows = []
    for name, code in found.select("field", "code").unique().rows():
        column = header.columns.get(name, name)
        before, after = _around_fix(code, column)  # the message that names a fix, split at it
        rows.append(
            {
                "field": name,
                "code": code,
                "column": column,
                "message": message(code, column),
                "before": before,
                "after": after,
                "severity": CODES[code].severity,
                "letter": letters.get(name, ""),
            }
        )
    lookup = pl.DataFrame(rows, schema_overrides={"before": pl.String, "after": pl.String})
    named = pl.col("fix").is_not_null() & pl.col("before").is_not_null()
    order = {c: i for i, c in enumerate(header.columns)}
    return (
        found.join(lookup, on=["field", "code"], how="left")
        .with_columns(
            message=pl.when(named)
            .then(pl.concat_str("before", "fix", "after"))
            .otherwise(pl.col("message"))
        )
        .with_columns(row=pl.col(INDEX).cast(pl.Int64) + raw.header_row + 1)
        .with_columns(cell=pl.format(f"{sheet}{{}}{{}}", pl.col("letter"), pl.col("row")))
        .sort("row", pl.col("field").replace_strict(order, default=len(order)))
        .select(list(FINDING_SCHEMA))
    )


# A finding about the whole file: cell, column, field, code, message.
_FileFinding = tuple[str | None, str | None, str | None, str, str]


def _around_fix(code: str, column: str) -> tuple[str | None, str | None]:
    """The code's message that names a fix, as the text before and after the fix."""
    template = CODES[code].fix
    if template is None:
        return None, None
    before, _, after = template.partition("{fix}")
    return before.format(column=column), after.format(column=column)


def _file_findings(raw: RawTable, header: HeaderMap) -> pl.DataFrame:
    """Findings about the file as a whole: its encoding and its headings."""
    sheet = f"{raw.sheet}!" if raw.sheet else ""
    # each heading's position, once: `raw.headers.index` for each was quadratic (Polars makes
    # the list of headings anew each time): 100,000 unknown headings ran over 10 minutes
    position = {heading: n for n, heading in reversed(list(enumerate(raw.headers)))}
    rows: list[_FileFinding] = []
    if raw.encoding_note:
        rows.append((None, None, None, "encoding-guessed", raw.encoding_note))
    # A heading that may not be quoted (`HeaderMap.quotable`) is named by its cell.
    for heading in header.unknown:
        letter = column_letter(position[heading] + raw.first_column)
        cell = f"{sheet}{letter}{raw.header_row}"
        if header.quotable(heading):
            text = message("unknown-column", heading)
            rows.append((cell, heading, None, "unknown-column", text))
        else:
            rows.append(
                (cell, None, None, "unknown-column", unquoted_message("unknown-column", cell))
            )
    for heading, name in header.lookalikes:
        letter = column_letter(position[heading] + raw.first_column)
        cell = f"{sheet}{letter}{raw.header_row}"
        named = {"canonical": name, "suggested": suggested_heading(name)}
        if header.quotable(heading):
            quoted = json.dumps(heading, ensure_ascii=False)  # a TOML basic string
            text = message("lookalike-column", heading, **named, quoted=quoted)
            rows.append((cell, heading, name, "lookalike-column", text))
        else:
            text = unquoted_message("lookalike-column", cell, **named)
            rows.append((cell, None, name, "lookalike-column", text))
    if header.heat_id_as_ref:
        heading = header.heat_id_as_ref
        letter = column_letter(header.positions["student_ref"] + raw.first_column)
        cell = f"{sheet}{letter}{raw.header_row}"
        rows.append(
            (cell, heading, "student_ref", "heat-id-as-ref", message("heat-id-as-ref", heading))
        )
    for name in header.duplicates:
        rows.append((None, name, name, "duplicate-column", message("duplicate-column", name)))
    explained = {name for _, name in header.lookalikes}  # the lookalike says what to do
    for name in header.missing:
        if name not in explained:
            rows.append((None, name, name, "missing-column", message("missing-column", name)))
    return pl.DataFrame(
        [
            {
                "row": None,
                "cell": cell,
                "column": column,
                "field": name,
                "value": None,
                "code": code,
                "severity": CODES[code].severity,
                "message": text,
            }
            for cell, column, name, code, text in rows
        ],
        schema=FINDING_SCHEMA,
    )


def column_letter(position: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA, as a spreadsheet names columns."""
    letters = ""
    position += 1
    while position:
        position, remainder = divmod(position - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def header_test(
    kind: str | None = None,
    aliases: Path | None = None,
    ready: Callable[[], object] | None = None,
) -> HeaderTest:
    """Whether a row of cells is an upload's headings: every column that `kind` (or, without
    one, any kind) requires is among them.

    `ready` is called before each test: one that waits for the schemas to be built on another
    thread keeps this one from building them at the same time (Pandera names a check after its
    function in the second of two builds).
    """
    kinds = [kind] if kind else list(KINDS)

    def is_header(cells: Sequence[str]) -> bool:
        if ready is not None:
            ready()
        # not map_headers for each kind, which looks for lookalikes too: 300,000 headings, 96 s
        return has_required_columns(cells, kinds, aliases)

    return is_header


def read_table(
    path: Path,
    *,
    kind: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    header_row: int | None = None,
    aliases: Path | None = None,
    ready: Callable[[], object] | None = None,
) -> RawTable:
    """Read one upload, its headings in `header_row` or else found by `header_test`."""
    return read_upload(
        path,
        sheet=sheet,
        encoding=encoding,
        header_row=header_row,
        is_header=header_test(kind, aliases, ready),
    )


def validate_file(
    path: Path,
    *,
    kind: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    header_row: int | None = None,
    as_of: dt.date | None = None,
    aliases: Path | None = None,
    derive: Derive | None = None,
) -> ValidationResult:
    """Read and validate one upload file (`derive` as in `validate_table`)."""
    raw = read_table(
        path, kind=kind, sheet=sheet, encoding=encoding, header_row=header_row, aliases=aliases
    )
    return validate_table(raw, kind, as_of=as_of, aliases=aliases, derive=derive)
