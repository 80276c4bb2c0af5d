#!/usr/bin/env python3
"""The README's shell transcripts, made from real runs and checked against them.

    .venv/bin/python scripts/readme_transcripts.py --check   # exit 1 and a diff if any drifted
    .venv/bin/python scripts/readme_transcripts.py --write   # rewrite their outputs from a run

A transcript is a fenced code block whose first line starts with `$ `. Each `$ ` line is a
command; the lines after it, up to the next `$ ` line or the block's end, are its output: stdout,
then stderr. Other code blocks (TOML, YAML, plain commands) are left alone. The commands are:

- `heattool ARGS...`, optionally after `NAME=VALUE` assignments (`HEATTOOL_ALIASES=x heattool
  config`): run as `sys.executable -m heattool ARGS...` (the interpreter running this script,
  so run it with the project's), split as a POSIX shell splits words (quotes; no expansion);
- `echo $?`: the previous command's exit code;
- `head -N FILE`: the first N lines of a file of the sandbox, as a terminal shows them (a
  CSV's byte-order mark, which shows as nothing, is left out).

Anything else is an error of this script, not a transcript.

Every block runs in document order in ONE fresh sandbox (a temporary folder holding a copy of
`examples/`), so state carries from block to block as the README's story does: the import, then
the summary, retention, purge, receipt, track requests. heattool runs with stdin closed, no
terminal, and a clean environment: only PATH, HOME, SYSTEMROOT and TMPDIR are kept (no
HEATTOOL_* variable, no FORCE_COLOR); COLUMNS=120 (the width heattool's reports use on a pipe),
TZ=UTC and PYTHONUTF8=1 are set.

An HTML comment on the line just before a block's opening fence gives it a directive:

- `<!-- transcript: setup=NAME[,NAME] -->`: the named setups (SETUPS below; small functions
  writing the files the block needs) run first, in the block's folder;
- `display=PATH`: the block runs in a folder of its own whose path is exactly as long as PATH
  (so tables are as wide as they would be there), and that folder's path is shown as PATH: PATH
  in a command stands for the folder, the folder in the output is printed as PATH;
- `<!-- transcript: skip (reason) -->`: the block is neither run nor checked.

Outputs are kept without the spaces that end a line (rich pads some tables to their width; a
terminal shows nothing there, and editors strip them), on both sides. What differs from run to
run is normalised on both sides before `--check` compares them, and nothing else; every other
character must match:

- a UUID (a heat_id) becomes `<UUID>`;
- `sha256 ` and 12 hex digits (a file's hash, which depends on the heat_ids in it) becomes
  `sha256 <SHA256>`;
- the day the transcripts were made: a timestamp of that day (`2026-12-02 14:41`,
  `2026-12-02T14:41:07Z`, any seconds and fraction) becomes `<TODAY> <TIME>`; a file-name stamp
  of it (`20261202T144107123456`) becomes `<STAMP>`; the date alone (`2026-12-02`) becomes
  `<TODAY>`. For the README that day is the one `--write` recorded in the comment
  `<!-- transcripts: made on YYYY-MM-DD -->`; for the run it is today, in UTC (either day, if the
  run passes midnight). A timestamp or date of any other day is compared as it is, so commands
  should fix the days they judge by (`--as-of`) to days before the transcripts were made.

The diff `--check` prints is of the two sides so normalised (- README, + run). `--write` rewrites
every transcript's outputs with what the run printed (less the spaces ending a line) and records
the made-on date; when `--check` would pass it writes nothing.
"""

from __future__ import annotations

import argparse
import datetime as dt
import difflib
import os
import random
import re
import shlex
import shutil
import string
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
COLUMNS = "120"  # heattool's REPORT_WIDTH: its reports are this wide on a pipe
TIMEOUT = 120  # seconds for one command

