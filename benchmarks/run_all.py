"""Run every heattool benchmark and write docs/benchmarks.md from the results.

Each timed command is a whole process, as a data officer or cron runs it; the contenders of a
benchmark run round-robin, so that load from other users of the machine falls on all of them
alike, and the medians are reported. heattool runs from an environment without the dev group
(`.venv-run`, as users install it: no Hypothesis, which Pandera imports when it is present).

    UV_PROJECT_ENVIRONMENT=.venv-run uv sync --frozen --no-dev       # heattool as installed
    UV_PROJECT_ENVIRONMENT=.venv-bench uv sync --frozen --group bench  # frictionless, pandas
    .venv/bin/python benchmarks/run_all.py            # full sizes; writes docs/benchmarks.md
    .venv/bin/python benchmarks/run_all.py --quick    # 100k rows, a 1M store: a few minutes

`--before DIR` also times another checkout (with its own `.venv-run`) in the same rounds,
interleaved, and prints before/after ratios; the document shows only this checkout's figures.
Generated data goes to benchmarks/data (ignored by git) and is reused.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent
DATA = BENCH_DIR / "data"
DOC = ROOT / "docs" / "benchmarks.md"
sys.path.insert(0, str(BENCH_DIR))

VALIDATE_AS_OF = "2026-11-24"
RETENTION_AS_OF = "2030-09-01"
PURGE_AS_OF = "2023-09-01"  # the 1 September on which about 9.5% of the store is due
CHILD_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


@dataclass
class Tree:
    """A checkout of heattool and the environment its commands run from."""

    name: str
    root: Path

    @property
    def venv(self) -> Path:
        run = self.root / ".venv-run"
        return run if run.exists() else self.root / ".venv"

    @property
    def heattool(self) -> list[str]:
        return [str(self.venv / "bin" / "heattool")]

    def commit(self) -> str:
        out = subprocess.run(
            ["git", "-C", str(self.root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
        )
        return out.stdout.strip() or "?"


@dataclass
class Timing:
    benchmark: str
    what: str
    size: int
    tree: str
    walls: list[float] = field(default_factory=list)
    peaks: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.walls)

    @property
    def peak(self) -> float:
        return max(self.peaks)


@dataclass
class Results:
    timings: list[Timing] = field(default_factory=list)
    loads: list[float] = field(default_factory=list)
    notes: dict[str, str] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)

    def add(self, benchmark: str, what: str, size: int, tree: str, wall: float, peak: float):
        for t in self.timings:
            if (t.benchmark, t.what, t.size, t.tree) == (benchmark, what, size, tree):
                break
        else:
            t = Timing(benchmark, what, size, tree)
            self.timings.append(t)
        t.walls.append(wall)
        t.peaks.append(peak)

    def get(self, benchmark: str, what: str, size: int, tree: str = "after") -> Timing | None:
        for t in self.timings:
            if (t.benchmark, t.what, t.size, t.tree) == (benchmark, what, size, tree):
                return t
        return None


def run(argv: list[str], ok: tuple[int, ...] = (0,), stdout: Path | None = None):
    """Wall seconds, peak RSS (MiB) and stdout of one child, which must exit with a code in ok."""
    with tempfile.TemporaryFile() as out:
        started = time.perf_counter()
        child = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=CHILD_ENV,
            stdout=out if stdout is None else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        code = os.waitstatus_to_exitcode(status)
        if code not in ok:
            err = child.stderr.read().decode(errors="replace")[-800:]
            raise SystemExit(f"{' '.join(argv)} exited {code}: {err}")
        out.seek(0)
        return wall, usage.ru_maxrss / 1024, out.read().decode(errors="replace")


class Bench:
    def __init__(self, trees: list[Tree], rounds: int, results: Results, log: Callable):
        self.trees, self.rounds, self.results, self.log = trees, rounds, results, log

    def rounds_of(
        self, benchmark: str, size: int, commands: dict[str, Callable], rounds: int | None = None
    ):
        """Round-robin: each round runs every command for every tree (their order alternates).

        A command is `f(tree, round)`, once per tree, or a `Peer`, run once a round.
        """
        for number in range(rounds or self.rounds):
            trees = self.trees if number % 2 == 0 else self.trees[::-1]
            self.results.loads.append(os.getloadavg()[0])
            for what, command in commands.items():
                if isinstance(command, Peer):
                    runs = [("peer", command.run)]
                else:
                    runs = [(t.name, lambda t=t, c=command, n=number: c(t, n)) for t in trees]
                for name, go in runs:
                    wall, peak = go()
                    self.results.add(benchmark, what, size, name, wall, peak)
                    self.log(f"{benchmark} {size:,} {what} [{name}] {wall:.2f} s {peak:.0f} MiB")
            self.results.loads.append(os.getloadavg()[0])


@dataclass
class Peer:
    """A command that does not depend on heattool's checkout: run once a round."""

    run: Callable[[], tuple[float, float]]


