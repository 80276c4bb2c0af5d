"""Helpers the tests share: paths, a read-only query, a failing commit, judging a store."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DATA = Path(__file__).resolve().parent / "data"


class FailingCommit:
    """A store connection whose COMMIT fails as on a full disk; everything else goes through."""

    def __init__(self, con):
        self.con = con

    def __getattr__(self, name):
        return getattr(self.con, name)

    def execute(self, sql, *args):
        import duckdb

        if sql == "COMMIT":
            raise duckdb.IOException("IO Error: Could not write file: No space left on device")
        return self.con.execute(sql, *args)


def query(db, sql: str, params=None) -> list[tuple]:
    """Rows from a store, read as a data officer's SQL tool would (read-only)."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def judged(store, policy, day: dt.date, member: str | None = None, *, ids: bool = True):
    """Every person in an open store judged by `policy` on `day`, as retention does."""
    from heattool.rules.retention import evaluate_policy
    from heattool.store import people

    frame: pl.DataFrame = evaluate_policy(policy, people.records(store, member, ids=ids), day)
    return frame
