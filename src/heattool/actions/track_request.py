"""`heattool track-request`: the file of records to send for linkage, its manifest and batch."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from heattool import __version__
from heattool.clock import utc_now, utc_text
from heattool.errors import BadPolicy, HeattoolError
from heattool.io.writers import DOCUMENT_SUFFIXES, check_output_path, write_frame, write_json
from heattool.rules.policy import Policy, policy_sha256
from heattool.rules.track import TrackTarget
from heattool.store import Store
from heattool.store.track import FILE_COLUMNS, Request, record_track_batch

FILE_FORMATS = ("csv", "parquet")

__all__ = ["FILE_COLUMNS", "TrackResult", "manifest_path", "track_request"]


def manifest_path(out: Path) -> Path:
    return Path(f"{out}.manifest.json")


@dataclass
class TrackResult:
    """What a track request sent (or, in a dry run, would send) and what it left out."""

    target: str
    year: int
    member: str | None
    db: str
    window: str
    policy_name: str
    policy_sha256: str
    dry_run: bool
    records: int
    counts: dict[str, dict[str, int]]  # member -> kind -> records sent
    excluded: dict[str, int]  # reason -> records, every reason the target can give
    created_at: dt.datetime
    out: Path | None = None
    file_format: str = "csv"
    file_sha256: str | None = None
    batch_id: int | None = None
    previous: dict[str, Any] | None = None  # the last request for this target and year
    excluded_out: Path | None = None
    reason_order: list[str] = field(default_factory=list)
    nations: list[str] | None = None  # the nations of schooling the target covers; None: all

    @property
    def excluded_total(self) -> int:
        return sum(self.excluded.values())

    def manifest(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "target": self.target,
            "year": self.year,
            "member": self.member,
            "window": self.window,
            "nations": self.nations,
            "file": self.out.name if self.out else None,
            "format": self.file_format,
            "sha256": self.file_sha256,
            "records": self.records,
            "created_at": utc_text(self.created_at),
            "policy": {"name": self.policy_name, "sha256": self.policy_sha256},
            "tool_version": __version__,
            "counts": self.counts,
            "excluded": self.excluded,
            "excluded_total": self.excluded_total,
            "changes": self.previous,
        }


def track_request(
    store: Store,
    policy: Policy,
    target: str,
    year: int,
    *,
    member: str | None = None,
    out: Path | None = None,
    file_format: str = "csv",
    dry_run: bool = False,
    excluded_out: Path | None = None,
) -> TrackResult:
    """Build a track request from the store: file, manifest, batch and audit event.

    A dry run writes no request file, manifest or batch (the excluded list, if asked for, is
    still written: it is how an officer fixes the data before the deadline).
    """
    chosen = track_target(policy, target)
    if file_format not in FILE_FORMATS:
        raise HeattoolError(f"--format must be one of {', '.join(FILE_FORMATS)}")
    if out is None and not dry_run:
        raise HeattoolError("give --out FILE for the request (or --dry-run to see the counts)")
    _check_year(chosen, year)
    check_output_path(excluded_out)
    check_output_path(out, (f".{file_format}",), f"for --file-format {file_format}")
    check_output_path(out and manifest_path(out), DOCUMENT_SUFFIXES)
    member = store.known_member(member)
    with Request(store, chosen, year, member) as request:
        result = TrackResult(
            target=chosen.name,
            year=year,
            member=member,
            db=str(store.path),
            window=chosen.window.words(year),
            policy_name=policy.name,
            policy_sha256=policy_sha256(policy),
            dry_run=dry_run,
            records=0,
            counts={},
            excluded=dict.fromkeys(chosen.reason_codes(), 0),
            created_at=utc_now(),
            out=out,
            file_format=file_format,
            reason_order=chosen.reason_codes(),
            nations=list(chosen.nations) or None,
        )
        for who, kind, reason, n in request.counts():
            if reason is None:
                result.counts.setdefault(who, {})[kind] = n
                result.records += n
            else:
                result.excluded[reason] += n
        result.previous = _changes(request, result)
        if excluded_out is not None:
            about = {
                "what": f"records left out of the {target} track request for {year}, with why",
                "store": str(store.path),
                "member": member or "every member",
                "policy": f"{policy.name} {policy.version}",
            }
            write_frame(request.excluded(), excluded_out, about)
            result.excluded_out = excluded_out
        if not dry_run:
            _send(store, request, result)
    return result


def track_target(policy: Policy, target: str) -> TrackTarget:
    if not policy.tracks:
        raise BadPolicy(
            f"{policy.source}: no [track.<target>] tables, so nothing can be tracked; "
            "add [track.hesa] (see README, 'Rules and retention policies')"
        )
    if target not in policy.tracks:
        raise HeattoolError(
            f"no track target '{target}' in {policy.source}; "
            f"it has {', '.join(sorted(policy.tracks))}"
        )
    return policy.tracks[target]


def _check_year(target: TrackTarget, year: int) -> None:
    window = target.window
    if window.offsets:
        return
    first, last = window.years(year)
    if last < first:
        raise HeattoolError(
            f"--year {year}: the {target.name} window starts at entry year {window.from_year}; "
            f"give a later year"
        )


def _changes(request: Request, result: TrackResult) -> dict[str, Any] | None:
    """Heat_ids added and removed since the last request of this target and year."""
    previous = request.previous_batch(result.target, result.year)
    if previous is None:
        return None
    batch_id, created_at = previous
    added, removed = request.changes(batch_id)
    return {
        "previous_batch_id": batch_id,
        "previous_created_at": utc_text(created_at),
        "added": added,
        "removed": sum(removed.values()),
        "removed_by_reason": removed,
    }


def _send(store: Store, request: Request, result: TrackResult) -> None:
    """Write the file, then record the batch, its heat_ids and the audit event atomically."""
    assert result.out is not None
    written = False
    try:
        with store.transaction():
            result.batch_id = store.next_track_batch_id()
            result.file_sha256 = request.write(result.out, result.file_format, result.batch_id)
            written = True
            record_track_batch(
                store,
                [
                    result.batch_id,
                    result.target,
                    result.year,
                    result.member,
                    result.out.name,
                    result.file_sha256,
                    result.policy_sha256,
                    result.records,
                    result.created_at,
                ],
            )
            store.audit(
                "track-request",
                member=result.member,
                sha256=result.file_sha256,
                details={
                    "track_batch_id": result.batch_id,
                    "target": result.target,
                    "year": result.year,
                    "file": result.out.name,
                    "records": result.records,
                    "counts": result.counts,
                    "excluded": result.excluded,
                    "policy_sha256": result.policy_sha256,
                    "changes": result.previous,
                },
            )
    except BaseException:
        if written:  # the store does not record it, so the file must not exist either
            result.out.unlink(missing_ok=True)
        raise
    write_json(result.manifest(), manifest_path(result.out))


def run_track_request(
    db: Path | str | None,
    key: str | None,
    policy: Policy,
    target: str,
    year: int,
    **options: Any,
) -> TrackResult:
    """`heattool track-request`: open the store, make the request, close the store."""
    with Store.open_existing(db, key) as store:
        return track_request(store, policy, target, year, **options)
