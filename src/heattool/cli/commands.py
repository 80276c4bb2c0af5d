"""One function per command: parse the options, call one action, render, exit.

The functions are registered on the Typer app in cli/app.py. Imports of the actions happen
inside each command, so that `heattool --help` stays quick.
"""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Annotated

import typer

from heattool.cli import render
from heattool.cli.failures import State, error_line, fail, handles_errors
from heattool.cli.options import (
    AliasesOption,
    AsOfOption,
    DbOption,
    EncodingOption,
    FormatOption,
    HeaderRowOption,
    HeatIdArgument,
    Kind,
    KindOption,
    MemberFilterOption,
    MemberOption,
    OnInvalid,
    OutputFormat,
    Paths,
    PolicyOption,
    QueryFormat,
    RefOption,
    ReportFormat,
    RetentionFormat,
    ReturnTarget,
    SheetOption,
    TrackFileFormat,
    ValidateFormat,
    YesOption,
    as_of_option,
    parse_any_day,
)
from heattool.errors import ExitCode, printable


def store_key(ctx: typer.Context) -> str | None:
    """The store's key: heattool.toml's key_file, else $HEATTOOL_KEY_FILE, else $HEATTOOL_KEY."""
    from heattool.store import key_from_env

    config = ctx.obj.config if isinstance(ctx.obj, State) else None
    return key_from_env(config.path_value("key_file") if config else None)


def out_dir(ctx: typer.Context) -> Path | None:
    """heattool.toml's folder for the files heattool names itself, made owner-only if new."""
    config = ctx.obj.config if isinstance(ctx.obj, State) else None
    folder = config.path_value("out_dir") if config else None
    if folder is not None and not folder.is_dir():
        try:
            folder.mkdir(mode=0o700, parents=True)
        except OSError as exc:
            raise fail(
                f"out_dir {folder}: cannot be made ({exc.strerror})", ExitCode.USAGE
            ) from None
    return folder


def in_out_dir(ctx: typer.Context, receipt: str) -> Path | None:
    """A new receipt's path in heattool.toml's out_dir, if it names one."""
    from heattool.store.erasure import receipt_name

    folder = out_dir(ctx)
    return folder / receipt_name(receipt) if folder else None


def at_terminal() -> bool:
    """Whether a person can answer a prompt (standard input is a terminal)."""
    return sys.stdin.isatty()


@handles_errors
def validate(
    ctx: typer.Context,
    paths: Paths,
    kind: KindOption = None,
    sheet: SheetOption = None,
    header_row: HeaderRowOption = None,
    encoding: EncodingOption = None,
    output_format: Annotated[
        ValidateFormat,
        typer.Option(
            "--format",
            "-f",
            help="text for people, json for scripts, github for GitHub Actions annotations, "
            "junit for a JUnit XML report.",
        ),
    ] = ValidateFormat.text,
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
    strict: Annotated[
        bool, typer.Option("--strict", help="Warnings fail too (exit 1), in every format.")
    ] = False,
) -> None:
    """Check uploads against the schemas and list what to fix.

    Exit 0 when every upload is valid, 1 when one has errors (or, with --strict, warnings),
    2 when one cannot be read. A path of - reads a CSV upload from standard input.

    Examples:

        heattool validate examples/students.csv

        heattool validate uploads/*.csv --format json --errors-out errors.csv

        heattool validate register.xlsx --sheet Autumn --kind attendance

        heattool validate students.xlsx --header-row 3

        heattool validate uploads/*.csv --format github --strict

        heattool validate uploads/*.csv --format junit > heattool-junit.xml

        heattool validate - --kind students < students.csv
    """
    from heattool.actions.validate import validate as run

    with render.steps("validating", len(paths)) as progress:
        outcome = run(
            paths,
            progress=progress,
            kind=kind,
            sheet=sheet,
            header_row=header_row,
            encoding=encoding,
            as_of=as_of,
            aliases=aliases,
            errors_out=errors_out,
            strict=strict,
        )
    if output_format is ValidateFormat.json:
        render.emit_json(render.validation_document(outcome, max_errors))
    elif output_format is ValidateFormat.github:
        sys.stdout.write(render.validation_github(outcome, max_errors))
    elif output_format is ValidateFormat.junit:
        render.emit_bytes(render.validation_junit(outcome, max_errors))
    else:
        render.render_validation(render.stdout(), outcome, max_errors)
    for _path, reason in outcome.failures:
        error_line(reason)
    if outcome.failures:
        raise typer.Exit(int(ExitCode.USAGE))
    if not outcome.valid:
        raise typer.Exit(int(ExitCode.INVALID_DATA))


