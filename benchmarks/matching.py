"""Benchmark heattool's matching: precision, recall and F1 of `duplicates` and `match` on
labelled synthetic people (benchmarks/matching_data.py), twins merged, time and peak memory.

Not a timed test. Each size runs `heattool duplicates` and `heattool match` in a process of its
own against a store made for it (the records inserted straight into the store, as an import
would leave them), so that time and peak RSS are the command's.

    .venv/bin/python benchmarks/matching.py --sizes 100000 1000000
    .venv/bin/python benchmarks/matching.py --train   # write src/heattool/store/matching_model.json

Pairs: a stored pair is found when both are in one matched cluster; precision and recall are
over pairs of records of one person. `match`: a listed record is right when it is matched to a
record of its own person, wrong when matched to anyone else; recall is over the listed people
who are stored. Review is counted apart: what a person then decides.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from matching_data import Generator  # noqa: E402

MODEL = ROOT / "src" / "heattool" / "store" / "matching_model.json"


def train(size: int) -> None:
    from heattool.rules.matching import nickname_pairs
    from heattool.store import matching

    people = Generator().people(size).store.with_row_index("uid")
    started = time.perf_counter()
    model = matching.train(people.with_columns(pl.col("uid").cast(pl.Int64)), nickname_pairs())
    MODEL.write_text(json.dumps(model, indent=2) + "\n", "utf-8")
    print(f"trained on {size:,} records in {time.perf_counter() - started:.1f} s: {MODEL}")


def make_store(folder: Path, store: pl.DataFrame) -> Path:
    """A store holding `store`'s records as students of member KENT."""
    from heattool.store import Store

    path = folder / "bench.duckdb"
    frame = store.select(
        pl.lit("KENT").alias("member"),
        pl.col("ref").alias("student_ref"),
        "forename", "surname", "date_of_birth", "postcode", "school",
    )  # fmt: skip
    with Store.open(path) as db, db.transaction():
        db.ensure_member("KENT")
        with db.registered("bench_people", frame):
            db.con.execute(
                "INSERT INTO students BY NAME SELECT *, gen_random_uuid() AS heat_id, "
                "now()::TIMESTAMP AS created_at, now()::TIMESTAMP AS updated_at, 0 AS batch_id "
                "FROM bench_people"
            )
    return path


def run(args: list[str]) -> tuple[float, float]:
    """Run heattool; (seconds, peak RSS in MiB) of that process."""
    heattool = str(Path(sys.executable).with_name("heattool"))
    started = time.perf_counter()
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen([heattool, *args], stdout=subprocess.DEVNULL, stderr=errors)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode:
            errors.seek(0)
            raise SystemExit(f"heattool {' '.join(args)} failed: {errors.read().decode()}")
    return seconds, usage.ru_maxrss / 1024


def scores(tp: int, found: int, truth: int) -> dict[str, float]:
    precision = tp / found if found else 1.0
    recall = tp / truth if truth else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": round(precision, 4), "recall": round(recall, 4), "f1": round(f1, 4)}


def bench(size: int, list_size: int) -> dict[str, object]:
    people = Generator().people(size, list_size)
    store = people.store
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = make_store(folder, store)
        out = folder / "duplicates.parquet"
        seconds, peak = run(["duplicates", "--member", "KENT", "--db", str(db), "--out", str(out)])
        rows = pl.read_parquet(out).join(store.select("ref", "entity"), on="ref")
        truth = int(
            store.group_by("entity")
            .len()
            .select((pl.col("len") * (pl.col("len") - 1) // 2).sum())
            .item()
        )
        results: dict[str, object] = {"records": store.height, "people": store["entity"].n_unique()}

        def pairs(status: str) -> pl.DataFrame:
            part = rows.filter(pl.col("status") == status)
            return part.join(part, on="cluster").filter(pl.col("ref") < pl.col("ref_right"))

        matched, review = pairs("matched"), pairs("review")
        tp = matched.filter(pl.col("entity") == pl.col("entity_right")).height
        tp_review = review.filter(pl.col("entity") == pl.col("entity_right")).height
        merged = [
            (a, b)
            for a, b in zip(matched["ref"], matched["ref_right"], strict=True)
            if frozenset((a, b)) in people.twins
        ]
        twins = len(merged)
        for a, b in merged:  # what let them through, for the record
            print(rows.filter(pl.col("ref").is_in([a, b])), file=sys.stderr)
        results["duplicates"] = {
            "seconds": round(seconds, 2),
            "peak_mib": round(peak),
            "true_pairs": truth,
            "matched_pairs": matched.height,
            **scores(tp, matched.height, truth),
            "recall_with_review": round((tp + tp_review) / truth, 4),
            "review_pairs": review.height,
            "twin_pairs": len(people.twins),
            "twin_pairs_merged": twins,
        }
        listed = people.listed.with_row_index("row")
        listed_path = folder / "list.csv"
        listed.select(
            pl.col("forename").alias("Forename"), pl.col("surname").alias("Surname"),
            pl.col("date_of_birth").dt.strftime("%d/%m/%Y").alias("Date of Birth"),
            pl.col("postcode").alias("Postcode"), pl.col("school").alias("School"),
        ).write_csv(listed_path)  # fmt: skip
        out = folder / "matched.parquet"
        seconds, peak = run(["match", str(listed_path), "--member", "KENT", "--db", str(db),
                             "--out", str(out)])  # fmt: skip
        got = (
            pl.read_parquet(out)
            .with_row_index("row")
            .join(listed.select("row", "entity"), on="row")
        )
        refs = store.select("ref", pl.col("entity").alias("entity_matched"))
        got = got.join(refs, on="ref", how="left")
        stored = set(store["entity"].to_list())
        listed_stored = got.filter(pl.col("entity").is_in(list(stored)))
        matched_rows = got.filter(pl.col("match_status") == "matched")
        right = matched_rows.filter(pl.col("entity") == pl.col("entity_matched")).height
        results["match"] = {
            "seconds": round(seconds, 2),
            "peak_mib": round(peak),
            "listed": got.height,
            "listed_stored": listed_stored.height,
            "matched": matched_rows.height,
            "review": int((got["match_status"] == "review").sum()),
            "new": int((got["match_status"] == "new").sum()),
            **scores(right, matched_rows.height, listed_stored.height),
        }
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000])
    parser.add_argument("--list", type=int, default=10_000, help="records in the list to match")
    parser.add_argument("--train", action="store_true", help="train the shipped model instead")
    parser.add_argument("--train-size", type=int, default=100_000)
    options = parser.parse_args()
    if options.train:
        train(options.train_size)
        return
    for size in options.sizes:
        print(json.dumps(bench(size, options.list), indent=2), flush=True)


if __name__ == "__main__":
    main()
