"""`heattool export`: one kind's records of one member, to a file, audited by its counts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from heattool.errors import HeattoolError
from heattool.io.writers import check_output_path, write_frame
from heattool.schemas import KINDS
from heattool.store import Store, queries
from heattool.store.exports import write_query


@dataclass
class Exported:
    kind: str
    member: str
    rows: int
    out: Path


def export(db: Path | str | None, key: str | None, kind: str, member: str, out: Path) -> Exported:
    """Write every `kind` record of `member` to `out` (CSV and Parquet straight from DuckDB)."""
    if kind not in KINDS:
        raise HeattoolError(f"--kind must be one of {', '.join(KINDS)}")
    check_output_path(out)
    with Store.open_existing(db, key) as store:
        code = store.known_member(member)
        assert code is not None
        sql = queries.kind_records_sql(kind)
        suffix = out.suffix.lower()
        with store.transaction():
            rows = queries.count_kind(store, kind, code)
            if suffix in (".csv", ".parquet"):
                sha256 = write_query(store.con, sql, out, suffix[1:], {"member": code})
            else:
                write_frame(queries.kind_records(store, kind, code), out)
                sha256 = None
            store.audit("export", member=code, sha256=sha256, details={"kind": kind, "rows": rows})
    return Exported(kind, code, rows, out)
