"""Headings by the hundred thousand: what a ~3 MB upload of short headings holds. The header
test looked for lookalikes of every heading, four kinds over, in Python (a 3 MB file of them took
76 s to be refused); they are now found for all headings at once, and only when mapping them."""

from __future__ import annotations

import random
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from heattool.io.readers import RawTable
from heattool.schemas import KINDS
from heattool.schemas import headers as H
from heattool.schemas.validate import header_test, validate_table

NAMES = sorted({n for names in H.heading_tables().names.values() for n in names})
WORDS = ["Pupil", "Student", "Area", "Extra", "2", "of", "DATE", "ofBirth", "Home", "x", "é", "İ"]
PIECES = [*NAMES, *WORDS, "PUPILDATEOFBIRTH", "Schools Officer", "Photo Consent", "[bold]"]


def reference_lookalike(heading: str, columns: list[str]) -> str | None:
    """`lookalike` as it was written first: one heading, one name at a time."""
    words, key = H.heading_words(heading), H.heading_key(heading)
    best: tuple[int, str] | None = None
    for canonical in columns:
        for name_key, name_words in H._matchable_names(None).get(canonical, ()):
            width = len(name_words)
            run = any(words[i : i + width] == name_words for i in range(len(words) - width + 1))
            found = run or (len(name_key) >= H.GLUED_MIN and name_key in key)
            if found and (best is None or len(name_key) > best[0]):
                best = (len(name_key), canonical)
    return best[1] if best else None


heading = st.lists(st.sampled_from(PIECES), min_size=1, max_size=3).flatmap(
    lambda parts: st.sampled_from([" ", "", "_", "-", " / "]).map(lambda sep: sep.join(parts))
)


@given(
    st.lists(heading, max_size=40),
    st.sampled_from(KINDS).flatmap(
        lambda kind: st.lists(st.sampled_from(H.kind_columns(kind)[0]), unique=True)
    ),
)
def test_lookalikes_of_many_headings_are_each_ones_lookalike(headings, columns):
    expected = [reference_lookalike(h, columns) for h in headings]
    assert H.lookalikes_of(headings, columns) == expected
    assert [H.lookalike(h, columns) for h in headings] == expected


@given(st.lists(st.sampled_from([*NAMES, *WORDS, "Student HEAT ID", "HEAT ID"]), max_size=8))
def test_the_header_test_says_what_map_headers_would(headings):
    for kinds in [[kind] for kind in KINDS] + [list(KINDS)]:
        expected = any(not H.map_headers(headings, kind).missing for kind in kinds)
        assert H.has_required_columns(headings, kinds, None) is expected


def test_many_heading_keys_are_made_as_one_would_be():
    rng = random.Random(0)
    headings = [
        rng.choice(PIECES) + rng.choice(["", " ", "\u212a", "ΑΣ", "\x00"]) for _ in range(3000)
    ]
    assert len(headings) >= H.MANY_HEADINGS
    assert H.heading_keys(headings) == [H.heading_key(h) for h in headings]


def test_the_header_test_never_looks_for_lookalikes(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the header test looked for lookalikes")

    monkeypatch.setattr(H, "lookalikes_of", refuse)
    monkeypatch.setattr(H, "lookalike", refuse)
    is_header = header_test()
    assert not is_header([f"Pupil Date of Birth {n}" for n in range(2000)])
    assert is_header(["Student Ref", *(f"Pupil Date of Birth {n}" for n in range(2000))])


def test_lookalikes_are_looked_for_once_for_all_headings(monkeypatch):
    calls = []
    found = H.lookalikes_of
    monkeypatch.setattr(H, "lookalikes_of", lambda *a: calls.append(len(a[0])) or found(*a))
    headings = ["Student Ref", *(f"Pupil Date of Birth {n}" for n in range(2000)), "Notes"]
    header = H.map_headers(headings, "students")
    assert calls == [2001]
    assert header.unknown == ["Notes"]
    assert header.lookalikes == [(h, "date_of_birth") for h in headings[1:-1]]


def test_the_file_findings_of_many_headings_read_them_once(monkeypatch):
    import polars as pl

    headings = ["Student Ref", *(f"Extra {n}" for n in range(2000))]
    raw = RawTable(Path("wide.csv"), pl.DataFrame({h: ["x"] for h in headings}), "0" * 64, "csv")
    reads = []
    monkeypatch.setattr(RawTable, "headers", property(lambda t: reads.append(1) or t.frame.columns))
    result = validate_table(raw, as_of=None)
    assert result.warnings.height == 2000
    assert result.warnings["cell"].to_list()[-1] == "BXY1"  # column 2001 of the sheet
    assert len(reads) < 10  # once for each heading was an hour for 100,000 headings