def upload(rows: int) -> Path:
    path = DATA / f"students_{rows}.csv"
    if not path.exists():
        from generate import write_upload

        write_upload(rows)
    return path


def bench_help(b: Bench) -> None:
    def help_(tree: Tree, _n: int):
        return run([*tree.heattool, "--help"])[:2]

    for tree in b.trees:
        help_(tree, 0)  # warm-up: bytecode, page cache
    b.rounds_of("help", 0, {"heattool --help": help_}, rounds=max(5, b.rounds))


def bench_validate(
    b: Bench, sizes: list[int], peers: bool, peer_rounds: int, peers_up_to: int | None
) -> None:
    bench_venv = ROOT / ".venv-bench"
    peers = peers and bench_venv.exists()
    bare_python = str(b.trees[0].venv / "bin" / "python")
    for size in sizes:
        path = str(upload(size))

        def heattool(tree: Tree, _n: int, path=path):
            argv = [*tree.heattool, "validate", path, "--format", "json", "--as-of", VALIDATE_AS_OF]
            return run(argv, ok=(0, 1))[:2]

        def bare(path=path):
            code = "import sys, polars; polars.read_csv(sys.argv[1], infer_schema=False)"
            return run([bare_python, "-c", code, path])[:2]

        def frictionless(path=path):
            argv = [str(bench_venv / "bin" / "frictionless"), "validate", "--json"]
            argv += ["--limit-errors", "100000000", "--schema", "benchmarks/students.schema.json"]
            # frictionless refuses an absolute path ("not safe") and exits at once
            return run([*argv, os.path.relpath(path, ROOT)], ok=(0, 1))[:2]

        def pandera(path=path):
            argv = [str(bench_venv / "bin" / "python"), "benchmarks/pandas_pandera_validate.py"]
            return run([*argv, path, "--as-of", VALIDATE_AS_OF], ok=(0, 1))[:2]

        small = str(upload(1000))
        for tree in b.trees:  # warm-up
            run([*tree.heattool, "validate", small, "--format", "json"], ok=(0, 1))
        b.rounds_of(
            "validate", size, {"heattool validate": heattool, "bare polars.read_csv": Peer(bare)}
        )
        if peers and (peers_up_to is None or size <= peers_up_to):
            b.rounds_of(
                "validate",
                size,
                {"frictionless validate": Peer(frictionless), "pandas + pandera": Peer(pandera)},
                rounds=peer_rounds,
            )


def bench_import(b: Bench, size: int) -> None:
    path = str(upload(size))
    with tempfile.TemporaryDirectory(dir=DATA) as folder:

        def command(tree: Tree, n: int) -> list[str]:
            db = Path(folder) / f"{tree.name}-{n}.duckdb"
            argv = [*tree.heattool, "import", path, "--member", "BENCH", "--db", str(db)]
            return [*argv, "--as-of", VALIDATE_AS_OF, "--rejects-out", f"{folder}/rejects.csv"]

        def validate(tree: Tree, _n: int):
            argv = [*tree.heattool, "validate", path, "--format", "json", "--as-of", VALIDATE_AS_OF]
            return run(argv, ok=(0, 1))[:2]

        def first(tree: Tree, n: int):
            return run(command(tree, n), ok=(0, 1))[:2]

        def again(tree: Tree, n: int):
            wall, peak, _ = run(command(tree, n), ok=(0, 1))
            for leftover in Path(folder).glob(f"{tree.name}-{n}.duckdb*"):
                leftover.unlink()
            return wall, peak

        b.rounds_of(
            "import",
            size,
            {"validate": validate, "import into an empty store": first, "re-import": again},
        )