FENCE = re.compile(r"^(`{3,}|~{3,})(.*)$")
DIRECTIVE = re.compile(r"^<!--\s*transcript:\s*(.*?)\s*-->\s*$")
MADE_ON = re.compile(r"<!-- transcripts: made on (\d{4}-\d{2}-\d{2}) -->")
UUID = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
SHA256 = re.compile(r"\bsha256 [0-9a-f]{12}\b")
ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")


class TranscriptError(Exception):
    """The README asks for something this script cannot run honestly."""


# -- setups: the files a block needs that examples/ does not hold -------------------------------


def _heat_policy_with(folder: Path, *changes: tuple[str, str]) -> None:
    """mine.toml: HEAT's policy with each `old` text replaced by `new` (each must be there)."""
    text = (ROOT / "src" / "heattool" / "rules" / "heat.toml").read_text("utf-8")
    for old, new in changes:
        if text.count(old) != 1:
            raise TranscriptError(f"setup: heat.toml no longer holds {old!r} exactly once")
        text = text.replace(old, new)
    (folder / "mine.toml").write_text(text, "utf-8")


def bad_period_policy(folder: Path) -> None:
    """mine.toml with a period written in words, and students.csv to judge by it."""
    _heat_policy_with(folder, ('period = "15y"', 'period = "15 yrs"'))
    shutil.copy(ROOT / "examples" / "students.csv", folder / "students.csv")


def bad_window_policy(folder: Path) -> None:
    """mine.toml with a HESA window that is not a number of years."""
    _heat_policy_with(folder, ("window = { to_offset = 0 }", 'window = { to_offset = "now" }'))


def bad_nation_policy(folder: Path) -> None:
    """mine.toml with a misspelt NPD nation."""
    _heat_policy_with(folder, ('nations = ["England"]', 'nations = ["Englnd"]'))


def srv_heat(folder: Path) -> None:
    """A cron job's folder: heattool.toml naming the store, member, policy, key and out folder."""
    (folder / "heattool.toml").write_text(
        'db = "kent.duckdb"\n'
        'member = "KENT"\n'
        'policy = "kent-policy.toml"\n'
        'key_file = "kent.key"\n'
        'out_dir = "out"\n',
        "utf-8",
    )


def hesa_returns(folder: Path) -> None:
    """HESA's returns for the story's request (hesa-2026.csv): an outcome for each person sent,
    one heat_id the store does not hold and one of a person never sent (from fix-these.csv);
    then a later return that changes one person's outcome and repeats another's."""
    import csv

    def rows(name: str) -> list[dict[str, str]]:
        with (folder / name).open(encoding="utf-8-sig", newline="") as handle:
            return list(csv.DictReader(handle))

    sent = [r["heat_id"] for r in rows("hesa-2026.csv")]
    never_sent = rows("fix-these.csv")[0]["heat_id"]
    heading = "heat_id,Entered HE,HE Entry Year,HE Provider,HE Level,Tariff Group,Continued\n"
    outcomes = [
        "Yes,2025/26,University of Kent,First degree,High tariff,",
        "Yes,2025,Canterbury Christ Church University,Other undergraduate,Low,",
        "No,,,,,",
        "Yes,2024,University of Kent,First degree,Medium,Yes",
        "Yes,2023,University of Sussex,First degree,High,Yes",
    ]
    lines = [f"{h},{outcomes[i % len(outcomes)]}" for i, h in enumerate(sent)]
    lines += [f"5d1f3a9e-0b7c-4e2a-9f61-2c8d4b7e1a03,{outcomes[0]}", f"{never_sent},{outcomes[1]}"]
    (folder / "hesa-return-2026.csv").write_text(heading + "\n".join(lines) + "\n", "utf-8")
    later = [f"{sent[0]},Yes,2025/26,University of Kent,First degree,High tariff,Yes", lines[1]]
    (folder / "hesa-return-2027.csv").write_text(heading + "\n".join(later) + "\n", "utf-8")


