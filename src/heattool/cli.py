"""The heattool command line: parse options, call one core function, render, exit."""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import os
import sys
import traceback
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from typer._click.exceptions import ClickException

from heattool import __version__
from heattool.errors import ExitCode, HeattoolError
from heattool.options import (
    AliasesOption,
    AsOfOption,
    DbOption,
    EncodingOption,
    FormatOption,
    KindOption,
    MemberFilterOption,
    MemberOption,
    OutputFormat,
    Paths,
    PolicyOption,
    SheetOption,
    parse_day,
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


@contextlib.contextmanager
def working(message: str) -> Iterator[None]:
    """A spinner on stderr while a long step runs; nothing when stderr is not a terminal."""
    console = stderr()
    if not console.is_terminal:
        yield
        return
    with console.status(message):
        yield


def fail(message: str, code: ExitCode) -> typer.Exit:
    """Print one line to stderr and return the Exit to raise."""
    from rich.markup import escape

    stderr().print(f"[red]error:[/] {escape(message)}", markup=True, highlight=False)
    return typer.Exit(int(code))


def handles_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn domain errors into one line and their exit code, and crashes into exit 4."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (typer.Exit, typer.Abort, ClickException):
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
    allow_previously_erased: Annotated[
        bool,
        typer.Option(
            "--allow-previously-erased",
            help="Load people erased at their request who have given new consent.",
        ),
    ] = False,
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

    with working("importing ..."):
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
            allow_previously_erased=allow_previously_erased,
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
    as_of: AsOfOption = None,
    policy: PolicyOption = None,
) -> None:
    """Count the records per member and kind, their entry years and retention status,
    and list the last imports.

    Examples:

        heattool summary

        heattool summary --member KENT --format json
    """
    from heattool.importer import render_summary, store_summary
    from heattool.rules.policy import load_policy
    from heattool.store import key_from_env

    with working("summarising the store ..."):
        document = store_summary(
            db, key_from_env(), member, policy=load_policy(policy), as_of=as_of
        )
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
    policy: PolicyOption = None,
    input_path: Annotated[
        Path | None,
        typer.Option("--input", "-i", help="Judge the records of this file instead of the store."),
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
        typer.Option("--out", "-o", help="Write the deletion-ready list (CSV, owner-only) here."),
    ] = None,
    with_names: Annotated[
        bool, typer.Option("--with-names", help="Put names and dates of birth in --out.")
    ] = False,
    member: MemberFilterOption = None,
    db: DbOption = None,
    sheet: SheetOption = None,
    encoding: EncodingOption = None,
) -> None:
    """Say which records are retained, which are ready for deletion and which are overdue.

    Judges every person in the store (or of one --member) by the retention policy, as of
    today or --as-of, or the rows of any --input file by any --policy.

    Examples:

        heattool retention --member KENT

        heattool retention --as-of 2041-10-01 --out due.csv

        heattool retention --policy examples/policies/kent-staff.toml --input
        examples/policies/staff-records.csv --format csv
    """
    import polars as pl

    from heattool.rules.policy import load_policy

    loaded = load_policy(policy)
    day = as_of or dt.date.today()
    if input_path is not None:
        from heattool.io.readers import read_upload
        from heattool.rules.retention import evaluate_table

        table = read_upload(input_path, sheet=sheet, encoding=encoding).frame
        result = evaluate_table(loaded, table, day, kind=kind, source=str(input_path))
        if "kind" not in result.columns:
            result = result.select(pl.lit(kind).alias("kind"), pl.all())
    else:
        from heattool.retention_store import judge_store
        from heattool.store import key_from_env

        with working("judging retention ..."):
            result = judge_store(db, key_from_env(), loaded, day, member)
    _show_retention(loaded, result, day, output_format, out, with_names)


