"""The track-request action: who is sent and who is left out, the file, manifest and batch."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from heattool.actions import subject
from heattool.actions.track_request import FILE_COLUMNS, manifest_path, run_track_request
from heattool.errors import BadPolicy, HeattoolError, StoreError
from heattool.rules.policy import load_policy, policy_from_text
from tests.helpers import EXAMPLES, HEAT_TOML, csv_rows, query

POLICY = load_policy()
STUDENTS = csv_rows(EXAMPLES / "students.csv")
AMBASSADORS = csv_rows(EXAMPLES / "ambassadors.csv")
PEOPLE = {"students": len(STUDENTS), "ambassadors": len(AMBASSADORS)}


def of_kinds(target: str) -> int:
    return sum(PEOPLE[kind] for kind in POLICY.tracks[target].kinds)


def test_a_dry_run_sends_or_excludes_everyone_and_writes_nothing(shared_db, tmp_path):
    result = run_track_request(shared_db, None, POLICY, "hesa", 2026, dry_run=True)
    assert result.dry_run and result.batch_id is None and result.out is None
    assert result.records + result.excluded_total == of_kinds("hesa")
    assert sum(n for kinds in result.counts.values() for n in kinds.values()) == result.records
    assert list(result.excluded) == result.reason_order
    # no-permission comes before every reason but withdrawn, and nobody has withdrawn
    refused = sum(r["Permission to Track"] == "No" for r in [*STUDENTS, *AMBASSADORS])
    assert result.excluded["withdrawn"] == 0 and result.excluded["no-permission"] == refused
    # ambassadors need both privacy notices
    unserved = sum(
        r["Permission to Track"] == "Yes"
        and "No" in (r["HEAT Privacy Notice"], r["HESA Privacy Notice"])
        for r in AMBASSADORS
    )
    assert result.excluded["notice-not-served"] == unserved
    assert query(shared_db, "SELECT count(*) FROM track_batches") == [(0,)]
    assert list(tmp_path.iterdir()) == []


def test_the_request_file_manifest_and_batch(db, tmp_path):
    out = tmp_path / "hesa-2026.csv"
    result = run_track_request(db, None, POLICY, "hesa", 2026, member="KENT", out=out)
    rows = csv_rows(out)
    assert list(rows[0]) == list(FILE_COLUMNS)
    assert len(rows) == result.records > 0
    assert Counter(r["kind"] for r in rows) == Counter(result.counts["KENT"])
    stored = {
        str(r[0])
        for r in query(db, "SELECT heat_id FROM students UNION ALL SELECT heat_id FROM ambassadors")
    }
    assert {r["heat_id"] for r in rows} <= stored  # the store's own ids, never a member's ref
    assert result.file_sha256 == hashlib.sha256(out.read_bytes()).hexdigest()
    manifest = json.loads(manifest_path(out).read_text("utf-8"))
    assert manifest["batch_id"] == result.batch_id
    assert (manifest["target"], manifest["year"], manifest["records"]) == ("hesa", 2026, len(rows))
    assert manifest["sha256"] == result.file_sha256 and manifest["changes"] is None
    assert query(db, "SELECT track_batch_id, records FROM track_batches") == [
        (result.batch_id, len(rows))
    ]


def test_the_next_request_says_who_was_withdrawn_since(db, tmp_path):
    out = tmp_path / "hesa.csv"
    first = run_track_request(db, None, POLICY, "hesa", 2026, out=out)
    sent = csv_rows(out)
    subject.withdraw(db, None, sent[0]["heat_id"], dt.date(2026, 6, 1))
    second = run_track_request(db, None, POLICY, "hesa", 2026, out=out)
    assert second.records == first.records - 1
    assert second.excluded["withdrawn"] == 1
    assert second.batch_id == first.batch_id + 1
    assert second.previous is not None
    assert second.previous["previous_batch_id"] == first.batch_id
    assert (second.previous["added"], second.previous["removed"]) == (0, 1)
    assert second.previous["removed_by_reason"] == {"withdrawn": 1}
    assert sent[0]["heat_id"] not in {r["heat_id"] for r in csv_rows(out)}


def test_the_excluded_list_names_everyone_left_out_without_their_names(shared_db, tmp_path):
    excluded_out = tmp_path / "excluded.csv"
    result = run_track_request(
        shared_db, None, POLICY, "npd", 2026, dry_run=True, excluded_out=excluded_out
    )
    listed = csv_rows(excluded_out)
    assert result.excluded_out == excluded_out
    assert len(listed) == result.excluded_total
    assert Counter(r["reason"] for r in listed) == +Counter(result.excluded)
    assert not {"forename", "surname", "date_of_birth"} & set(listed[0])
    assert {r["kind"] for r in listed} == {"students"}  # npd tracks students only


def test_one_members_request_reads_only_theirs(two_member_store):
    both = run_track_request(two_member_store, None, POLICY, "hesa", 2026, dry_run=True)
    other = run_track_request(
        two_member_store, None, POLICY, "hesa", 2026, member="OTHER", dry_run=True
    )
    assert set(both.counts) == {"KENT", "OTHER"} and set(other.counts) == {"OTHER"}
    assert other.counts["OTHER"] == both.counts["OTHER"]
    assert other.records * 2 == both.records


def test_requests_that_cannot_be_made_are_refused(shared_db, tmp_path):
    with pytest.raises(HeattoolError, match="no track target 'ilr'"):
        run_track_request(shared_db, None, POLICY, "ilr", 2026, dry_run=True)
    with pytest.raises(HeattoolError, match="--out"):
        run_track_request(shared_db, None, POLICY, "hesa", 2026)
    earliest = POLICY.settings.earliest_track_year
    with pytest.raises(HeattoolError, match="window starts"):
        run_track_request(shared_db, None, POLICY, "hesa", earliest - 1, dry_run=True)
    with pytest.raises(HeattoolError, match="--format"):
        run_track_request(shared_db, None, POLICY, "hesa", 2026, dry_run=True, file_format="xml")
    untracked = policy_from_text(HEAT_TOML[: HEAT_TOML.index("[track.")], "untracked.toml")
    with pytest.raises(BadPolicy, match=r"untracked\.toml"):
        run_track_request(shared_db, None, untracked, "hesa", 2026, dry_run=True)
    with pytest.raises(StoreError, match="no records of member NOPE"):
        run_track_request(shared_db, None, POLICY, "hesa", 2026, member="NOPE", dry_run=True)
    missing = tmp_path / "missing.duckdb"
    with pytest.raises(StoreError, match="no store"):
        run_track_request(missing, None, POLICY, "hesa", 2026, dry_run=True)
    assert list(tmp_path.iterdir()) == []


@settings(max_examples=20)
@given(st.sampled_from(sorted(POLICY.tracks)), st.integers(2015, 2045))
def test_every_person_of_the_targets_kinds_is_sent_or_excluded_once(shared_db, target, year):
    result = run_track_request(shared_db, None, POLICY, target, year, dry_run=True)
    assert result.records + result.excluded_total == of_kinds(target)
    assert set(result.excluded) == set(POLICY.tracks[target].reason_codes())
    sent_kinds = {kind for kinds in result.counts.values() for kind in kinds}
    assert sent_kinds <= set(POLICY.tracks[target].kinds)