def cohort_return(folder: Path) -> None:
    """hesa-return-cccu.csv: what HESA sends back for hesa-2026-cccu.csv, the request the block
    before made for the examples' outreach cohort (examples/returns/make_returns.py)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "make_returns", ROOT / "examples" / "returns" / "make_returns.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.hesa(folder / "hesa-2026-cccu.csv", folder / "hesa-return-cccu.csv")


SETUPS: dict[str, Callable[[Path], None]] = {
    "hesa-returns": hesa_returns,
    "cohort-return": cohort_return,
    "bad-period-policy": bad_period_policy,
    "bad-window-policy": bad_window_policy,
    "bad-nation-policy": bad_nation_policy,
    "srv-heat": srv_heat,
}


# -- the README's blocks ------------------------------------------------------------------------


@dataclass
class Command:
    line: str  # without the leading "$ "
    output: list[str]  # as the README shows it


@dataclass
class Block:
    start: int  # index of the opening fence's line
    end: int  # index of the closing fence's line
    setups: list[str] = field(default_factory=list)
    display: str | None = None
    skip: str | None = None  # the reason
    commands: list[Command] = field(default_factory=list)

    def lines(self, outputs: list[list[str]] | None = None) -> list[str]:
        """The block's content, with the README's outputs or the given ones."""
        shown = outputs if outputs is not None else [c.output for c in self.commands]
        return [
            text
            for c, out in zip(self.commands, shown, strict=True)
            for text in [f"$ {c.line}", *out]
        ]


def parse_directive(text: str, where: str) -> dict[str, str]:
    if text.startswith("skip"):
        reason = text.removeprefix("skip").strip()
        if not (reason.startswith("(") and reason.endswith(")") and len(reason) > 2):
            raise TranscriptError(f"{where}: write a skip as `skip (reason)`")
        return {"skip": reason[1:-1]}
    found: dict[str, str] = {}
    for word in text.split():
        key, equals, value = word.partition("=")
        if not equals or key not in {"setup", "display"} or not value:
            raise TranscriptError(f"{where}: unknown directive {word!r} (setup=, display=, skip)")
        found[key] = value
    return found


def parse(text: str) -> list[Block]:
    """Every transcript block of the README, with its directive."""
    lines = text.split("\n")
    blocks: list[Block] = []
    i = 0
    while i < len(lines):
        opening = FENCE.match(lines[i])
        directive = DIRECTIVE.match(lines[i])
        if directive and not (i + 1 < len(lines) and FENCE.match(lines[i + 1])):
            raise TranscriptError(f"README.md:{i + 1}: a directive must be just before a block")
        if not opening:
            i += 1
            continue
        fence = opening.group(1)
        end = next(
            (j for j in range(i + 1, len(lines)) if lines[j].strip() == fence),
            None,
        )
        if end is None:
            raise TranscriptError(f"README.md:{i + 1}: a code block that never ends")
        body = lines[i + 1 : end]
        before = DIRECTIVE.match(lines[i - 1]) if i else None
        if body and body[0].startswith("$ "):
            block = Block(i, end)
            if before:
                options = parse_directive(before.group(1), f"README.md:{i}")
                block.skip = options.get("skip")
                block.setups = [s for s in options.get("setup", "").split(",") if s]
                block.display = options.get("display")
                for name in block.setups:
                    if name not in SETUPS:
                        raise TranscriptError(
                            f"README.md:{i}: no setup {name!r} (there are {', '.join(SETUPS)})"
                        )
            for line in body:
                if line.startswith("$ "):
                    block.commands.append(Command(line[2:], []))
                else:
                    block.commands[-1].output.append(line)
            blocks.append(block)
        elif before:
            raise TranscriptError(
                f"README.md:{i}: a directive before a block that is no transcript"
            )
        i = end + 1
    return blocks


# -- running them -------------------------------------------------------------------------------


def clean_environment() -> dict[str, str]:
    keep = {
        name: os.environ[name]
        for name in ("PATH", "HOME", "SYSTEMROOT", "TMPDIR")
        if name in os.environ
    }
    return {**keep, "COLUMNS": COLUMNS, "TZ": "UTC", "PYTHONUTF8": "1"}


def folder_as_long_as(shown: str) -> Path:
    """A new folder whose path has as many characters as `shown`, under the temporary folder."""
    for base in dict.fromkeys([Path(tempfile.gettempdir()).resolve(), Path("/tmp").resolve()]):
        room = len(shown) - len(str(base / "x")) + 1
        if room < 1 or not base.is_dir():
            continue
        for _ in range(100):
            name = "".join(random.choices(string.ascii_lowercase, k=room))
            try:
                (base / name).mkdir(mode=0o700)
            except FileExistsError:
                continue
            return base / name
    raise TranscriptError(f"display={shown}: no temporary folder has a path that short")


@dataclass
class Run:
    """The sandbox and what has run in it so far."""

    sandbox: Path
    environment: dict[str, str]
    last_code: int | None = None
    extra_folders: list[Path] = field(default_factory=list)

    def block(self, block: Block) -> list[list[str]]:
        folder, shown = self.sandbox, None
        if block.display:
            folder, shown = folder_as_long_as(block.display), block.display
            self.extra_folders.append(folder)
        for name in block.setups:
            SETUPS[name](folder)
        outputs = []
        for command in block.commands:
            line = command.line if shown is None else command.line.replace(shown, str(folder))
            text = self.command(line, folder)
            if shown is not None:
                text = text.replace(str(folder), shown)
            if str(self.sandbox) in text:
                raise TranscriptError(f"`{command.line}` printed the sandbox's path: {text}")
            outputs.append([line.rstrip() for line in text.splitlines()])
        return outputs

    def command(self, line: str, cwd: Path) -> str:
        try:
            words = shlex.split(line)
        except ValueError as exc:
            raise TranscriptError(f"`{line}`: {exc}") from None
        assignments = {}
        while words and ASSIGNMENT.match(words[0]):
            name, _, value = words.pop(0).partition("=")
            assignments[name] = value
        if words[:1] == ["heattool"]:
            try:
                done = subprocess.run(
                    [sys.executable, "-m", "heattool", *words[1:]],
                    cwd=cwd,
                    env={**self.environment, **assignments},
                    stdin=subprocess.DEVNULL,
                    capture_output=True,
                    encoding="utf-8",
                    timeout=TIMEOUT,
                )
            except subprocess.TimeoutExpired:
                raise TranscriptError(f"`{line}` took over {TIMEOUT} s") from None
            self.last_code = done.returncode
            return (
                done.stdout
                + ("\n" if done.stdout and not done.stdout.endswith("\n") and done.stderr else "")
                + done.stderr
            )
        if assignments:
            raise TranscriptError(f"`{line}`: only heattool takes NAME=VALUE assignments")
        if words == ["echo", "$?"]:
            if self.last_code is None:
                raise TranscriptError("`echo $?` before any command")
            return f"{self.last_code}\n"
        if len(words) == 3 and words[0] == "head" and re.fullmatch(r"-\d+", words[1]):
            count, path = int(words[1][1:]), cwd / words[2]
            self.last_code = 0
            try:
                with path.open(encoding="utf-8-sig", newline="") as file:  # a BOM shows as nothing
                    return "".join(next(file, "") for _ in range(count))
            except OSError as exc:
                raise TranscriptError(f"`{line}`: {exc.strerror}") from None
        raise TranscriptError(
            f"`{line}`: not a command this script runs (heattool, echo $?, head -N)"
        )


def run_all(blocks: list[Block]) -> list[list[list[str]] | None]:
    """Each block's outputs, command by command (None for a skipped block)."""
    sandbox = Path(tempfile.mkdtemp(prefix="heattool-readme-"))
    run = Run(sandbox, clean_environment())
    try:
        shutil.copytree(ROOT / "examples", sandbox / "examples")
        return [None if block.skip else run.block(block) for block in blocks]
    finally:
        for folder in [sandbox, *run.extra_folders]:
            shutil.rmtree(folder, ignore_errors=True)


