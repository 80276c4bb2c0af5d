"""Every renderer: results as text for people (rich) and as JSON for scripts.

User-supplied text (cells, headings, file names, refs, policy names) is printed literally:
it goes through `say`, `escape` or a table cell built with `Text`, never as markup; and with
its control characters escaped (`printable`), so that a line break in a file name or a heading
never splits a line and an escape sequence never reaches the terminal.
"""

from __future__ import annotations

import contextlib
import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import polars as pl
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from heattool import __version__
from heattool.clock import utc_text
from heattool.errors import printable
from heattool.progress import Progress, nowhere

if TYPE_CHECKING:
    from heattool.actions.config import Settings
    from heattool.actions.load import ImportReport
    from heattool.actions.outcomes import OutcomesReport, OutcomeTable
    from heattool.actions.purge import PurgeOutcome
    from heattool.actions.receipt import Reissued
    from heattool.actions.retention import Retention
    from heattool.actions.subject import Erased, Withdrawn
    from heattool.actions.track_request import TrackResult
    from heattool.actions.validate import ValidateResult

REPORT_WIDTH = 120  # when output goes to a file or pipe, where no terminal width applies
LISTED_FIELDS = ["row", "cell", "column", "value", "code", "message"]


def stdout() -> Console:
    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=REPORT_WIDTH)


