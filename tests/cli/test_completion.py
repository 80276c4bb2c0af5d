"""Shell completion is on: `heattool --install-completion`, and commands complete (issue 14, 7)."""

from __future__ import annotations

import os
import subprocess
import sys


def complete(words: str) -> list[str]:
    env = {
        **os.environ,
        "COMP_WORDS": words,
        "COMP_CWORD": str(len(words.split()) - (0 if words.endswith(" ") else 1)),
        "_HEATTOOL_COMPLETE": "complete_bash",
    }
    done = subprocess.run(
        [sys.executable, "-m", "heattool"], env=env, capture_output=True, text=True, check=False
    )
    return done.stdout.split()


def test_commands_and_sub_commands_complete():
    assert "validate" in complete("heattool val")
    assert set(complete("heattool subject ")) >= {"find", "access", "withdraw", "erase"}
    assert "--member" in complete("heattool retention --mem")
