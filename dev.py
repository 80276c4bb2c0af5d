#!/usr/bin/env python3
"""Set up heattool's environment and run it, on a machine with only Python 3.11+ and pip.

    python3 dev.py demo     the whole job on the bundled examples
    python3 dev.py test     the whole test suite (extra arguments go to pytest)
    python3 dev.py heattool ARGS...   any heattool command

The first run creates `.tools/` (a virtual environment holding uv, pinned) and `.venv/`
(the project's locked dependencies, from uv.lock); later runs reuse them.
"""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
TOOLS = ROOT / ".tools"
UV_VERSION = "0.13.9"
BIN = "Scripts" if os.name == "nt" else "bin"


def ensure_uv() -> Path:
    uv = TOOLS / BIN / ("uv.exe" if os.name == "nt" else "uv")
    if not uv.exists():
        print(f"dev.py: installing uv {UV_VERSION} into .tools/ ...", file=sys.stderr)
        venv.create(TOOLS, with_pip=True, clear=True)
        pip = [str(TOOLS / BIN / "python"), "-m", "pip", "install", "--quiet"]
        subprocess.run([*pip, "--disable-pip-version-check", f"uv=={UV_VERSION}"], check=True)
    return uv


def main(argv: list[str]) -> int:
    if not argv or argv[0] not in {"demo", "test", "heattool"}:
        print(__doc__, file=sys.stderr)
        return 2
    command, extra = argv[0], argv[1:]
    uv = str(ensure_uv())
    env = {
        **os.environ,
        "UV_PYTHON": sys.executable,  # the Python that ran this script; never download one
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_PROJECT_ENVIRONMENT": str(ROOT / ".venv"),
        "UV_COMPILE_BYTECODE": "1",  # start-up stays fast even where .pyc files may not be written
    }
    sync = subprocess.run([uv, "sync", "--frozen", "--quiet"], cwd=ROOT, env=env)
    if sync.returncode:
        return sync.returncode
    run = [uv, "run", "--frozen", "--no-sync"]
    if command == "test":
        args = [*run, "pytest", *extra]
    elif command == "demo":
        args = [*run, "heattool", "demo", *extra]
    else:
        args = [*run, "heattool", *extra]
    return subprocess.run(args, cwd=ROOT, env=env).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
