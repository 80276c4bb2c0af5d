"""The summary action: what the store holds per member and kind, entry years, retention."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heattool.actions.retention import retention
from heattool.actions.summary import summarise
from heattool.errors import StoreError
from heattool.rules.policy import load_policy
from heattool.schemas import KINDS
from tests.helpers import EXAMPLES, UPLOADS, csv_rows

POLICY = load_policy()
AS_OF = dt.date(2026, 11, 24)
ROWS = {upload.stem: len(csv_rows(upload)) for upload in UPLOADS}
PEOPLE = ROWS["students"] + ROWS["ambassadors"]
STUDENTS = csv_rows(EXAMPLES / "students.csv")


def test_the_counts_are_the_rows_of_the_uploads(shared_db):
    result = summarise(shared_db, None, None, policy=POLICY, as_of=AS_OF)
    assert result.db == str(shared_db) and result.as_of == AS_OF
    assert result.members == {"KENT": {kind: ROWS.get(kind, 0) for kind in KINDS}}
    imports = {i["file_name"]: i for i in result.recent_imports}
    assert set(imports) == {upload.name for upload in UPLOADS}
    for upload in UPLOADS:
        assert imports[upload.name]["rows"] == imports[upload.name]["inserted"] == ROWS[upload.stem]
    # the newest first
    batches = [i["batch_id"] for i in result.recent_imports]
    assert batches == sorted(batches, reverse=True)


def test_entry_years_count_every_person_and_the_overrides(shared_db):
    result = summarise(shared_db, None, "KENT", policy=POLICY, as_of=AS_OF)
    years = {y["entry_year"]: y for y in result.entry_years}
    assert sum(y["people"] for y in result.entry_years) == PEOPLE
    overrides = Counter(
        int(row["Expected HE Entry Year"]) for row in STUDENTS if row["Expected HE Entry Year"]
    )
    assert sum(y["overridden"] for y in result.entry_years) == sum(overrides.values())
    for year, people in overrides.items():
        assert years[f"{year}/{(year + 1) % 100:02d}"]["overridden"] == people
    # a student with neither a date of birth nor an override has no entry year
    unknown = [r for r in STUDENTS if not r["Date of Birth"] and not r["Expected HE Entry Year"]]
    assert years["none"]["people"] == len(unknown)


def test_one_members_summary_holds_only_theirs(two_member_store):
    everyone = summarise(two_member_store, None, None, policy=POLICY, as_of=AS_OF)
    assert set(everyone.members) == {"KENT", "OTHER"}
    other = summarise(two_member_store, None, "other", policy=POLICY, as_of=AS_OF)
    assert list(other.members) == ["OTHER"]
    assert other.members["OTHER"] == everyone.members["OTHER"]
    assert {i["member"] for i in other.recent_imports} == {"OTHER"}
    assert {r["member"] for r in other.retention} == {"OTHER"}
    assert {y["member"] for y in other.entry_years} == {"OTHER"}


def test_an_unknown_member_or_a_missing_store_is_an_error(shared_db, tmp_path):
    with pytest.raises(StoreError, match="KENT"):  # it names the members the store holds
        summarise(shared_db, None, "NOPE", policy=POLICY, as_of=AS_OF)
    missing = tmp_path / "missing.duckdb"
    with pytest.raises(StoreError, match="no store"):
        summarise(missing, None, None, policy=POLICY, as_of=AS_OF)
    assert not missing.exists()


def test_the_document_is_the_summary(shared_db):
    result = summarise(shared_db, None, None, policy=POLICY, as_of=AS_OF)
    document = result.document()
    assert document["members"] == [{"member": "KENT", **result.members["KENT"]}]
    assert document["retention"] == {
        "as_of": AS_OF.isoformat(),
        "by_member_and_status": result.retention,
    }


@settings(max_examples=15)
@given(st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2070, 12, 31)))
def test_retention_in_the_summary_counts_everyone_as_retention_does(shared_db, day):
    result = summarise(shared_db, None, None, policy=POLICY, as_of=day)
    assert sum(r["people"] for r in result.retention) == PEOPLE
    statuses = Counter(retention(POLICY, day, db=shared_db).result["status"].to_list())
    assert {r["status"]: r["people"] for r in result.retention} == dict(statuses)
