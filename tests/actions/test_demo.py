"""The demo action: a fresh folder of the examples, each step run in it, the outputs left."""

from __future__ import annotations

from pathlib import Path

import pytest

from heattool.actions.demo import DB, MARKER, examples_folder, prepare, run_demo, steps
from heattool.errors import StoreError, UnreadableInput
from tests.helpers import EXAMPLES

SHIPPED = sorted(p.name for p in EXAMPLES.iterdir() if p.suffix in {".csv", ".xlsx"})


def cli_runner():
    """Run one heattool command line in-process, as `heattool demo` does; its exit code."""
    import typer

    from heattool.cli import app

    command = typer.main.get_command(app)

    def run(args: list[str]) -> int:
        return int(command.main(args, prog_name="heattool", standalone_mode=False) or 0)

    return run


def test_the_examples_come_from_the_clone():
    assert examples_folder() == EXAMPLES


def test_prepare_copies_every_upload_into_a_marked_folder(tmp_path):
    folder = tmp_path / "demo"
    prepare(folder)
    assert sorted(p.name for p in (folder / "uploads").iterdir() if p.is_file()) == SHIPPED
    cohort = sorted(p.name for p in (EXAMPLES / "returns").glob("cohort_*.csv"))
    assert sorted(p.name for p in (folder / "uploads" / "returns").iterdir()) == cohort
    for name in SHIPPED:
        assert (folder / "uploads" / name).read_bytes() == (EXAMPLES / name).read_bytes()
    assert (folder / MARKER).exists()
    assert list((folder / "out").iterdir()) == []


def test_prepare_rebuilds_its_own_folder_and_refuses_anyone_elses(tmp_path):
    folder = tmp_path / "demo"
    prepare(folder)
    (folder / "out" / "old.csv").write_text("from last time")
    prepare(folder)
    assert list((folder / "out").iterdir()) == []
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    with pytest.raises(UnreadableInput, match="not made by the demo"):
        prepare(mine)
    assert [p.name for p in mine.iterdir()] == ["notes.txt"]
    empty = tmp_path / "empty"
    empty.mkdir()
    prepare(empty)  # an empty folder may be used
    assert (empty / MARKER).exists()


def test_the_demo_runs_every_step_in_its_folder_and_leaves_the_outputs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "demo"
    told: list[tuple[str, str]] = []
    done = run_demo(folder, cli_runner(), lambda event, text: told.append((event, text)))
    assert done == len(steps())
    assert Path.cwd() == tmp_path  # back where it started
    events = [event for event, _ in told]
    assert events == ["start", *["step", "command", "exit"] * done, "end"]
    commands = [
        text.removeprefix("$ heattool ").split() for event, text in told if event == "command"
    ]
    exits = [int(text) for event, text in told if event == "exit"]
    for args, code in zip(commands, exits, strict=True):
        # only the messy upload has invalid rows (exit 1); nothing is a usage or internal error
        assert code == (1 if "uploads/messy_students.csv" in args else 0), args
    outputs = {arg for args in commands for arg in args if arg.startswith("out/")}
    assert outputs and all((folder / out).is_file() for out in outputs)
    assert (folder / DB).is_file()


def test_the_demo_goes_back_to_where_it_started_when_a_step_fails(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "demo"
    ran: list[tuple[Path, list[str]]] = []

    def run(args: list[str]) -> int:  # runs nothing: no store is ever made
        ran.append((Path.cwd(), args))
        return 0

    with pytest.raises(StoreError, match="no store"):  # the access step looks the person up
        run_demo(folder, run, lambda event, text: None)
    assert Path.cwd() == tmp_path
    every = [step.args for step in steps()]
    first_lookup = next(n for n, args in enumerate(every) if callable(args))
    assert [args for _, args in ran] == every[:first_lookup]  # the steps before it all ran
    assert {where for where, _ in ran} == {folder.resolve()}
