"""`heattool demo`: the whole job on the bundled examples, in a fresh folder, as real commands."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from heattool.errors import UnreadableInput
from heattool.io.files import make_private

MEMBER = "KENT"
AS_OF = "2026-11-24"  # a fixed day, so the demo shows the same thing on every machine
MARKER = ".heattool-demo"  # a folder holding this was made by the demo and may be rebuilt
DB = "heattool.duckdb"
KINDS = ("activities", "students", "attendance", "ambassadors")
COHORT = "CCCU"  # the member of the outreach cohort whose HESA return comes back
COHORT_KINDS = ("activities", "students", "attendance")


@dataclass(frozen=True)
class Step:
    """One command of the demo and what it shows; `args` may depend on earlier steps."""

    purpose: str
    args: list[str] | Callable[[], list[str]]


def examples_folder() -> Path:
    """The examples shipped beside the source tree (a clone) or inside the package."""
    for candidate in (
        Path(__file__).resolve().parents[3] / "examples",
        Path(str(resources.files("heattool"))) / "examples",
    ):
        if (candidate / "students.csv").exists():
            return candidate
    raise UnreadableInput("the bundled examples are not found; reinstall heattool")


def steps() -> list[Step]:
    """The demo's commands, in order; paths are inside the demo folder."""
    store = ["--db", DB]
    return [
        Step(
            "A clean upload of each kind passes.",
            ["validate", *(f"uploads/{k}.csv" for k in KINDS)],
        ),
        Step(
            "An Excel workbook is read from its first non-empty sheet.",
            ["validate", "uploads/students.xlsx"],
        ),
        Step(
            "A messy upload: every problem with its spreadsheet row, cell and fix.",
            [
                "validate",
                "uploads/messy_students.csv",
                "--as-of",
                AS_OF,
                "--errors-out",
                "out/messy_students.errors.csv",
            ],
        ),
        Step(
            "The clean uploads load into the store, activities and students before attendance.",
            ["import", *(f"uploads/{k}.csv" for k in KINDS), "--member", MEMBER, *store],
        ),
        Step(
            "The messy upload loads its valid rows; the rest go to a rejects file.",
            [
                "import",
                "uploads/messy_students.csv",
                "--member",
                MEMBER,
                "--as-of",
                AS_OF,
                "--rejects-out",
                "out/messy_students.rejects.csv",
                *store,
            ],
        ),
        Step(
            "What the store holds: counts, entry years, retention, the last imports.",
            ["summary", "--member", MEMBER, "--as-of", AS_OF, *store],
        ),
        Step(
            "Retention: who is kept, who is due for deletion and why.",
            [
                "retention",
                "--member",
                MEMBER,
                "--as-of",
                AS_OF,
                "--out",
                "out/deletion-ready.csv",
                *store,
            ],
        ),
        Step(
            "Deletion, rehearsed: what purge would delete today (--yes would do it).",
            ["purge", "--as-of", AS_OF, "--member", MEMBER, "--dry-run", *store],
        ),
        Step(
            "A HESA track request for 2026, its manifest, and who was left out and why.",
            [
                "track-request",
                "--target",
                "hesa",
                "--year",
                "2026",
                "--member",
                MEMBER,
                "--out",
                "out/hesa-2026.csv",
                "--excluded-out",
                "out/hesa-2026.excluded.csv",
                *store,
            ],
        ),
        Step(
            "A data-subject request: find the person...",
            [
                "subject",
                "find",
                "--forename",
                "Amelia",
                "--surname",
                "Hughes",
                "--dob",
                "2009-03-14",
                "--member",
                MEMBER,
                *store,
            ],
        ),
        Step(
            "...and give them everything held about them.",
            lambda: [
                "subject",
                "access",
                _heat_id_of("Amelia", "Hughes", "2009-03-14"),
                "--member",
                MEMBER,
                "--out",
                "out/subject-access.json",
                *store,
            ],
        ),
        Step(
            "Another member's outreach cohort: 260 participants and 80 of a comparison group "
            "who took no part (evaluation_group).",
            [
                "import",
                *(f"uploads/returns/cohort_{k}.csv" for k in COHORT_KINDS),
                "--member",
                COHORT,
                *store,
            ],
        ),
        Step(
            "Their HESA track request...",
            [
                "track-request",
                "--target",
                "hesa",
                "--year",
                "2026",
                "--member",
                COHORT,
                "--out",
                "out/hesa-2026-cccu.csv",
                *store,
            ],
        ),
        Step(
            "...and the return HESA sends back (made for the demo by "
            "examples/returns/make_returns.py), loaded by heat_id.",
            lambda: [
                "outcomes",
                "import",
                _hesa_return("out/hesa-2026-cccu.csv", "out/hesa-return-cccu.csv"),
                "--target",
                "hesa",
                "--member",
                COHORT,
                *store,
            ],
        ),
        Step(
            "Entry to HE by contact hours, safe to publish: the 15 students at 8 hours or more "
            "are hidden, and the next smallest band too.",
            [
                "outcomes",
                "report",
                "--target",
                "hesa",
                "--measure",
                "entered_he",
                "--by",
                "hours_band",
                "--member",
                COHORT,
                "--as-of",
                AS_OF,
                "--out",
                "out/entered-he-by-hours.csv",
                *store,
            ],
        ),
    ]