def _show_retention(policy, result, day, output_format, out, with_names) -> None:
    from heattool.io.writers import write_csv
    from heattool.report import SHOWN_DUE, render_retention, result_view, retention_json
    from heattool.retention_store import DUE, deletion_list, deletion_ready, with_reasons

    if out is not None:
        write_csv(deletion_list(result, with_names=with_names), out)
    # Reasons cost more than the judgement: they are made only for the records shown.
    if output_format is RetentionFormat.json:
        due = with_reasons(policy, deletion_ready(result), day)
        sys.stdout.write(retention_json(policy, result, due, day) + "\n")
    elif output_format is RetentionFormat.csv:
        sys.stdout.write(result_view(with_reasons(policy, result, day)).write_csv())
    else:
        count = int(result.get_column("status").is_in(DUE).sum())
        shown = with_reasons(policy, deletion_ready(result, first=SHOWN_DUE), day)
        render_retention(stdout(), policy, result, shown, day, due=count)
        if out is not None:
            stdout().print(f"deletion-ready list ({count} records) written to {out}")


@app.command()
@handles_errors
def purge(
    as_of: Annotated[
        dt.date,
        typer.Option(
            "--as-of",
            parser=parse_day,
            metavar="YYYY-MM-DD",
            help="Delete what is due for deletion on this day.",
        ),
    ],
    member: MemberFilterOption = None,
    db: DbOption = None,
    policy: PolicyOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be deleted; delete nothing.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    receipt: Annotated[
        Path | None,
        typer.Option(
            "--receipt", help="Write the deletion receipt here; default beside the store."
        ),
    ] = None,
    output_format: FormatOption = OutputFormat.text,
) -> None:
    """Delete the records on the deletion-ready list, with everything attached to them.

    One transaction; a receipt (rule, counts, heat_ids, policy hash, time) goes to the audit
    log and to a file. Without --yes it asks first on a terminal, and refuses in a script.

    Examples:

        heattool purge --as-of 2026-09-01 --member KENT --dry-run

        heattool purge --as-of 2026-09-01 --member KENT --yes
    """
    from heattool.rights import purge_store

    def confirm(count: int) -> bool:
        if yes or count == 0:
            return True
        if not sys.stdin.isatty():
            raise fail(
                f"refusing to delete {count} records without --yes when not at a terminal",
                ExitCode.USAGE,
            )
        return typer.confirm(f"Delete {count} records and everything attached to them?")

    from heattool.store import key_from_env

    outcome = purge_store(db, key_from_env(), policy, as_of, member, dry_run, confirm, receipt)
    if output_format is OutputFormat.json:
        import json

        print(json.dumps(outcome.document(), indent=2, default=str))
    else:
        from heattool.report import render_purge

        render_purge(stdout(), outcome)


subject_app = typer.Typer(
    help="""Data-subject rights: find a person, give them their data, withdraw, erase.

    Examples:

        heattool subject find --forename Amelia --surname Hughes --dob 2009-03-14

        heattool subject access 7a7db117-9a76-4b69-a3e1-44ff0ad23ebd --out amelia.json

        heattool subject withdraw 7a7db117-9a76-4b69-a3e1-44ff0ad23ebd

        heattool subject erase 7a7db117-9a76-4b69-a3e1-44ff0ad23ebd --yes
    """,
    no_args_is_help=True,
)
app.add_typer(subject_app, name="subject")
HeatId = Annotated[str, typer.Argument(help="The person's heat_id (see `subject find`).")]


@subject_app.command("find")
@handles_errors
def subject_find(
    forename: Annotated[str, typer.Option("--forename", help="First name, any case.")],
    surname: Annotated[str, typer.Option("--surname", help="Last name, any case.")],
    dob: Annotated[
        dt.date,
        typer.Option("--dob", parser=parse_day, metavar="YYYY-MM-DD", help="Date of birth."),
    ],
    postcode: Annotated[str | None, typer.Option("--postcode", help="Postcode, any form.")] = None,
    member: MemberFilterOption = None,
    db: DbOption = None,
    output_format: FormatOption = OutputFormat.text,
) -> None:
    """Find the records that match a person's normalised identifiers.

    Examples:

        heattool subject find --forename amelia --surname HUGHES --dob 2009-03-14 --member KENT
    """
    from heattool.report import render_frame
    from heattool.rights import find_in_store
    from heattool.store import key_from_env

    found = find_in_store(db, key_from_env(), forename, surname, dob, postcode, member)
    if output_format is OutputFormat.json:
        import json

        print(json.dumps(found.to_dicts(), indent=2, default=str))
    else:
        render_frame(stdout(), found, empty="no matching records")