def bench_retention(b: Bench, students: int) -> None:
    from run_retention_store import ensure_store

    db = ensure_store(students)
    b.results.notes["retention_store_gib"] = f"{db.stat().st_size / 2**30:.2f}"

    def status(tree: Tree, _n: int):
        argv = [*tree.heattool, "retention", "--db", str(db), "--as-of", RETENTION_AS_OF]
        return run(argv)[:2]

    with tempfile.TemporaryDirectory(dir=DATA) as folder:
        copy = Path(folder) / "copy.duckdb"

        def purge(tree: Tree, _n: int):
            shutil.copyfile(db, copy)
            argv = [*tree.heattool, "purge", "--db", str(copy), "--as-of", PURGE_AS_OF, "--yes"]
            argv += ["--format", "json", "--receipt", f"{folder}/receipt.json"]
            wall, peak, out = run(argv)
            done = json.loads(out)
            b.results.notes[f"purge_{students}"] = f"{done['people']:,} students"
            b.results.notes[f"purge_rows_{students}"] = f"{sum(done['rows_deleted'].values()):,}"
            for leftover in Path(folder).glob("copy.duckdb*"):
                leftover.unlink()
            return wall, peak

        status(b.trees[0], 0)  # warm-up: page cache
        b.rounds_of("retention", students, {"heattool retention": status, "heattool purge": purge})


def bench_track(b: Bench, students: int) -> None:
    from run_track_request import make_store

    with tempfile.TemporaryDirectory(dir=DATA) as folder:
        made = Path(folder) / "made.duckdb"
        make_store(made, students)
        stores = {}
        for tree in b.trees:  # each its own copy, so that both make the same requests
            stores[tree.name] = Path(folder) / f"{tree.name}.duckdb"
            shutil.copyfile(made, stores[tree.name])
        made.unlink()

        def request(tree: Tree, n: int):
            out = Path(folder) / f"{tree.name}-hesa.csv"
            argv = [*tree.heattool, "track-request", "--target", "hesa", "--year", str(2026 + n)]
            wall, peak, _ = run([*argv, "--db", str(stores[tree.name]), "--out", str(out)])
            return wall, peak

        b.rounds_of(
            "track", students, {"first request of a year": request, "the same again": request}
        )


# -- the document ---------------------------------------------------------------------------

