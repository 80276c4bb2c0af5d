"""`heattool receipt`: a deletion's receipt written again from the audit trail (issue 11, 20)."""

from __future__ import annotations

import json
import os
import stat

import pytest

from tests.helpers import EXAMPLES

UPLOADS = [EXAMPLES / n for n in ("activities.csv", "students.csv", "attendance.csv")]


@pytest.fixture
def db(invoke, tmp_path):
    path = tmp_path / "store.duckdb"
    assert invoke("import", *UPLOADS, "--member", "KENT", "--db", path).exit_code == 0
    return path


def purge(invoke, db, *args):
    return invoke("purge", "--db", db, "--as-of", "2060-09-01", "--allow-future", "--yes", *args)


def test_a_receipt_written_again_is_the_receipt_the_deletion_wrote(invoke, db, tmp_path):
    first = tmp_path / "first.json"
    assert purge(invoke, db, "--receipt", first).exit_code == 0
    again = tmp_path / "again.json"
    result = invoke("receipt", "--db", db, "--out", again)
    assert result.exit_code == 0, result.stderr
    original = json.loads(first.read_text("utf-8"))
    assert json.loads(again.read_text("utf-8")) == original
    assert original["people"] == len(original["heat_ids"]) > 0
    assert f"receipt of audit event {original['audit_event_id']} (purge," in result.stdout
    assert stat.S_IMODE(os.stat(again).st_mode) == 0o600


def test_a_purge_killed_before_its_receipt_leaves_a_way_to_write_it(
    invoke, db, tmp_path, monkeypatch
):
    """The deletion is committed; the receipt's file fails (as on a full disk)."""
    from heattool.actions import purge as action

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(action, "write_json", no_space)
    receipt = tmp_path / "receipt.json"
    result = purge(invoke, db, "--receipt", receipt)
    assert result.exit_code == 2
    assert "the deletion is done and committed (audit event" in result.stderr
    assert "heattool receipt" in result.stderr
    assert not receipt.exists()
    event = int(result.stderr.split("(audit event ")[1].split(")")[0])
    monkeypatch.undo()
    result = invoke("receipt", str(event), "--db", db, "--out", receipt, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout) == {"audit_event_id": event, "receipt": str(receipt)}
    document = json.loads(receipt.read_text("utf-8"))
    assert document["event"] == "purge" and document["rows_deleted"]["students"] > 0
    # the store holds none of the people the receipt names
    held = invoke("subject", "access", document["heat_ids"][0], "--db", db)
    assert held.exit_code == 2


def test_an_erasure_receipt_is_written_again(invoke, db, tmp_path, monkeypatch):
    from heattool.actions import subject as action

    who = ["--forename", "Amelia", "--surname", "Hughes", "--dob", "14/03/2009"]
    found = invoke("subject", "find", *who, "--member", "KENT", "--db", db, "--format", "json")
    assert found.exit_code == 0, found.stderr
    heat_id = json.loads(found.stdout)[0]["heat_id"]

    def no_space(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(action, "write_json", no_space)
    result = invoke("subject", "erase", heat_id, "--db", db, "--yes")
    assert result.exit_code == 2
    assert "heattool receipt" in result.stderr
    monkeypatch.undo()
    out = tmp_path / "erasure.json"
    result = invoke("receipt", "--member", "KENT", "--db", db, "--out", out)
    assert result.exit_code == 0, result.stderr
    document = json.loads(out.read_text("utf-8"))
    assert (document["event"], document["heat_ids"]) == ("erase", [heat_id])


def test_no_receipt_for_an_event_that_is_not_a_deletion_or_another_member(invoke, db, tmp_path):
    result = invoke("receipt", "1", "--db", db)
    assert result.exit_code == 2
    assert "not a deletion" in result.stderr
    assert invoke("receipt", "--db", db).exit_code == 2  # no deletion yet
    assert "has no deletion" in invoke("receipt", "--db", db).stderr
    other = tmp_path / "other.csv"
    other.write_text("Student Ref,Forename,Surname\nX1,Al,Bo\n", "utf-8")
    assert invoke("import", other, "--member", "OTHER", "--db", db).exit_code == 0
    assert purge(invoke, db, "--member", "KENT").exit_code == 0
    result = invoke("receipt", "--member", "OTHER", "--db", db)
    assert result.exit_code == 2
    assert "has no deletion of OTHER" in result.stderr
    assert invoke("receipt", "--db", tmp_path / "typo.duckdb").exit_code == 2