@handles_errors
def import_(
    ctx: typer.Context,
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
        typer.Option(
            "--rejects-out",
            help="Rejected rows, one file per upload in its own headings: this file (or folder); "
            "default beside the store.",
        ),
    ] = None,
    output_format: FormatOption = OutputFormat.text,
    sheet: SheetOption = None,
    header_row: HeaderRowOption = None,
    encoding: EncodingOption = None,
    as_of: AsOfOption = None,
    aliases: AliasesOption = None,
    allow_previously_erased: Annotated[
        bool,
        typer.Option(
            "--allow-previously-erased",
            help="Load people erased at their request who have given new consent.",
        ),
    ] = False,
    no_rejects: Annotated[
        bool,
        typer.Option(
            "--no-rejects",
            help="Write no rejects file (they are plain text, also for an encrypted store).",
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
    from heattool.actions.load import import_paths

    with render.steps("importing", len(paths) + 1) as progress:  # each upload, then the load
        report = import_paths(
            paths,
            progress=progress,
            member=member,
            db=db,
            key=store_key(ctx),
            kind=kind,
            sheet=sheet,
            header_row=header_row,
            encoding=encoding,
            as_of=as_of,
            aliases=aliases,
            dry_run=dry_run,
            on_invalid=on_invalid.value,
            rejects_out=rejects_out or out_dir(ctx),
            allow_previously_erased=allow_previously_erased,
            write_rejects=not no_rejects,
        )
    if output_format is OutputFormat.json:
        render.emit_json(report.document())
    else:
        render.render_import(render.stdout(), report)
    if report.rejected:
        raise typer.Exit(int(ExitCode.INVALID_DATA))


@handles_errors
def summary(
    ctx: typer.Context,
    member: MemberFilterOption = None,
    db: DbOption = None,
    output_format: FormatOption = OutputFormat.text,
    as_of: Annotated[
        dt.date | None,
        as_of_option("Count retention statuses as of this day; default today."),
    ] = None,
    policy: PolicyOption = None,
) -> None:
    """Count the records per member and kind, their entry years and retention status,
    and list the last imports.

    Examples:

        heattool summary

        heattool summary --member KENT --format json
    """
    from heattool.actions.summary import summarise
    from heattool.rules.policy import load_policy

    with render.working("summarising the store ..."):
        result = summarise(db, store_key(ctx), member, policy=load_policy(policy), as_of=as_of)
    if output_format is OutputFormat.json:
        render.emit_json(result.document())
    else:
        render.render_summary(render.stdout(), result.document())


@handles_errors
def demo(
    ctx: typer.Context,
    folder: Annotated[
        Path, typer.Option("--dir", help="Folder to build the demo in (made if missing).")
    ] = Path("heattool-demo"),
) -> None:
    """Run the whole job on the bundled examples, showing each command and its output.

    Examples:

        heattool demo

        heattool demo --dir /tmp/heat
    """
    from heattool.actions.demo import run_demo
    from heattool.cli.app import app

    command = typer.main.get_command(app)

    def run(args: list[str]) -> int:
        try:
            result = command.main(args, prog_name="heattool", standalone_mode=False)
        except typer.Exit as exc:  # pragma: no cover - click returns it in this mode
            return exc.exit_code
        return int(result or 0)

    run_demo(folder, run, render.demo_narrator(render.stdout()))


@handles_errors
def retention(
    ctx: typer.Context,
    policy: PolicyOption = None,
    input_path: Annotated[
        Path | None,
        typer.Option("--input", "-i", help="Judge the records of this file instead of the store."),
    ] = None,
    kind: Annotated[
        str | None,
        typer.Option("--kind", "-k", help="Record kind of every row, if the file has no kind."),
    ] = None,
    as_of: Annotated[
        dt.date | None,
        as_of_option("Judge retention as of this day; default today."),
    ] = None,
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
    header_row: HeaderRowOption = None,
    encoding: EncodingOption = None,
    aliases: AliasesOption = None,
) -> None:
    """Say which records are retained, which are ready for deletion and which are overdue.

    Judges every person in the store (or of one --member) by the retention policy, as of
    today or --as-of. Or judges an --input file without a store: an upload of students or
    ambassadors is validated as import reads it and judged as if loaded on the as-of day
    (rows with errors are left out, exit 1); a table of records with a kind column is
    judged as it is, by any --policy.

    Examples:

        heattool retention --member KENT

        heattool retention --as-of 2041-10-01 --out due.csv

        heattool retention --input examples/students.csv

        heattool retention --policy examples/policies/kent-staff.toml --input
        examples/policies/staff-records.csv --format csv
    """
    from heattool.actions.retention import retention as run
    from heattool.io.writers import csv_text
    from heattool.rules.policy import load_policy

    with render.working("judging retention ..."):
        judged = run(
            load_policy(policy),
            as_of,
            db=db,
            key=store_key(ctx),
            member=member,
            input_path=input_path,
            kind=kind,
            sheet=sheet,
            header_row=header_row,
            encoding=encoding,
            aliases=aliases,
            out=out,
            with_names=with_names,
        )
    if judged.upload is not None:
        render.upload_warnings(judged.upload, judged.not_judged)
    if output_format is RetentionFormat.json:
        sys.stdout.write(render.retention_json(judged) + "\n")
    elif output_format is RetentionFormat.csv:
        sys.stdout.write(csv_text(render.result_view(judged.all_with_reasons())))
    else:
        render.render_retention(render.stdout(), judged)
    if judged.not_judged:
        raise typer.Exit(int(ExitCode.INVALID_DATA))


@handles_errors
def purge(
    ctx: typer.Context,
    as_of: Annotated[
        dt.date,
        as_of_option("Delete what is due for deletion on this day."),
    ],
    member: MemberFilterOption = None,
    db: DbOption = None,
    policy: PolicyOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be deleted; delete nothing.")
    ] = False,
    yes: YesOption = False,
    receipt: Annotated[
        Path | None,
        typer.Option(
            "--receipt", help="Write the deletion receipt here; default beside the store."
        ),
    ] = None,
    output_format: FormatOption = OutputFormat.text,
    allow_future: Annotated[
        bool,
        typer.Option(
            "--allow-future",
            help="Allow an --as-of after today (deletes records the policy still keeps today).",
        ),
    ] = False,
) -> None:
    """Delete the records on the deletion-ready list, with everything attached to them.

    One transaction; a receipt (rule, counts, heat_ids, policy hash, time) goes to the audit
    log and to a file. Without --yes it asks first on a terminal, and refuses in a script.

    Examples:

        heattool purge --as-of 2026-09-01 --member KENT --dry-run

        heattool purge --as-of 2026-09-01 --member KENT --yes
    """
    from heattool.actions.purge import purge as run
    from heattool.rules.policy import load_policy

    def confirm(count: int) -> bool:
        if yes:
            return True
        if not at_terminal():
            raise fail(
                f"refusing to delete {render.plural(count, 'record')} without --yes when not "
                "at a terminal",
                ExitCode.USAGE,
            )
        return typer.confirm(
            f"Delete {render.plural(count, 'record')} and everything attached to them?"
        )

    outcome = run(
        db,
        store_key(ctx),
        load_policy(policy),
        as_of,
        member,
        dry_run=dry_run,
        confirm=confirm,
        receipt=receipt or in_out_dir(ctx, "deletion-receipt"),
        allow_future=allow_future,
    )
    if output_format is OutputFormat.json:
        render.emit_json(outcome.document())
    else:
        render.render_purge(render.stdout(), outcome)


# -- data-subject rights ------------------------------------------------------------------------


@handles_errors
def subject_find(
    ctx: typer.Context,
    forename: Annotated[str, typer.Option("--forename", help="First name, any case.")],
    surname: Annotated[str, typer.Option("--surname", help="Last name, any case.")],
    dob: Annotated[
        dt.date,
        typer.Option(
            "--dob",
            parser=parse_any_day,
            metavar="DATE",
            help="Date of birth, in any form an upload may use (2009-03-14, 14/03/2009).",
        ),
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
    from heattool.actions.subject import find

    found = find(
        db,
        store_key(ctx),
        forename=forename,
        surname=surname,
        date_of_birth=dob,
        postcode=postcode,
        member=member,
    )
    if output_format is OutputFormat.json:
        render.emit_json(found.to_dicts())
    else:
        render.render_frame(render.stdout(), found, empty="no matching records")


@handles_errors
def subject_access(
    ctx: typer.Context,
    heat_id: HeatIdArgument = None,
    member: MemberFilterOption = None,
    ref: RefOption = None,
    db: DbOption = None,
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write the package here (owner-only).")
    ] = None,
    pack: Annotated[
        Path | None,
        typer.Option(
            "--pack",
            help="Also write a pack the person can read: .html (one page) or .xlsx (owner-only).",
        ),
    ] = None,
    policy: PolicyOption = None,
) -> None:
    """Everything held about one person, as a JSON package (a subject access request).

    The package also says when the record is to be deleted; --pack writes it for the person,
    codes as words (Female, not 10), ready to send.

    Examples:

        heattool subject access 7a7db117-9a76-4b69-a3e1-44ff0ad23ebd --out package.json

        heattool subject access --member KENT --ref S0001 --out package.json --pack amelia.html
    """
    from heattool.actions.subject import access
    from heattool.rules.policy import load_policy

    done = access(
        db, store_key(ctx), heat_id, member=member, ref=ref, out=out, pack=pack,
        policy=load_policy(policy),
    )  # fmt: skip
    if out is None and pack is None:
        render.emit_json(done.package)
    for path in (out, pack):
        if path is not None:
            render.say(render.stdout(), f"everything held about {done.heat_id} written to {path}")


@handles_errors
def subject_withdraw(
    ctx: typer.Context,
    heat_id: HeatIdArgument = None,
    on: Annotated[
        dt.date | None,
        as_of_option("The day permission was withdrawn; default today."),
    ] = None,
    member: MemberFilterOption = None,
    ref: RefOption = None,
    db: DbOption = None,
) -> None:
    """Record that a person withdrew permission: out of every later track request at once.

    Examples:

        heattool subject withdraw 7a7db117-9a76-4b69-a3e1-44ff0ad23ebd --as-of 2026-11-01

        heattool subject withdraw --member KENT --ref S0001
    """
    from heattool.actions.subject import withdraw

    done = withdraw(db, store_key(ctx), heat_id, on or dt.date.today(), member=member, ref=ref)
    render.render_withdrawn(render.stdout(), done)


@handles_errors
def subject_erase(
    ctx: typer.Context,
    heat_id: HeatIdArgument = None,
    member: MemberFilterOption = None,
    ref: RefOption = None,
    db: DbOption = None,
    yes: YesOption = False,
    receipt: Annotated[
        Path | None,
        typer.Option("--receipt", help="Write the erasure receipt here; default beside the store."),
    ] = None,
) -> None:
    """Erase a person now, with everything attached, and refuse their return without consent.

    Examples:

        heattool subject erase 7a7db117-9a76-4b69-a3e1-44ff0ad23ebd --yes

        heattool subject erase --member KENT --ref S0001 --yes
    """
    from heattool.actions.subject import erase, who_is

    key = store_key(ctx)
    if not yes:
        if not at_terminal():
            raise fail("refusing to erase without --yes when not at a terminal", ExitCode.USAGE)
        who = who_is(db, key, heat_id, member=member, ref=ref)
        if not typer.confirm(
            printable(  # a ref is the upload's text: it may hold a line break
                f"Erase {who['kind'].removesuffix('s')} {who['ref']} of member {who['member']} "
                f"({who['heat_id']}) and everything attached to them?"
            )
        ):
            render.say(render.stdout(), "Nothing erased.")
            return
    receipt = receipt or in_out_dir(ctx, "erasure-receipt")
    done = erase(db, key, heat_id, member=member, ref=ref, receipt=receipt)
    render.render_erased(render.stdout(), done)


@handles_errors
def receipt(
    ctx: typer.Context,
    event_id: Annotated[
        int | None,
        typer.Argument(
            metavar="[EVENT]",
            help="The deletion's audit event (purge and erase print it); default the latest.",
            show_default=False,
        ),
    ] = None,
    member: MemberFilterOption = None,
    db: DbOption = None,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the receipt here; default beside the store."),
    ] = None,
    output_format: FormatOption = OutputFormat.text,
) -> None:
    """Write a deletion's receipt again, from the audit trail.

    Purge and erase keep the whole receipt in the audit event of the deletion: if a run stopped
    after the deletion was committed but before its receipt file was written, this writes it.

    Examples:

        heattool receipt

        heattool receipt 42 --out receipt-42.json
    """
    from heattool.actions.receipt import reissue

    done = reissue(db, store_key(ctx), event_id, member=member, out=out)
    if output_format is OutputFormat.json:
        render.emit_json({"audit_event_id": done.receipt.event_id, "receipt": str(done.path)})
    else:
        render.render_reissued(render.stdout(), done)


# -- looking at the store ----------------------------------------------------------------------


@handles_errors
def query(
    ctx: typer.Context,
    sql: Annotated[str, typer.Argument(metavar="SQL", help="One SELECT statement.")],
    member: MemberFilterOption = None,
    db: DbOption = None,
    output_format: Annotated[
        QueryFormat,
        typer.Option("--format", "-f", help="table for people, csv or json for scripts."),
    ] = QueryFormat.table,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write the rows here (.csv, .xlsx, .json, .parquet)."),
    ] = None,
) -> None:
    """Run one read-only SELECT on the store, with DuckDB's SQL.

    The query cannot change the store or read other files; with --member it sees only that
    member's rows. The audit trail records its sha256 and row count, never its text.

    Examples:

        heattool query "SELECT entry_year_label, count(*) FROM students GROUP BY 1 ORDER BY 1"

        heattool query "FROM attendance" --member KENT --out register.xlsx
    """
    from heattool.actions.query import query as run
    from heattool.io.writers import csv_text

    done = run(db, store_key(ctx), sql, member=member, out=out)
    if out is not None:
        render.say(render.stdout(), f"{render.plural(done.rows.height, 'row')} written to {out}")
    elif output_format is QueryFormat.csv:
        sys.stdout.write(csv_text(done.rows))
    elif output_format is QueryFormat.json:
        sys.stdout.write(done.rows.write_json() + "\n")
    else:
        render.render_rows(render.stdout(), done.rows)


