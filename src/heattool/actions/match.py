"""`heattool match`: a list of people (no refs) matched to a member's stored people; and
`heattool match decide`: the decisions a person made on the pairs sent for review."""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from heattool.errors import HeattoolError
from heattool.io.readers import read_upload
from heattool.io.writers import check_output_path, write_frame
from heattool.rules.matching import Matching, nickname_pairs
from heattool.schemas.headers import map_headers
from heattool.schemas.validate import INDEX, ROW, read_table, validate_table
from heattool.store import Store, matching

STATUSES = ("matched", "review", "new")
ADDED = ("heat_id", "kind", "ref", "match_probability", "match_status", "agreed")
REVIEW_CANDIDATES = 3  # a listed record's best candidates in the review file
REF = "student_ref"  # a list has no refs: validation is given one per row


@dataclass
class Matched:
    """A list matched: its rows as uploaded with the match columns, and the review pairs."""

    path: Path
    member: str
    db: str
    rows: pl.DataFrame  # the list as uploaded, then ADDED
    review: pl.DataFrame  # the pairs for a person to decide, side by side
    thresholds: Matching
    stored: int  # the member's people it was matched against
    unreadable: int = 0  # rows with a cell that could not be read (matched on the rest)
    headings: dict[str, str] = field(default_factory=dict)  # heading -> column
    out: Path | None = None
    review_out: Path | None = None

    def count(self, status: str) -> int:
        return int((self.rows["match_status"] == status).sum())

    def document(self) -> dict[str, Any]:
        return {
            "file": str(self.path),
            "member": self.member,
            "db": self.db,
            "rows": self.rows.height,
            "stored_people": self.stored,
            "match_at": self.thresholds.match_at,
            "review_at": self.thresholds.review_at,
            **{status: self.count(status) for status in STATUSES},
            "review_pairs": self.review.height,
            "rows_with_unreadable_cells": self.unreadable,
            "out": None if self.out is None else str(self.out),
            "review_out": None if self.review_out is None else str(self.review_out),
        }


def read_list(
    path: Path,
    *,
    sheet: str | None = None,
    encoding: str | None = None,
    header_row: int | None = None,
    aliases: Path | None = None,
    as_of: dt.date | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, int, dict[str, str]]:
    """A list read as uploads are (headings, aliases, dates, postcodes), without refs.

    Returns the rows as uploaded (blank rows left out), their fields (matching.FIELDS, a cell
    that cannot be read left empty), how many rows had such a cell, and the headings used.
    """
    raw = read_table(path, sheet=sheet, encoding=encoding, header_row=header_row, aliases=aliases)
    header = map_headers(raw.headers, "students", aliases)
    for needed in ("forename", "surname"):
        if needed not in header.columns:
            raise HeattoolError(
                f"{path}: a list to match needs a {needed} column (and a date of birth, "
                "postcode or school helps); its headings are read as an upload's"
            )
    given = raw
    if REF not in header.columns:  # one ref per row, so that validation reads the rest
        refs = pl.int_range(1, raw.frame.height + 1, eager=True).cast(pl.String)
        given = dataclasses.replace(raw, frame=raw.frame.with_columns(refs.alias(REF)))
    checked = validate_table(given, "students", as_of=as_of, aliases=aliases)
    typed = checked.frame
    errors = checked.errors.filter(
        pl.col("field").is_in(matching.FIELDS) & pl.col("row").is_not_null()
    )
    unreadable = errors["row"].n_unique()
    fields = typed.select(INDEX, ROW, *matching.FIELDS)
    for name in matching.FIELDS:
        bad = errors.filter(pl.col("field") == name)["row"]
        fields = fields.with_columns(
            pl.when(pl.col(ROW).is_in(bad.implode())).then(None).otherwise(pl.col(name)).alias(name)
        )
    uploaded = raw.frame.with_row_index(INDEX).join(
        typed.select(INDEX), on=INDEX, how="semi", maintain_order="left"
    )
    headings = {h: c for c, h in header.columns.items()}
    return uploaded.drop(INDEX), fields, unreadable, headings


