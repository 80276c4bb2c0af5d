"""Crash consistency: `kill -9` heattool at random points and check the store is before or after.

Three writes are tried, each on a copy of a store that already holds data:

- `heattool import` of a large upload (students, half of them already stored and changed, half
  new, with about 1% invalid rows) and a register of as many attendance rows;
- `heattool purge --yes` of everything due by a far-off day (every student of the member);
- `heattool subject erase --yes` of one person with register rows.

Each command is first run to the end on its own copy, to know the store after it and how long it
takes. Then, for each of K kill points t spread over that time (stratified, with jitter), a fresh
copy is made, the command started as a process (`python -m heattool ...`), killed with SIGKILL
after t, and the store checked:

- it opens as heattool opens it (`Store.open_existing`, as every command does);
- it is exactly as before or exactly as after: the row count of every table (students,
  activities, attendance, ambassadors, members, import_batches, audit_events, audit_records,
  suppression_list) and a checksum of the student and attendance rows (their content, without
  the random heat_id and the timestamps), never anything between;
- a receipt (purge, erase) is never there when the store is as before, and is whole JSON when
  it is there.

    .venv/bin/python benchmarks/crash.py --students 50000 --kills 30    # the full run
    .venv/bin/python benchmarks/crash.py --students 5000 --kills 3      # about what CI runs

It prints each kill point (ms after the start), what the process had got to, and the outcome.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
MEMBER = "KENT"
AS_OF = "2026-11-24"
PURGE_AS_OF = "2090-01-01"  # every record is overdue by then
HEATTOOL = [sys.executable, "-m", "heattool"]
COUNTED = (
    "members",
    "students",
    "activities",
    "attendance",
    "ambassadors",
    "import_batches",
    "audit_events",
    "audit_records",
    "suppression_list",
)
VOLATILE = "heat_id, created_at, updated_at"


def environment() -> dict[str, str]:
    """The caller's environment without heattool's own variables (no stray store or key)."""
    return {k: v for k, v in os.environ.items() if not k.startswith("HEATTOOL_")}


def heattool(args: list[str], cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*HEATTOOL, *args], cwd=cwd, env=environment(), capture_output=True, text=True, check=False
    )
    if check and done.returncode not in (0, 1):
        raise RuntimeError(f"heattool {' '.join(args)}: exit {done.returncode}: {done.stderr}")
    return done


def store_state(db: Path) -> dict[str, object]:
    """Row counts of every table and checksums of the student and attendance rows' content."""
    import duckdb

    con = duckdb.connect(str(db))  # read-write, as heattool opens it: a log is replayed
    try:
        state: dict[str, object] = {
            name: con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]  # type: ignore[index]
            for name in COUNTED
        }
        for name, exclude in (("students", VOLATILE), ("attendance", "created_at")):
            state[f"{name}_checksum"] = con.execute(
                f"SELECT coalesce(sum(hash(t)::HUGEINT), 0)::VARCHAR "
                f"FROM (SELECT * EXCLUDE ({exclude}) FROM {name}) AS t"
            ).fetchone()[0]  # type: ignore[index]
        return state
    finally:
        con.close()


def copy_store(source: Path, target: Path) -> Path:
    shutil.copyfile(source, target)
    os.chmod(target, 0o600)
    return target


# -- the data -----------------------------------------------------------------------------------


