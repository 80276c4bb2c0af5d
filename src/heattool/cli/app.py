"""The Typer app: the top-level options, every command registered, and the console script."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperGroup

from heattool import __version__
from heattool.cli import commands
from heattool.cli.failures import State, fail, silence_stdout

app = typer.Typer(
    name="heattool",
    help="Validate, store, retain and track HEAT outreach-participant records.",
    no_args_is_help=True,
    add_completion=True,
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
    config: Annotated[
        Path | None,
        typer.Option(
            "--config",
            help="Settings file (TOML); default $HEATTOOL_CONFIG, else ./heattool.toml if there.",
        ),
    ] = None,
) -> None:
    """Validate, store, retain and track HEAT outreach-participant records.

    Exit codes: 0 valid, 1 invalid data, 2 usage error or unreadable input,
    3 bad policy or configuration, 4 internal error.
    """
    from heattool.errors import HeattoolError
    from heattool.io.config import load_config

    try:
        settings = load_config(config)
    except HeattoolError as exc:
        raise fail(str(exc), exc.exit_code) from None
    ctx.obj = State(debug=debug, config=settings)
    # A setting of heattool.toml (or, without one, of the environment) is every command's
    # default for the option of its name; a flag still wins.
    given = {n: str(s.value) for n, s in settings.settings.items() if s.value is not None}
    ctx.default_map = _defaults(ctx.command, given)


def _defaults(command: Any, given: dict[str, str]) -> dict[str, Any]:
    """Click's default map: for each sub-command, the given values of the options it has."""
    found: dict[str, Any] = {}
    for name, sub in getattr(command, "commands", {}).items():
        if hasattr(sub, "commands"):
            found[name] = _defaults(sub, given)
        else:
            options = {p.name for p in sub.params if p.param_type_name == "option"}
            found[name] = {k: v for k, v in given.items() if k in options}
    return found


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
app.command("config")(commands.config)
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

outcomes_app = typer.Typer(
    help="""Track returns: the outcomes HESA and the NPD send back for the people a request sent.

    Examples:

        heattool outcomes import hesa-return-2026.csv --target hesa --member KENT

        heattool outcomes import npd-ks4.parquet --target npd --dry-run

        heattool outcomes report --target hesa --measure entered_he --by group --by hours_band
    """,
    no_args_is_help=True,
)
outcomes_app.command("import")(commands.outcomes_import)
outcomes_app.command("report")(commands.outcomes_report)
app.add_typer(outcomes_app, name="outcomes")


class _ListByDefault(TyperGroup):
    """`heattool match FILE` is `heattool match list FILE`: a first word that is not a
    sub-command is the list."""

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = ["list", *args]
        return super().parse_args(ctx, args)


match_app = typer.Typer(
    cls=_ListByDefault,
    help="""Match a list of people to the member's stored people; store decisions on pairs.

    Examples:

        heattool match event.csv --member KENT --out matched.csv --review-out review.csv

        heattool match decide review.csv --member KENT
    """,
    no_args_is_help=True,
)
match_app.command("list")(commands.match_list)
match_app.command("decide")(commands.match_decide)
app.add_typer(match_app, name="match")
app.command("duplicates")(commands.duplicates)


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
