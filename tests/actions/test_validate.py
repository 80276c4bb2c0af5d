"""The validate action: each upload's counts and findings, unreadable files, --errors-out."""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heattool.actions.validate import FINDING_COLUMNS, validate
from heattool.errors import BadPolicy
from tests.helpers import EXAMPLES, UPLOADS, csv_rows, write_csv

AS_OF = dt.date(2026, 11, 24)
STUDENTS = csv_rows(EXAMPLES / "students.csv")
HEADINGS = list(STUDENTS[0])


def messy_records() -> list[list[str]]:
    """The messy upload's records as a spreadsheet holds them: BOM, then Windows-1252 text."""
    text = (EXAMPLES / "messy_students.csv").read_bytes().removeprefix(b"\xef\xbb\xbf")
    return list(csv.reader(text.decode("cp1252").splitlines(keepends=True)))


@pytest.mark.parametrize("upload", UPLOADS, ids=lambda p: p.stem)
def test_each_clean_example_is_valid_and_every_row_counted(upload):
    outcome = validate([upload], as_of=AS_OF)
    assert outcome.valid and not outcome.failures
    (result,) = outcome.results
    assert result.kind == upload.stem  # told from the headings alone
    assert result.rows == result.valid_rows == len(csv_rows(upload))
    assert result.errors.is_empty()


def test_the_workbook_holds_the_same_students_as_the_csv():
    outcome = validate([EXAMPLES / "students.csv", EXAMPLES / "students.xlsx"], as_of=AS_OF)
    assert outcome.valid
    from_csv, from_xlsx = outcome.results
    assert from_xlsx.raw.sheet == "Students"
    refs = [row["Student Ref"] for row in STUDENTS]
    assert from_csv.frame["student_ref"].to_list() == refs
    assert from_xlsx.frame["student_ref"].to_list() == refs


def test_the_messy_upload_flags_exactly_its_repeated_refs_by_spreadsheet_row():
    header, *records = messy_records()
    refs = Counter(r[0] for r in records if any(r))
    repeated = {row for row, r in enumerate(records, start=2) if any(r) and refs[r[0]] > 1}
    outcome = validate([EXAMPLES / "messy_students.csv"], as_of=AS_OF)
    (result,) = outcome.results
    assert not outcome.valid
    assert result.rows == sum(1 for r in records if any(r))  # the blank row is not a row
    assert result.valid_rows + result.invalid_rows == result.rows
    assert result.invalid_rows == result.errors["row"].n_unique()
    duplicates = result.errors.filter(result.errors["code"] == "duplicate-ref")
    assert set(duplicates["row"]) == repeated
    assert "encoding-guessed" in set(result.warnings["code"])
    assert "Notes" in header and "unknown-column" in set(result.warnings["code"])


def test_an_unreadable_file_is_reported_and_the_others_still_validated(tmp_path):
    missing = tmp_path / "not-there.csv"
    outcome = validate([missing, EXAMPLES / "students.csv"], as_of=AS_OF)
    assert [path for path, _ in outcome.failures] == [str(missing)]
    assert outcome.failures[0][1].startswith(str(missing))
    assert [r.raw.path.name for r in outcome.results] == ["students.csv"]
    assert outcome.results[0].valid
    assert not outcome.valid  # one file could not be read


def test_errors_out_lists_every_finding_of_every_file(tmp_path):
    out = tmp_path / "findings.csv"
    uploads = [EXAMPLES / "messy_students.csv", EXAMPLES / "students.csv"]
    outcome = validate(uploads, as_of=AS_OF, errors_out=out)
    assert outcome.errors_out == out
    written = csv_rows(out)
    assert list(written[0]) == FINDING_COLUMNS
    assert len(written) == sum(r.findings.height for r in outcome.results)
    assert {row["file"] for row in written} == {str(uploads[0])}  # the clean file has none
    assert Counter(row["code"] for row in written if row["severity"] == "error") == Counter(
        outcome.results[0].errors["code"].to_list()
    )


def test_errors_out_is_written_even_when_every_file_is_clean(tmp_path):
    out = tmp_path / "findings.csv"
    validate([EXAMPLES / "students.csv"], as_of=AS_OF, errors_out=out)
    with out.open(encoding="utf-8-sig", newline="") as handle:
        assert list(csv.reader(handle)) == [FINDING_COLUMNS]


def test_the_date_of_birth_is_judged_as_of_the_day_given(tmp_path):
    born = dt.date(2020, 6, 1)
    upload = write_csv(
        tmp_path / "one.csv",
        [{"Student Ref": "X1", "Date of Birth": born.isoformat()}],
        ["Student Ref", "Date of Birth"],
    )

    def codes(as_of: dt.date) -> set[str]:
        (result,) = validate([upload], as_of=as_of).results
        return set(result.errors["code"])

    assert codes(born - dt.timedelta(days=1)) == {"dob-in-future"}
    assert codes(born + dt.timedelta(days=365)) == {"implausible-age"}  # aged 1: under 3
    assert codes(dt.date(2024, 6, 1)) == set()  # aged 4


def test_an_alias_file_maps_a_heading_and_a_bad_one_stops_the_run(tmp_path):
    upload = write_csv(
        tmp_path / "pupils.csv",
        [{"Pupil Number": "P1", "Given Name": "Ann"}],
        ["Pupil Number", "Given Name"],
    )
    aliases = tmp_path / "aliases.toml"
    aliases.write_text('[aliases]\nstudent_ref = ["Pupil Number"]\nforename = ["Given Name"]\n')
    (result,) = validate([upload], aliases=aliases, as_of=AS_OF).results
    assert result.kind == "students" and result.valid
    assert result.frame["forename"].to_list() == ["Ann"]
    wrong = tmp_path / "wrong.toml"  # a new file: alias files are read once per process
    wrong.write_text("[aliases]\nnot_a_column = ['Pupil Number']\n")
    with pytest.raises(BadPolicy, match="not_a_column"):
        validate([upload], aliases=wrong, as_of=AS_OF)


@settings(max_examples=20)
@given(st.lists(st.integers(0, len(STUDENTS) - 1), min_size=1, max_size=8))
def test_any_selection_of_clean_rows_is_invalid_exactly_where_a_ref_repeats(picks):
    chosen = [STUDENTS[i] for i in picks]
    repeats = Counter(picks)
    with tempfile.TemporaryDirectory() as folder:
        upload = write_csv(Path(folder) / "students.csv", chosen, HEADINGS)
        (result,) = validate([upload], as_of=AS_OF).results
    assert result.rows == len(chosen)
    assert result.valid_rows == sum(1 for i in picks if repeats[i] == 1)
    assert set(result.errors["code"]) <= {"duplicate-ref"}
    flagged = {row - 2 for row in result.errors["row"]}  # the headings are row 1
    assert flagged == {n for n, i in enumerate(picks) if repeats[i] > 1}
