"""One end-to-end run as a real process: the entry points, exit code and output streams."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import EXAMPLES


def test_python_m_heattool_runs_as_a_process():
    version = subprocess.run(
        [sys.executable, "-m", "heattool", "--version"], capture_output=True, text=True, check=False
    )
    assert (version.returncode, version.stdout.strip()) == (0, "heattool 0.1.0")
    messy = subprocess.run(
        [sys.executable, "-m", "heattool", "validate", str(EXAMPLES / "messy_students.csv")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert messy.returncode == 1
    assert "8 invalid" in messy.stdout
    assert messy.stderr == ""  # no progress spinner when stderr is not a terminal