OPTIMISATIONS = """\
### Validation

- **Polars checks UTF-8 while it parses**; Python decodes only to find a bad byte
  (`io/readers.py` `read_upload`, `_parse_csv`).
- **Every column is typed in one parallel `select`**, code lists and flags mapped from their
  distinct values (`schemas/parse.py` `parse_code`, `parse_bool`, `ColumnParser`); the date and
  postcode passes, which need whole Series and are mostly single-threaded, run on threads beside
  it (`schemas/validate.py` `validate_table`). Canonical postcodes skip normalising
  (`schemas/postcode.py` `normalise_postcodes`); one cheap scan finds the columns that need
  trimming (`schemas/parse.py` `clean_text`).
- **Duplicate refs are compared as text only where their hashes repeat** (`schemas/models.py`
  `_unique`), and failing cells are gathered, not joined (`schemas/validate.py` `_describe`).
- **Pandera is imported and the schemas built on a second thread while the upload is read**
  (`actions/validate.py` `validate`, `_prepare_schemas`; `background.py` `beside`).

### Import

- **DuckDB reads the upload in parallel**: `store/store.py` `Store.registered` hands a frame over
  as Arrow record batches of one row group (122,880 rows) each, strings as the views Polars holds
  (no copy); one batch would be read by one thread (0.2 s more at 1M rows). The purge and
  `people.identify` register their frames the same way.
- **Stores are written in DuckDB 1.5's storage format** (`store/store.py` `STORAGE_VERSION`):
  its DICT_FSST string compression writes a million students faster (INSERT 2.3 s to 1.7 s),
  for files about a fifth larger. A 1.0-format store is read as it is and moves at its next write.
- **The Expected HE Entry Year is worked out while Pandera checks the rows**
  (`validate_table(derive=...)`, from `actions/load.py` `_entry_year`), with the outward code read
  as everything before the space of a validated postcode.
- **pyarrow loads, and an existing store opens, on a second thread during validation**
  (`actions/load.py` `import_paths`, `_open_beside`), unless the store has a write-ahead log to
  replay; a new store is made only after every upload has been read.
- **A member's first upload of a kind is inserted straight from the upload in key order**,
  without classifying every row against an empty table (`store/loading.py` `insert_first`).
- **No foreign key from people to `members`, refs stored uncompressed** (migration
  `0004_people_keys_for_fast_deletion.sql`): DuckDB checked the foreign key's index on every
  inserted row. What remains of the import is DuckDB's `(member, student_ref)` primary-key index,
  which the store requires: built once in the INSERT and again at the commit.

### Retention and purge

- **The records query is a DuckDB relation, not a prepared statement** (`store/people.py`
  `records`), so DuckDB builds the Arrow result in parallel (10M people in about 65% of the time);
  the member filter, which is user input, is a session variable (`getvariable`). The uneven
  chunks are rechunked once. The progress bar, which a relation would draw on stdout, is off
  (`store/store.py`).
- **Each student's last activity is kept on their row** (`last_activity_on`, migration 0004,
  refreshed by `store/loading.py` `refresh_last_activity`): the query does not aggregate the
  register.
- **The policy's dates are computed once per distinct (rule, anchor) pair and looked up**
  (`rules/retention.py` `evaluate_policy`); the words of a reason are built only when asked for.
- **A purge judges everyone without member, ref and heat_id** (`people.records(ids=False)`, 70%
  of the query's time) and finds them again for the due only, by ROWID in the same transaction
  (`store/people.py` `identify`; `actions/purge.py` `plan_purge`).
- **Deleting is fast because of migration 0004**: with FSST-compressed refs, DuckDB decoded a block
  for every key it took out of the primary-key index (950k of 10M: 21 s + 18 s at commit; now
  1.2 s + 1.2 s), and the foreign key's index on `member` cost 1.6 s of the commit per million.
  Register rows go by a row-value `IN`, not `EXISTS` (`store/erasure.py` `PERSONAL_TABLES`).
- **The receipt is written on a second thread while DuckDB commits**, under a partial name renamed
  once the commit succeeds (`actions/purge.py` `purge`), its list of heat_ids joined, not encoded
  item by item, and in the plan's order (sorting a million cost 0.2 s).
- **`retention` shows the first 50 due records**, a top-k sorted lazily (`rules/deletion.py`
  `deletion_ready(first=...)`), with reasons for those only; `--format json` writes the due
  records with Polars `write_json` (`cli/render.py`).

### Track request

- **The file never passes through Python**: `store/exports.py` `write_query` has DuckDB `COPY`
  straight from the eligibility statement, Excel-safety done in SQL by the first character's code
  (`_excel_safe_sql`), while a second thread finishes the file behind its BOM and hashes it.
- **`preserve_insertion_order = false` for the request** (`store/track.py` `Request`): the file's
  row order is not promised, and this halved the COPY. Candidates go into a slim table (kind,
  member, heat_id, reason), not one with names.
"""