@handles_errors
def export(
    ctx: typer.Context,
    kind: Annotated[Kind, typer.Option("--kind", "-k", help="The kind of records to write.")],
    member: MemberOption,
    out: Annotated[
        Path, typer.Option("--out", "-o", help="The file (.csv, .xlsx, .json, .parquet).")
    ],
    db: DbOption = None,
) -> None:
    """Write one member's records of one kind to a file, owner-only, audited by its counts.

    Examples:

        heattool export --kind students --member KENT --out kent-students.xlsx

        heattool export --kind attendance --member KENT --out register.parquet
    """
    from heattool.actions.export import export as run

    done = run(db, store_key(ctx), kind.value, member, out)
    render.say(
        render.stdout(),
        f"{render.plural(done.rows, 'record')} ({done.kind}, member {done.member}) written to "
        f"{done.out}",
    )


@handles_errors
def config(ctx: typer.Context, output_format: FormatOption = OutputFormat.text) -> None:
    """Show each setting in effect and where it came from (heattool.toml, environment, default).

    heattool.toml in the current folder (or --config FILE, or $HEATTOOL_CONFIG) sets db, member,
    policy, aliases, key_file and out_dir for every command; a flag wins over the file, the file
    over the environment.

    Examples:

        heattool config

        heattool --config /etc/heattool/kent.toml config --format json
    """
    from heattool.actions.config import settings

    done = settings(ctx.obj.config if isinstance(ctx.obj, State) else None)
    if output_format is OutputFormat.json:
        render.emit_json(done.document())
    else:
        render.render_config(render.stdout(), done)


