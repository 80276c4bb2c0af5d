"""`heattool demo`: the whole job on the bundled examples, in a fresh folder, as real commands."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from importlib import resources
from pathlib import Path

from rich.console import Console

from heattool.errors import UnreadableInput

MEMBER = "KENT"
AS_OF = "2026-11-24"  # a fixed day, so the demo shows the same thing on every machine


def examples_folder() -> Path:
    """The examples shipped beside the source tree (a clone) or inside the package."""
    for candidate in (
        Path(__file__).resolve().parents[2] / "examples",
        Path(str(resources.files("heattool"))) / "examples",
    ):
        if (candidate / "students.csv").exists():
            return candidate
    raise UnreadableInput("the bundled examples are not found; run the demo from a clone")


def steps() -> list[tuple[str, list[str]]]:
    """The demo's commands, in order, with what each shows; paths are inside the demo folder."""
    kinds = ("students", "activities", "attendance", "ambassadors")
    return [
        ("A clean upload of each kind passes.", ["validate", *(f"uploads/{k}.csv" for k in kinds)]),
        (
            "An Excel workbook is read from its first non-empty sheet.",
            ["validate", "uploads/students.xlsx"],
        ),
        (
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
    ]


def run_demo(folder: Path, console: Console, run: Callable[[list[str]], int]) -> int:
    """Copy the examples into `folder` and run each step; returns how many steps ran."""
    folder = Path(folder)
    uploads = folder / "uploads"
    uploads.mkdir(parents=True, exist_ok=True)
    (folder / "out").mkdir(exist_ok=True)
    source = examples_folder()
    for example in sorted(source.iterdir()):
        if example.suffix in {".csv", ".xlsx"}:
            shutil.copy2(example, uploads / example.name)
    console.print(f"[bold]heattool demo[/] in {folder} (member {MEMBER}, as of {AS_OF})")
    console.print(f"$ cd {folder}\n", markup=False)
    done = 0
    home = Path.cwd()
    os.chdir(folder)
    try:
        for number, (purpose, args) in enumerate(steps(), start=1):
            console.rule(f"[bold]{number}. {purpose}")
            console.print(f"$ heattool {' '.join(args)}", markup=False)
            code = run(args)
            console.print(f"[dim](exit code {code})[/]\n")
            done += 1
    finally:
        os.chdir(home)
    console.print(f"Everything the demo made is in {folder}: explore it, or run the steps again.")
    return done