def match(
    path: Path,
    *,
    db: Path | str | None,
    key: str | None,
    member: str,
    thresholds: Matching | None = None,
    out: Path | None = None,
    review_out: Path | None = None,
    nicknames: Path | None = None,
    sheet: str | None = None,
    encoding: str | None = None,
    header_row: int | None = None,
    aliases: Path | None = None,
    as_of: dt.date | None = None,
) -> Matched:
    """Match each listed record to the member's stored people (students and ambassadors).

    Each row gets its best candidate: `matched` at or above match_at (never a pair the twin
    guard stops), `review` from review_at, else `new`. Recorded decisions win: a pair decided
    `different` is never a candidate, one decided `same` is always the match. The same list
    matched twice against the same store gives the same answer.
    """
    for target in (out, review_out):
        check_output_path(target)
    thresholds = thresholds or Matching()
    names = nickname_pairs(nicknames)
    uploaded, fields, unreadable, headings = read_list(
        path, sheet=sheet, encoding=encoding, header_row=header_row, aliases=aliases, as_of=as_of
    )
    listed = fields.with_row_index("uid").with_columns(pl.col("uid").cast(pl.Int64))
    with Store.open_existing(db, key) as store:
        code = store.known_member(member)
        assert code is not None
        people = matching.people_to_match(store, code, first_uid=listed.height)
        listed = listed.with_columns(matching.record_keys(store, listed).alias("record_key"))
        decided = _decided(listed, people, matching.decisions(store, code))
        same = decided.filter(pl.col("decision") == "same").select("uid_list", "uid_store")
        pairs = matching.score_between(
            store, listed, people, names, thresholds.review_at, forced=same
        )
        pairs = (
            pairs.join(decided, on=["uid_list", "uid_store"], how="left")
            .filter(pl.col("decision").ne_missing("different"))
            .with_columns(sure=pl.col("decision").eq_missing("same"))
        )
        rows, review = _judge(listed, people, pairs, thresholds)
        matched = rows.filter(pl.col("match_status") == "matched")
        matching.audit_match(
            store,
            code,
            _sha256(path),
            {
                "file": Path(path).name,
                "rows": rows.height,
                **{s: int((rows["match_status"] == s).sum()) for s in STATUSES},
            },
            matched["heat_id"],
        )
        result = Matched(
            Path(path),
            code,
            str(store.path),
            pl.concat([uploaded, rows.select(ADDED)], how="horizontal"),
            review,
            thresholds,
            people.height,
            unreadable,
            headings,
        )
    about = {"member": code, "match_at": thresholds.match_at, "review_at": thresholds.review_at}
    if out is not None:
        counts = ", ".join(f"{result.count(s)} {s}" for s in STATUSES)
        write_frame(result.rows, out, {"what": f"{path.name} matched: {counts}", **about})
        result.out = out
    if review_out is not None:
        what = "pairs to decide: fill in decision (same or different), then heattool match decide"
        write_frame(result.review, review_out, {"what": what, **about})
        result.review_out = review_out
    return result


def _sha256(path: Path) -> str | None:
    import hashlib

    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:  # standard input: read once, already
        return None


def _decided(listed: pl.DataFrame, people: pl.DataFrame, found: pl.DataFrame) -> pl.DataFrame:
    """The recorded decisions about these listed records: uid_list, uid_store, decision."""
    return (
        found.join(listed.select(pl.col("uid").alias("uid_list"), "record_key"), on="record_key")
        .join(people.select(pl.col("uid").alias("uid_store"), "heat_id"), on="heat_id")
        .select("uid_list", "uid_store", "decision")
    )


