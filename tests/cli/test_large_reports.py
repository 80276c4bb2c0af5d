"""Reports of many findings: a text report of 200,000 errors drew in over 5 minutes (rich laid
out a Table of them in Python), now plain lines made by Polars past `TABLE_ROWS` findings."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from rich.cells import cell_len

from heattool.cli.render import LISTED_FIELDS, TABLE_ROWS

AS_OF = "2026-11-24"
POSTCODE = "not a UK postcode; write it like SW1A 1AA, or leave the cell empty"
DATE = "not a real date; write it as DD/MM/YYYY (e.g. 01/09/2008) or YYYY-MM-DD"


def upload(path: Path, rows: int, odd: dict[int, str] | None = None) -> Path:
    """`rows` students, each with a bad postcode (or the text in `odd`) and an impossible date."""
    odd = odd or {}
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Student Ref", "Postcode", "Date of Birth"])
        for n in range(rows):
            writer.writerow([f"S{n}", odd.get(n, f"BAD{n}"), "31/02/2009"])
    return path


def listing(stdout: str) -> tuple[str, str, list[str]]:
    """The heading, the rule and the finding lines of a plain report."""
    lines = stdout.splitlines()
    start = next(n for n, line in enumerate(lines) if line.split() == LISTED_FIELDS)
    end = next((n for n in range(start, len(lines)) if lines[n].startswith("  ... and ")), None)
    return lines[start], lines[start + 1], lines[start + 2 : end]


def fields(heading: str, line: str) -> list[str]:
    """A finding line cut where the heading's columns start (in display cells, as it is shown)."""
    starts = [cell_len(heading[: heading.index(name)]) for name in LISTED_FIELDS]
    cut, width = [], 0
    for position, char in enumerate(line):
        if width in starts:
            cut.append(position)
        width += cell_len(char)
    return [line[a:b].strip() for a, b in zip(cut, [*cut[1:], len(line)], strict=True)]


def test_a_report_past_the_table_limit_is_one_plain_line_a_finding(invoke, tmp_path):
    rows = TABLE_ROWS  # two errors a row: twice the limit
    odd = {0: "[bold]x", 1: "[/]", 2: "two\nlines", 3: "李雷", 4: "Zoë\x1b[31m"}
    result = invoke("validate", upload(tmp_path / "u.csv", rows, odd), "--as-of", AS_OF,
                    "--max-errors", "0")  # fmt: skip
    assert result.exit_code == 1, result.stderr
    assert f"invalid-date {rows}, invalid-postcode {rows}" in result.stdout
    heading, rule, found = listing(result.stdout)
    assert set(rule) == {"─", " "} and len(rule.split()) == len(LISTED_FIELDS)
    assert "│" not in result.stdout and "┃" not in result.stdout  # not a rich Table
    assert len(found) == 2 * rows  # a line break in a cell does not split its line
    # a person's cells are never quoted (issue 11 item 19): not even odd ones
    assert fields(heading, found[0]) == ["2", "B2", "Postcode", "(not shown)", "invalid-postcode",
                                         POSTCODE]  # fmt: skip
    assert fields(heading, found[1]) == ["2", "C2", "Date of Birth", "(not shown)",
                                         "invalid-date", DATE]  # fmt: skip
    assert fields(heading, found[6])[3:5] == ["(not shown)", "invalid-postcode"]  # aligned
    assert not any(text in result.stdout for text in ("[bold]x", "李雷", "Zoë", "\x1b"))
    last = 2 * rows - 1
    assert fields(heading, found[last]) == [str(rows + 1), f"C{rows + 1}", "Date of Birth",
                                            "(not shown)", "invalid-date", DATE]  # fmt: skip


def test_a_report_up_to_the_limit_is_still_a_table(invoke, tmp_path):
    result = invoke("validate", upload(tmp_path / "u.csv", TABLE_ROWS // 2), "--as-of", AS_OF,
                    "--max-errors", "0")  # fmt: skip
    assert result.exit_code == 1, result.stderr
    assert result.stdout.count("│ invalid-postcode") == TABLE_ROWS // 2
    capped = invoke("validate", upload(tmp_path / "v.csv", 5 * TABLE_ROWS), "--as-of", AS_OF)
    assert "│ invalid-postcode" in capped.stdout  # the default cap of 50 lists a table
    assert f"... and {10 * TABLE_ROWS - 50} more errors" in capped.stdout


def test_many_unknown_headings_are_one_line_each(invoke, tmp_path):
    headings = ["Student Ref", *(f"Extra {n}" for n in range(2 * TABLE_ROWS)), "odd\nheading"]
    path = tmp_path / "wide.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([headings, ["S1", *[""] * (len(headings) - 1)]])
    result = invoke("validate", path, "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    warnings = [line for line in result.stdout.splitlines() if line.startswith("  warning ")]
    assert len(warnings) == 2 * TABLE_ROWS + 1
    assert warnings[0] == (
        "  warning unknown-column: column 'Extra 0' is not a known heading and was ignored; "
        "rename or remove it"
    )
    assert warnings[-1].startswith("  warning unknown-column: column 'odd\\nheading' is not")


@pytest.mark.slow
def test_200000_errors_are_listed_and_written_out(invoke, tmp_path):
    rows = 100_000
    out = tmp_path / "errors.csv"
    result = invoke("validate", upload(tmp_path / "u.csv", rows), "--as-of", AS_OF,
                    "--max-errors", "0", "--errors-out", out)  # fmt: skip
    assert result.exit_code == 1, result.stderr
    heading, _rule, found = listing(result.stdout)
    assert len(found) == 2 * rows
    assert fields(heading, found[-1])[:5] == [str(rows + 1), f"C{rows + 1}", "Date of Birth",
                                              "(not shown)", "invalid-date"]  # fmt: skip
    with out.open(encoding="utf-8-sig", newline="") as handle:
        assert sum(1 for _ in csv.DictReader(handle)) == 2 * rows