@subject_app.command("access")
@handles_errors
def subject_access(
    heat_id: HeatId,
    member: MemberFilterOption = None,
    db: DbOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the package here (owner-only).")
    ] = None,
) -> None:
    """Everything held about one person, as a JSON package (a subject access request).

    Examples:

        heattool subject access 7a7db117-9a76-4b69-a3e1-44ff0ad23ebd --out package.json
    """
    import json

    from heattool.io.writers import write_json
    from heattool.rights import access_in_store
    from heattool.store import key_from_env

    package = access_in_store(db, key_from_env(), heat_id, member)
    if out is None:
        print(json.dumps(package, indent=2, default=str))
    else:
        write_json(package, out)
        stdout().print(f"everything held about {heat_id} written to {out}")


@subject_app.command("withdraw")
@handles_errors
def subject_withdraw(
    heat_id: HeatId,
    on: AsOfOption = None,
    member: MemberFilterOption = None,
    db: DbOption = None,
) -> None:
    """Record that a person withdrew permission: out of every later track request at once.

    Examples:

        heattool subject withdraw 7a7db117-9a76-4b69-a3e1-44ff0ad23ebd --as-of 2026-11-01
    """
    from heattool.rights import withdraw_in_store
    from heattool.store import key_from_env

    done = withdraw_in_store(db, key_from_env(), heat_id, on or dt.date.today(), member)
    if done["already_withdrawn"]:
        stdout().print(f"{heat_id} had already withdrawn on {done['withdrawn_on']}; unchanged")
    else:
        stdout().print(
            f"{heat_id} ({done['kind']}, member {done['member']}) withdrawn on "
            f"{done['withdrawn_on']}: left out of track requests from now on"
        )


@subject_app.command("erase")
@handles_errors
def subject_erase(
    heat_id: HeatId,
    member: MemberFilterOption = None,
    db: DbOption = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    receipt: Annotated[
        Path | None,
        typer.Option("--receipt", help="Write the erasure receipt here; default beside the store."),
    ] = None,
) -> None:
    """Erase a person now, with everything attached, and refuse their return without consent.

    Examples:

        heattool subject erase 7a7db117-9a76-4b69-a3e1-44ff0ad23ebd --yes
    """
    from heattool.rights import erase_in_store
    from heattool.store import key_from_env

    if not yes:
        if not sys.stdin.isatty():
            raise fail("refusing to erase without --yes when not at a terminal", ExitCode.USAGE)
        if not typer.confirm(f"Erase {heat_id} and everything attached to them?"):
            raise typer.Exit(int(ExitCode.USAGE))
    done = erase_in_store(db, key_from_env(), heat_id, member, receipt)
    stdout().print(
        f"erased {heat_id}: {sum(done.receipt.rows_deleted.values())} rows deleted; "
        f"receipt in {done.path}"
    )


# --- track requests and the calendar ---------------------------------------------------------


class TrackFileFormat(StrEnum):
    csv = "csv"
    parquet = "parquet"