DESCRIPTIONS = {
    "validate": (
        "`heattool validate` against a bare `polars.read_csv` of the same file (the floor: "
        "reading it and nothing else), `frictionless validate` with the equivalent Table Schema "
        "(`benchmarks/students.schema.json`) and pandas + Pandera "
        "(`benchmarks/pandas_pandera_validate.py`, the same checks as vectorised custom checks). "
        "The uploads come from `benchmarks/generate.py` (seeded, byte-identical each time): UK "
        "names with accents, postcodes in mixed case and spacing, dates of birth in three "
        "formats, HESA codes and labels mixed, and 1% of rows with one deliberate error each. "
        "All four find the same planted errors."
    ),
    "import": (
        "`heattool import FILE --member BENCH` of the same upload into a new store (about 1% of "
        "rows rejected into a rejects file), then the same import again (every row unchanged), "
        "against `heattool validate` of the file."
    ),
    "retention": (
        "A synthetic store made in DuckDB SQL through the real migrations "
        "(`benchmarks/run_retention_store.py` `build_store`): three members, 1,002 activities "
        "2005-2025, about 2 register rows per student, dates of birth 1995-2015, permission to "
        "track 93% yes, 2% withdrawn. `heattool retention --as-of 2030-09-01` prints the status "
        "table (38.6% of the store is deletion-ready that day); `heattool purge --as-of "
        "2023-09-01 --yes` deletes the 9.5% due then, each run on a fresh copy of the store."
    ),
    "track": (
        "A store of synthetic students of two members (`benchmarks/run_track_request.py` "
        "`make_store`; entry years 2012-2030, 8% refused permission, 1% withdrawn). "
        "`heattool track-request --target hesa --year Y --out FILE` over the whole store: the "
        "first request for a year (file, manifest, batch of heat_ids, audit event), then the "
        "same again, which also works out what changed. Round n asks for Y = 2026 + n."
    ),
}


def fmt_size(n: int) -> str:
    return f"{n:,}"


def met(ok: bool) -> str:
    return "met" if ok else "**not met**"


def machine(results: Results) -> str:
    cpu = "?"
    info = Path("/proc/cpuinfo")
    if info.exists():
        for line in info.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    ram = "?"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kb = int(meminfo.read_text().split("MemTotal:")[1].split()[0])
        ram = f"{kb / 2**20:.1f} GiB"
    loads = results.loads or [0.0]
    return (
        f"{os.cpu_count()} cores ({cpu}), {ram} RAM, Linux {platform.release()}, Python "
        f"{platform.python_version()}; {results.notes.get('versions', '')}. Load average "
        f"(1 min) {min(loads):.1f}-{max(loads):.1f} during the runs, median "
        f"{statistics.median(loads):.1f}"
    )


def versions(tree: Tree) -> str:
    script = (
        "import importlib.metadata as m;"
        "print(', '.join(f'{n} {m.version(n)}' for n in "
        "('duckdb', 'polars', 'pandera', 'pyarrow', 'typer')))"
    )
    out = subprocess.run([str(tree.venv / "bin" / "python"), "-c", script], capture_output=True)
    return out.stdout.decode().strip()


def rounds_text(results: Results) -> str:
    counts = sorted({len(t.walls) for t in results.timings if t.tree == "after"})
    if not counts:
        return "no runs"
    span = str(counts[0]) if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    return f"medians of {span} runs of each command"


def row(t: Timing | None, base: Timing | None = None) -> str:
    if t is None:
        return "| - | - | - |"
    ratio = f" | {t.median / base.median:.2f}x" if base else ""
    return f"{t.median:.2f} s | {min(t.walls):.2f}-{max(t.walls):.2f} s | {t.peak:,.0f} MiB{ratio}"