# -- track requests and the calendar ----------------------------------------------------------


@handles_errors
def track_request(
    ctx: typer.Context,
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
        TrackFileFormat | None,
        typer.Option(
            "--file-format",
            help="The request file's format: csv (UTF-8, Excel-safe) or parquet; default from "
            "the --out suffix (.parquet), else csv.",
        ),
    ] = None,
    output_format: FormatOption = OutputFormat.text,
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
    birth, a valid postcode) and, for ambassadors, both privacy notices; schooled in a nation
    the target covers (NPD: England only); with an Expected HE Entry Year in the target's
    window for --year. The counts of excluded records are shown by
    reason. A second request for the same target and year says what changed since the last.

    Examples:

        heattool track-request --target hesa --year 2026 --member KENT --out hesa-2026.csv

        heattool track-request --target npd --year 2026 --dry-run --excluded-out fix-these.csv

        heattool track-request --target hesa --year 2026 --out hesa-2026.parquet --format json
    """
    from heattool.actions.track_request import run_track_request
    from heattool.rules.policy import load_policy

    loaded = load_policy(policy)
    with render.working("building the track request ..."):
        result = run_track_request(
            db,
            store_key(ctx),
            loaded,
            target,
            year,
            member=member,
            out=out,
            file_format=(
                file_format.value
                if file_format is not None
                else "parquet"
                if out is not None and out.suffix.lower() == ".parquet"
                else "csv"
            ),
            dry_run=dry_run,
            excluded_out=excluded_out,
        )
    if output_format is OutputFormat.json:
        render.emit_json(
            {
                **result.manifest(),
                "dry_run": result.dry_run,
                "db": result.db,
                "out": None if result.out is None else str(result.out),
                "excluded_out": None if result.excluded_out is None else str(result.excluded_out),
            }
        )
    else:
        render.render_track_request(render.stdout(), result)


@handles_errors
def calendar(
    ctx: typer.Context,
    year: Annotated[
        int | None,
        typer.Option("--year", min=1900, max=2999, help="The year; default that of --as-of."),
    ] = None,
    as_of: Annotated[
        dt.date | None,
        as_of_option("Count what is due on this day; default today."),
    ] = None,
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
    from heattool.actions.calendar import calendar_document
    from heattool.rules.policy import load_policy

    day = as_of or dt.date.today()
    document = calendar_document(
        load_policy(policy), year or day.year, day, db=db, key=store_key(ctx), member=member
    )
    if output_format is OutputFormat.json:
        render.emit_json(document)
    else:
        render.render_calendar(render.stdout(), document, db)


# -- track returns ------------------------------------------------------------------------------


@handles_errors
def outcomes_import(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(help="Track return files (.csv, .xlsx or .parquet).", show_default=False),
    ],
    target: Annotated[
        ReturnTarget,
        typer.Option("--target", "-t", help="The return's target: hesa or npd."),
    ],
    member: Annotated[
        str | None,
        typer.Option(
            "--member",
            "-m",
            help="Only this member's people (anyone else's heat_id is unknown-heat-id); "
            "default each row's heat_id's member.",
        ),
    ] = None,
    db: DbOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show the counts; write nothing.")
    ] = False,
    rejects_out: Annotated[
        Path | None,
        typer.Option(
            "--rejects-out",
            help="Rejected rows, one file per return in its own headings: this file (or "
            "folder); default beside the store.",
        ),
    ] = None,
    output_format: FormatOption = OutputFormat.text,
    sheet: SheetOption = None,
    header_row: HeaderRowOption = None,
    encoding: EncodingOption = None,
    aliases: AliasesOption = None,
    no_rejects: Annotated[
        bool,
        typer.Option(
            "--no-rejects",
            help="Write no rejects file (they are plain text, also for an encrypted store).",
        ),
    ] = False,
) -> None:
    """Load track returns: what HESA or the NPD sent back about the people a request sent.

    Each row names a person by heat_id; one the store does not hold (of --member) is rejected
    as unknown-heat-id, one never sent in a recorded track request of the target as
    not-requested. All files load in one transaction; the same return again changes nothing;
    a later return for a person replaces the earlier one, and the audit trail says so.

    Exit 0 when every row loaded, 1 when rows were rejected (or a file's headings have errors,
    and then nothing loaded), 2 when a file or the store cannot be read or written.

    Examples:

        heattool outcomes import hesa-return-2026.csv --target hesa --member KENT

        heattool outcomes import npd-ks4.xlsx npd-ks5.parquet --target npd --dry-run

        heattool outcomes import hesa-return-2026.csv --target hesa --format json
    """
    from heattool.actions.outcomes import import_returns

    with render.working("importing track returns ..."):
        report = import_returns(
            paths,
            target=target.value,
            member=member,
            db=db,
            key=store_key(ctx),
            sheet=sheet,
            header_row=header_row,
            encoding=encoding,
            aliases=aliases,
            dry_run=dry_run,
            rejects_out=rejects_out or out_dir(ctx),
            write_rejects=not no_rejects,
        )
    if output_format is OutputFormat.json:
        render.emit_json(report.document())
    else:
        render.render_outcomes_import(render.stdout(), report)
    if report.rejected or report.bad_files:
        raise typer.Exit(int(ExitCode.INVALID_DATA))


# -- matching people ----------------------------------------------------------------------------


NicknamesOption = Annotated[
    Path | None,
    typer.Option(
        "--nicknames",
        help="A CSV of name,also pairs (William,Bill) to use instead of the shipped table.",
    ),
]


@handles_errors
def match_list(
    ctx: typer.Context,
    path: Annotated[Path, typer.Argument(metavar="FILE", help="The list: CSV or Excel.")],
    member: MemberOption,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="The list as uploaded with the match columns, here."),
    ] = None,
    review_out: Annotated[
        Path | None,
        typer.Option("--review-out", help="The pairs to decide, side by side, here."),
    ] = None,
    db: DbOption = None,
    policy: PolicyOption = None,
    nicknames: NicknamesOption = None,
    output_format: FormatOption = OutputFormat.text,
    sheet: SheetOption = None,
    header_row: HeaderRowOption = None,
    encoding: EncodingOption = None,
    aliases: AliasesOption = None,
    as_of: AsOfOption = None,
) -> None:
    """Match a list of people (names, date of birth, postcode, school; no refs) to the
    member's stored students and ambassadors.

    Each row gets heat_id, kind, ref, match_probability, match_status (matched, review or
    new) and the fields that agreed; the policy's [matching] table sets the thresholds. Twins
    (born the same day, same surname and postcode, another forename) are never matched
    automatically. `heattool match FILE` is short for `heattool match list FILE`.

    Examples:

        heattool match event.csv --member KENT --out event-matched.csv --review-out review.csv

        heattool match decide review.csv --member KENT
    """
    from heattool.actions.match import match
    from heattool.rules.policy import load_policy

    thresholds = load_policy(policy).matching
    with render.working("matching ..."):
        done = match(
            path,
            db=db,
            key=store_key(ctx),
            member=member,
            thresholds=thresholds,
            out=out,
            review_out=review_out,
            nicknames=nicknames,
            sheet=sheet,
            encoding=encoding,
            header_row=header_row,
            aliases=aliases,
            as_of=as_of,
        )
    if output_format is OutputFormat.json:
        render.emit_json(done.document())
    else:
        render.render_matched(render.stdout(), done)


@handles_errors
def match_decide(
    ctx: typer.Context,
    path: Annotated[
        Path, typer.Argument(metavar="REVIEW_FILE", help="A review file with decisions filled in.")
    ],
    member: MemberOption,
    db: DbOption = None,
    sheet: SheetOption = None,
    encoding: EncodingOption = None,
) -> None:
    """Store the decisions of a review file (same or different) for every later match.

    A pair decided different is never matched again; one decided same always is. Blank
    decisions are left for later.

    Examples:

        heattool match decide review.csv --member KENT
    """
    from heattool.actions.match import decide

    done = decide(path, db=db, key=store_key(ctx), member=member, sheet=sheet, encoding=encoding)
    render.render_decided(render.stdout(), done)


@handles_errors
def duplicates(
    ctx: typer.Context,
    member: MemberOption,
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Every clustered person, here (owner-only)."),
    ] = None,
    db: DbOption = None,
    policy: PolicyOption = None,
    nicknames: NicknamesOption = None,
    output_format: FormatOption = OutputFormat.text,
) -> None:
    """Clusters of probable duplicates among the member's stored people, with probabilities
    and refs.

    A cluster is matched when its people are linked at the policy's match_at and no pair in it
    could be twins; other probable pairs (from review_at) are listed for review.

    Examples:

        heattool duplicates --member KENT --out duplicates.xlsx
    """
    from heattool.actions.duplicates import duplicates as run
    from heattool.rules.policy import load_policy

    thresholds = load_policy(policy).matching
    with render.working("looking for duplicates ..."):
        done = run(db, store_key(ctx), member, thresholds=thresholds, out=out, nicknames=nicknames)
    if output_format is OutputFormat.json:
        render.emit_json(done.document())
    else:
        render.render_duplicates(render.stdout(), done)


@handles_errors
def outcomes_report(
    ctx: typer.Context,
    target: Annotated[
        ReturnTarget,
        typer.Option("--target", "-t", help="The return's target: hesa or npd."),
    ],
    measure: Annotated[
        str,
        typer.Option(
            "--measure",
            help="hesa: entered_he, continued, high_tariff; npd: english_maths_4, "
            "english_maths_5, level3, attainment8 (a mean).",
        ),
    ],
    by: Annotated[
        list[str],
        typer.Option(
            "--by",
            help="A dimension, once or twice: group, activity_type, hours_band, engaged, "
            "entry_year, sex, ethnicity_group, disability, nation, a yes/no flag "
            "(care_leaver, young_carer, first_generation_he, ...; npd: fsm).",
        ),
    ],
    member: MemberFilterOption = None,
    disclosure: Annotated[
        str,
        typer.Option(
            "--disclosure",
            help="The disclosure rule: hesa (default), ofs, none (NOT FOR PUBLICATION), "
            "or the path of your own rule file.",
        ),
    ] = "hesa",
    output_format: Annotated[
        ReportFormat | None,
        typer.Option(
            "--format",
            help="text (a table to read), or csv, xlsx, json; default from the --out suffix.",
        ),
    ] = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", "-o", help="Write the table here (owner-only); FILE.manifest.json beside it."
        ),
    ] = None,
    as_of: Annotated[
        dt.date | None, as_of_option("The day the report is made as of; default today.")
    ] = None,
    db: DbOption = None,
    policy: PolicyOption = None,
) -> None:
    """A table of one outcome by one or two dimensions with totals, safe to publish.

    The people are the students with a return row of the target (of --member); each cell
    gives the numerator, denominator, rate and 95% Wilson interval (a mean and its standard
    error for attainment8), rounded and suppressed by the disclosure rule, with secondary
    suppression so that no suppressed cell can be worked out. A comparison person with
    attendance (comparison-attended) is in no cell and is counted apart.

    Examples:

        heattool outcomes report --target hesa --measure entered_he --by group --by hours_band

        heattool outcomes report -t npd --measure attainment8 --by engaged --out ks4.xlsx

        heattool outcomes report -t hesa --measure continued --by sex --disclosure none
    """
    from heattool.actions.outcomes import run_outcomes_report
    from heattool.rules.policy import load_policy

    file_format = (
        output_format.value
        if output_format is not None
        else out.suffix.lower().lstrip(".")
        if out is not None
        else "text"
    )
    with render.working("making the outcome table ..."):
        report = run_outcomes_report(
            db,
            store_key(ctx),
            load_policy(policy),
            target=target.value,
            measure=measure,
            dimensions=by,
            member=member,
            disclosure=disclosure,
            as_of=as_of,
            out=out,
            file_format=file_format,
        )
    render.render_outcome_table(render.stdout(), report)
