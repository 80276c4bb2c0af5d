"""Time `heattool track-request --target hesa` over a store of millions of synthetic students.

The store is generated straight into DuckDB (not through `heattool import`, which has its own
benchmark) in a temporary folder and deleted afterwards; nothing is committed. The students are
spread over entry years 2012-2030, with about 8% refused permission, 1% withdrawn and 1% without
a date of birth, so the request both sends and excludes millions. Each run is a whole
`python -m heattool` process, as a data officer or cron runs it:

- first: the first HESA request for the year (file, manifest, batch of heat_ids, audit event);
- again: the same request again, which also works out what changed since the first.

    .venv/bin/python benchmarks/run_track_request.py --rows 10000000 --rounds 3

The target: under 15 s for 10 million students on the 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEATTOOL = [sys.executable, "-m", "heattool"]
TARGET_SECONDS = 15.0

GENERATE = """
INSERT INTO students BY NAME
SELECT
    CASE WHEN i % 4 = 0 THEN 'MEDWAY' ELSE 'KENT' END AS member,
    'S' || lpad(i::VARCHAR, 9, '0') AS student_ref,
    gen_random_uuid() AS heat_id,
    'Forename' || (i % 4999) AS forename,
    CASE WHEN i % 1000 = 7 THEN '=HYPERLINK("x")' ELSE 'Surname' || (i % 7919) END AS surname,
    CASE WHEN i % 100 = 3 THEN NULL ELSE DATE '1993-09-01' + (i % 6935)::INTEGER END
        AS date_of_birth,
    ['CT1 2EH', 'ME4 4AA', 'CF10 3AT', 'EH1 1YZ', 'BT7 1NN', 'SE15 5DQ', 'LE1 6RP',
     'TN23 1AA'][1 + i % 8] AS postcode,
    'School ' || (i % 3001) AS school,
    ['10', '11', '12'][1 + i % 3] AS sex,
    i % 13 <> 5 AS permission_to_track,
    CASE WHEN i % 100 = 3 THEN NULL ELSE 2012 + (i % 6935) // 365 END AS expected_he_entry_year,
    CASE WHEN i % 100 = 3 THEN NULL ELSE 'dob' END AS entry_year_source,
    CASE WHEN i % 100 = 41 THEN DATE '2026-03-01' END AS withdrawn_on,
    TIMESTAMP '2026-01-01' AS created_at,
    TIMESTAMP '2026-01-01' AS updated_at,
    1 AS batch_id
FROM range({start}, {stop}) AS r(i)
"""


def make_store(path: Path, rows: int) -> None:
    """A migrated store with `rows` students of two members, inserted in key order."""
    from heattool.store import Store

    with Store.open(path) as store:
        store.migrate()
        store.ensure_member("KENT")
        store.ensure_member("MEDWAY")
        step = 2_000_000
        for start in range(0, rows, step):
            with store.transaction():
                store.con.execute(GENERATE.format(start=start, stop=min(rows, start + step)))
        store.con.execute("CHECKPOINT")


def run(argv: list[str]) -> tuple[float, float]:
    """Wall seconds and peak RSS (MiB) of one child process, which must succeed."""
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _pid, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(argv)} failed: {child.stderr.read().decode()}")
    print(child.stdout.read().decode(), file=sys.stderr)
    return elapsed, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--format", choices=("csv", "parquet"), default="csv")
    args = parser.parse_args()
    times: dict[str, list[float]] = {"first": [], "again": []}
    peaks: dict[str, list[float]] = {"first": [], "again": []}
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as folder:
        db = Path(folder) / "bench.duckdb"
        started = time.perf_counter()
        make_store(db, args.rows)
        size = db.stat().st_size / 2**20
        print(
            f"store of {args.rows:,} students made in {time.perf_counter() - started:.1f} s "
            f"({size:.0f} MiB)",
            file=sys.stderr,
        )
        for number in range(args.rounds):
            out = Path(folder) / f"hesa-{number}.{args.format}"
            for name in ("first", "again"):
                year = str(2026 + number)  # each round's first request has no earlier batch
                argv = [*HEATTOOL, "track-request", "--target", "hesa", "--year", year]
                argv += ["--db", str(db), "--out", str(out), "--format", args.format]
                seconds, peak = run(argv)
                times[name].append(seconds)
                peaks[name].append(peak)
                print(f"round {number + 1} {name}: {seconds:.2f} s", file=sys.stderr)
        out_size = out.stat().st_size / 2**20
    print(
        f"{args.rows:,} students, {args.format} ({out_size:.0f} MiB), "
        f"{os.cpu_count()} cores, Python {platform.python_version()}"
    )
    print("| request | median wall time | min | max | peak RSS |")
    print("|---|---|---|---|---|")
    for name in times:
        print(
            f"| {name} | {statistics.median(times[name]):.2f} s | {min(times[name]):.2f} s | "
            f"{max(times[name]):.2f} s | {max(peaks[name]):.0f} MiB |"
        )
    worst = max(statistics.median(t) for t in times.values())
    verdict = "met" if worst < TARGET_SECONDS else "NOT met"
    print(f"target under {TARGET_SECONDS:.0f} s: {verdict}")


if __name__ == "__main__":
    main()