def document(results: Results, args: argparse.Namespace, tree: Tree) -> str:
    g = results.get
    lines = [
        "# Benchmarks",
        "",
        "The figures below are the present code's, written by `benchmarks/run_all.py`; earlier",
        "runs are in git history. Each timed command is a whole process, as a data officer or cron",
        "runs it; the commands of a benchmark run round-robin, so that load from other users falls",
        "on all of them alike, and the medians are shown with the range of the runs. heattool runs",
        "from an environment without the dev group, as users install it (no Hypothesis, which",
        "Pandera imports when present, at about 0.1 s a run).",
        "",
        *textwrap.wrap(
            f"Measured at {tree.commit()}{' with `--quick`' if args.quick else ''}, "
            f"{rounds_text(results)}. Machine: {machine(results)}.",
            99,
        ),
        "",
        "To reproduce:",
        "",
        "    UV_PROJECT_ENVIRONMENT=.venv-run uv sync --frozen --no-dev",
        "    UV_PROJECT_ENVIRONMENT=.venv-bench uv sync --frozen --group bench",
        *(f"    {command}" for command in dict.fromkeys(results.commands) if command),
        "",
        "Each benchmark also has its own script, with more options: `run_validate.py`,",
        "`run_import.py`, `run_retention_store.py`, `run_track_request.py`; `run_retention.py`",
        "times the policy alone over records in memory.",
        "",
        "## Targets",
        "",
        "| target | figure | |",
        "|---|---|---|",
    ]
    targets = []
    vsize = max(args.validate_sizes)
    hv, bare = (
        g("validate", "heattool validate", vsize),
        g("validate", "bare polars.read_csv", vsize, "peer"),
    )
    if hv and bare:
        r = hv.median / bare.median
        targets.append((f"validate {fmt_size(vsize)} rows < 3x a bare read", f"{r:.2f}x", r < 3))
    ran = [n for n in args.validate_sizes if g("validate", "frictionless validate", n, "peer")]
    if ran:
        vsize = max(ran)
        hv = g("validate", "heattool validate", vsize)
        fr = g("validate", "frictionless validate", vsize, "peer")
    if ran and hv and fr:
        r = fr.median / hv.median
        if vsize >= 1_000_000:
            targets.append(
                (f"validate >= 20x faster than frictionless ({vsize:,})", f"{r:.1f}x", r >= 20)
            )
        else:  # fmt: skip
            name = f"validate >= 20x faster than frictionless (at 1M; here {vsize:,} rows)"
            lines_note = "not measured at 1M (heattool's lead grows with the file)"
            targets.append((name, f"{r:.1f}x", None))
            results.notes["frictionless_note"] = lines_note
    hp = g("help", "heattool --help", 0)
    if hp:
        targets.append(("`heattool --help` < 0.5 s", f"{hp.median:.2f} s", hp.median < 0.5))
    iv = g("import", "validate", args.import_rows)
    im = g("import", "import into an empty store", args.import_rows)
    ri = g("import", "re-import", args.import_rows)
    if iv and im and ri:
        r = im.median / iv.median
        targets.append(
            (f"import {fmt_size(args.import_rows)} rows < 3x validation", f"{r:.2f}x", r < 3)
        )
        targets.append(
            ("re-import no slower than import", f"{ri.median:.2f} s vs {im.median:.2f} s",
             ri.median <= im.median)
        )  # fmt: skip
    rt = g("retention", "heattool retention", args.store)
    pg = g("retention", "heattool purge", args.store)
    if rt:
        targets.append(
            (f"retention over {fmt_size(args.store)} < 10 s", f"{rt.median:.2f} s", rt.median < 10)
        )
    if pg:
        what = results.notes.get(f"purge_{args.store}", "")
        targets.append(
            (
                f"purge of {what} of {fmt_size(args.store)} < 10 s",
                f"{pg.median:.2f} s",
                pg.median < 10,
            )
        )
    tr = [g("track", w, args.track) for w in ("first request of a year", "the same again")]
    if all(tr):
        worst = max(t.median for t in tr)
        targets.append(
            (f"track request over {fmt_size(args.track)} < 15 s", f"{worst:.2f} s", worst < 15)
        )
    for name, figure, ok in targets:
        verdict = results.notes.get("frictionless_note", "-") if ok is None else met(ok)
        lines.append(f"| {name} | {figure} | {verdict} |")
    if args.quick or min(args.store, args.track) < 10_000_000 or args.import_rows < 1_000_000:
        lines += [
            "",
            "Some sizes here are smaller than the targets' (1M-row uploads, 10M-student stores);",
            "`benchmarks/run_all.py` without `--quick` or size options measures those.",
        ]
    loads = results.loads or [0.0]
    if statistics.median(loads) > (os.cpu_count() or 1):
        lines += [
            "",
            f"The machine was shared: the load average (median {statistics.median(loads):.1f})",
            f"was above its {os.cpu_count()} cores, so every second here is pessimistic, the",
            "more so for the commands that use both cores; ratios to a peer run in the same",
            "round hold better than the seconds.",
        ]

    lines += ["", "## Validation", "", *textwrap.wrap(DESCRIPTIONS["validate"], 99), ""]
    lines += [
        "    .venv-run/bin/heattool validate FILE --format json --as-of 2026-11-24 > /dev/null",
        "",
        "| rows | contender | median | range | peak RSS | x bare read |",
        "|---:|---|---:|---:|---:|---:|",
    ]
    for size in args.validate_sizes:
        bare = g("validate", "bare polars.read_csv", size, "peer")
        for what, who in (
            ("heattool validate", "after"),
            ("bare polars.read_csv", "peer"),
            ("frictionless validate", "peer"),
            ("pandas + pandera", "peer"),
        ):
            t = g("validate", what, size, who)
            if t:
                lines.append(f"| {size:,} | {what} | {row(t, bare)} |")
    if hp:
        lines += [
            "",
            f"`heattool --help`: median {hp.median:.2f} s ({min(hp.walls):.2f}-"
            f"{max(hp.walls):.2f} s), peak RSS {hp.peak:.0f} MiB.",
        ]

    lines += ["", "## Import", "", *textwrap.wrap(DESCRIPTIONS["import"], 99), ""]
    lines += [
        "    .venv-run/bin/heattool import FILE --member BENCH --db NEW.duckdb --as-of 2026-11-24",
        "",
        f"| {fmt_size(args.import_rows)} rows | median | range | peak RSS | x validate |",
        "|---|---:|---:|---:|---:|",
    ]
    for what in ("validate", "import into an empty store", "re-import"):
        t = g("import", what, args.import_rows)
        if t:
            lines.append(f"| {what} | {row(t, iv)} |")

    lines += ["", "## Retention and purge", "", *textwrap.wrap(DESCRIPTIONS["retention"], 99), ""]
    size = results.notes.get("retention_store_gib", "?")
    lines += [
        f"    .venv-run/bin/heattool retention --db STORE --as-of {RETENTION_AS_OF} > /dev/null",
        f"    .venv-run/bin/heattool purge --db COPY --as-of {PURGE_AS_OF} --yes",
        "",
        f"| {fmt_size(args.store)} students ({size} GiB store) | median | range | peak RSS |",
        "|---|---:|---:|---:|",
    ]
    if rt:
        lines.append(f"| `retention` (the status table) | {row(rt)} |")
    if pg:
        people = results.notes.get(f"purge_{args.store}", "")
        rows = results.notes.get(f"purge_rows_{args.store}", "")
        lines.append(f"| `purge` ({people}, {rows} rows in all) | {row(pg)} |")

    lines += ["", "## Track request", "", *textwrap.wrap(DESCRIPTIONS["track"], 99), ""]
    lines += [
        "    .venv-run/bin/heattool track-request --target hesa --year Y --db STORE --out FILE",
        "",
        f"| {fmt_size(args.track)} students | median | range | peak RSS |",
        "|---|---:|---:|---:|",
    ]
    for what, t in zip(("first request of a year", "the same again"), tr, strict=True):
        if t:
            lines.append(f"| {what} | {row(t)} |")

    lines += ["", "## How it is fast", "", OPTIMISATIONS.rstrip()]
    lines += [
        "",
        "What is left is mostly DuckDB's: the primary-key index built twice in an import, and",
        "taken out key by key in a purge, which the store requires.",
        "",
    ]
    return "\n".join(lines)


