"""The subject actions: find a person, give them access, record a withdrawal, erase them."""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heattool.actions import subject
from heattool.actions.load import import_paths
from heattool.errors import HeattoolError, NoSuchPerson, StoreError
from tests.helpers import EXAMPLES, copy_store, csv_rows, query

STUDENTS = csv_rows(EXAMPLES / "students.csv")
AMBASSADORS = csv_rows(EXAMPLES / "ambassadors.csv")
REGISTER = csv_rows(EXAMPLES / "attendance.csv")
# Everyone in the examples with a date of birth, as (kind, ref, upload row).
PEOPLE = [("students", r["Student Ref"], r) for r in STUDENTS if r["Date of Birth"]] + [
    ("ambassadors", r["Ambassador Ref"], r) for r in AMBASSADORS
]


def born(row: dict[str, str]) -> dt.date:
    return dt.datetime.strptime(row["Date of Birth"], "%d/%m/%Y").date()


def heat_id(db: Path, ref: str) -> str:
    (found,) = query(
        db,
        "SELECT heat_id FROM students WHERE student_ref = $ref "
        "UNION ALL SELECT heat_id FROM ambassadors WHERE ambassador_ref = $ref",
        {"ref": ref},
    )
    return str(found[0])


def everyone(db: Path) -> set[str]:
    return {
        str(r[0])
        for r in query(db, "SELECT heat_id FROM students UNION ALL SELECT heat_id FROM ambassadors")
    }


def test_everyone_is_found_by_name_and_birth_date_in_any_case_and_spacing(shared_db):
    for kind, ref, row in PEOPLE:
        found = subject.find(
            shared_db,
            None,
            forename=row["Forename"].upper(),
            surname=f" {row['Surname'].lower()}",
            date_of_birth=born(row),
            postcode=row["Postcode"].replace(" ", "").lower(),
            member="kent",
        )
        assert (found["kind"].to_list(), found["ref"].to_list()) == ([kind], [ref])
        assert found["heat_id"].to_list() == [heat_id(shared_db, ref)]


def test_find_wants_every_identifier_to_match(shared_db):
    row = STUDENTS[0]
    wrong_day = born(row) + dt.timedelta(days=1)
    found = subject.find(
        shared_db, None, forename=row["Forename"], surname=row["Surname"], date_of_birth=wrong_day
    )
    assert found.is_empty()
    elsewhere = subject.find(
        shared_db,
        None,
        forename=row["Forename"],
        surname=row["Surname"],
        date_of_birth=born(row),
        postcode="SW1A 1AA",
    )
    assert elsewhere.is_empty()


def test_access_gives_the_record_and_the_activities_attended(db, tmp_path):
    row = STUDENTS[0]
    ref = row["Student Ref"]
    out = tmp_path / "access.json"
    package = subject.access(db, None, None, member="KENT", ref=ref, out=out)
    assert package.heat_id == heat_id(db, ref) and package.out == out
    assert package.package["record"]["student_ref"] == ref
    assert package.package["record"]["surname"] == row["Surname"]
    attended = sorted(r["Activity Ref"] for r in REGISTER if r["Student Ref"] == ref)
    assert sorted(a["activity_ref"] for a in package.package["attendance"]) == attended
    assert json.loads(out.read_text("utf-8"))["heat_id"] == package.heat_id
    # the access itself is audited: the next access lists it
    again = subject.access(db, None, package.heat_id)
    assert "access" in {event["event"] for event in again.package["audit_events"]}


def test_a_person_who_is_not_there_is_no_such_person(shared_db, tmp_path):
    with pytest.raises(NoSuchPerson):
        subject.access(shared_db, None, "00000000-0000-0000-0000-000000000000")
    with pytest.raises(NoSuchPerson, match="NOBODY"):
        subject.withdraw(shared_db, None, None, dt.date(2026, 1, 1), member="KENT", ref="NOBODY")
    with pytest.raises(HeattoolError, match="heat_id"):
        subject.erase(shared_db, None, None, member="KENT")  # no ref: nobody named
    with pytest.raises(StoreError, match="no records of member NOPE"):
        subject.access(shared_db, None, None, member="NOPE", ref="S0001")
    with pytest.raises(StoreError, match="no store"):
        subject.who_is(tmp_path / "missing.duckdb", None, heat_id(shared_db, "S0001"))


def test_a_withdrawal_keeps_its_first_day(db):
    ref = STUDENTS[1]["Student Ref"]
    first = subject.withdraw(db, None, None, dt.date(2026, 5, 1), member="KENT", ref=ref)
    assert (first.kind, first.member, first.already) == ("students", "KENT", False)
    assert first.heat_id == heat_id(db, ref) and first.withdrawn_on == dt.date(2026, 5, 1)
    again = subject.withdraw(db, None, first.heat_id, dt.date(2026, 6, 1))
    assert again.already and again.withdrawn_on == dt.date(2026, 5, 1)
    assert query(db, "SELECT withdrawn_on FROM students WHERE student_ref = ?", [ref]) == [
        (dt.date(2026, 5, 1),)
    ]


def test_who_is_names_the_member_kind_and_ref(shared_db):
    ref = AMBASSADORS[0]["Ambassador Ref"]
    who = subject.who_is(shared_db, None, heat_id(shared_db, ref))
    assert who == {
        "heat_id": heat_id(shared_db, ref),
        "member": "KENT",
        "kind": "ambassadors",
        "ref": ref,
    }


def test_an_erased_student_goes_with_their_register_rows_and_a_receipt(db, tmp_path):
    ref = STUDENTS[0]["Student Ref"]
    gone = heat_id(db, ref)
    receipt = tmp_path / "erased.json"
    erased = subject.erase(db, None, None, member="KENT", ref=ref, receipt=receipt)
    assert erased.path == receipt
    assert erased.receipt.people == 1
    assert erased.receipt.heat_ids.to_list() == [gone]
    assert erased.receipt.rows_deleted["attendance"] == sum(
        r["Student Ref"] == ref for r in REGISTER
    )
    document = json.loads(receipt.read_text("utf-8"))
    assert document["heat_ids"] == [gone] and document["event"] == "erase"
    with pytest.raises(NoSuchPerson):
        subject.access(db, None, gone)


@settings(max_examples=6)
@given(st.sampled_from(PEOPLE))
def test_erasing_anyone_removes_them_alone_and_keeps_them_out(example_store, person):
    kind, ref, row = person
    upload = EXAMPLES / f"{kind}.csv"
    with tempfile.TemporaryDirectory() as folder:
        db = copy_store(example_store, Path(folder))
        before = everyone(db)
        gone = heat_id(db, ref)
        subject.erase(db, None, gone)
        after = everyone(db)
        found = subject.find(
            db, None, forename=row["Forename"], surname=row["Surname"], date_of_birth=born(row)
        )
        (again,) = import_paths([upload], member="KENT", db=db, write_rejects=False).files
    assert after == before - {gone}
    assert found.is_empty()
    assert again.rejected == 1 and again.inserted == 0
    assert again.result.errors["code"].to_list() == ["previously-erased"]
    assert again.result.errors["value"].to_list() == [ref]
