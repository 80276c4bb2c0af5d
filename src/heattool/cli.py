"""The heattool command line: parse options, call one core function, render, exit."""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from heattool import __version__
from heattool.errors import ExitCode, HeattoolError
from heattool.options import (
    AliasesOption,
    AsOfOption,
    DbOption,
    EncodingOption,
    FormatOption,
    KindOption,
    MemberOption,
    OutputFormat,
    Paths,
    SheetOption,
)

app = typer.Typer(
    name="heattool",
    help="Validate, store, retain and track HEAT outreach-participant records.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
_state = {"debug": False}


REPORT_WIDTH = 120  # when output goes to a file or pipe, where no terminal width applies


def stdout() -> Console:
    console = Console(highlight=False)
    return console if console.is_terminal else Console(highlight=False, width=REPORT_WIDTH)


def stderr() -> Console:
    """Messages to stderr: never wrapped, so an error stays one line."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


def fail(message: str, code: ExitCode) -> typer.Exit:
    """Print one line to stderr and return the Exit to raise."""
    stderr().print(f"[red]error:[/] {message}", markup=True, highlight=False)
    return typer.Exit(int(code))


def handles_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn domain errors into one line and their exit code, and crashes into exit 4."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort):
            raise
        except HeattoolError as exc:
            raise fail(str(exc), exc.exit_code) from None
        except KeyboardInterrupt:
            raise fail("interrupted", ExitCode.USAGE) from None
        except Exception as exc:
            if _state["debug"]:
                traceback.print_exc()
            hint = "" if _state["debug"] else "; run with --debug for the traceback"
            raise fail(
                f"internal error: {type(exc).__name__}: {exc}{hint}", ExitCode.INTERNAL
            ) from None

    return wrapper


def _version(value: bool) -> None:
    if value:
        print(f"heattool {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[
        bool, typer.Option("--debug", help="Show tracebacks of internal errors.")
    ] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Validate, store, retain and track HEAT outreach-participant records.

    Exit codes: 0 valid, 1 invalid data, 2 usage error or unreadable input,
    3 bad policy or configuration, 4 internal error.
    """
    _state["debug"] = debug


@app.command()
@handles_errors
def validate(
    paths: Paths,
    kind: KindOption = None,
    sheet: SheetOption = None,
    encoding: EncodingOption = None,
    output_format: FormatOption = OutputFormat.text,
    errors_out: Annotated[
        Path | None, typer.Option("--errors-out", help="Write every finding to this CSV file.")
    ] = None,
    max_errors: Annotated[
        int,
        typer.Option(
            "--max-errors", min=0, help="List at most this many errors per file (0: all)."
        ),
    ] = 50,
    as_of: AsOfOption = None,
    aliases: AliasesOption = None,
) -> None:
    """Check uploads against the schemas and list what to fix.

    Examples:

        heattool validate examples/students.csv

        heattool validate uploads/*.csv --format json --errors-out errors.csv

        heattool validate register.xlsx --sheet Autumn --kind attendance
    """
    from heattool.report import render_validation, validation_document
    from heattool.validation import validate_paths, write_findings

    results, failures = validate_paths(
        paths,
        kind=kind,
        sheet=sheet,
        encoding=encoding,
        as_of=as_of,
        aliases=aliases,
        progress=stderr(),
    )
    if errors_out is not None:
        write_findings(results, errors_out)
    if output_format is OutputFormat.json:
        import json

        print(json.dumps(validation_document(results, failures, max_errors), indent=2, default=str))
    else:
        render_validation(stdout(), results, max_errors)
    for _path, reason in failures:
        stderr().print(f"[red]error:[/] {reason}")
    if failures:
        raise typer.Exit(int(ExitCode.USAGE))
    if not all(r.valid for r in results):
        raise typer.Exit(int(ExitCode.INVALID_DATA))


class OnInvalid(StrEnum):
    reject = "reject"
    abort = "abort"


@app.command("import")
@handles_errors
def import_(
    paths: Paths,
    member: MemberOption,
    kind: KindOption = None,
    db: DbOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the counts; write nothing.")
    ] = False,
    on_invalid: Annotated[
        OnInvalid,
        typer.Option(
            "--on-invalid", help="reject: load the valid rows; abort: load nothing (exit 1)."
        ),
    ] = OnInvalid.reject,
    rejects_out: Annotated[
        Path | None,
        typer.Option("--rejects-out", help="Write rejected rows here; default beside the store."),
    ] = None,
    output_format: FormatOption = OutputFormat.text,
    sheet: SheetOption = None,
    encoding: EncodingOption = None,
    as_of: AsOfOption = None,
) -> None:
    """Validate uploads and load their valid rows into the store, all in one transaction.

    Exit 0 when every row loaded, 1 when rows were rejected (or, with --on-invalid abort,
    nothing loaded), 2 when a file or the store cannot be read or written.

    Examples:

        heattool import activities.csv students.csv attendance.csv --member KENT

        heattool import students.xlsx --member KENT --dry-run --format json
    """
    from heattool.importer import import_paths, render_import
    from heattool.store import key_from_env

    report = import_paths(
        paths,
        member=member,
        db=db,
        key=key_from_env(),
        kind=kind,
        sheet=sheet,
        encoding=encoding,
        as_of=as_of,
        dry_run=dry_run,
        on_invalid=on_invalid.value,
        rejects_out=rejects_out,
    )
    if output_format is OutputFormat.json:
        import json

        print(json.dumps(report.document(), indent=2, default=str))
    else:
        render_import(stdout(), report)
    if report.rejected:
        raise typer.Exit(int(ExitCode.INVALID_DATA))


