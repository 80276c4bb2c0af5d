"""Every renderer: results as text for people (rich) and as JSON for scripts.

User-supplied text (cells, headings, file names, refs, policy names) is printed literally:
it goes through `say`, `escape` or a table cell built with `Text`, never as markup.
"""

from __future__ import annotations

import contextlib
import json
import sys
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

if TYPE_CHECKING:
    from heattool.actions.load import ImportReport
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


def say(console: Console, text: str) -> None:
    """One line of plain text: never markup, never wrapped."""
    console.print(text, soft_wrap=True, markup=False, highlight=False)


def emit_json(document: Any) -> None:
    """A JSON document on stdout, indented, as every --format json prints it."""
    from heattool.io.writers import json_text

    sys.stdout.write(json_text(document) + "\n")


def plural(n: int, word: str) -> str:
    return f"{n} {word if n == 1 else word + 's'}"


def cell(value: Any) -> Text:
    """A table cell shown as it is (a `[bold]` in a cell stays text)."""
    return Text("" if value is None else str(value))


# -- validation -------------------------------------------------------------------------------


def validation_document(outcome: ValidateResult, max_errors: int) -> dict[str, Any]:
    """The JSON report of `heattool validate`."""
    files = [_result_document(r, max_errors) for r in outcome.results]
    files += [
        {"file": path, "readable": False, "error": reason} for path, reason in outcome.failures
    ]
    return {"heattool": __version__, "valid": outcome.valid, "files": files}


def _result_document(result: Any, max_errors: int) -> dict[str, Any]:
    errors = result.errors
    listed = errors if max_errors <= 0 else errors.head(max_errors)
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


def heading_mapping(result: Any) -> list[dict[str, str | None]]:
    """How each heading of an upload was read: its column, or None when it was ignored."""
    column_of = {heading: column for column, heading in result.header.columns.items()}
    return [{"heading": h, "column": column_of.get(h)} for h in result.raw.headers]


def mapping_line(result: Any) -> str:
    """`Gender -> gender_identity, Notes -> ignored`: so an empty column is seen at once."""
    return ", ".join(
        f"{m['heading']} -> {m['column'] or 'ignored'}" for m in heading_mapping(result)
    )


def warnings_document(result: Any) -> list[dict[str, Any]]:
    return list(result.warnings.select(LISTED_FIELDS).to_dicts())


def render_file_notes(console: Console, result: Any) -> None:
    """The heading mapping and the warnings of one upload, as validate and import show them."""
    say(console, f"  headings: {mapping_line(result)}")
    if result.warnings.height > TABLE_ROWS:  # 100,000 unknown headings: plain lines, at once
        import polars as pl

        notes = result.warnings.select(pl.col("code", "message").fill_null("").pipe(_escaped))
        write_lines(console, notes, pl.format("  warning {}: {}", "code", "message"))
        return
    for warning in result.warnings.iter_rows(named=True):
        console.print(f"  [yellow]warning[/] {warning['code']}: {escape(str(warning['message']))}")


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
        verdict = "[green]valid[/]" if result.valid else "[red]invalid[/]"
        where = f" sheet {escape(result.raw.sheet)}," if result.raw.sheet else ""
        console.print(
            f"[bold]{escape(str(result.raw.path))}[/]: {result.kind},{where} {result.rows} rows, "
            f"{result.valid_rows} valid, {result.invalid_rows} invalid: {verdict}"
        )
        by_code = errors_by_code(result.errors)
        if by_code:
            say(console, "  errors: " + ", ".join(f"{c} {n}" for c, n in by_code.items()))
        render_file_notes(console, result)
        if result.errors.height:
            shown = result.errors if max_errors <= 0 else result.errors.head(max_errors)
            if shown.height <= TABLE_ROWS:
                console.print(_findings_table(shown))
            else:
                write_findings_lines(console, shown)
            if shown.height < result.errors.height:
                console.print(
                    f"  ... and {result.errors.height - shown.height} more errors "
                    "(--max-errors 0 lists all; --errors-out FILE writes them to a CSV)"
                )


def _findings_table(findings: pl.DataFrame) -> Table:
    table = Table(show_lines=False, pad_edge=False)
    for name in ("row", "cell", "column", "value", "code", "message"):
        table.add_column(name, overflow="fold", no_wrap=name in ("row", "cell", "code"))
    for row in findings.select(LISTED_FIELDS).iter_rows():
        table.add_row(*(cell(v) for v in row))
    return table


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

    text = findings.select(pl.col(LISTED_FIELDS).cast(pl.String).fill_null("").pipe(_escaped))
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


def _escaped(text: pl.Expr) -> pl.Expr:
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
        f"[bold]{escape(policy.name)}[/] as of {judged.as_of.isoformat()}: "
        f"{plural(result.height, 'record')}, "
        + ", ".join(f"{n} {status}" for status, n in status_counts(result).items())
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
            f"dry run: would delete {plan.people.height} records{scope} due on "
            f"{outcome.as_of} ({rules}); nothing was deleted",
        )
    elif outcome.declined:
        say(console, "Nothing deleted.")
    else:
        assert outcome.receipt is not None
        rows = ", ".join(f"{n} {t}" for t, n in outcome.receipt.rows_deleted.items() if n)
        say(
            console,
            f"deleted {plan.people.height} records{scope} due on {outcome.as_of} ({rules}): "
            f"{rows}\nreceipt: {outcome.receipt_path} (audit event "
            f"{outcome.receipt.event_id})",
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
        f"erased {done.receipt.heat_ids[0]}: {sum(done.receipt.rows_deleted.values())} rows "
        f"deleted; receipt in {done.path}",
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


# -- import and summary ------------------------------------------------------------------------


def render_import(console: Console, report: ImportReport) -> None:
    """Per-file counts and what happened to the store, for people."""

    for file in report.files:
        say(
            console,
            f"{file.path} ({file.kind}): {file.rows} rows: {file.inserted} inserted, "
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
            f"{report.rejected} rows are invalid and --on-invalid is abort: nothing was loaded "
            f"into {report.db}",
        )
    else:
        say(console, f"loaded into {report.db} for member {report.member}")


def render_summary(console: Console, summary: dict[str, Any]) -> None:
    """Counts per member and kind, then the last imports."""
    from rich import box

    from heattool.schemas import KINDS

    if not summary["members"]:
        console.print(f"{summary['db']}: no records yet", soft_wrap=True, markup=False)
        return
    counts = Table(
        title=f"Records in {escape(summary['db'])}", title_justify="left", box=box.SIMPLE
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
        title=escape(f"{document['year']} under {policy['name']} {policy['version']}".rstrip()),
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
            say(console, rest + "\n")
        elif event == "step":
            console.rule(Text(text, style="bold"))
        elif event == "command":
            say(console, text)
        elif event == "exit":
            console.print(Text(f"(exit code {text})\n", style="dim"))
        else:
            say(console, text)

    return narrate