def reproducing(argv: list[str]) -> str:
    """The command line that remeasures what this run measured (no comparison, no files)."""
    kept, skip = [], False
    for arg in argv:
        if skip and not arg.startswith("--"):
            continue
        skip = arg in ("--before", "--json", "--merge", "--doc")
        if not skip and arg != "--no-doc":
            kept.append(arg)
    if "--merge" in argv and "--only" not in argv:
        return ""
    return " ".join([".venv/bin/python benchmarks/run_all.py", *kept])


def comparison(results: Results) -> str:
    out = [
        "| benchmark | size | what | before | after | after/before |",
        "|---|---:|---|---:|---:|---:|",
    ]
    for t in results.timings:
        if t.tree != "after":
            continue
        before = results.get(t.benchmark, t.what, t.size, "before")
        if before:
            out.append(
                f"| {t.benchmark} | {t.size:,} | {t.what} | {before.median:.2f} s | "
                f"{t.median:.2f} s | {t.median / before.median:.2f} |"
            )
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a few minutes")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", type=Path, help="another checkout to time alongside")
    parser.add_argument(
        "--only", nargs="+", choices=["help", "validate", "import", "retention", "track"]
    )
    parser.add_argument("--no-peers", action="store_true", help="skip frictionless and pandera")
    parser.add_argument(
        "--peer-rounds", type=int, help="rounds of the slow peers (default: --rounds)"
    )
    parser.add_argument("--doc", type=Path, default=DOC, help="where to write the document")
    parser.add_argument("--no-doc", action="store_true")
    parser.add_argument("--json", type=Path, help="also write the raw timings here")
    parser.add_argument(
        "--merge", type=Path, nargs="+", default=[], help="timings from earlier --json runs"
    )
    parser.add_argument("--validate-rows", type=int, nargs="+", help="default 100k and 1M")
    parser.add_argument("--import-rows", type=int, help="default 1M")
    parser.add_argument("--store", type=int, help="students in the retention store; default 10M")
    parser.add_argument("--track", type=int, help="students in the track store; default 10M")
    parser.add_argument("--peers-up-to", type=int, help="run the peers at sizes up to this only")
    args = parser.parse_args()
    big = not args.quick
    args.validate_sizes = args.validate_rows or ([100_000, 1_000_000] if big else [100_000])
    args.import_rows = args.import_rows or (1_000_000 if big else 100_000)
    args.store = args.store or (10_000_000 if big else 1_000_000)
    args.track = args.track or (10_000_000 if big else 1_000_000)
    DATA.mkdir(exist_ok=True)
    trees = [Tree("after", ROOT)]
    if args.before:
        trees.append(Tree("before", args.before.resolve()))
    results = Results()
    for earlier in args.merge:
        saved = json.loads(earlier.read_text())
        results.loads += saved["loads"]
        results.notes.update(saved["notes"])
        results.commands += saved.get("commands", [])
        newer = [Timing(**t) for t in saved["timings"]]
        keys = {(t.benchmark, t.what, t.size, t.tree) for t in newer}
        results.timings = [
            t for t in results.timings if (t.benchmark, t.what, t.size, t.tree) not in keys
        ]
        results.timings += newer

    def log(text: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} load {os.getloadavg()[0]:.1f}  {text}", flush=True)

    results.commands.append(reproducing(sys.argv[1:]))
    b = Bench(trees, args.rounds, results, log)
    only = set(
        args.only or ([] if args.merge else ["help", "validate", "import", "retention", "track"])
    )
    if "help" in only:
        bench_help(b)
    if "validate" in only:
        bench_validate(
            b,
            args.validate_sizes,
            not args.no_peers,
            args.peer_rounds or args.rounds,
            args.peers_up_to,
        )
    if "import" in only:
        bench_import(b, args.import_rows)
    if "retention" in only:
        bench_retention(b, args.store)
    if "track" in only:
        bench_track(b, args.track)
    results.notes["versions"] = versions(trees[0])
    if args.json:
        args.json.write_text(
            json.dumps(
                {"loads": results.loads, "notes": results.notes, "commands": results.commands,
                 "timings": [t.__dict__ for t in results.timings]},
                indent=1,
            )
        )  # fmt: skip
    if args.before:
        print()
        print(comparison(results))
    if not args.no_doc:
        args.doc.write_text(document(results, args, trees[0]))
        print(f"wrote {args.doc}")


if __name__ == "__main__":
    main()