@app.command()
@handles_errors
def summary(
    member: Annotated[
        str | None, typer.Option("--member", "-m", help="Only this member's records.")
    ] = None,
    db: DbOption = None,
    output_format: FormatOption = OutputFormat.text,
) -> None:
    """Count the records in the store per member and kind, and list the last imports.

    Examples:

        heattool summary

        heattool summary --member KENT --format json
    """
    from heattool.importer import render_summary, store_summary
    from heattool.store import key_from_env

    document = store_summary(db, key_from_env(), member)
    if output_format is OutputFormat.json:
        import json

        print(json.dumps(document, indent=2, default=str))
    else:
        render_summary(stdout(), document)


@app.command()
@handles_errors
def demo(
    folder: Annotated[
        Path, typer.Option("--dir", help="Folder to build the demo in (made if missing).")
    ] = Path("heattool-demo"),
) -> None:
    """Run the whole job on the bundled examples, showing each command and its output.

    Examples:

        heattool demo

        heattool demo --dir /tmp/heat
    """
    from heattool.demo import run_demo

    command = typer.main.get_command(app)

    def run(args: list[str]) -> int:
        try:
            result = command.main(args, prog_name="heattool", standalone_mode=False)
        except typer.Exit as exc:  # pragma: no cover - click returns it in this mode
            return exc.exit_code
        return result or 0

    run_demo(folder, stdout(), run)


class RetentionFormat(StrEnum):
    table = "table"
    csv = "csv"
    json = "json"


@app.command()
@handles_errors
def retention(
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy",
            "-p",
            envvar="HEATTOOL_POLICY",
            help="Retention policy (TOML); default the HEAT policy shipped with heattool.",
        ),
    ] = None,
    input_path: Annotated[
        Path | None,
        typer.Option("--input", "-i", help="Judge the records of this .csv or .xlsx file."),
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option("--kind", "-k", help="Record kind of every row, if the file has no kind."),
    ] = None,
    as_of: AsOfOption = None,
    output_format: Annotated[
        RetentionFormat,
        typer.Option("--format", "-f", help="table for people, csv or json for scripts."),
    ] = RetentionFormat.table,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Also write the results as CSV (owner-only) here."),
    ] = None,
    sheet: SheetOption = None,
    encoding: EncodingOption = None,
) -> None:
    """Say which records a retention policy keeps, which are ready for deletion, which overdue.

    Examples:

        heattool retention --input students.csv --as-of 2026-09-01

        heattool retention --policy examples/policies/kent-staff.toml --input
        examples/policies/staff-records.csv --format csv --out due.csv
    """
    import datetime as dt

    from heattool.io.readers import read_upload
    from heattool.io.writers import write_csv
    from heattool.rules.policy import load_policy
    from heattool.rules.render import render_retention, result_view, retention_document
    from heattool.rules.retention import evaluate_table

    loaded = load_policy(policy)
    if input_path is None:
        raise fail("give --input FILE: the records to judge", ExitCode.USAGE)
    day = as_of or dt.date.today()
    table = read_upload(input_path, sheet=sheet, encoding=encoding).frame
    result = evaluate_table(loaded, table, day, kind=kind, source=str(input_path))
    if out is not None:
        write_csv(result_view(result), out)
    if output_format is RetentionFormat.json:
        import json

        print(json.dumps(retention_document(loaded, result, day), indent=2, default=str))
    elif output_format is RetentionFormat.csv:
        sys.stdout.write(result_view(result).write_csv())
    else:
        render_retention(stdout(), loaded, result, day)


def main() -> None:
    """Console-script entry point."""
    app(prog_name="heattool")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
