"""Progress on long runs (issue 14 item 7): on a terminal, each step with its rows and rate;
in a pipe, cron or CI, nothing."""

from __future__ import annotations

import io

from rich.console import Console

from tests.helpers import EXAMPLES, UPLOADS


def terminal(monkeypatch) -> io.StringIO:
    from heattool.cli import render

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=100, soft_wrap=True)
    monkeypatch.setattr(render, "stderr", lambda: console)
    return screen


def test_validate_and_import_show_each_step_with_rows_on_a_terminal(invoke, tmp_path, monkeypatch):
    screen = terminal(monkeypatch)
    result = invoke("validate", *UPLOADS)
    assert result.exit_code == 0, result.stderr
    shown = screen.getvalue()
    for upload in UPLOADS:
        assert f"validated {upload}" in shown
    assert "13 rows in" in shown and "rows/s" in shown  # examples/students.csv has 13
    screen.truncate(0)
    result = invoke("import", *UPLOADS, "-m", "KENT", "--db", tmp_path / "s.duckdb")
    assert result.exit_code == 0, result.stderr
    assert f"loaded into {tmp_path / 's.duckdb'}" in screen.getvalue()


def test_nothing_is_drawn_when_stderr_is_not_a_terminal(invoke):
    result = invoke("validate", EXAMPLES / "students.csv")
    assert result.exit_code == 0
    assert "rows/s" not in result.stderr and "validated" not in result.stderr
