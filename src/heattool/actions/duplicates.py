"""`heattool duplicates`: clusters of probable duplicates among a member's stored people."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from heattool.io.writers import check_output_path, write_frame
from heattool.rules.matching import Matching, nickname_pairs
from heattool.store import Store, matching


@dataclass
class Duplicates:
    """The clusters found: one row per person in a cluster, matched clusters first."""

    member: str
    db: str
    people: int  # stored people compared
    pairs: int  # pairs scored at or above review_at
    rows: pl.DataFrame
    thresholds: Matching
    out: Path | None = None

    def count(self, status: str) -> int:
        return self.rows.filter(pl.col("status") == status)["cluster"].n_unique()

    def document(self) -> dict[str, Any]:
        return {
            "member": self.member,
            "db": self.db,
            "people": self.people,
            "match_at": self.thresholds.match_at,
            "review_at": self.thresholds.review_at,
            "matched_clusters": self.count("matched"),
            "review_clusters": self.count("review"),
            "out": None if self.out is None else str(self.out),
            "clusters": self.rows.with_columns(pl.col("date_of_birth").cast(pl.String)).to_dicts(),
        }


def duplicates(
    db: Path | str | None,
    key: str | None,
    member: str,
    *,
    thresholds: Matching | None = None,
    out: Path | None = None,
    nicknames: Path | None = None,
) -> Duplicates:
    """Score every pair of the member's stored people the blocking rules make; cluster the
    matched pairs (connected components). A cluster holding a pair the twin guard stops, and
    a pair between review_at and match_at, is for review. The audit records the counts."""
    check_output_path(out)
    thresholds = thresholds or Matching()
    names = nickname_pairs(nicknames)
    with Store.open_existing(db, key) as store:
        code = store.known_member(member)
        assert code is not None
        people = matching.people_to_match(store, code)
        pairs = matching.score_within(store, people, names, thresholds.review_at)
        rows = clusters(store, people, pairs, thresholds, names)
        with store.transaction():
            store.audit(
                "duplicates",
                member=code,
                details={
                    "people": people.height,
                    "matched_clusters": rows.filter(pl.col("status") == "matched")[
                        "cluster"
                    ].n_unique(),
                    "review_clusters": rows.filter(pl.col("status") == "review")[
                        "cluster"
                    ].n_unique(),
                    "out": None if out is None else out.name,
                },
            )
        found = Duplicates(code, str(store.path), people.height, pairs.height, rows, thresholds)
    if out is not None:
        about = {
            "what": "clusters of probable duplicates among the member's stored people",
            "member": code,
            "match_at": thresholds.match_at,
            "review_at": thresholds.review_at,
            "matched clusters": found.count("matched"),
            "review clusters": found.count("review"),
        }
        write_frame(rows, out, about)
        found.out = out
    return found


CLUSTER_COLUMNS = ("cluster", "status", "size", "match_probability", "agreed")


def clusters(
    store: Store | None,
    people: pl.DataFrame,
    pairs: pl.DataFrame,
    thresholds: Matching,
    nicknames: Sequence[tuple[str, str]],
) -> pl.DataFrame:
    """One row per clustered person: cluster (numbered from 1, matched first, in order of
    their first ref), status, size, the best match_probability to another member of the
    cluster and what agreed on that pair, then the person."""
    sure = pairs.filter((pl.col("match_probability") >= thresholds.match_at) & ~pl.col("guarded"))
    found = matching.components(store, sure)
    placed = pairs.join(found.rename({"uid": "uid_l", "cluster": "cluster_l"}), on="uid_l",
                        how="left").join(
        found.rename({"uid": "uid_r", "cluster": "cluster_r"}), on="uid_r", how="left"
    )  # fmt: skip
    inside = pl.col("cluster_l") == pl.col("cluster_r")
    # A matched cluster that holds a pair the twin guard stops goes to review, whole: the pair
    # need not have been scored (twins are linked through a third record as well).
    doubtful = matching.guarded_within(store, people, nicknames, found)["cluster"].unique()
    # Any other doubtful pair is a cluster of two, for review.
    loose = placed.filter(
        ((pl.col("match_probability") < thresholds.match_at) | pl.col("guarded"))
        & ~inside.fill_null(False)
    )
    first = people.height + 1  # pair clusters are named after a uid no cluster has
    pair_members = pl.concat(
        [
            loose.select(pl.col("uid_l").alias("uid"), "uid_l", "uid_r"),
            loose.select(pl.col("uid_r").alias("uid"), "uid_l", "uid_r"),
        ]
    ).with_columns(cluster=pl.col("uid_l") * first + pl.col("uid_r") + first)
    members = pl.concat(
        [
            found.with_columns(
                status=pl.when(pl.col("cluster").is_in(doubtful.implode()))
                .then(pl.lit("review"))
                .otherwise(pl.lit("matched"))
            ),
            pair_members.select("uid", "cluster", status=pl.lit("review")),
        ]
    )
    best = (
        pl.concat(
            [
                pairs.select(
                    pl.col("uid_l").alias("uid"),
                    pl.col("uid_r").alias("other"),
                    "match_probability",
                    "agreed",
                ),
                pairs.select(
                    pl.col("uid_r").alias("uid"),
                    pl.col("uid_l").alias("other"),
                    "match_probability",
                    "agreed",
                ),
            ]
        )
        .join(members.select("uid", "cluster"), on="uid")
        .join(
            members.select(pl.col("uid").alias("other"), pl.col("cluster").alias("c2")), on="other"
        )
        .filter(pl.col("cluster") == pl.col("c2"))
        .sort("match_probability", "other", descending=[True, False])
        .unique(["uid", "cluster"], keep="first", maintain_order=True)
        .select("uid", "cluster", "match_probability", "agreed")
    )
    rows = (
        members.join(best, on=["uid", "cluster"], how="left")
        .join(people, on="uid")
        .with_columns(size=pl.len().over("cluster"), _first=pl.col("ref").min().over("cluster"))
        .sort(pl.col("status") != "matched", "_first", "cluster", "kind", "ref")
    )
    number = rows.select(pl.col("cluster").rle_id() + 1).to_series()
    return rows.with_columns(number.alias("cluster"), pl.col("match_probability").round(6)).select(
        *CLUSTER_COLUMNS, *matching.STORED_COLUMNS
    )