def write_uploads(folder: Path, students: int) -> dict[str, Path]:
    """Activities, a first students upload (half), the big one (all, the first half changed),
    and a register of `students` rows over them all."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from generate import HEADINGS, add_errors
    from generate import students as make_students

    frame = make_students(students)
    half = frame.head(students // 2)
    half.rename(HEADINGS).write_csv(folder / "students-first.csv")
    changed = frame.with_columns(
        pl.when(pl.int_range(pl.len()) < students // 2)
        .then(pl.lit("Moved School"))
        .otherwise(pl.col("school"))
        .alias("school")
    )
    add_errors(changed).rename(HEADINGS).write_csv(folder / "students.csv")
    activities = pl.DataFrame(
        {
            "Activity Ref": [f"CR{n:03d}" for n in range(40)],
            "Activity Name": [f"Crash activity {n}" for n in range(40)],
            "Activity Type": ["Campus visit"] * 40,
            "Start Date": [f"{1 + n % 28:02d}/0{1 + n % 9}/2025" for n in range(40)],
        }
    )
    activities.write_csv(folder / "activities.csv")
    refs = frame.get_column("student_ref")
    register = pl.DataFrame(
        {
            "Student Ref": refs,
            "Activity Ref": [f"CR{n % 40:03d}" for n in range(students)],
            "Date Attended": [f"{1 + n % 28:02d}/0{1 + n % 9}/2025" for n in range(students)],
        }
    )
    register.write_csv(folder / "attendance.csv")
    return {
        "activities": folder / "activities.csv",
        "students-first": folder / "students-first.csv",
        "students": folder / "students.csv",
        "attendance": folder / "attendance.csv",
    }


@dataclass
class Scenario:
    """One write to kill: its command (given the store's path) and the stores before and after."""

    name: str
    args: list[str]  # with "{db}" and "{dir}" for the store and the work folder
    before_db: Path
    before: dict[str, object] = field(default_factory=dict)
    after: dict[str, object] = field(default_factory=dict)
    seconds: float = 0.0  # the whole process, start to exit, when not killed
    receipt: bool = False

    def command(self, db: Path, folder: Path) -> list[str]:
        return [a.replace("{db}", str(db)).replace("{dir}", str(folder)) for a in self.args]


def prepare(folder: Path, students: int) -> list[Scenario]:
    """The stores and commands of the three scenarios, each run once to the end."""
    files = write_uploads(folder, students)
    base = folder / "base.duckdb"
    examples = [EXAMPLES / f"{k}.csv" for k in ("activities", "students", "attendance")]
    heattool(
        ["import", *map(str, examples), "--member", MEMBER, "--db", str(base), "--as-of", AS_OF],
        folder,
    )
    heattool(
        [
            "import",
            str(files["activities"]),
            str(files["students-first"]),
            "--member",
            MEMBER,
            "--db",
            str(base),
            "--as-of",
            AS_OF,
        ],
        folder,
    )
    load = Scenario(
        "import",
        [
            "import",
            str(files["activities"]),
            str(files["students"]),
            str(files["attendance"]),
            "--member",
            MEMBER,
            "--db",
            "{db}",
            "--as-of",
            AS_OF,
            "--rejects-out",
            "{dir}/rejects.csv",
        ],
        base,
    )
    loaded = folder / "loaded.duckdb"
    measure(load, folder, keep=loaded)
    purge = Scenario(
        "purge",
        [
            "purge",
            "--as-of",
            PURGE_AS_OF,
            "--member",
            MEMBER,
            "--yes",
            "--allow-future",  # a far-off day: everything is due
            "--db",
            "{db}",
            "--receipt",
            "{dir}/receipt.json",
        ],
        loaded,
        receipt=True,
    )
    measure(purge, folder)
    import duckdb

    con = duckdb.connect(str(loaded), read_only=True)
    try:
        heat_id = con.execute(
            "SELECT s.heat_id::VARCHAR FROM students s"
            " JOIN attendance a USING (member, student_ref)"
            " GROUP BY ALL ORDER BY count(*) DESC, 1 LIMIT 1"
        ).fetchone()[0]  # type: ignore[index]
    finally:
        con.close()
    erase = Scenario(
        "subject erase",
        ["subject", "erase", heat_id, "--yes", "--db", "{db}", "--receipt", "{dir}/receipt.json"],
        loaded,
        receipt=True,
    )
    measure(erase, folder)
    return [load, purge, erase]


def measure(scenario: Scenario, folder: Path, keep: Path | None = None) -> None:
    """Run the scenario's command to the end on a copy: the store after it, and its time."""
    work = Path(tempfile.mkdtemp(dir=folder))
    db = copy_store(scenario.before_db, work / "store.duckdb")
    scenario.before = store_state(db)
    start = time.perf_counter()
    done = heattool(scenario.command(db, work), work)
    scenario.seconds = time.perf_counter() - start
    scenario.after = store_state(db)
    if scenario.after == scenario.before:
        raise RuntimeError(f"{scenario.name} changed nothing: {done.stdout}{done.stderr}")
    if keep is not None:
        shutil.copyfile(db, keep)
    shutil.rmtree(work)


# -- killing ------------------------------------------------------------------------------------


@dataclass
class Kill:
    scenario: str
    at_ms: int
    finished: bool  # the process had exited before the kill
    outcome: str  # before, after, between, does-not-open
    detail: str = ""


def kill_at(scenario: Scenario, seconds: float, folder: Path) -> Kill:
    """Start the command on a fresh copy, SIGKILL it after `seconds`, and judge the store."""
    work = Path(tempfile.mkdtemp(dir=folder))
    try:
        db = copy_store(scenario.before_db, work / "store.duckdb")
        process = subprocess.Popen(
            [*HEATTOOL, *scenario.command(db, work)],
            cwd=work,
            env=environment(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
        )
        start = time.perf_counter()
        while (elapsed := time.perf_counter() - start) < seconds and process.poll() is None:
            time.sleep(min(0.005, max(0.0, seconds - elapsed)))
        finished = process.poll() is not None
        if finished:
            scenario.seconds = min(scenario.seconds, elapsed)  # it ran faster than measured
        else:
            os.kill(process.pid, signal.SIGKILL)
        process.wait()
        at_ms = round(seconds * 1000)
        problem = opens(db)
        if problem:
            return Kill(scenario.name, at_ms, finished, "does-not-open", problem)
        state = store_state(db)
        if state == scenario.before:
            outcome = "before"
        elif state == scenario.after:
            outcome = "after"
        else:
            diff = ", ".join(
                f"{k}: before {scenario.before[k]}, after {scenario.after[k]}, now {v}"
                for k, v in state.items()
                if v not in (scenario.before[k], scenario.after[k])
            )
            return Kill(scenario.name, at_ms, finished, "between", diff)
        detail = ""
        receipt = work / "receipt.json"
        if scenario.receipt and receipt.exists():
            try:
                json.loads(receipt.read_text("utf-8"))
            except (ValueError, UnicodeDecodeError):
                return Kill(scenario.name, at_ms, finished, "partial-receipt", receipt.read_text())
            if outcome == "before":
                return Kill(scenario.name, at_ms, finished, "receipt-without-change")
            detail = "receipt written"
        elif scenario.receipt and outcome == "after":
            detail = "no receipt (killed between the commit and the receipt)"
        return Kill(scenario.name, at_ms, finished, outcome, detail)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def opens(db: Path) -> str | None:
    """None if heattool opens the store as every command does (migrations, checks); else why."""
    from heattool.store import Store

    try:
        with Store.open_existing(db):
            return None
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}"


def kill_points(scenario: Scenario, count: int, rng: random.Random) -> Iterator[float]:
    """`count` times spread over the run, one in each stratum, drawn one at a time: a run that
    ended before its kill point shortens the span (the machine is shared; runs vary)."""
    for i in range(count):
        yield scenario.seconds * 1.3 * (i + rng.random()) / count  # a little past the end too


def run(
    students: int, kills: int, seed: int = 0, folder: Path | None = None, verbose: bool = False
) -> tuple[list[Scenario], list[Kill]]:
    rng = random.Random(seed)
    own = folder is None
    folder = Path(tempfile.mkdtemp(prefix="heattool-crash-")) if folder is None else folder
    try:
        scenarios = prepare(folder, students)
        results = []
        for scenario in scenarios:
            if verbose:
                print(f"{scenario.name}: {scenario.seconds:.2f} s to the end", flush=True)
            for seconds in kill_points(scenario, kills, rng):
                kill = kill_at(scenario, seconds, folder)
                results.append(kill)
                if verbose:
                    state = "exited before the kill" if kill.finished else "killed"
                    print(
                        f"  {kill.at_ms:6d} ms  {state:22s}  {kill.outcome:8s} {kill.detail}",
                        flush=True,
                    )
        return scenarios, results
    finally:
        if own:
            shutil.rmtree(folder, ignore_errors=True)


BAD = ("between", "does-not-open", "partial-receipt", "receipt-without-change")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=50_000)
    parser.add_argument("--kills", type=int, default=30, help="kill points per scenario")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    scenarios, kills = run(args.students, args.kills, args.seed, verbose=True)
    print(f"\n{len(kills)} kill points in {time.perf_counter() - start:.0f} s")
    for scenario in scenarios:
        mine = [k for k in kills if k.scenario == scenario.name]
        counts = Counter(k.outcome for k in mine)
        finished = sum(k.finished for k in mine)
        print(
            f"  {scenario.name}: {len(mine)} kills ({finished} after it had exited): "
            + ", ".join(f"{o} {n}" for o, n in sorted(counts.items()))
        )
    bad = [k for k in kills if k.outcome in BAD]
    for kill in bad:
        print(f"BAD {kill.scenario} at {kill.at_ms} ms: {kill.outcome}: {kill.detail}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