def _judge(
    listed: pl.DataFrame, people: pl.DataFrame, pairs: pl.DataFrame, thresholds: Matching
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Each listed record's status and match (ADDED, in the list's order), and the review
    file's pairs."""
    can_match = pl.col("sure") | (
        (pl.col("match_probability") >= thresholds.match_at) & ~pl.col("guarded")
    )
    ranked = pairs.with_columns(can_match=can_match).sort(
        "uid_list", "sure", "can_match", "match_probability", "uid_store",
        descending=[False, True, True, True, False],
    )  # fmt: skip
    best = ranked.unique("uid_list", keep="first", maintain_order=True)
    status = (
        pl.when(pl.col("can_match"))
        .then(pl.lit("matched"))
        .when(pl.col("match_probability").is_not_null())
        .then(pl.lit("review"))
        .otherwise(pl.lit("new"))
    )
    stored = people.select(
        pl.col("uid").alias("uid_store"), "heat_id", "kind", "ref", *matching.FIELDS
    )
    chosen = (
        listed.select(pl.col("uid").alias("uid_list"))
        .join(best, on="uid_list", how="left", maintain_order="left")
        .join(stored.select("uid_store", "heat_id", "kind", "ref"), on="uid_store", how="left")
        .with_columns(match_status=status)
    )
    kept = pl.col("match_status") == "matched"
    rows = chosen.select(
        *(pl.when(kept).then(pl.col(c)).alias(c) for c in ("heat_id", "kind", "ref")),
        pl.col("match_probability").round(6),
        "match_status",
        pl.when(kept).then(pl.col("agreed")).alias("agreed"),
    )
    in_review = chosen.filter(pl.col("match_status") == "review")["uid_list"]
    candidates = (
        ranked.filter(pl.col("uid_list").is_in(in_review.implode()))
        .with_columns(rank=pl.int_range(pl.len()).over("uid_list"))
        .filter(pl.col("rank") < REVIEW_CANDIDATES)
    )
    side = listed.select(
        pl.col("uid").alias("uid_list"), pl.col(ROW).alias("row"), "record_key", *matching.FIELDS
    )
    review = (
        candidates.join(side, on="uid_list")
        .join(stored, on="uid_store", suffix="_stored")
        .sort("uid_list", "rank")
        .select(
            "row",
            "record_key",
            *matching.FIELDS,
            "heat_id",
            "kind",
            "ref",
            *(pl.col(f"{c}_stored").alias(f"stored_{c}") for c in matching.FIELDS),
            pl.col("match_probability").round(6),
            "agreed",
            pl.when(pl.col("guarded"))
            .then(
                pl.lit("twin guard: born the same day, same surname and postcode, another forename")
            )
            .otherwise(pl.lit("borderline"))
            .alias("reason"),
            pl.lit(None, dtype=pl.String).alias("decision"),
        )
    )
    return rows, review


# -- match decide ----------------------------------------------------------------------------


@dataclass
class Decided:
    path: Path
    member: str
    same: int
    different: int
    undecided: int
    changed: int
    event_id: int


def decide(
    path: Path,
    *,
    db: Path | str | None,
    key: str | None,
    member: str,
    sheet: str | None = None,
    encoding: str | None = None,
) -> Decided:
    """Store the decisions filled in on a review file (`same` or `different`; a blank one is
    left undecided), for every later match of those records."""
    table = read_upload(path, sheet=sheet, encoding=encoding).frame
    columns = {c.strip().lower(): c for c in table.columns}
    missing = [c for c in ("record_key", "heat_id", "decision") if c not in columns]
    if missing:
        raise HeattoolError(
            f"{path}: not a review file of heattool match (no {', '.join(missing)} column); "
            "write one with heattool match FILE --review-out REVIEW_FILE"
        )
    rows = table.select(
        pl.col(columns["record_key"]).str.strip_chars().alias("record_key"),
        pl.col(columns["heat_id"]).str.strip_chars().str.to_lowercase().alias("heat_id"),
        pl.col(columns["decision"]).str.strip_chars().str.to_lowercase().alias("decision"),
    ).with_row_index("line", offset=2)
    given = rows.filter(pl.col("decision").is_not_null() & (pl.col("decision") != ""))
    wrong = given.filter(~pl.col("decision").is_in(matching.DECISIONS))
    if not wrong.is_empty():
        lines = ", ".join(str(n) for n in wrong["line"].head(5))
        raise HeattoolError(
            f"{path}: decision must be same or different (or left blank) on line {lines}"
        )
    if given.filter(pl.col("record_key").is_null() | pl.col("heat_id").is_null()).height:
        raise HeattoolError(f"{path}: a decided row has no record_key or heat_id; keep both")
    conflicting = given.group_by("record_key", "heat_id").agg(pl.col("decision").n_unique())
    if (conflicting["decision"] > 1).any():
        raise HeattoolError(f"{path}: the same pair is decided both same and different")
    given = given.unique(["record_key", "heat_id"], keep="last", maintain_order=True)
    if (given.filter(pl.col("decision") == "same").group_by("record_key").len()["len"] > 1).any():
        raise HeattoolError(
            f"{path}: a listed record is decided the same as two stored people; decide one"
        )
    with Store.open_existing(db, key) as store:
        code = store.known_member(member)
        assert code is not None
        unknown = matching.unknown_heat_ids(store, code, given["heat_id"])
        if unknown.len():
            raise HeattoolError(
                f"{path}: {unknown.len()} heat_id(s) are not people of member {code} in "
                f"{store.path} (the first: {unknown[0]}); decisions are stored per member"
            )
        done = matching.record_decisions(
            store, code, given.select("record_key", "heat_id", "decision"), _sha256(path) or ""
        )
    return Decided(
        Path(path),
        code,
        done["same"],
        done["different"],
        rows.height - given.height,
        done["changed"],
        done["event_id"],
    )
