"""Time `heattool retention` over 10 million stored students, `heattool purge` of 1 million.

The store is synthetic, made here by DuckDB SQL through the real migrations (`Store.open`,
`store.migrate()`, then INSERT ... SELECT from range()): three members, about 1,000 activities
from September 2005 to July 2025, students born 1995-2015 who attended about 2 activities each
(10% none, up to 5) between the ages of 10 and 18, UK-shaped postcodes (2% missing), permission
to track mostly yes (4% no, 3% unknown), 2% withdrawn. It is kept in benchmarks/data (ignored by
git) and reused while the generator's version and the row count are the same.

Timed, each run a whole process (wall time around the child, peak RSS from its rusage):

- `heattool retention --db STORE --as-of 2030-09-01 --format json > /dev/null`, the command;
- the records read and judged (`people.records`, `evaluate_policy`), in a child;
- `heattool purge --db COPY --as-of D --yes`, on a fresh copy of the store each run, with D the
  1 September on which about 1 million students are deletion-ready (chosen once, in a child).

    .venv/bin/python benchmarks/run_retention_store.py              # 10 million students
    .venv/bin/python benchmarks/run_retention_store.py --students 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
HEATTOOL = [sys.executable, "-m", "heattool"]
AS_OF = "2030-09-01"
# 2: schema 0004 (last_activity_on kept on the row); 3: batch ids taken from the sequence;
# 4: DuckDB 1.5's storage format (heattool's STORAGE_VERSION).
GENERATOR_VERSION = 4
MEMBERS = ["BRIS", "KENT", "LEED"]
ACTIVITIES_PER_MEMBER = 334  # about 1,000 in all
FIRST_ACTIVITY, LAST_ACTIVITY = dt.date(2005, 9, 1), dt.date(2025, 7, 31)
TARGET_SECONDS = 10.0

FORENAMES = [
    "Amelia", "Olivia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Freya", "Grace", "Aisha",
    "Oliver", "George", "Noah", "Arthur", "Muhammad", "Leo", "Harry", "Oscar", "Jack", "Kofi",
]  # fmt: skip
SURNAMES = [
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Hussain", "Okafor",
]  # fmt: skip
OUTWARD = ["CT2", "CT1", "ME4", "TN1", "BS1", "BS8", "LS6", "LS2", "M14", "B15", "NE1", "S10"]
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join(f"'{v}'" for v in values) + "]"


def build_store(path: Path, students: int) -> None:
    """A store of `students` synthetic students (and their activities and register rows)."""
    from heattool.store import Store
    from heattool.store.loading import refresh_all

    span = (LAST_ACTIVITY - FIRST_ACTIVITY).days
    per_member = -(-students // len(MEMBERS))
    a = ACTIVITIES_PER_MEMBER
    params = {"n": students, "per_member": per_member}
    with Store.open(path) as store:
        store.migrate()
        con = store.con
        con.execute("SET enable_progress_bar = false")
        with store.transaction():
            con.execute(
                f"""
                INSERT INTO members
                SELECT unnest({_sql_list(MEMBERS)}), TIMESTAMP '2005-06-01 09:00:00'
                """
            )
            con.execute(
                f"""
                INSERT INTO import_batches
                SELECT i + 1, m, 'students', m || '-students.csv', sha256(m), $per_member,
                       $per_member, 0, 0, 0, TIMESTAMP '2025-08-01 09:00:00', 'bench'
                FROM (SELECT unnest({_sql_list(MEMBERS)}) AS m, generate_subscripts(
                      {_sql_list(MEMBERS)}, 1) - 1 AS i)
                """,
                {"per_member": per_member},
            )
            # The batch ids above are taken, as an import would have taken them from the sequence.
            con.execute(f"SELECT nextval('batch_id_seq') FROM range({len(MEMBERS)})")
            con.execute(
                f"""
                INSERT INTO activities BY NAME
                SELECT m.member, printf('A%04d', j) AS activity_ref,
                       'Activity ' || j AS name,
                       ['campus visit', 'summer school', 'workshop', 'mentoring'][1 + j % 4]
                           AS activity_type,
                       DATE '{FIRST_ACTIVITY}' + (j * {span} // {a - 1})::INTEGER AS start_date,
                       NULL AS end_date, 'in person' AS delivery_mode, 3.0 AS hours,
                       NULL AS stage,
                       (DATE '{FIRST_ACTIVITY}' + (j * {span} // {a - 1})::INTEGER)::TIMESTAMP
                           AS created_at,
                       (DATE '{FIRST_ACTIVITY}' + (j * {span} // {a - 1})::INTEGER)::TIMESTAMP
                           AS updated_at,
                       m.i + 1 AS batch_id
                FROM (SELECT unnest({_sql_list(MEMBERS)}) AS member,
                             generate_subscripts({_sql_list(MEMBERS)}, 1) - 1 AS i) AS m,
                     range({a}) AS r(j)
                ORDER BY 1, 2
                """
            )
            # One row per student: the random draws, the date of birth and the first activity
            # (base) from which their register rows follow.
            con.execute(
                f"""
                CREATE TEMP TABLE gen AS
                WITH drawn AS (
                    SELECT i, hash(i, 'heat-bench') AS h,
                           (i // $per_member)::INTEGER AS m,
                           DATE '1995-01-01' + (hash(i, 'dob') % 7670)::INTEGER AS dob
                    FROM range($n) AS r(i)
                ), aged AS (
                    SELECT *, (dob + INTERVAL 10 YEAR)::DATE AS at10 FROM drawn
                ), target AS (
                    SELECT *, at10 + ((h >> 20) % (greatest(0, least(2922,
                           DATE '{LAST_ACTIVITY}' - at10)) + 1))::INTEGER AS first_on
                    FROM aged
                )
                SELECT i, h, {_sql_list(MEMBERS)}[m + 1] AS member, m,
                       printf('S%08d', i) AS student_ref, dob,
                       least({a - 1}, greatest(0,
                           ((first_on - DATE '{FIRST_ACTIVITY}') * {a - 1} // {span})))::INTEGER
                           AS base,
                       CASE WHEN (h >> 40) % 20 < 2 THEN 0 WHEN (h >> 40) % 20 < 8 THEN 1
                            WHEN (h >> 40) % 20 < 13 THEN 2 WHEN (h >> 40) % 20 < 17 THEN 3
                            WHEN (h >> 40) % 20 < 19 THEN 4 ELSE 5 END AS visits,
                       first_on
                FROM target
                """,
                params,
            )
            letters = INWARD_LETTERS
            con.execute(
                f"""
                INSERT INTO students BY NAME
                SELECT g.member, g.student_ref, gen_random_uuid() AS heat_id,
                       CASE WHEN (h >> 2) % 100 = 0 THEN NULL
                            ELSE {_sql_list(FORENAMES)}[1 + ((h >> 5) % 20)::INTEGER] END
                           AS forename,
                       CASE WHEN (h >> 3) % 200 = 0 THEN NULL
                            ELSE {_sql_list(SURNAMES)}[1 + ((h >> 9) % 20)::INTEGER] END
                           AS surname,
                       dob AS date_of_birth,
                       CASE WHEN (h >> 14) % 50 = 0 THEN NULL ELSE
                           {_sql_list(OUTWARD)}[1 + ((h >> 17) % 12)::INTEGER] || ' '
                           || ((h >> 23) % 10)::VARCHAR
                           || substr('{letters}', 1 + ((h >> 27) % 20)::INTEGER, 1)
                           || substr('{letters}', 1 + ((h >> 31) % 20)::INTEGER, 1) END
                           AS postcode,
                       'School ' || ((h >> 35) % 400)::VARCHAR AS school,
                       CASE WHEN (h >> 45) % 20 = 0 THEN 'Wales' ELSE 'England' END AS nation,
                       CASE WHEN h % 2 = 0 THEN 'F' ELSE 'M' END AS sex,
                       CASE WHEN (h >> 50) % 100 < 93 THEN TRUE
                            WHEN (h >> 50) % 100 < 97 THEN FALSE END AS permission_to_track,
                       year(dob) + 18 + (month(dob) >= 9)::INTEGER AS expected_he_entry_year,
                       (year(dob) + 18 + (month(dob) >= 9)::INTEGER)::VARCHAR || '/'
                           || lpad(((year(dob) + 19 + (month(dob) >= 9)::INTEGER) % 100)
                           ::VARCHAR, 2, '0') AS entry_year_label,
                       'dob' AS entry_year_source,
                       CASE WHEN (h >> 57) % 50 = 0
                            THEN DATE '2018-01-01' + ((h >> 7) % 2900)::INTEGER END
                           AS withdrawn_on,
                       CASE WHEN visits = 0 THEN first_on
                            ELSE DATE '{FIRST_ACTIVITY}' + (base * {span} // {a - 1})::INTEGER
                       END::TIMESTAMP AS created_at,
                       CASE WHEN visits = 0 THEN first_on
                            ELSE DATE '{FIRST_ACTIVITY}' + (base * {span} // {a - 1})::INTEGER
                       END::TIMESTAMP AS updated_at,
                       m + 1 AS batch_id
                FROM gen AS g
                ORDER BY i
                """
            )
            # Register rows: `visits` per student, each a later activity than the one before
            # (capped at the last), on its start day or one or two days later; 8% undated.
            con.execute(
                f"""
                INSERT INTO attendance BY NAME
                SELECT DISTINCT member, student_ref, printf('A%04d', j) AS activity_ref,
                       CASE WHEN (h >> (k * 5 + 3)) % 25 < 2 THEN NULL ELSE
                           DATE '{FIRST_ACTIVITY}' + (j * {span} // {a - 1})::INTEGER
                           + ((h >> (k * 5)) % 3)::INTEGER END AS attended_on,
                       (DATE '{FIRST_ACTIVITY}' + (j * {span} // {a - 1})::INTEGER)::TIMESTAMP
                           AS created_at,
                       m + 1 AS batch_id
                FROM (
                    SELECT g.*, r.k,
                           least({a - 1}, base + r.k * (1 + ((h >> (r.k * 4 + 44)) % 6)))::INTEGER
                               AS j
                    FROM gen AS g JOIN range(5) AS r(k) ON r.k < g.visits
                )
                ORDER BY member, student_ref, activity_ref
                """
            )
            con.execute("DROP TABLE gen")
            for member in MEMBERS:  # as an import of these register rows would
                refresh_all(store, member)
        con.execute("CHECKPOINT")


def store_path(students: int) -> Path:
    return BENCH_DIR / "data" / f"retention_store_{students}_v{GENERATOR_VERSION}.duckdb"


def ensure_store(students: int) -> Path:
    path = store_path(students)
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_suffix(".partial.duckdb")
        partial.unlink(missing_ok=True)
        started = time.perf_counter()
        build_store(partial, students)
        partial.rename(path)
        print(f"built {path.name} in {time.perf_counter() - started:.0f} s", flush=True)
    return path


# -- children: each measurement runs in its own process ----------------------------------


def child_store_retention(db: str, as_of: str) -> None:
    """Open the store, then time reading and judging its records; print seconds and counts."""
    from heattool.rules.policy import load_policy
    from heattool.rules.retention import evaluate_policy
    from heattool.store import Store, people

    policy = load_policy()
    with Store.open(db) as store:
        started = time.perf_counter()
        records = people.records(store)
        result = evaluate_policy(policy, records, dt.date.fromisoformat(as_of))
        seconds = time.perf_counter() - started
    counts = dict(result.group_by("status").len().iter_rows())
    print(json.dumps({"seconds": seconds, "rows": result.height, "counts": counts}))


def child_pick_day(db: str, wanted: str) -> None:
    """The 1 September (2015-2045) on which the deletion-ready count is nearest `wanted`."""
    import polars as pl

    from heattool.rules.deletion import DUE
    from heattool.rules.policy import load_policy
    from heattool.rules.retention import evaluate_policy
    from heattool.store import Store, people

    policy = load_policy()
    with Store.open(db) as store:
        records = people.records(store)
    best = None
    for year in range(2015, 2046):
        day = dt.date(year, 9, 1)
        result = evaluate_policy(policy, records, day, reasons=False)
        due = result.filter(pl.col("status").is_in(DUE)).height
        if best is None or abs(due - int(wanted)) < abs(best[1] - int(wanted)):
            best = (day, due)
        if due > int(wanted):
            break
    print(json.dumps({"day": best[0].isoformat(), "due": best[1]}))


CHILDREN = {"store-retention": child_store_retention, "pick-day": child_pick_day}


def run(
    argv: list[str], stdout: int | None = subprocess.DEVNULL
) -> tuple[float, float, str, float]:
    """Wall seconds, peak RSS in MiB, the captured stdout (if asked) and CPU seconds of a child."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        child = subprocess.Popen(
            argv, stdout=out if stdout is None else stdout, stderr=subprocess.PIPE, env=env
        )
        _pid, status, usage = os.wait4(child.pid, 0)
        elapsed = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        if code != 0:
            raise SystemExit(f"{' '.join(argv)} failed ({code}): {child.stderr.read().decode()}")
        out.seek(0)
        text = out.read().decode()
    return elapsed, usage.ru_maxrss / 1024, text, usage.ru_utime + usage.ru_stime


def me(*args: str) -> list[str]:
    return [sys.executable, str(Path(__file__).resolve()), "--child", *args]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--purge-students", type=int, default=1_000_000)
    parser.add_argument("--purge-as-of", help="skip the search for the purge day")
    parser.add_argument("--only", choices=["retention", "purge"])
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        CHILDREN[args.child[0]](*args.child[1:])
        return
    db = ensure_store(args.students)
    size = db.stat().st_size / 2**30
    rows: dict[str, dict[str, list[float]]] = {}
    loads: list[float] = []

    def record(name: str, seconds: float, peak: float | None, cpu: float | None) -> None:
        row = rows.setdefault(name, {"wall": [], "peak": [], "cpu": []})
        row["wall"].append(seconds)
        if peak is not None:
            row["peak"].append(peak)
        if cpu is not None:
            row["cpu"].append(cpu)

    run([*HEATTOOL, "--help"])  # warm-up: bytecode, page cache
    if args.only in (None, "retention"):
        command = [*HEATTOOL, "retention", "--db", str(db), "--as-of", AS_OF, "--format", "json"]
        for number in range(args.repeat):
            loads.append(os.getloadavg()[0])
            seconds, peak, _, cpu = run(command)
            record("`heattool retention --format json` (whole process)", seconds, peak, cpu)
            print(f"retention run {number + 1}: {seconds:.2f} s, {peak:.0f} MiB", flush=True)
            loads.append(os.getloadavg()[0])
            _, _, text, _ = run(me("store-retention", str(db), AS_OF), stdout=None)
            found = json.loads(text)
            record("`store_retention(...)` alone (in-process)", found["seconds"], None, None)
            print(
                f"store_retention run {number + 1}: {found['seconds']:.2f} s, "
                f"{found['rows']:,} rows {found['counts']}",
                flush=True,
            )
    if args.only in (None, "purge"):
        if args.purge_as_of:
            day = args.purge_as_of
        else:
            _, _, text, _ = run(me("pick-day", str(db), str(args.purge_students)), stdout=None)
            picked = json.loads(text)
            day = picked["day"]
            print(f"purge day {day}: {picked['due']:,} students deletion-ready", flush=True)
        with tempfile.TemporaryDirectory(dir=db.parent) as folder:
            copy = Path(folder) / "copy.duckdb"
            for number in range(args.repeat):
                shutil.copyfile(db, copy)
                command = [*HEATTOOL, "purge", "--db", str(copy), "--as-of", day, "--yes"]
                command += ["--format", "json", "--receipt", str(Path(folder) / "receipt.json")]
                loads.append(os.getloadavg()[0])
                seconds, peak, text, cpu = run(command, stdout=None)
                loads.append(os.getloadavg()[0])
                done = json.loads(text)
                name = f"`heattool purge --as-of {day} --yes` ({done['people']:,} students)"
                record(name, seconds, peak, cpu)
                print(
                    f"purge run {number + 1}: {seconds:.2f} s, {peak:.0f} MiB, "
                    f"{done['people']:,} people, rows {done['rows_deleted']}",
                    flush=True,
                )
                copy.unlink()
    print()
    print(
        f"{args.students:,} students in a {size:.1f} GiB store; {args.repeat} runs each; "
        f"Python {platform.python_version()}, {os.cpu_count()} cores; load average (1 min) "
        f"around the runs {min(loads):.2f}-{max(loads):.2f}"
    )
    print()
    print("| what | median | min | CPU (median) | peak RSS | target | met |")
    print("|---|---|---|---|---|---|---|")
    for name, row in rows.items():
        wall = statistics.median(row["wall"])
        cpu = f"{statistics.median(row['cpu']):.1f} s" if row["cpu"] else "-"
        peak = f"{max(row['peak']):.0f} MiB" if row["peak"] else "-"
        met = "yes" if wall < TARGET_SECONDS else "no"
        print(
            f"| {name} | {wall:.2f} s | {min(row['wall']):.2f} s | {cpu} | {peak} | "
            f"< {TARGET_SECONDS:.0f} s | {met} |"
        )


if __name__ == "__main__":
    main()
