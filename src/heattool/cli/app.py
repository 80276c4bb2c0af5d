"""The Typer app: the top-level options, every command registered, and the console script."""

from __future__ import annotations

import contextlib
import sys
from typing import Annotated

import typer

from heattool import __version__
from heattool.cli import commands
from heattool.cli.failures import State, silence_stdout

app = typer.Typer(
    name="heattool",
    help="Validate, store, retain and track HEAT outreach-participant records.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)


def _version(value: bool) -> None:
    if value:
        print(f"heattool {__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    ctx: typer.Context,
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
    ctx.obj = State(debug=debug)


app.command("validate")(commands.validate)
app.command("import")(commands.import_)
app.command("summary")(commands.summary)
app.command("retention")(commands.retention)
app.command("purge")(commands.purge)
app.command("receipt")(commands.receipt)
app.command("track-request")(commands.track_request)
app.command("calendar")(commands.calendar)
app.command("query")(commands.query)
app.command("export")(commands.export)
app.command("demo")(commands.demo)

subject_app = typer.Typer(
    help="""Data-subject rights: find a person, give them their data, withdraw, erase.

    Examples:

        heattool subject find --forename Amelia --surname Hughes --dob 2009-03-14

        heattool subject access 7a7db117-9a76-4b69-a3e1-44ff0ad23ebd --out amelia.json

        heattool subject withdraw --member KENT --ref S0001

        heattool subject erase 7a7db117-9a76-4b69-a3e1-44ff0ad23ebd --yes
    """,
    no_args_is_help=True,
)
subject_app.command("find")(commands.subject_find)
subject_app.command("access")(commands.subject_access)
subject_app.command("withdraw")(commands.subject_withdraw)
subject_app.command("erase")(commands.subject_erase)
app.add_typer(subject_app, name="subject")


def main() -> None:
    """Console-script entry point."""
    try:
        app(prog_name="heattool")
        code: object = 0
    except SystemExit as exc:
        code = exc.code
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the reader (`| head`) has gone: quietly exit 1, as text mode does
        silence_stdout()
        code = code or 1
    except OSError as exc:
        print(f"error: could not write the output ({exc.strerror})", file=sys.stderr)
        code = code or 2
    with contextlib.suppress(OSError):
        sys.stderr.flush()
    sys.exit(code)