# -- comparing and writing ----------------------------------------------------------------------


def normalise(lines: list[str], days: list[dt.date]) -> list[str]:
    """The lines with what differs from run to run replaced by placeholders (see the top)."""
    out = []
    for line in lines:
        line = UUID.sub("<UUID>", line)
        line = SHA256.sub("sha256 <SHA256>", line)
        for day in days:
            iso, compact = day.isoformat(), f"{day:%Y%m%d}"
            line = re.sub(
                rf"\b{iso}([T ])\d{{2}}:\d{{2}}(?::\d{{2}}(?:\.\d+)?)?(Z?)",
                r"<TODAY>\1<TIME>\2",
                line,
            )
            line = re.sub(rf"\b{compact}T\d{{6,}}\b", "<STAMP>", line)
            line = re.sub(rf"\b{iso}\b", "<TODAY>", line)
        out.append(line.rstrip())
    return out


def made_on(text: str) -> dt.date | None:
    found = MADE_ON.search(text)
    return dt.date.fromisoformat(found.group(1)) if found else None


def utc_today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def compare(text: str) -> tuple[list[Block], list[list[list[str]] | None], str]:
    """The blocks, their outputs from a run, and a unified diff of every drifted one."""
    blocks = parse(text)
    first = utc_today()
    outputs = run_all(blocks)
    run_days = sorted({first, utc_today()})
    recorded = made_on(text)
    readme_days = [recorded] if recorded else []
    diffs = []
    for block, shown in zip(blocks, outputs, strict=True):
        if shown is None:
            continue
        expected = normalise(block.lines(), readme_days)
        actual = normalise(block.lines(shown), run_days)
        if expected != actual:
            diffs += difflib.unified_diff(
                expected,
                actual,
                f"README.md:{block.start + 2} (as written)",
                f"README.md:{block.start + 2} (as run)",
                lineterm="",
            )
    return blocks, outputs, "\n".join(diffs) + ("\n" if diffs else "")


