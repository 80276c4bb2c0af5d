"""`heattool receipt`: write a deletion's receipt again, from the audit trail.

Purge and erase record the whole receipt in the audit event of the deletion, in its transaction;
the file comes after the commit. A run stopped in between (killed, disk full) leaves the
deletion done and its evidence in the store: this writes the file from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from heattool.io.writers import DOCUMENT_SUFFIXES, check_output_path, write_json
from heattool.store import Store
from heattool.store.erasure import Receipt, default_receipt_path, receipt_of

RECEIPT_NAMES = {"purge": "deletion-receipt", "erase": "erasure-receipt"}


@dataclass
class Reissued:
    receipt: Receipt
    path: Path


def reissue(
    db: Path | str | None,
    key: str | None,
    event_id: int | None = None,
    *,
    member: str | None = None,
    out: Path | None = None,
) -> Reissued:
    """The receipt of audit event `event_id` (default: the latest deletion, of `member` if
    given), written to `out` or beside the store, owner-only."""
    check_output_path(out, DOCUMENT_SUFFIXES)
    with Store.open_existing(db, key) as store:
        member = store.known_member(member)
        receipt = receipt_of(store, event_id, member)
        path = out or default_receipt_path(store, RECEIPT_NAMES[receipt.event])
    write_json(receipt.document(), path)
    return Reissued(receipt, path)
