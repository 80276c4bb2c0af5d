"""Crash consistency (issue 11): kill -9 an import, a purge and an erasure; the store is before
or after, never between.

`benchmarks/crash.py --students 50000 --kills 30` is the full run; CI kills each of the three
writes at two points of a smaller one.
"""

from __future__ import annotations

import random

import pytest
from benchmarks import crash


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory):
    folder = tmp_path_factory.mktemp("crash")
    return folder, crash.prepare(folder, students=2000)


def test_the_scenarios_change_the_store(scenarios):
    _folder, (load, purge, erase) = scenarios
    assert load.after["students"] > load.before["students"]
    assert load.after["attendance"] > load.before["attendance"]
    assert load.after["import_batches"] == load.before["import_batches"] + 3
    assert purge.after["students"] < purge.before["students"]
    assert erase.after["students"] == erase.before["students"] - 1
    assert erase.after["suppression_list"] == erase.before["suppression_list"] + 1


@pytest.mark.parametrize("name", ["import", "purge", "subject erase"])
def test_a_kill_leaves_the_store_before_or_after(scenarios, name):
    folder, found = scenarios
    (scenario,) = [s for s in found if s.name == name]
    rng = random.Random(name)
    # one kill in the first two thirds of the run, one in the last third (the write and commit)
    kills = []
    for low, high in ((0.3, 0.66), (0.66, 1.0)):  # `seconds` shrinks if a run ends sooner
        kills.append(crash.kill_at(scenario, scenario.seconds * rng.uniform(low, high), folder))
    print([(k.at_ms, k.finished, k.outcome, k.detail) for k in kills])
    assert [k.outcome for k in kills if k.outcome not in ("before", "after")] == []


def test_the_check_tells_a_store_between_from_before_and_after(scenarios, tmp_path):
    import duckdb

    _folder, found = scenarios
    load = found[0]
    db = crash.copy_store(load.before_db, tmp_path / "store.duckdb")
    con = duckdb.connect(str(db))
    con.execute("UPDATE students SET forename = 'Changed' WHERE student_ref = 'S0001'")
    con.close()
    state = crash.store_state(db)
    assert state not in (load.before, load.after)
    assert crash.opens(db) is None