@app.command("track-request")
@handles_errors
def track_request(
    target: Annotated[
        str,
        typer.Option("--target", "-t", help="hesa or npd: a [track.<target>] table of the policy."),
    ],
    year: Annotated[
        int, typer.Option("--year", min=1900, max=2999, help="The track year T, e.g. 2026.")
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="The request file (owner-only); FILE.manifest.json beside it."
        ),
    ] = None,
    member: MemberFilterOption = None,
    file_format: Annotated[
        TrackFileFormat,
        typer.Option("--format", "-f", help="csv (UTF-8, Excel-safe) or parquet."),
    ] = TrackFileFormat.csv,
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Show the counts; write no request and record nothing."),
    ] = False,
    excluded_out: Annotated[
        Path | None,
        typer.Option(
            "--excluded-out", help="List the excluded records, refs and reasons (no names), here."
        ),
    ] = None,
    db: DbOption = None,
    policy: PolicyOption = None,
) -> None:
    """Write the file of records to send for tracking, with its manifest, and record the batch.

    Eligible: permission to track, not withdrawn, the policy's required fields (names, date of
    birth, a valid postcode) and, for ambassadors, both privacy notices; with an Expected HE
    Entry Year in the target's window for --year. The counts of excluded records are shown by
    reason. A second request for the same target and year says what changed since the last.

    Examples:

        heattool track-request --target hesa --year 2026 --member KENT --out hesa-2026.csv

        heattool track-request --target npd --year 2026 --dry-run --excluded-out fix-these.csv

        heattool track-request --target hesa --year 2026 --format parquet --out hesa-2026.parquet
    """
    from heattool.rules.policy import load_policy
    from heattool.store import key_from_env
    from heattool.tracking import render_track_request, run_track_request

    loaded = load_policy(policy)
    with working("building the track request ..."):
        result = run_track_request(
            db,
            key_from_env(),
            loaded,
            target,
            year,
            member=member,
            out=out,
            file_format=file_format.value,
            dry_run=dry_run,
            excluded_out=excluded_out,
        )
    render_track_request(stdout(), result)


@app.command("calendar")
@handles_errors
def calendar_(
    year: Annotated[
        int | None,
        typer.Option("--year", min=1900, max=2999, help="The year; default that of --as-of."),
    ] = None,
    as_of: AsOfOption = None,
    member: MemberFilterOption = None,
    db: DbOption = None,
    policy: PolicyOption = None,
    output_format: FormatOption = OutputFormat.text,
) -> None:
    """The dates a member works to in a year, and what is due now in the store.

    Ready for deletion (1 September), deletion due (the last working day of October) and the
    track deadline (the last working day of November), computed from the policy for the year;
    then how many records are trackable and how many ready for deletion, if the store exists.

    Examples:

        heattool calendar

        heattool calendar --year 2027 --member KENT --format json
    """
    from heattool.deadlines import calendar_document, render_calendar
    from heattool.rules.policy import load_policy
    from heattool.store import key_from_env

    day = as_of or dt.date.today()
    document = calendar_document(
        load_policy(policy), year or day.year, day, db=db, key=key_from_env(), member=member
    )
    if output_format is OutputFormat.json:
        import json

        print(json.dumps(document, indent=2, default=str))
    else:
        render_calendar(stdout(), document, db)


def main() -> None:
    """Console-script entry point."""
    # Pandera imports Hypothesis, when installed, for data strategies heattool never uses: about
    # 0.1 s of every validation. Where it is installed (a development environment), hide it.
    sys.modules.setdefault("hypothesis", None)
    try:
        app(prog_name="heattool")
        code = 0
    except SystemExit as exc:
        code = exc.code
    # Every file and the store are closed by now. Tearing down the interpreter would free a
    # million-row upload object by object: 0.05-0.07 s of every large validation, for nothing.
    if code is not None and not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    try:
        sys.stdout.flush()
    except BrokenPipeError:  # the reader (`| head`) has gone: as Click exits when it finds so
        code = code or 1
    except OSError as exc:
        print(f"error: could not write the output ({exc.strerror})", file=sys.stderr)
        code = code or 2
    with contextlib.suppress(OSError):
        sys.stderr.flush()
    if sys.getprofile() is not None or sys.gettrace() is not None:
        sys.exit(code)  # a profiler or coverage writes its results at exit
    os._exit(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