def stderr() -> Console:
    """Messages to stderr: never wrapped, so an error stays one line."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


@contextlib.contextmanager
def working(message: str) -> Iterator[None]:
    """A spinner on stderr while a long step runs; nothing when stderr is not a terminal."""
    console = stderr()
    if not console.is_terminal:
        yield
        return
    with console.status(message):
        yield


@contextlib.contextmanager
def steps(message: str, total: int) -> Iterator[Progress]:
    """A bar on stderr over an action's `total` steps, each done step named with its rows and
    their rate; nothing when stderr is not a terminal (a pipe, cron, a test)."""
    console = stderr()
    if not console.is_terminal:
        yield nowhere
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    )
    task = bar.add_task(message, total=total)
    last = [time.perf_counter()]

    def done(step: str, rows: int | None = None) -> None:
        now = time.perf_counter()
        seconds, last[0] = now - last[0], now
        rate = f", {rows / seconds:,.0f} rows/s" if rows and seconds > 0 else ""
        counted = f": {rows:,} rows in {seconds:.1f} s{rate}" if rows is not None else ""
        bar.console.print(Text(f"{step}{counted}", style="dim"))
        bar.advance(task)

    with bar:
        yield done


def say(console: Console, text: str) -> None:
    """One line of plain text: never markup, never wrapped, control characters escaped."""
    console.print(printable(text), soft_wrap=True, markup=False, highlight=False)


def literal(text: object) -> str:
    """Text to put inside markup: escaped for rich and for the terminal."""
    return escape(printable(text))


def emit_json(document: Any) -> None:
    """A JSON document on stdout, indented, as every --format json prints it."""
    from heattool.io.writers import json_text

    sys.stdout.write(json_text(document) + "\n")


def emit_bytes(document: bytes) -> None:
    """A document already encoded (the JUnit report's UTF-8) on stdout."""
    sys.stdout.flush()
    sys.stdout.buffer.write(document)
    sys.stdout.buffer.flush()


def plural(n: int, word: str) -> str:
    return f"{n} {word if n == 1 else word + 's'}"


def cell(value: Any) -> Text:
    """A table cell shown as it is (a `[bold]` in a cell stays text)."""
    return Text("" if value is None else printable(value))


# -- validation -------------------------------------------------------------------------------


def validation_document(outcome: ValidateResult, max_errors: int) -> dict[str, Any]:
    """The JSON report of `heattool validate`."""
    files = [
        {**_result_document(r, max_errors), "valid": outcome.passed(r)} for r in outcome.results
    ]
    files += [
        {"file": path, "readable": False, "error": reason} for path, reason in outcome.failures
    ]
    return {
        "heattool": __version__,
        "valid": outcome.valid,
        "strict": outcome.strict,
        "files": files,
    }


def _result_document(result: Any, max_errors: int) -> dict[str, Any]:
    errors = result.errors
    listed = result.reported(errors if max_errors <= 0 else errors.head(max_errors))
    return {
        "file": str(result.raw.path),
        "readable": True,
        "sha256": result.raw.sha256,
        "kind": result.kind,
        "format": result.raw.format,
        "sheet": result.raw.sheet,
        "rows": result.rows,
        "valid_rows": result.valid_rows,
        "invalid_rows": result.invalid_rows,
        "valid": result.valid,
        "errors_by_code": errors_by_code(errors),
        "error_count": errors.height,
        "errors": listed.select(LISTED_FIELDS).to_dicts(),
        "warnings": warnings_document(result),
        "headings": heading_mapping(result),
    }


# -- validation for CI: GitHub Actions annotations and a JUnit XML report ---------------------
#
# Both name a finding by its row, column, cell and code, never by the cell's value: CI logs are
# kept and shared, and cells hold names and dates of birth. A cell finding's text is its code's
# catalogue message for the column (a postcode's suggested fix is made from the cell: left out).

# GitHub's workflow commands (actions/toolkit packages/core/src/command.ts, escapeData and
# escapeProperty; undone by actions/runner src/Runner.Common/ActionCommand.cs): `%` first.
DATA_ESCAPES = (("%", "%25"), ("\r", "%0D"), ("\n", "%0A"))
PROPERTY_ESCAPES = (*DATA_ESCAPES, (":", "%3A"), (",", "%2C"))
# Characters XML 1.0 cannot hold at all, even as references (and lone surrogates).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def escape_data(text: str) -> str:
    """A workflow command's message, escaped as GitHub's toolkit does."""
    for token, replacement in DATA_ESCAPES:
        text = text.replace(token, replacement)
    return text


def escape_property(text: str) -> str:
    """A workflow command's property value (`file=...`), escaped as GitHub's toolkit does."""
    for token, replacement in PROPERTY_ESCAPES:
        text = text.replace(token, replacement)
    return text


def _escaped(expr: pl.Expr, escapes: tuple[tuple[str, str], ...]) -> pl.Expr:
    for token, replacement in escapes:
        expr = expr.str.replace_all(token, replacement, literal=True)
    return expr


def workflow_command(name: str, properties: dict[str, str], message: str) -> str:
    """`::name key=value,key=value::message`, every part escaped; an empty value is left out,
    as GitHub's toolkit leaves it."""
    props = ",".join(
        f"{key}={escape_property(value)}" for key, value in properties.items() if value
    )
    return f"::{name}{' ' + props if props else ''}::{escape_data(message)}"


def verdict(outcome: ValidateResult, result: Any) -> str:
    """`valid`, `invalid`, or with --strict `invalid (--strict: 2 warnings)`."""
    if outcome.passed(result):
        return "valid"
    if result.valid:
        return f"invalid (--strict: {plural(result.warnings.height, 'warning')})"
    return "invalid"


def ci_summary(outcome: ValidateResult, result: Any) -> str:
    """One upload's verdict in one line: its path, kind, rows and whether it passed."""
    where = f" sheet {result.raw.sheet}," if result.raw.sheet else ""
    return (
        f"{result.raw.path}: {result.kind},{where} {plural(result.rows, 'row')}, "
        f"{result.valid_rows} valid, {result.invalid_rows} invalid: {verdict(outcome, result)}"
    )


def ci_findings(result: Any, max_errors: int) -> pl.DataFrame:
    """The findings a CI report lists: the first `max_errors` errors (0: all) and every warning,
    as `row`, `col` (the cell's column number, A is 1; none for a whole-file finding), `cell`,
    `code`, `severity` and `text`: `row 5, DOB (D5): not a real date; ...`, or for a whole-file
    finding its message (which names headings, never cells)."""
    import polars as pl

    from heattool.findings import message

    errors = result.errors if max_errors <= 0 else result.errors.head(max_errors)
    listed = pl.concat([errors, result.warnings])
    in_cells = listed.filter(pl.col("row").is_not_null())
    catalogue = pl.DataFrame(
        [
            {"code": code, "column": column, "catalogued": message(code, column)}
            for code, column in in_cells.select("code", "column").unique().iter_rows()
        ],
        schema={"code": pl.String, "column": pl.String, "catalogued": pl.String},
    )
    letters = pl.col("cell").str.extract(r"([A-Z]+)[0-9]+$", 1)
    found = in_cells["cell"].str.extract(r"([A-Z]+)[0-9]+$", 1).drop_nulls().unique()
    numbers = {v: _column_number(v) for v in found}
    in_a_row = pl.col("row").is_not_null()
    return listed.join(catalogue, on=["code", "column"], how="left", maintain_order="left").select(
        "row",
        pl.when(in_a_row)
        .then(letters.replace_strict(numbers, default=None, return_dtype=pl.Int64))
        .alias("col"),
        "cell",
        "code",
        "severity",
        pl.when(in_a_row)
        .then(pl.format("row {}, {} ({}): {}", "row", "column", "cell", "catalogued"))
        .otherwise(pl.col("message"))
        .alias("text"),
    )


def _column_number(letters: str) -> int:
    """A -> 1, Z -> 26, AA -> 27, as a spreadsheet numbers its columns."""
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number


def validation_github(outcome: ValidateResult, max_errors: int) -> str:
    """GitHub Actions workflow commands: per upload a `::group::` titled with its verdict, one
    `::error` or `::warning` annotation per finding (`line` its row, `col` its column number),
    `::endgroup::`; then an `::error` per unreadable upload. Every line is a command, so no
    upload's text can start one of its own."""
    import polars as pl

    lines: list[str] = []
    for result in outcome.results:
        title = ci_summary(outcome, result)
        if 0 < max_errors < result.errors.height:
            title += (
                f"; the first {max_errors} of {result.errors.height} errors annotated "
                "(--max-errors 0 annotates all)"
            )
        lines.append(workflow_command("group", {}, title))
        found = ci_findings(result, max_errors)
        file = pl.lit(escape_property(str(result.raw.path)))
        annotations = found.select(
            pl.concat_str(
                pl.lit("::"),
                "severity",
                pl.lit(" file="),
                file,
                # each null, so left out, for a whole-file finding
                pl.concat_str(pl.lit(",line="), pl.col("row").cast(pl.String)),
                pl.concat_str(pl.lit(",col="), pl.col("col").cast(pl.String)),
                pl.lit(",title="),
                _escaped(pl.col("code"), PROPERTY_ESCAPES),
                pl.lit("::"),
                _escaped(pl.col("text"), DATA_ESCAPES),
                ignore_nulls=True,
            )
        )
        lines += annotations.to_series().to_list()
        lines.append("::endgroup::")
    for path, reason in outcome.failures:
        lines.append(workflow_command("error", {"file": path, "title": "unreadable"}, reason))
    return "".join(f"{line}\n" for line in lines)


def validation_junit(outcome: ValidateResult, max_errors: int) -> bytes:
    """A JUnit XML report (UTF-8): one <testsuite> per upload, named by its path, with one
    <testcase> per finding code that fails, its <failure> listing that code's rows and cells
    (among the first `max_errors` errors; 0: all). Warnings go in <system-out>, or fail like
    errors with --strict. An upload with nothing failing has one passing testcase, `valid`;
    an unreadable upload, one testcase `readable` with an <error>.

    One testcase per code, not per cell, keeps a report of a million rows small and shows each
    mistake once, with its rows. The report is valid against Jenkins' junit-10.xsd and against
    Ant's stricter schema (windyroad JUnit.xsd), which wants properties, system-out,
    system-err, a timestamp and a hostname (`localhost`: the machine is not named). Nothing
    is timed, so every time is 0.
    """
    import xml.etree.ElementTree as ET

    import polars as pl

    from heattool.clock import utc_now

    stamp = utc_now().isoformat(timespec="seconds")
    root = ET.Element("testsuites")
    for result in outcome.results:
        path = str(result.raw.path)
        suite = _junit_suite(root, path, stamp)
        properties = ET.SubElement(suite, "properties")
        facts = {
            "kind": result.kind,
            "format": result.raw.format,
            "sheet": result.raw.sheet,
            "sha256": result.raw.sha256,
            "rows": result.rows,
            "valid_rows": result.valid_rows,
            "invalid_rows": result.invalid_rows,
            "strict": str(outcome.strict).lower(),
            "heattool": __version__,
        }
        for name, value in facts.items():
            if value is not None:
                ET.SubElement(properties, "property", name=name, value=_xml(str(value)))
        found = ci_findings(result, max_errors)
        counts = errors_by_code(result.errors)
        if outcome.strict:
            counts.update(errors_by_code(result.warnings))
        failing = found.filter(pl.col("code").is_in(list(counts)))
        listed = dict(failing.group_by("code", maintain_order=True).agg("text").iter_rows())
        for code, total in counts.items():
            texts: list[str] = listed.get(code, [])
            more = total - len(texts)
            if not texts:  # all past the first max_errors errors of the upload
                message = (
                    f"{plural(total, 'finding')}, after the first {max_errors} errors listed "
                    "(--max-errors 0 lists all)"
                )
                body = message
            else:
                first = texts[0]
                message = first if total == 1 else f"{plural(total, 'finding')}; the first: {first}"
                body = "\n".join(texts)
                body += f"\n... and {more} more (--max-errors 0 lists all)" if more else ""
            case = _junit_case(suite, path, code)
            failure = ET.SubElement(case, "failure", type=code, message=_xml(message))
            failure.text = _xml(body)
        if not counts:
            _junit_case(suite, path, "valid")
        out = [ci_summary(outcome, result)]
        if not outcome.strict:
            warnings = found.filter(pl.col("severity") == "warning")
            out += [f"warning {c}: {t}" for c, t in warnings.select("code", "text").iter_rows()]
        _junit_close(suite, "\n".join(out), failures=len(counts), errors=0)
    for path, reason in outcome.failures:
        suite = _junit_suite(root, path, stamp)
        ET.SubElement(suite, "properties")
        case = _junit_case(suite, path, "readable")
        ET.SubElement(case, "error", type="unreadable", message=_xml(reason)).text = _xml(reason)
        _junit_close(suite, f"{path}: not readable", failures=0, errors=1)
    for number, suite in enumerate(root):
        suite.set("id", str(number))
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def _xml(text: str) -> str:
    """Text that XML 1.0 can hold: a character it cannot (a control character) becomes U+FFFD."""
    return _NOT_XML.sub("\ufffd", text)


def _junit_suite(root: Any, name: str, stamp: str) -> Any:
    import xml.etree.ElementTree as ET

    attributes = {"name": _xml(name), "package": "heattool.validate", "timestamp": stamp}
    return ET.SubElement(root, "testsuite", attributes, hostname="localhost", time="0")


def _junit_case(suite: Any, classname: str, name: str) -> Any:
    import xml.etree.ElementTree as ET

    return ET.SubElement(suite, "testcase", classname=_xml(classname), name=name, time="0")


def _junit_close(suite: Any, out: str, *, failures: int, errors: int) -> None:
    """Count the suite's testcases and end it with its system-out and an empty system-err."""
    import xml.etree.ElementTree as ET

    suite.set("tests", str(len(suite.findall("testcase"))))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", "0")
    ET.SubElement(suite, "system-out").text = _xml(out)
    ET.SubElement(suite, "system-err")


def heading_mapping(result: Any) -> list[dict[str, str | None]]:
    """How each heading of an upload was read: its column, or None when it was ignored; a
    heading that may not be quoted is None, named by its cell."""
    mapping: list[dict[str, str | None]] = result.headings()
    return mapping


def mapping_line(result: Any) -> str:
    """`Gender -> gender_identity, Notes -> ignored`: so an empty column is seen at once. A
    heading that may not be quoted is `(heading in C1)`."""

    def heading(m: dict[str, str | None]) -> str:
        return m["heading"] if m["heading"] is not None else f"(heading in {m['cell']})"

    return ", ".join(f"{heading(m)} -> {m['column'] or 'ignored'}" for m in heading_mapping(result))


def warnings_document(result: Any) -> list[dict[str, Any]]:
    return list(result.reported(result.warnings).select(LISTED_FIELDS).to_dicts())


def render_file_notes(console: Console, result: Any) -> None:
    """The heading mapping and the warnings of one upload, as validate and import show them."""
    say(console, f"  headings: {mapping_line(result)}")
    if result.warnings.height > TABLE_ROWS:  # 100,000 unknown headings: plain lines, at once
        import polars as pl

        notes = result.warnings.select(
            pl.col("code", "message").fill_null("").pipe(_controls_escaped)
        )
        write_lines(console, notes, pl.format("  warning {}: {}", "code", "message"))
        return
    for warning in result.warnings.iter_rows(named=True):
        console.print(
            f"  [yellow]warning[/] {warning['code']}: {literal(warning['message'])}",
            soft_wrap=True,
        )


def upload_warnings(result: Any, not_judged: int) -> None:
    """On stderr, for a store-less retention of an upload: how it was read, what was left out."""
    console = stderr()
    say(console, f"{result.raw.path}: {result.kind}, {plural(result.rows, 'row')}")
    render_file_notes(console, result)
    if not_judged:
        say(
            console,
            f"warning: {plural(not_judged, 'row')} not judged: they have errors "
            f"(heattool validate {result.raw.path} lists them)",
        )


def errors_by_code(errors: pl.DataFrame) -> dict[str, int]:
    counts = errors.group_by("code").len().sort(["len", "code"], descending=[True, False])
    return dict(counts.iter_rows())


def render_validation(console: Console, outcome: ValidateResult, max_errors: int) -> None:
    """The text report: a summary per file and a table of its first errors."""
    for result in outcome.results:
        verdict = _verdict_markup(outcome, result)
        where = f" sheet {literal(result.raw.sheet)}," if result.raw.sheet else ""
        console.print(
            f"[bold]{literal(result.raw.path)}[/]: {result.kind},{where} {result.rows} rows, "
            f"{result.valid_rows} valid, {result.invalid_rows} invalid: {verdict}",
            soft_wrap=True,
        )
        by_code = errors_by_code(result.errors)
        if by_code:
            say(console, "  errors: " + ", ".join(f"{c} {n}" for c, n in by_code.items()))
        render_file_notes(console, result)
        if result.errors.height:
            shown = result.errors if max_errors <= 0 else result.errors.head(max_errors)
            reported = result.reported(shown)
            if reported.height <= TABLE_ROWS:
                console.print(_findings_table(reported))
            else:
                write_findings_lines(console, _shown_values(reported))
            if shown.height < result.errors.height:
                console.print(
                    f"  ... and {result.errors.height - shown.height} more errors "
                    "(--max-errors 0 lists all; --errors-out FILE writes them to a CSV)"
                )


def _verdict_markup(outcome: ValidateResult, result: Any) -> str:
    said = verdict(outcome, result)
    return f"[green]{said}[/]" if said == "valid" else f"[red]{escape(said)}[/]"


def _findings_table(findings: pl.DataFrame) -> Table:
    """The findings as `reported` leaves them: a cell not quoted says so."""
    from heattool.schemas import HIDDEN

    table = Table(show_lines=False, pad_edge=False)
    for name in ("row", "cell", "column", "value", "code", "message"):
        table.add_column(name, overflow="fold", no_wrap=name in ("row", "cell", "code"))
    for row in findings.select(*LISTED_FIELDS, "hidden").iter_rows(named=True):
        shown = {**row, "value": HIDDEN if row["hidden"] else row["value"]}
        table.add_row(*(cell(shown[name]) for name in LISTED_FIELDS))
    return table


def _shown_values(findings: pl.DataFrame) -> pl.DataFrame:
    """`reported` findings with a cell not quoted saying so, as the table shows it."""
    import polars as pl

    from heattool.schemas import HIDDEN

    return findings.with_columns(
        value=pl.when(pl.col("hidden")).then(pl.lit(HIDDEN)).otherwise(pl.col("value"))
    )


# Past this many findings the report is plain lines, not a rich Table: rich lays a table out in
# Python at about 1 ms a row (200,000 errors took over 5 minutes), the lines are built by Polars.
TABLE_ROWS = 500
LINES_AT_ONCE = 20_000  # findings formatted and written per step
CAPPED_WIDTH = 32  # a column's cells are padded to at most this width; longer ones run over
# A control character (a line break, a tab, an escape, a bidi override) is shown escaped as
# Python writes it (`\n`, `\x1b`, `\u202e`): each finding stays one line and nothing in a
# cell can move the cursor or recolour the terminal.
_CONTROLS = [
    chr(n)
    for n in range(0x206A)
    if n < 0x20 or 0x7F <= n < 0xA0 or 0x2028 <= n <= 0x202E or n >= 0x2066
]
_ESCAPED = [c.encode("unicode_escape").decode("ascii") for c in _CONTROLS]
# Display width, as a terminal shows it: East Asian wide and emoji characters take two cells,
# combining marks and zero-width characters none (close to rich's measure, not exactly it).
_WIDE = (
    "[\u1100-\u115f\u2e80-\u303e\u3041-\u33ff\u3400-\u4dbf\u4e00-\u9fff\ua000-\ua4cf"
    "\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6"
    "\U0001f300-\U0001f64f\U0001f900-\U0001f9ff\U00020000-\U0003fffd]"
)
_ZERO = "[\u0300-\u036f\u200b-\u200f\u2060-\u2064\ufe00-\ufe0f\ufeff]"


def write_findings_lines(console: Console, findings: pl.DataFrame) -> None:
    """The findings as plain fixed-width lines, one a finding, under a heading and a rule.

    The same columns as the table; each column as wide as its widest cell (at most
    CAPPED_WIDTH but the last), a cell shown literally (never as markup) with its control
    characters escaped. Formatted by Polars: 200,000 findings take about a second.
    """
    import polars as pl

    text = findings.select(
        pl.col(LISTED_FIELDS).cast(pl.String).fill_null("").pipe(_controls_escaped)
    )
    widest = text.select(_width(name).alias(name) for name in LISTED_FIELDS).max().row(0)
    widths = [
        max(len(name), min(w or 0, CAPPED_WIDTH))
        for name, w in zip(LISTED_FIELDS, widest, strict=True)
    ]
    last = len(LISTED_FIELDS) - 1
    gap = "  "
    heading = gap.join(
        n.ljust(w) if i < last else n
        for i, (n, w) in enumerate(zip(LISTED_FIELDS, widths, strict=True))
    )
    console.print(Text(heading, style="bold"), soft_wrap=True)
    say(console, gap.join("─" * w for w in widths))
    line = pl.concat_str(
        *(
            _padded(name, width)
            for name, width in zip(LISTED_FIELDS[:last], widths[:last], strict=True)
        ),
        pl.col(LISTED_FIELDS[last]),
        separator=gap,
    )
    write_lines(console, text, line)


def write_lines(console: Console, frame: pl.DataFrame, line: pl.Expr) -> None:
    """One line of text per row of `frame`, made by `line`, written straight to the console's
    file (never as markup), a step of LINES_AT_ONCE rows at a time."""
    out = console.file
    for part in frame.iter_slices(LINES_AT_ONCE):
        out.write(part.select(line.str.join("\n")).item() + "\n")
    out.flush()


def _controls_escaped(text: pl.Expr) -> pl.Expr:
    """Text with its control characters escaped (see _CONTROLS)."""
    return text.str.replace_many(_CONTROLS, _ESCAPED)


def _width(name: str) -> pl.Expr:
    """A column's cells' display width (see _WIDE and _ZERO)."""
    import polars as pl

    column = pl.col(name)
    return (
        column.str.len_chars().cast(pl.Int64)
        + column.str.count_matches(_WIDE)
        - column.str.count_matches(_ZERO)
    )


def _padded(name: str, width: int) -> pl.Expr:
    """A column's cells padded with spaces to `width` display cells (a wider cell is kept whole)."""
    import polars as pl

    short = (pl.lit(width, dtype=pl.Int64) - _width(name)).clip(lower_bound=0)
    return pl.concat_str(pl.col(name), pl.lit(" " * width).str.slice(0, short))


# -- retention and purge ----------------------------------------------------------------------

RECORD_KEYS = ("kind", "member", "ref", "heat_id")  # what names a record in a view


def result_view(result: pl.DataFrame) -> pl.DataFrame:
    """The identifying columns and the judgement only: no names, dates of birth or postcodes."""
    from heattool.rules.retention import RESULT_COLUMNS

    inputs = [c for c in result.columns if c not in RESULT_COLUMNS]
    ids = [c for c in RECORD_KEYS if c in inputs] or inputs[:1]
    return result.select(*ids, *RESULT_COLUMNS)


def status_counts(result: pl.DataFrame) -> dict[str, int]:
    from heattool.rules.retention import STATUSES

    counts = dict(result.get_column("status").value_counts().iter_rows())
    return {status: int(counts.get(status, 0)) for status in STATUSES}


_STATUS_STYLE = {"retained": "green", "ready-for-deletion": "yellow", "overdue": "red"}
SHOWN_DUE = 50  # the terminal table lists this many due records; --out writes them all


def retention_json(judged: Retention) -> str:
    """What `retention --format json` prints: counts by status and rule, and the due records.

    The records are written by Polars, not one Python dict each: millions can be due.
    """
    policy, result = judged.policy, judged.result
    head = {
        "policy": {"name": policy.name, "version": policy.version, "source": policy.source},
        "as_of": judged.as_of.isoformat(),
        "records": result.height,
        "counts": status_counts(result),
        "by_rule": _by_rule(result).to_dicts(),
    }
    if judged.upload is not None:
        upload = judged.upload
        head["input"] = {
            "file": str(upload.raw.path),
            "kind": upload.kind,
            "rows": upload.rows,
            "judged": upload.valid_rows,
            "not_judged": judged.not_judged,
            "errors_by_code": errors_by_code(upload.errors),
            "warnings": warnings_document(upload),
            "headings": heading_mapping(upload),
            "loaded_on": judged.as_of.isoformat(),  # judged as if loaded then, with no register
        }
    text = json.dumps(head, indent=2, default=str)
    due = result_view(judged.due_with_reasons())
    return f'{text[:-2]},\n  "deletion_ready": {due.write_json()}\n}}'


def _by_rule(result: pl.DataFrame) -> pl.DataFrame:
    import polars as pl

    return (
        result.group_by("rule", "status").len("records").sort("rule", "status")
        if result.height
        else pl.DataFrame(schema={"rule": pl.String, "status": pl.String, "records": pl.UInt32})
    )


def render_retention(console: Console, judged: Retention) -> None:
    """Counts by rule and status, then the first records that must go, with why and by when."""
    policy, result = judged.policy, judged.result
    due = judged.due
    console.print(
        f"[bold]{literal(policy.name)}[/] as of {judged.as_of.isoformat()}: "
        f"{plural(result.height, 'record')}, "
        + ", ".join(f"{n} {status}" for status, n in status_counts(result).items()),
        soft_wrap=True,
    )
    counts = Table(title_justify="left", pad_edge=False)
    for name in ("rule", "status", "records"):
        counts.add_column(name, justify="right" if name == "records" else "left")
    for rule, status, n in _by_rule(result).iter_rows():
        counts.add_row(cell(rule), Text(status, style=_STATUS_STYLE.get(status, "")), str(n))
    console.print(counts)
    if not due:
        console.print("Nothing is ready for deletion.")
    else:
        shown = judged.due_with_reasons(first=SHOWN_DUE)
        ids = [c for c in ("member", "kind", "ref") if c in shown.columns]  # heat_ids: in --out
        table = Table(title="Ready for deletion", title_justify="left", pad_edge=False)
        for name in [*ids, "status", "delete_by", "reason"]:
            table.add_column(name, overflow="fold", no_wrap=name != "reason")
        for row in shown.select(*ids, "status", "delete_by", "reason").iter_rows():
            table.add_row(*(cell(v) for v in row))
        console.print(table)
        if due > shown.height:
            say(console, f"  ... and {due - shown.height} more (--out FILE writes them all)")
    if judged.out is not None:
        say(console, f"deletion-ready list ({plural(due, 'record')}) written to {judged.out}")


def render_purge(console: Console, outcome: PurgeOutcome) -> None:
    plan = outcome.plan
    scope = f" of member {outcome.member}" if outcome.member else ""
    rules = ", ".join(f"{r['people']} {r['rule']} {r['status']}" for r in plan.by_rule)
    if plan.people.is_empty():
        say(console, f"Nothing{scope} is ready for deletion on {outcome.as_of}; nothing deleted.")
    elif outcome.dry_run:
        say(
            console,
            f"dry run: would delete {plural(plan.people.height, 'record')}{scope} due on "
            f"{outcome.as_of} ({rules}); nothing was deleted",
        )
    elif outcome.declined:
        say(console, "Nothing deleted.")
    else:
        assert outcome.receipt is not None
        rows = ", ".join(f"{n} {t}" for t, n in outcome.receipt.rows_deleted.items() if n)
        say(
            console,
            f"deleted {plural(plan.people.height, 'record')}{scope} due on {outcome.as_of} "
            f"({rules}): {rows}",
        )
        say(
            console,
            f"receipt: {outcome.receipt_path} (audit event {outcome.receipt.event_id})",
        )


def render_frame(console: Console, frame: pl.DataFrame, *, empty: str) -> None:
    """A small frame as a table, or a line saying there is nothing."""
    if frame.is_empty():
        say(console, empty)
        return
    table = Table(pad_edge=False)
    for name in frame.columns:
        table.add_column(name, no_wrap=True)
    for row in frame.iter_rows():
        table.add_row(*(cell(v) for v in row))
    console.print(table)


def render_withdrawn(console: Console, done: Withdrawn) -> None:
    if done.already:
        say(console, f"{done.heat_id} had already withdrawn on {done.withdrawn_on}; unchanged")
    else:
        say(
            console,
            f"{done.heat_id} ({done.kind}, member {done.member}) withdrawn on "
            f"{done.withdrawn_on}: left out of track requests from now on",
        )


def render_erased(console: Console, done: Erased) -> None:
    say(
        console,
        f"erased {done.receipt.heat_ids[0]}: "
        f"{plural(sum(done.receipt.rows_deleted.values()), 'row')} deleted; receipt in {done.path}",
    )


def render_reissued(console: Console, done: Reissued) -> None:
    receipt = done.receipt
    say(
        console,
        f"receipt of audit event {receipt.event_id} ({receipt.event}, "
        f"{utc_text(receipt.deleted_at)}, {receipt.people} "
        f"{'person' if receipt.people == 1 else 'people'}) written to "
        f"{done.path}",
    )


SHOWN_ROWS = 50  # a query's table shows this many rows; --out writes them all


def render_rows(console: Console, rows: pl.DataFrame) -> None:
    """A query's rows as a table, every cell literal; the first SHOWN_ROWS of them."""
    table = Table(pad_edge=False)
    for name, dtype in rows.schema.items():
        table.add_column(
            cell(name), overflow="fold", justify="right" if dtype.is_numeric() else "left"
        )
    for row in rows.head(SHOWN_ROWS).iter_rows():
        table.add_row(*(cell(v) for v in row))
    console.print(table)
    more = f", the first {SHOWN_ROWS} shown (--out FILE writes them all)"
    say(console, plural(rows.height, "row") + (more if rows.height > SHOWN_ROWS else ""))


def render_config(console: Console, done: Settings) -> None:
    path = done.config.path
    say(
        console,
        f"settings from {path}" if path else "no settings file: the environment and the defaults",
    )
    table = Table(pad_edge=False)
    for name in ("setting", "value", "from"):
        table.add_column(name, overflow="fold")
    for row in done.rows():
        table.add_row(cell(row["setting"]), cell(row["value"] or "-"), cell(row["from"]))
    console.print(table)


# -- import and summary ------------------------------------------------------------------------


def render_import(console: Console, report: ImportReport) -> None:
    """Per-file counts and what happened to the store, for people."""

    for file in report.files:
        say(
            console,
            f"{file.path} ({file.kind}): {plural(file.rows, 'row')}: {file.inserted} inserted, "
            f"{file.updated} updated, {file.unchanged} unchanged, {file.rejected} rejected",
        )
        render_file_notes(console, file.result)
        if file.previous_batch is not None and not file.changed:
            say(
                console,
                f"  already imported in batch {file.previous_batch} on "
                f"{file.previous_at:%Y-%m-%d %H:%M} UTC; nothing changed",
            )
        elif not file.changed and not file.rejected:
            say(console, "  nothing changed: the store already holds these rows")
    for path in report.rejects_paths:
        say(console, f"rejected rows written to {path} (fix them there and import it again)")
    if report.rejects_paths and report.encrypted:
        say(
            console,
            "warning: the store is encrypted but rejects files are not: they hold the rejected "
            "rows' personal data; delete them once fixed, or import with --no-rejects",
        )
    if report.dry_run:
        say(console, f"dry run: nothing was written to {report.db}")
    elif not report.loaded:
        say(
            console,
            f"{plural(report.rejected, 'row')} invalid and --on-invalid is abort: nothing was "
            f"loaded into {report.db}",
        )
    else:
        say(console, f"loaded into {report.db} for member {report.member}")


def render_outcomes_import(console: Console, report: OutcomesReport) -> None:
    """Per-return counts, the rows rejected by code (never their values), and the store."""
    import polars as pl

    for file in report.files:
        say(
            console,
            f"{file.path} ({file.result.kind} return): {file.rows} rows: {file.inserted} "
            f"inserted, {file.replaced} replaced, {file.unchanged} unchanged, "
            f"{file.rejected} rejected",
        )
        render_file_notes(console, file.result)
        for error in file.file_errors.iter_rows(named=True):
            say(console, f"  error {error['code']}: {error['message']}")
        errors = file.result.errors.filter(pl.col("row").is_not_null())
        by_code = errors.partition_by("code", as_dict=True, maintain_order=True)
        for (code,), found in by_code.items():
            rows = found["row"].unique(maintain_order=True).to_list()
            shown = ", ".join(str(r) for r in rows[:10]) + (", ..." if len(rows) > 10 else "")
            columns = ", ".join(found["column"].unique(maintain_order=True).to_list())
            say(console, f"  {code}: {plural(len(rows), 'row')} ({shown}), in {columns}")
        if file.previous_batch is not None and not file.changed:
            say(
                console,
                f"  already imported in return batch {file.previous_batch} on "
                f"{file.previous_at:%Y-%m-%d %H:%M} UTC; nothing changed",
            )
    for path in report.rejects_paths:
        say(console, f"rejected rows written to {path} (fix them there and import it again)")
    if report.rejects_paths and report.encrypted:
        say(
            console,
            "warning: the store is encrypted but rejects files are not: they hold the rejected "
            "rows' outcomes; delete them once fixed, or import with --no-rejects",
        )
    if report.dry_run:
        say(console, f"dry run: nothing was written to {report.db}")
    elif not report.loaded:
        names = ", ".join(str(f.path) for f in report.bad_files)
        say(
            console,
            f"the headings of {names} have errors: nothing was loaded into {report.db}; "
            "fix them and import again",
        )
    elif report.member is not None:
        say(console, f"loaded into {report.db} for member {report.member}")
    else:
        members = ", ".join(f"{m} {n}" for m, n in report.by_member.items()) or "none"
        say(console, f"loaded into {report.db}, each row for its person's member ({members})")


def render_summary(console: Console, summary: dict[str, Any]) -> None:
    """Counts per member and kind, then the last imports."""
    from rich import box

    from heattool.schemas import KINDS

    if not summary["members"]:
        say(console, f"{summary['db']}: no records yet")
        return
    counts = Table(
        title=f"Records in {literal(summary['db'])}", title_justify="left", box=box.SIMPLE
    )
    counts.add_column("member")
    for kind in KINDS:
        counts.add_column(kind, justify="right")
    for row in summary["members"]:
        counts.add_row(row["member"], *(str(row[k]) for k in KINDS))
    console.print(counts)
    years = Table(title="Expected HE entry year", title_justify="left", box=box.SIMPLE)
    for name in ("member", "entry year", "people", "overridden"):
        years.add_column(name, justify="right" if name in ("people", "overridden") else "left")
    for row in summary["entry_years"]:
        years.add_row(row["member"], row["entry_year"], str(row["people"]), str(row["overridden"]))
    console.print(years)
    retention = summary["retention"]
    statuses = Table(
        title=f"Retention as of {retention['as_of']}", title_justify="left", box=box.SIMPLE
    )
    for name in ("member", "status", "people"):
        statuses.add_column(name, justify="right" if name == "people" else "left")
    for row in retention["by_member_and_status"]:
        statuses.add_row(row["member"], row["status"], str(row["people"]))
    console.print(statuses)
    imports = Table(title="Last imports", title_justify="left", box=box.SIMPLE)
    numbers = ("rows", "inserted", "updated", "unchanged", "rejected")
    for name in ("batch", "member", "kind", "file", "imported (UTC)", *numbers):
        imports.add_column(name, justify="right" if name in numbers else "left", no_wrap=True)
    for row in summary["recent_imports"]:
        imports.add_row(
            str(row["batch_id"]),
            row["member"],
            row["kind"],
            cell(row["file_name"]),
            f"{row['imported_at']:%Y-%m-%d %H:%M}",
            *(str(row[k]) for k in numbers),
        )
    console.print(imports)


# -- track requests ----------------------------------------------------------------------------


def _kinds(counts: dict[str, dict[str, int]]) -> str:
    totals: dict[str, int] = {}
    for kinds in counts.values():
        for kind, n in kinds.items():
            totals[kind] = totals.get(kind, 0) + n
    from heattool.rules.track import TRACK_KINDS

    order = {kind: number for number, kind in enumerate(TRACK_KINDS)}
    return ", ".join(
        plural(totals[kind], kind.removesuffix("s"))
        for kind in sorted(totals, key=lambda k: order.get(k, len(order)))
    )


def render_track_request(console: Console, result: TrackResult) -> None:
    """The counts, where the file went, what was excluded and why, and what changed."""
    from heattool.actions.track_request import manifest_path

    scope = f" for member {result.member}" if result.member else ""
    kinds = f" ({_kinds(result.counts)})" if result.records else ""
    say(
        console,
        f"{result.target} track request for {result.year}{scope} ({result.window}): "
        f"{plural(result.records, 'record')}{kinds}",
    )
    if result.dry_run:
        say(console, f"dry run: no file written, nothing recorded in {result.db}")
    else:
        assert result.out is not None and result.file_sha256 is not None
        say(
            console,
            f"  written to {result.out} ({result.file_format}, sha256 {result.file_sha256[:12]})",
        )
        say(console, f"  manifest {manifest_path(result.out)}")
        say(console, f"  batch {result.batch_id} recorded in {result.db}")
    say(console, f"excluded: {result.excluded_total}")
    width = max(map(len, result.excluded), default=0)
    for reason in result.reason_order:
        if result.excluded[reason]:
            say(console, f"  {reason:<{width}}  {result.excluded[reason]}")
    if result.excluded_out is not None:
        say(console, f"  excluded records listed in {result.excluded_out}")
    if result.previous is None:
        say(console, f"first {result.target} request for {result.year}{scope}")
    else:
        changes = result.previous
        removed = "; ".join(f"{n} {why}" for why, n in changes["removed_by_reason"].items())
        say(
            console,
            f"since batch {changes['previous_batch_id']} ({changes['previous_created_at'][:10]}): "
            f"{changes['added']} added, {changes['removed']} removed"
            + (f" ({removed})" if removed else ""),
        )


# -- the calendar --------------------------------------------------------------------------------


def render_calendar(console: Console, document: dict[str, Any], db: Path | str | None) -> None:
    """The dates as a table, then what is due now in the store."""
    from rich import box

    from heattool.store import resolve_db_path

    policy = document["policy"]
    table = Table(
        title=literal(f"{document['year']} under {policy['name']} {policy['version']}".rstrip()),
        title_justify="left",
        box=box.SIMPLE,
    )
    for name in ("date", "day", "what", "rule"):
        table.add_column(name)
    for day in document["dates"]:
        table.add_row(day["date"], day["weekday"][:3], cell(day["what"]), cell(day["rule"]))
    console.print(table)
    for note in document["notes"]:
        say(console, f"note: {note}")
    upcoming = document["next"]
    if upcoming:
        say(
            console,
            f"next: {upcoming['event']} on {upcoming['date']}, in "
            f"{upcoming['days_from_as_of']} days (as of {document['as_of']})",
        )
    store = document["store"]
    if store is None:
        say(console, f"no store at {resolve_db_path(db)}: nothing to count")
        return
    scope = f" for member {store['member']}" if store["member"] else ""
    say(console, f"due now in {store['db']}{scope}, as of {document['as_of']}:")
    for name, counts in store["trackable"].items():
        say(
            console,
            f"  trackable for {name} {counts['year']} ({counts['window']}): "
            f"{counts['eligible']} ({counts['excluded']} excluded)",
        )
    say(
        console, f"  ready for deletion: {store['ready_for_deletion']}; overdue: {store['overdue']}"
    )


# -- the demo ---------------------------------------------------------------------------------


def demo_narrator(console: Console) -> Callable[[str, str], None]:
    """How the demo's narration looks: a rule per step, the command, its exit code."""

    def narrate(event: str, text: str) -> None:
        if event == "start":
            first, _, rest = text.partition("\n")
            console.print(Text(first, style="bold"))
            for line in [*rest.splitlines(), ""]:  # the folder, then a blank line
                say(console, line)
        elif event == "step":
            console.rule(Text(text, style="bold"))
        elif event == "command":
            say(console, text)
        elif event == "exit":
            console.print(Text(f"(exit code {text})\n", style="dim"))
        else:
            say(console, text)

    return narrate


# -- matching ---------------------------------------------------------------------------------


def render_matched(console: Console, done: Any) -> None:
    """`heattool match`: the counts by status and where the files went."""
    counts = ", ".join(f"{done.count(s)} {s}" for s in ("matched", "review", "new"))
    say(
        console,
        f"{done.path}: {plural(done.rows.height, 'row')} matched against "
        f"{_people(done.stored)} of member {done.member}: {counts}",
    )
    if done.unreadable:
        say(console, f"  {plural(done.unreadable, 'row')} with a cell that could not be read, "
                     "matched on the rest (heattool validate lists them)")  # fmt: skip
    say(
        console, f"  matched at {done.thresholds.match_at}, review from {done.thresholds.review_at}"
    )
    if done.out is not None:
        say(console, f"  written to {done.out}")
    if done.review_out is not None:
        then = f"heattool match decide {done.review_out} --member {done.member}"
        say(console, f"  {plural(done.review.height, 'pair')} to decide in {done.review_out} "
                     f"(then {then})")  # fmt: skip
    elif done.count("review"):
        say(console, "  --review-out FILE writes the pairs to decide")


def _people(n: int) -> str:
    return f"{n} stored {'person' if n == 1 else 'people'}"


def render_decided(console: Console, done: Any) -> None:
    say(
        console,
        f"{plural(done.same + done.different, 'decision')} stored for member {done.member} "
        f"({done.same} same, {done.different} different; {done.changed} changed); "
        f"{plural(done.undecided, 'row')} left undecided (audit event {done.event_id})",
    )


def render_duplicates(console: Console, done: Any) -> None:
    say(
        console,
        f"{_people(done.people)} of member {done.member}: "
        f"{plural(done.count('matched'), 'cluster')} of probable duplicates, "
        f"{done.count('review')} to review",
    )
    shown = done.rows.select("cluster", "status", "match_probability", "kind", "ref", "agreed")
    if shown.height:
        render_frame(console, shown.head(40), empty="")
        if shown.height > 40:
            say(console, f"... and {shown.height - 40} more rows (--out FILE writes them all)")
    if done.out is not None:
        say(console, f"written to {done.out}")


def _percent(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.1f}%"


def outcome_lines(report: OutcomeTable) -> list[str]:
    """The outcome table as text a person can read: a heading, one line per cell (a hidden
    value shown as its code), then what was suppressed and who was left out."""
    dims = report.dimensions
    kind = report.kind
    who = f"member {report.member}" if report.member else "every member"
    lines = [
        f"{report.target} {report.measure} by {' and '.join(dims)}, {who}, as of "
        f"{report.as_of}: {report.people} students; denominator: {report.denominator}",
        f"disclosure {report.rule.name}: {report.rule.description}",
    ]
    values = (
        ["n", "mean", "standard error"]
        if kind == "mean"
        else ["numerator", "denominator", "rate", "95% interval"]
    )
    rows = [[*dims, *values, ""]]
    for cell in report.table.iter_rows(named=True):
        hidden = set(cell["hidden"])
        code = cell["suppressed"] or ""

        def shown(column: str, text: str, hidden: set[str] = hidden, code: str = code) -> str:
            return code if column in hidden else text

        if kind == "mean":
            shown_values = [
                shown("n", str(cell["n"])),
                shown("mean", "" if cell["mean"] is None else f"{cell['mean']:.1f}"),
                shown("mean", "" if cell["mean_se"] is None else f"{cell['mean_se']:.2f}"),
            ]
        else:
            interval = (
                ""
                if cell["rate_low"] is None
                else f"{_percent(cell['rate_low'])} to {_percent(cell['rate_high'])}"
            )
            shown_values = [
                shown("numerator", str(cell["numerator"])),
                shown("denominator", str(cell["denominator"])),
                shown("rate", _percent(cell["rate"])),
                shown("rate", interval),
            ]
        names = [cell[d] if cell[d] is not None else "all" for d in dims]
        rows.append([*names, *shown_values, cell["suppression"] or ""])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        lines.append(
            "  " + "  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip()
        )
    suppressed = report.suppressed()
    primary = sum(1 for c in suppressed if c["suppression"] == "primary")
    if suppressed:
        lines.append(
            f"suppressed: {len(suppressed)} cells, {primary} primary (the rule's tests) and "
            f"{len(suppressed) - primary} secondary (else they could be worked out from the "
            "totals)"
        )
    else:
        lines.append("suppressed: none")
    for code, n in report.left_out.items():
        if n:
            lines.append(
                f"left out: {plural(n, 'student')} {code} (in the comparison group but with "
                "attendance: in no cell; correct their evaluation group or the register)"
            )
    if report.out is not None:
        lines.append(f"wrote {report.out} and {report.out}.manifest.json")
    if report.banner:
        lines = [f"{report.banner}  {line}" for line in lines]
    return lines


def render_outcome_table(console: Console, report: OutcomeTable) -> None:
    """The table as text, or as CSV or JSON on stdout when no file was asked for; else what
    was written."""
    import json as json_module

    from heattool.io.writers import csv_text, json_text

    if report.out is None and report.file_format == "csv":
        sys.stdout.write(csv_text(report.frame()))
        return
    if report.out is None and report.file_format == "json":
        document = {**report.manifest(), "table": report.frame().to_dicts()}
        text = json_module.dumps(document, default=str) if report.banner else json_text(document)
        sys.stdout.write(text + "\n")
        return
    for line in outcome_lines(report):
        say(console, line)