def _hesa_return(request: str, out: str) -> str:
    """Play HESA: write the return for a request with the examples' script; its path."""
    import importlib.util

    script = examples_folder() / "returns" / "make_returns.py"
    spec = importlib.util.spec_from_file_location("make_returns", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.HERE = Path("uploads/returns").resolve()  # type: ignore[attr-defined] # the copies imported
    module.hesa(Path(request), Path(out))
    make_private(Path(out))  # outcomes are personal data, as every file heattool writes
    return out


def _heat_id_of(forename: str, surname: str, dob: str) -> str:
    import datetime as dt

    from heattool.store import Store, key_from_env, people

    with Store.open_existing(DB, key_from_env()) as store:
        found = people.find(
            store,
            forename=forename,
            surname=surname,
            date_of_birth=dt.date.fromisoformat(dob),
            member=MEMBER,
        )
    return str(found["heat_id"][0])


def prepare(folder: Path) -> None:
    """A fresh demo folder with the examples in `uploads/`; a former demo folder is rebuilt."""
    if folder.exists() and any(folder.iterdir()):
        if not (folder / MARKER).exists():
            raise UnreadableInput(
                f"{folder} exists and was not made by the demo; give --dir a new folder"
            )
        shutil.rmtree(folder)
    (folder / "uploads").mkdir(parents=True)
    (folder / "out").mkdir()
    (folder / MARKER).write_text("made by heattool demo; rebuilt by the next run\n")
    for example in sorted(examples_folder().iterdir()):
        if example.suffix in {".csv", ".xlsx"}:
            shutil.copy2(example, folder / "uploads" / example.name)
    (folder / "uploads" / "returns").mkdir()
    for example in sorted((examples_folder() / "returns").glob("cohort_*.csv")):
        shutil.copy2(example, folder / "uploads" / "returns" / example.name)


# What the demo says as it goes, for the CLI to render: (event, text).
Narrate = Callable[[str, str], None]


def run_demo(folder: Path, run: Callable[[list[str]], int], narrate: Narrate) -> int:
    """Build the demo folder and run each step in it; returns how many steps ran.

    `narrate` is told "start", then for each step "step" (its purpose), "command" (the command
    line) and "exit" (its exit code), then "end".
    """
    folder = Path(folder)
    prepare(folder)
    narrate("start", f"heattool demo in {folder} (member {MEMBER}, as of {AS_OF})\n$ cd {folder}")
    done = 0
    home = Path.cwd()
    os.chdir(folder)
    try:
        for number, step in enumerate(steps(), start=1):
            args = step.args() if callable(step.args) else step.args
            narrate("step", f"{number}. {step.purpose}")
            narrate("command", f"$ heattool {' '.join(args)}")
            narrate("exit", str(run(args)))
            done += 1
    finally:
        os.chdir(home)
    narrate(
        "end",
        f"Everything the demo made is in {folder}: the store ({DB}), the uploads, and in out/ "
        "the errors, rejects, deletion-ready list, track requests with their manifests, the "
        "subject access package, the HESA return and the outcome table with its manifest."
        " Explore it, or query the store with any DuckDB client.",
    )
    return done
