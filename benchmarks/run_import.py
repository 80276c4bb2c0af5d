"""Time `heattool import` of a generated student upload against `heattool validate` of it.

Each run is a whole process, as a data officer or cron runs it, round-robin so that load from
other users of the machine falls on all three alike:

- validate: `heattool validate FILE --format json`;
- import (empty store): `heattool import FILE --member BENCH --db <new store>`;
- re-import (all unchanged): the same command again on the store just made.

The upload comes from generate.py (about 1% of rows carry a deliberate error, so the import also
writes a rejects file). Wall time is taken around each child; peak RSS from the child's rusage
(os.wait4). The targets: import under 3x validate, re-import no slower than import.

    .venv/bin/python benchmarks/run_import.py --rows 1000000 --rounds 3
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

BENCH_DIR = Path(__file__).resolve().parent
AS_OF = "2026-11-24"
HEATTOOL = [sys.executable, "-m", "heattool"]


def upload(rows: int) -> Path:
    path = BENCH_DIR / "data" / f"students_{rows}.csv"
    if not path.exists():
        sys.path.insert(0, str(BENCH_DIR))
        from generate import write_upload

        write_upload(rows)
    return path


def run(argv: list[str]) -> tuple[float, float, int]:
    """Wall seconds, peak RSS in MiB and the exit code of one child process."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    started = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    _pid, status, usage = os.wait4(child.pid, 0)
    elapsed = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed ({code}): {child.stderr.read().decode()}")
    return elapsed, usage.ru_maxrss / 1024, code


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    path = upload(args.rows)
    times: dict[str, list[float]] = {"validate": [], "import": [], "re-import": []}
    peaks: dict[str, list[float]] = {name: [] for name in times}
    run([*HEATTOOL, "validate", str(BENCH_DIR / "data" / "students_1000.csv")])  # warm-up
    with tempfile.TemporaryDirectory() as folder:
        for number in range(args.rounds):
            db = Path(folder) / f"bench{number}.duckdb"
            load = [*HEATTOOL, "import", str(path), "--member", "BENCH", "--db", str(db)]
            load += ["--as-of", AS_OF, "--rejects-out", str(Path(folder) / "rejects.csv")]
            check = [*HEATTOOL, "validate", str(path), "--format", "json", "--as-of", AS_OF]
            commands = {
                "validate": check,
                "import": load,
                "re-import": load,
            }
            for name, argv in commands.items():
                seconds, peak, _code = run(argv)
                times[name].append(seconds)
                peaks[name].append(peak)
                print(f"round {number + 1} {name}: {seconds:.2f} s, {peak:.0f} MiB", flush=True)
    median = {name: statistics.median(values) for name, values in times.items()}
    print()
    print(f"{args.rows:,} student rows ({path.stat().st_size / 2**20:.0f} MiB CSV),")
    print(f"median of {args.rounds} rounds, {platform.python_version()}, {os.cpu_count()} cores")
    print()
    print("| command | median wall time | ratio to validate | peak RSS |")
    print("|---|---|---|---|")
    for name in times:
        print(
            f"| {name} | {median[name]:.2f} s | {median[name] / median['validate']:.2f}x | "
            f"{max(peaks[name]):.0f} MiB |"
        )


if __name__ == "__main__":
    main()
