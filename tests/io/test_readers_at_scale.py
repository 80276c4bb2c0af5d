"""Excel headings by the thousand: a sheet of 16,384 cells 'Notes' (Excel's most) took 108 s
to be refused, each repeat's name sought from `Notes_1` again."""

from __future__ import annotations

from heattool.io.readers import _names


def test_repeated_excel_headings_are_named_as_before():
    assert _names(["a", "a", "a_1", "a", None, "", "__UNNAMED__5", "a_1"]) == [
        "a", "a_1", "a_1_1", "a_2", "__UNNAMED__4", "__UNNAMED__5", "__UNNAMED__5_1", "a_1_2",
    ]  # fmt: skip


def test_a_sheet_of_16384_headings_the_same_is_named_at_once():
    # from 1 again for each, this was 134 million set lookups
    assert _names(["Notes"] * 16384) == ["Notes", *(f"Notes_{n}" for n in range(1, 16384))]