def check(path: Path = README) -> str:
    """A unified diff of every transcript that differs from a real run; empty if none does."""
    return compare(path.read_text("utf-8"))[2]


def write(path: Path = README) -> bool:
    """Rewrite the transcripts' outputs from a real run; whether anything was written."""
    text = path.read_text("utf-8")
    if not MADE_ON.search(text):
        raise TranscriptError(
            f"{path.name} has no <!-- transcripts: made on YYYY-MM-DD --> comment"
        )
    blocks, outputs, diff = compare(text)
    if not diff:
        return False
    lines = text.split("\n")
    for block, shown in reversed(list(zip(blocks, outputs, strict=True))):
        if shown is not None:
            lines[block.start + 1 : block.end] = block.lines(shown)
    new = MADE_ON.sub(f"<!-- transcripts: made on {utc_today().isoformat()} -->", "\n".join(lines))
    path.write_text(new, "utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="exit 1 with a diff if any drifted")
    mode.add_argument("--write", action="store_true", help="rewrite their outputs from a run")
    args = parser.parse_args(argv)
    try:
        if args.write:
            print(
                "README.md transcripts rewritten"
                if write()
                else "README.md transcripts are up to date"
            )
            return 0
        diff = check()
    except TranscriptError as exc:
        print(f"readme_transcripts: {exc}", file=sys.stderr)
        return 2
    if diff:
        sys.stdout.write(diff)
        print(
            "README.md transcripts drifted; run scripts/readme_transcripts.py --write",
            file=sys.stderr,
        )
        return 1
    print("README.md transcripts match a real run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
