"""`heattool retention`: the retention status of each record, from the store or a file."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from heattool.io.readers import read_upload
from heattool.io.writers import check_output_path, write_frame
from heattool.rules.deletion import DUE, deletion_list, deletion_ready, with_reasons
from heattool.rules.policy import Policy
from heattool.rules.retention import evaluate_policy, evaluate_table
from heattool.store import Store, people


@dataclass
class Retention:
    """Every judged record, and where the deletion-ready list was written."""

    policy: Policy
    as_of: dt.date
    result: pl.DataFrame
    out: Path | None = None

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
    out: Path | None = None,
    with_names: bool = False,
) -> Retention:
    """Judge every person in the store (or of one member), or the rows of `input_path`.

    With `out`, the deletion-ready list is written there (owner-only; names only with
    `with_names`).
    """
    check_output_path(out)
    day = as_of or dt.date.today()
    if input_path is not None:
        raw = read_upload(input_path, sheet=sheet, encoding=encoding)
        result = evaluate_table(
            policy, raw.frame, day, kind=kind, source=str(input_path), header_row=raw.header_row
        )
        if "kind" not in result.columns:
            result = result.select(pl.lit(kind).alias("kind"), pl.all())
    else:
        with Store.open_existing(db, key) as store:
            member = store.known_member(member)
            records = people.records(store, member, ids=True)
            result = evaluate_policy(policy, records, day, reasons=False)
    judged = Retention(policy, day, result)
    if out is not None:
        write_frame(deletion_list(result, with_names=with_names), out)
        judged.out = out
    return judged
