"""`heattool retention`: the retention status of each record, from the store or a file."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from heattool.errors import HeattoolError, InvalidData
from heattool.io.readers import read_upload
from heattool.io.writers import check_output_path, write_frame
from heattool.rules.deletion import DUE, deletion_list, deletion_ready, with_reasons
from heattool.rules.entry_year import expected_entry_year
from heattool.rules.policy import Policy
from heattool.rules.retention import evaluate_policy, evaluate_table
from heattool.schemas import PERSON_KINDS, REF_COLUMNS
from heattool.schemas.validate import ValidationResult, read_table, validate_table
from heattool.store import Store, people

# Headings only a table of records has (the store's own columns), never an upload: a file with
# one of them is judged as it is; any other file is an upload, validated first.
RECORD_HEADINGS = frozenset({"kind", "last_activity_on", "first_loaded_on"})


@dataclass
class Retention:
    """Every judged record, and where the deletion-ready list was written."""

    policy: Policy
    as_of: dt.date
    result: pl.DataFrame
    out: Path | None = None
    upload: ValidationResult | None = None  # an --input upload, as validation read it

    @property
    def not_judged(self) -> int:
        """Rows of an --input upload with errors: validation lists them, retention skips them."""
        return self.upload.invalid_rows if self.upload is not None else 0

    @property
    def due(self) -> int:
        return int(self.result.get_column("status").is_in(DUE).sum())

    def due_with_reasons(self, first: int | None = None) -> pl.DataFrame:
        """The first (or every) record that must go, soonest first, with its reason."""
        return with_reasons(self.policy, deletion_ready(self.result, first=first), self.as_of)

    def all_with_reasons(self) -> pl.DataFrame:
        return with_reasons(self.policy, self.result, self.as_of)


def retention(
    policy: Policy,
    as_of: dt.date | None = None,
    *,
    db: Path | str | None = None,
    key: str | None = None,
    member: str | None = None,
    input_path: Path | None = None,
    kind: str | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    header_row: int | None = None,
    aliases: Path | None = None,
    out: Path | None = None,
    with_names: bool = False,
) -> Retention:
    """Judge every person in the store (or of one member), or the rows of `input_path`.

    An upload of students or ambassadors is read and validated as `import` reads it (headings,
    aliases, normalisation, entry year); its valid rows are judged as if loaded on the as-of
    day, with no register. A table of records (with a `kind`, `last_activity_on` or
    `first_loaded_on` heading) is judged as it is, by any policy.

    With `out`, the deletion-ready list is written there (owner-only; names only with
    `with_names`).
    """
    check_output_path(out)
    day = as_of or dt.date.today()
    upload = None
    if input_path is not None:
        raw = read_table(
            input_path,
            kind=kind if kind in PERSON_KINDS else None,
            sheet=sheet,
            encoding=encoding,
            header_row=header_row,
            aliases=aliases,
        )
        headings = {h.strip().lower() for h in raw.headers}
        if (kind is None or kind in PERSON_KINDS) and not headings & RECORD_HEADINGS:
            upload = validate_table(raw, kind, as_of=day, aliases=aliases, derive=_entry_year)
            if upload.kind not in PERSON_KINDS:
                raise HeattoolError(
                    f"{input_path}: an upload of {upload.kind}, not of people; retention judges "
                    f"people ({' or '.join(PERSON_KINDS)})"
                )
            whole_file = upload.errors.filter(pl.col("row").is_null())
            if whole_file.height:  # e.g. a missing column: no row can be judged
                raise InvalidData(
                    f"{input_path}: {whole_file['message'][0]}"
                    + (f" (and {whole_file.height - 1} more)" if whole_file.height > 1 else "")
                    + f"; heattool validate {input_path} lists what to fix"
                )
            result = evaluate_policy(policy, upload_records(upload, day), day)
        else:
            table = read_upload(input_path, sheet=sheet, encoding=encoding)
            result = evaluate_table(
                policy, table.frame, day, kind=kind, source=str(input_path),
                header_row=table.header_row,
            )  # fmt: skip
            if "kind" not in result.columns:
                result = result.select(pl.lit(kind).alias("kind"), pl.all())
    else:
        with Store.open_existing(db, key) as store:
            member = store.known_member(member)
            records = people.records(store, member, ids=True)
            result = evaluate_policy(policy, records, day, reasons=False)
    judged = Retention(policy, day, result, upload=upload)
    if out is not None:
        about = {
            "what": "the records ready for deletion or overdue; heattool purge deletes them",
            "as of": day.isoformat(),
            "policy": f"{policy.name} {policy.version}",
            "source": str(input_path) if input_path is not None else str(db or "the store"),
            "names and dates of birth": "included" if with_names else "left out",
        }
        write_frame(deletion_list(result, with_names=with_names), out, about)
        judged.out = out
    return judged


def _entry_year(kind: str, typed: pl.DataFrame) -> pl.DataFrame:
    return expected_entry_year(typed, canonical_postcodes=True) if kind in PERSON_KINDS else typed


def upload_records(upload: ValidationResult, day: dt.date) -> pl.DataFrame:
    """The valid rows of a people upload as the store would hold them, loaded on `day`.

    A file has no register: a student's last activity is unknown, so the record counts from the
    day it would be loaded; an ambassador's last activity is the upload that lists them.
    """
    kind, frame, ref = upload.kind, upload.valid_frame(), REF_COLUMNS[upload.kind]
    if ref is None:
        raise ValueError(f"{kind} are not people")
    last = pl.lit(day) if kind == "ambassadors" else pl.lit(None, dtype=pl.Date)
    kept = {c: pl.col(c) for c in people.RECORD_COLUMNS if c in frame.columns}
    return frame.select(
        pl.lit(kind).alias("kind"),
        pl.col(ref).alias("ref"),
        *(
            kept.get(c, pl.lit(None)).alias(c)
            for c in people.RECORD_COLUMNS
            if c not in ("last_activity_on", "first_loaded_on")
        ),
        last.alias("last_activity_on"),
        pl.lit(day).alias("first_loaded_on"),
    ).select("kind", "ref", *people.RECORD_COLUMNS)
