"""The heattool command line: parse options, call one core function, render, exit."""

from __future__ import annotations

import functools
import sys
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from heattool import __version__
from heattool.errors import ExitCode, HeattoolError
from heattool.options import (
    AsOfOption,
    EncodingOption,
    FormatOption,
    KindOption,
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
    console = Console(stderr=True, highlight=False)
    return console if console.is_terminal else Console(stderr=True, highlight=False, width=200)


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
        paths, kind=kind, sheet=sheet, encoding=encoding, as_of=as_of, progress=stderr()
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


def main() -> None:
    """Console-script entry point."""
    app(prog_name="heattool")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
