"""The README's transcripts are what heattool prints: scripts/readme_transcripts.py runs them."""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from types import ModuleType

import pytest

from tests.helpers import ROOT


def transcripts() -> ModuleType:
    path = ROOT / "scripts" / "readme_transcripts.py"
    spec = importlib.util.spec_from_file_location("readme_transcripts", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow  # some 30 commands, each a fresh heattool process: 20-40 s
def test_every_readme_transcript_is_what_heattool_prints_now():
    diff = transcripts().check(ROOT / "README.md")
    assert not diff, (
        "README transcripts drifted from a real run (- README, + run); if the new output is "
        "right, run .venv/bin/python scripts/readme_transcripts.py --write\n" + diff
    )


def test_the_normalising_touches_only_what_differs_run_to_run():
    module = transcripts()
    day = dt.date(2026, 12, 2)
    lines = [
        "ccdd750c-3e54-4111-92ec-8b5598b062dd (students) withdrawn on 2026-12-02: left out",
        "receipt: heattool-deletion-receipt-20261202T144642974140.json (audit event 9)",
        "receipt of audit event 9 (purge, 2026-12-02T14:46:43Z, 1 person)",
        "  5       KENT     students      students.csv      2026-12-02 14:46     13  ",
        "  written to hesa-2026.csv (csv, sha256 a67fc9ede3c8)",
        "due on 2026-11-24, imported 2026-11-24 02:28, stamp 20261124T025054701286",
    ]
    assert module.normalise(lines, [day]) == [
        "<UUID> (students) withdrawn on <TODAY>: left out",
        "receipt: heattool-deletion-receipt-<STAMP>.json (audit event 9)",
        "receipt of audit event 9 (purge, <TODAY>T<TIME>Z, 1 person)",
        "  5       KENT     students      students.csv      <TODAY> <TIME>     13",
        "  written to hesa-2026.csv (csv, sha256 <SHA256>)",
        "due on 2026-11-24, imported 2026-11-24 02:28, stamp 20261124T025054701286",
    ]


def test_a_block_is_parsed_with_its_directive_and_other_blocks_are_left_alone():
    module = transcripts()
    text = "\n".join(
        [
            "```",
            "python3 dev.py demo",
            "```",
            "<!-- transcript: setup=srv-heat display=/srv/heat -->",
            "```",
            "$ heattool config",
            "settings from /srv/heat/heattool.toml",
            "$ echo $?",
            "0",
            "```",
            "<!-- transcript: skip (needs a terminal) -->",
            "```",
            "$ heattool purge --as-of 2026-11-24",
            "```",
        ]
    )
    config, skipped = module.parse(text)
    assert (config.setups, config.display, config.skip) == (["srv-heat"], "/srv/heat", None)
    assert [(c.line, c.output) for c in config.commands] == [
        ("heattool config", ["settings from /srv/heat/heattool.toml"]),
        ("echo $?", ["0"]),
    ]
    assert skipped.skip == "needs a terminal"
    with pytest.raises(module.TranscriptError, match="no setup 'nope'"):
        module.parse("<!-- transcript: setup=nope -->\n```\n$ heattool config\n```")
    with pytest.raises(module.TranscriptError, match="not a command"):
        run = module.Run(ROOT, module.clean_environment())
        run.command("ls -l", ROOT)


def test_heattool_runs_in_a_clean_environment(monkeypatch):
    monkeypatch.setenv("HEATTOOL_DB", "elsewhere.duckdb")
    monkeypatch.setenv("FORCE_COLOR", "1")
    environment = transcripts().clean_environment()
    assert not [name for name in environment if name.startswith("HEATTOOL_")]
    assert "FORCE_COLOR" not in environment
    assert (environment["COLUMNS"], environment["TZ"]) == ("120", "UTC")
