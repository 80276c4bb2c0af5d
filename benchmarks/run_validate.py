"""Time `heattool validate` against its peers, each a whole process, and print a markdown report.

Contenders, run round-robin on the same generated upload (see generate.py) so that load from
other users of the machine falls on all of them alike:

- heattool: `heattool validate FILE --format json --as-of 2026-11-24` from the main venv,
  which must not contain pandas;
- bare read: `polars.read_csv(FILE, infer_schema=False)` and nothing else;
- frictionless: `frictionless validate` with the equivalent Table Schema students.schema.json;
- pandas + pandera: pandas_pandera_validate.py, a Pandera DataFrameModel with the same checks.

Wall time is taken around each child; peak RSS comes from `/usr/bin/time -f %M` when present,
else from the child's own rusage (os.wait4). Children run with bytecode caching on (an inherited
PYTHONDONTWRITEBYTECODE is dropped) after one untimed warm-up of each contender, so imports cost
what they cost an installed tool, not a first compile. The peers live in a separate environment:

    UV_PROJECT_ENVIRONMENT=.venv-bench uv sync --frozen --group bench
    uv run --frozen python benchmarks/run_validate.py
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
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
AS_OF = "2026-11-24"
GNU_TIME = "/usr/bin/time"
VERSIONS = {  # distribution -> environment it is reported from
    "polars": "main",
    "pandera": "main",
    "typer": "main",
    "frictionless": "bench",
    "pandas": "bench",
}


@dataclass
class Contender:
    """One way to check the upload, as a command line with `{file}` in it."""

    name: str
    argv: list[str]
    ok_codes: tuple[int, ...] = (0, 1)  # 1: the upload is invalid, as it is meant to be


@dataclass
class Timing:
    name: str
    rows: int
    walls: list[float] = field(default_factory=list)
    rss_mb: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.walls)

    @property
    def best(self) -> float:
        return min(self.walls)

    @property
    def rss(self) -> float:
        return max(self.rss_mb)


def contenders(main_venv: Path, bench_venv: Path) -> list[Contender]:
    main_bin, bench_bin = main_venv / "bin", bench_venv / "bin"
    # fmt: off
    return [
        Contender("heattool validate", [
            str(main_bin / "heattool"), "validate", "{file}", "--format", "json", "--as-of", AS_OF,
        ]),
        Contender("bare polars.read_csv", [
            str(main_bin / "python"), "-c",
            "import sys, polars; polars.read_csv(sys.argv[1], infer_schema=False)", "{file}",
        ], ok_codes=(0,)),
        Contender("frictionless validate", [
            str(bench_bin / "frictionless"), "validate", "--json",
            "--limit-errors", "100000000",  # read the whole file, as the others do
            "--schema", "benchmarks/students.schema.json", "{file}",
        ]),
        Contender("pandas + pandera", [
            str(bench_bin / "python"), "benchmarks/pandas_pandera_validate.py", "{file}",
            "--as-of", AS_OF,
        ]),
    ]
    # fmt: on


CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def run_once(argv: list[str]) -> tuple[float, float, int]:
    """Run argv from the repository root, output discarded: (wall s, peak RSS MB, exit code)."""
    if os.path.exists(GNU_TIME):
        with tempfile.NamedTemporaryFile("r", suffix=".time") as report:
            start = time.perf_counter()
            done = subprocess.run(
                [GNU_TIME, "-f", "%M", "-o", report.name, *argv],
                cwd=ROOT,
                env=CHILD_ENV,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.PIPE,
            )
            wall = time.perf_counter() - start
            lines = report.read().split()
            rss_kb = float(lines[-1])
        code, stderr = done.returncode, done.stderr
    else:
        start = time.perf_counter()
        child = subprocess.Popen(
            argv, cwd=ROOT, env=CHILD_ENV, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        stderr = child.stderr.read() if child.stderr else b""
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = code = os.waitstatus_to_exitcode(status)
        rss_kb = usage.ru_maxrss  # kilobytes on Linux
    if code < 0:
        raise RuntimeError(f"{argv[0]} died: {stderr.decode(errors='replace')[-500:]}")
    return wall, rss_kb / 1024, code


def measure(contenders: list[Contender], files: dict[int, Path], repeat: int, log) -> list[Timing]:
    smallest = files[min(files)].relative_to(ROOT)
    for contender in contenders:  # warm-up: bytecode caches, page cache
        run_once([a.replace("{file}", str(smallest)) for a in contender.argv])
    timings = []
    for rows, path in files.items():
        here = {c.name: Timing(c.name, rows) for c in contenders}
        for attempt in range(1, repeat + 1):
            for contender in contenders:
                argv = [a.replace("{file}", str(path.relative_to(ROOT))) for a in contender.argv]
                wall, rss, code = run_once(argv)
                if code not in contender.ok_codes:
                    raise RuntimeError(f"{contender.name} exited {code}: {' '.join(argv)}")
                here[contender.name].walls.append(wall)
                here[contender.name].rss_mb.append(rss)
                log(f"{rows:>9,} rows  run {attempt}/{repeat}  {contender.name:<22} "
                    f"{wall:7.2f} s  {rss:7.0f} MB")  # fmt: skip
        timings.extend(here.values())
    return timings


def time_help(main_venv: Path, repeat: int) -> Timing:
    timing = Timing("heattool --help", 0)
    for _ in range(repeat):
        wall, rss, code = run_once([str(main_venv / "bin" / "heattool"), "--help"])
        if code != 0:
            raise RuntimeError(f"heattool --help exited {code}")
        timing.walls.append(wall)
        timing.rss_mb.append(rss)
    return timing


def versions(main_venv: Path, bench_venv: Path) -> dict[str, str]:
    found = {}
    for env, venv in (("main", main_venv), ("bench", bench_venv)):
        names = [n for n, e in VERSIONS.items() if e == env]
        script = (
            "import importlib.metadata as m, json, sys;"
            "print(json.dumps({n: m.version(n) for n in sys.argv[1:]}))"
        )
        out = subprocess.run(
            [str(venv / "bin" / "python"), "-c", script, *names],
            capture_output=True,
            text=True,
            check=True,
        )
        found.update(json.loads(out.stdout))
    return found


def assert_pandas_free(main_venv: Path) -> None:
    probe = "import importlib.util as u, sys; sys.exit(u.find_spec('pandas') is not None)"
    if subprocess.run([str(main_venv / "bin" / "python"), "-c", probe]).returncode:
        sys.exit(f"{main_venv} contains pandas; the benchmark needs heattool's own environment")


def machine() -> dict[str, str]:
    meminfo = Path("/proc/meminfo")
    ram = "?"
    if meminfo.exists():
        kb = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        ram = f"{kb / 1024 / 1024:.1f} GiB"
    cpu = platform.processor() or "?"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "src"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    return {
        "heattool": f"{commit}{' with uncommitted changes in src/' if dirty else ''}",
        "cpus": str(os.cpu_count()),
        "cpu": cpu,
        "ram": ram,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load": "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()),
    }


BARE, FRICTIONLESS, HEATTOOL = "bare polars.read_csv", "frictionless validate", "heattool validate"


def ratio(top: Timing | None, bottom: Timing | None) -> str:
    """top ÷ bottom as `median (min)`, or a dash when either was not run."""
    if top is None or bottom is None:
        return "–"
    return f"{top.median / bottom.median:.1f} ({top.best / bottom.best:.1f})"


def report(
    timings: list[Timing], help_timing: Timing, info: dict, versions_: dict, repeat: int
) -> str:
    lines = [
        f"Run {dt.datetime.now():%Y-%m-%d %H:%M}, {repeat} runs of each contender, round-robin.",
        f"Machine: {info['cpus']} CPUs ({info['cpu']}), {info['ram']} RAM, {info['os']}, "
        f"Python {info['python']}; load average at start {info['load']}.",
        f"heattool at {info['heattool']}. Versions: "
        + ", ".join(f"{n} {v}" for n, v in versions_.items())
        + ".",
        "",
        "| rows | contender | wall median (s) | wall min (s) | peak RSS, max of runs (MB) "
        "| × bare read: median (min) | frictionless ÷ this: median (min) |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    by = {(t.rows, t.name): t for t in timings}
    for t in timings:
        bare, frictionless = by.get((t.rows, BARE)), by.get((t.rows, FRICTIONLESS))
        lines.append(
            f"| {t.rows:,} | {t.name} | {t.median:.2f} | {t.best:.2f} | {t.rss:.0f} "
            f"| {ratio(t, bare)} | {ratio(frictionless, t)} |"
        )
    lines += [
        "",
        f"`heattool --help`: median {help_timing.median:.3f} s, min {help_timing.best:.3f} s "
        f"over {len(help_timing.walls)} runs, peak RSS {help_timing.rss:.0f} MB.",
        "",
        "Targets (at the largest size):",
        "",
    ]
    largest = max(t.rows for t in timings)
    heattool = by.get((largest, HEATTOOL))
    bare, frictionless = by.get((largest, BARE)), by.get((largest, FRICTIONLESS))
    checks = [
        (f"{largest:,} rows validated in under 3× the bare read", heattool, bare, 3, "below"),
        ("at least 20× faster than frictionless", frictionless, heattool, 20, "above"),
    ]
    for label, top, bottom, limit, side in checks:
        if top is None or bottom is None:
            continue
        median = top.median / bottom.median
        met = median < limit if side == "below" else median >= limit
        verdict = "**met**" if met else "**not met**"
        lines.append(
            f"- {label}: {median:.2f}× median ({top.best / bottom.best:.2f}× min): {verdict}"
        )
    verdict = "**met**" if help_timing.median < 0.5 else "**not met**"
    lines.append(
        f"- `heattool --help` in under 0.5 s: {help_timing.median:.2f} s median "
        f"({help_timing.best:.2f} s min): {verdict}"
    )
    if heattool is not None:
        lines.append(
            f"- peak RSS of heattool at {largest:,} rows: {heattool.rss:.0f} MB"
            + (f" (bare read {bare.rss:.0f} MB)" if bare else "")
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each contender per size")
    parser.add_argument("--help-repeat", type=int, default=5, help="runs of `heattool --help`")
    parser.add_argument("--main-venv", type=Path, default=ROOT / ".venv")
    parser.add_argument("--bench-venv", type=Path, default=ROOT / ".venv-bench")
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="WORD",
        help="run only the contenders whose name starts with one of these words, "
        "e.g. `--only heattool bare` for a quick check",
    )
    parser.add_argument("--json", type=Path, help="also write the raw timings here")
    args = parser.parse_args()

    for venv, hint in ((args.main_venv, "uv sync"), (args.bench_venv, "see the docstring")):
        if not (venv / "bin" / "python").exists():
            sys.exit(f"no environment at {venv}; {hint}")
    assert_pandas_free(args.main_venv)
    if shutil.which("frictionless", path=str(args.bench_venv / "bin")) is None:
        sys.exit(f"frictionless is not in {args.bench_venv}; sync the bench group into it")

    sys.path.insert(0, str(BENCH_DIR))
    from generate import DATA_DIR, write_upload

    files = {rows: write_upload(rows, DATA_DIR) for rows in args.rows}  # deterministic

    def log(text: str) -> None:
        print(text, file=sys.stderr, flush=True)

    info = machine()
    found = versions(args.main_venv, args.bench_venv)
    help_timing = time_help(args.main_venv, args.help_repeat)
    chosen = [
        c
        for c in contenders(args.main_venv, args.bench_venv)
        if not args.only or c.name.split()[0] in args.only
    ]
    timings = measure(chosen, files, args.repeat, log)
    info_end = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    text = report(timings, help_timing, info, found, args.repeat)
    print(text + f"\nLoad average at the end: {info_end}.")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        raw = [t.__dict__ for t in [*timings, help_timing]]
        args.json.write_text(json.dumps({"machine": info, "versions": found, "runs": raw}))


if __name__ == "__main__":
    main()
