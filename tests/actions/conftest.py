"""Stores the action tests start from: the examples imported once, copied for each test."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.helpers import UPLOADS, copy_store


@pytest.fixture(scope="session")
def example_store(tmp_path_factory) -> Path:
    """The four example uploads imported for member KENT; never written: copy it first."""
    from heattool.actions.load import import_paths

    db = tmp_path_factory.mktemp("template") / "store.duckdb"
    report = import_paths(UPLOADS, member="KENT", db=db)
    assert report.loaded and not report.rejected
    return db


@pytest.fixture(scope="session")
def two_member_store(tmp_path_factory, example_store) -> Path:
    """The example store with the same uploads imported again as member OTHER's records."""
    from heattool.actions.load import import_paths

    db = copy_store(example_store, tmp_path_factory.mktemp("two-members"))
    report = import_paths(UPLOADS, member="OTHER", db=db)
    assert report.loaded and not report.rejected
    return db


@pytest.fixture
def db(example_store, tmp_path) -> Path:
    """A copy of the example store of this test's own."""
    return copy_store(example_store, tmp_path)


@pytest.fixture(scope="module")
def shared_db(example_store, tmp_path_factory) -> Path:
    """A copy of the example store for one module's tests that only read it (Hypothesis too)."""
    return copy_store(example_store, tmp_path_factory.mktemp("shared"))
