"""Helpers the tests share: paths, a read-only query, a failing commit, people to store, judging."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
DATA = Path(__file__).resolve().parent / "data"
HEAT_TOML = (ROOT / "src" / "heattool" / "rules" / "heat.toml").read_text("utf-8")
# The clean example uploads, one of each kind.
UPLOADS = [EXAMPLES / f"{k}.csv" for k in ("activities", "students", "attendance", "ambassadors")]


def csv_rows(path: Path) -> list[dict[str, str]]:
    """A clean CSV upload's data rows, as the csv module reads them (its own headings)."""
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def write_csv(path: Path, rows: list[dict[str, str]], headings: list[str]) -> Path:
    """Write rows (dicts keyed by `headings`) as a UTF-8 CSV upload; returns the path."""
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=headings)
        writer.writeheader()
        writer.writerows(rows)
    return path


def copy_store(template: Path, folder: Path) -> Path:
    """A copy of a closed store file (and its log, if any) in `folder`, to change freely."""
    target = folder / template.name
    shutil.copyfile(template, target)
    wal = Path(f"{template}.wal")
    if wal.exists():
        shutil.copyfile(wal, Path(f"{target}.wal"))
    return target


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


# People as the store holds them, for tests that insert them directly.
STUDENT = {
    "member": "KENT",
    "forename": "Ann",
    "surname": "Lee",
    "date_of_birth": dt.date(2007, 10, 1),
    "postcode": "CT1 2EH",
    "sex": "10",
    "permission_to_track": True,
    "expected_he_entry_year": 2026,
    "withdrawn_on": None,
}
AMBASSADOR = {
    **{k: v for k, v in STUDENT.items() if k != "sex"},
    "heat_privacy_notice": True,
    "hesa_privacy_notice": True,
}
REF = {"students": "student_ref", "ambassadors": "ambassador_ref"}
SCHEMA = {
    "date_of_birth": pl.Date,
    "withdrawn_on": pl.Date,
    "expected_he_entry_year": pl.Int32,
    "permission_to_track": pl.Boolean,
    "heat_privacy_notice": pl.Boolean,
    "hesa_privacy_notice": pl.Boolean,
    "forename": pl.String,
    "surname": pl.String,
    "postcode": pl.String,
    "sex": pl.String,
}


def add_people(store, kind: str, rows: list[dict]) -> list[str]:
    """Insert people straight into the store (as an import would leave them); their heat_ids."""
    base = STUDENT if kind == "students" else AMBASSADOR
    records = [{**base, **row} for row in rows]
    for number, record in enumerate(records):
        record.setdefault("ref", f"{kind[0].upper()}{number:04d}")
    frame = pl.DataFrame(
        records, schema_overrides={k: v for k, v in SCHEMA.items() if k in records[0]}
    )
    if "school_nation" not in frame.columns:  # as the importer derives it (rules/entry_year.py)
        from heattool.rules.entry_year import default_entry_year_rules, schooling_nation

        nation = schooling_nation(frame.schema, default_entry_year_rules())
        frame = frame.with_columns(nation.alias("school_nation"))
    for member in frame["member"].unique():
        store.ensure_member(member)
    store.con.register("new_people", frame.rename({"ref": REF[kind]}))
    try:
        return [
            str(r[0])
            for r in store.con.execute(
                f"INSERT INTO {kind} BY NAME SELECT *, gen_random_uuid() AS heat_id, "
                "TIMESTAMP '2026-01-05' AS created_at, TIMESTAMP '2026-01-05' AS updated_at, "
                "1 AS batch_id FROM new_people RETURNING heat_id"
            ).fetchall()
        ]
    finally:
        store.con.unregister("new_people")


# One stored record as the retention engine reads it, and the HEAT policy's verdict on it.
STORE_SCHEMA = {
    "kind": pl.String,
    "ref": pl.String,
    "forename": pl.String,
    "surname": pl.String,
    "date_of_birth": pl.Date,
    "postcode": pl.String,
    "permission_to_track": pl.Boolean,
    "withdrawn_on": pl.Date,
    "last_activity_on": pl.Date,
    "first_loaded_on": pl.Date,
    "expected_he_entry_year": pl.Int32,
}


def student(**changes) -> dict:
    record = {
        "kind": "students",
        "ref": "S1",
        "forename": "Amira",
        "surname": "Hussain",
        "date_of_birth": dt.date(2007, 9, 1),
        "postcode": "CT2 7NZ",
        "permission_to_track": True,
        "withdrawn_on": None,
        "last_activity_on": dt.date(2019, 3, 10),
        "first_loaded_on": dt.date(2019, 1, 1),
        "expected_he_entry_year": 2026,
    }
    return record | changes


def judge(*records: dict, as_of: dt.date = dt.date(2026, 3, 1), policy=None) -> list[dict]:
    """Records judged by `policy` (HEAT's default when None) on `as_of`, as dicts."""
    from heattool.rules.policy import load_policy
    from heattool.rules.retention import evaluate_policy

    frame = pl.DataFrame(list(records), schema=STORE_SCHEMA)
    return evaluate_policy(policy or load_policy(), frame, as_of).to_dicts()
