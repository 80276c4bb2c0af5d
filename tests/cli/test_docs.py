"""The README cannot drift from the tool: commands, codes and the two set-up commands."""

from __future__ import annotations

import re

import pytest
import typer

from heattool.cli import app
from heattool.errors import ExitCode
from heattool.findings import CODES
from tests.helpers import ROOT

README = (ROOT / "README.md").read_text("utf-8")


def command_names() -> list[str]:
    """Every command and sub-command, as typed: `validate`, `subject find`, ..."""
    names = []
    for name, command in sorted(typer.main.get_command(app).commands.items()):
        subcommands = getattr(command, "commands", None)
        if subcommands:
            names += [f"{name} {sub}" for sub in sorted(subcommands)]
        else:
            names.append(name)
    return names


def test_readme_opens_with_exactly_two_commands():
    first_block = re.search(r"```\n(.*?)```", README, re.S).group(1)
    assert first_block.strip().splitlines() == ["python3 dev.py demo", "python3 dev.py test"]


def test_ci_runs_the_readme_test_command():
    assert "python3 dev.py test" in (ROOT / ".ci" / "run").read_text("utf-8")


def test_the_commands_are_all_found():
    names = command_names()
    assert "validate" in names and "subject erase" in names and "subject" not in names


@pytest.mark.parametrize("name", command_names())
def test_every_command_has_help_with_examples_and_is_in_the_readme(invoke, name):
    result = invoke(*name.split(), "--help")
    assert result.exit_code == 0, name
    assert "Examples" in result.stdout, f"{name} --help has no examples"
    assert f"heattool {name}" in README, f"README does not mention heattool {name}"


def test_every_finding_code_is_in_the_readme():
    for code in CODES:
        assert f"`{code}`" in README, code


def test_every_exit_code_is_in_the_readme():
    table = README.split("## Exit codes", 1)[1]
    for code in ExitCode:
        assert f"| {int(code)} |" in table
