"""An installed heattool works: a wheel built offline, installed away from src/, runs the demo.

The wheel is built by the pinned uv that `dev.py` puts in `.tools/`, offline: its build backend
(hatchling) is in uv's cache since `dev.py` synced the environment, which built heattool itself.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

pytestmark = pytest.mark.slow

VERSION = re.search(
    r'^__version__ = "([^"]+)"$',
    (ROOT / "src" / "heattool" / "__init__.py").read_text("utf-8"),
    re.M,
)
BIN = "Scripts" if os.name == "nt" else "bin"


def uv() -> str:
    pinned = ROOT / ".tools" / BIN / ("uv.exe" if os.name == "nt" else "uv")
    found = str(pinned) if pinned.exists() else shutil.which("uv")
    if found is None:
        pytest.fail("no uv: run `python3 dev.py test` once, which puts it in .tools/")
    return found


def offline() -> dict[str, str]:
    """The environment for uv: this Python, nothing downloaded, no index asked."""
    return {
        **os.environ,
        "UV_OFFLINE": "1",
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_PYTHON": sys.executable,
        "UV_NO_PROGRESS": "1",
    }


def run(args: list[str | Path], **options) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=300, **options
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """heattool's wheel, built from this tree and installed (without its dependencies, which
    this Python already has) into a folder of its own."""
    wheels = tmp_path_factory.mktemp("wheels")
    built = run([uv(), "build", "--wheel", "--out-dir", wheels, ROOT], cwd=ROOT, env=offline())
    if built.returncode:
        pytest.fail(f"uv could not build the wheel offline:\n{built.stderr}")
    (wheel,) = wheels.glob("*.whl")
    assert VERSION is not None
    assert wheel.name.startswith(f"heattool-{VERSION[1]}-"), wheel.name
    target = tmp_path_factory.mktemp("site")
    done = run(
        [
            uv(),
            "pip",
            "install",
            "--no-deps",
            "--target",
            target,
            "--python",
            sys.executable,
            wheel,
        ],
        env=offline(),
    )
    if done.returncode:
        pytest.fail(f"uv could not install the wheel:\n{done.stderr}")
    return target


@pytest.fixture
def elsewhere(tmp_path) -> Path:
    """A folder outside the source tree to run the installed heattool in."""
    folder = tmp_path / "work"
    folder.mkdir()
    assert ROOT not in folder.resolve().parents
    return folder


def environment(site: Path) -> dict[str, str]:
    """The installed package first on the path; no heattool or Python settings inherited."""
    keep = {k: v for k, v in os.environ.items() if not k.startswith(("HEATTOOL_", "PYTHON"))}
    return {**keep, "PYTHONPATH": str(site), "PYTHONNOUSERSITE": "1"}


def test_the_installed_package_is_imported_not_the_source_tree(installed, elsewhere):
    script = (
        "import heattool, heattool.actions.demo as demo; "
        "print(heattool.__file__); print(demo.examples_folder())"
    )
    result = run([sys.executable, "-c", script], cwd=elsewhere, env=environment(installed))
    assert result.returncode == 0, result.stderr
    module, examples = (Path(line) for line in result.stdout.splitlines())
    assert module == installed / "heattool" / "__init__.py"
    assert examples == installed / "heattool" / "examples"  # shipped in the wheel
    assert (examples / "students.csv").read_bytes() == (
        ROOT / "examples" / "students.csv"
    ).read_bytes()


def test_version_prints_the_version_of_the_source(installed, elsewhere):
    assert VERSION is not None
    for command in ([sys.executable, "-m", "heattool"], [installed / BIN / "heattool"]):
        result = run([*command, "--version"], cwd=elsewhere, env=environment(installed))
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == f"heattool {VERSION[1]}"


def test_the_installed_demo_runs_the_whole_job(installed, elsewhere):
    result = run([installed / BIN / "heattool", "demo"], cwd=elsewhere, env=environment(installed))
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    folder = elsewhere / "heattool-demo"
    commands = [
        line.removeprefix("$ heattool ").split()
        for line in result.stdout.splitlines()
        if line.startswith("$ heattool ")
    ]
    assert len(commands) > 1
    # every step exits 0, or 1 for the messy upload's invalid rows; none is an error
    exits = re.findall(r"^\(exit code (\d+)\)$", result.stdout, re.M)
    assert len(exits) == len(commands)
    for args, code in zip(commands, exits, strict=True):
        assert int(code) == (1 if "uploads/messy_students.csv" in args else 0), args
    outputs = {arg for args in commands for arg in args if arg.startswith("out/")}
    assert outputs
    for output in outputs:
        assert (folder / output).is_file(), output
    assert (folder / "heattool.duckdb").is_file()
    assert sorted(p.name for p in (folder / "uploads").iterdir() if p.is_file()) == sorted(
        p.name for p in (ROOT / "examples").iterdir() if p.suffix in {".csv", ".xlsx"}
    )
    assert (folder / "uploads" / "returns" / "cohort_students.csv").is_file()  # the cohort's
