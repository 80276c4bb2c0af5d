"""A subject-access pack a person can read: one self-contained HTML page, or a workbook.

Made from the package `subject access` builds (the JSON kept for systems): the record with code
labels (`Female`, not `10`), the activities attended, the track requests that included them,
any outcomes held, how long the record is kept, and what was done with the data. The HTML has
no script, no external link, font or image; every value is escaped.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import polars as pl

from heattool.io.files import replacing
from heattool.io.writers import check_output_path, write_xlsx

PACK_SUFFIXES = (".html", ".xlsx")
# The record's columns a person is shown, with the words they are shown under.
SHOWN = {
    "forename": "First name",
    "middle_name": "Middle name",
    "surname": "Last name",
    "date_of_birth": "Date of birth",
    "postcode": "Postcode",
    "school": "School",
    "he_provider": "University or college",
    "course": "Course",
    "nation": "Nation",
    "sex": "Sex",
    "gender_identity": "Gender identity",
    "ethnicity": "Ethnicity",
    "disability": "Disability",
    "religion": "Religion or belief",
    "care_leaver": "Care leaver",
    "young_carer": "Young carer",
    "first_generation_he": "First in family to go to university",
    "estranged": "Estranged",
    "refugee_asylum_seeker": "Refugee or asylum seeker",
    "service_children": "Service child",
    "evaluation_group": "Evaluation group (participant or comparison)",
    "permission_to_track": "Permission to follow your progress (tracking)",
    "expected_he_entry_year": "Year you might start higher education",
    "withdrawn_on": "You withdrew permission on",
    "student_ref": "Your reference",
    "ambassador_ref": "Your reference",
}
ACTIVITY = {"attended_on": "Date", "name": "Activity", "activity_type": "Type", "hours": "Hours"}
REQUEST = {"target": "Sent to", "track_year": "For year", "created_at": "When"}
AUDIT = {"event_at": "When", "event": "What was done", "change": "To your record"}
EVENTS = {
    "import": "recorded or updated from an upload",
    "access": "a copy was given to you",
    "withdraw": "your permission to track was withdrawn",
    "track-request": "included in a request for tracking",
    "migrate": "the store was upgraded",
}
STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:50rem;margin:2rem auto;padding:0 1rem;"
    "color:#1b1b1b}table{border-collapse:collapse;width:100%;margin-bottom:1.5rem}"
    "th,td{border:1px solid #ccc;padding:.35rem .5rem;text-align:left;vertical-align:top}"
    "th{background:#f2f2f2}h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem}"
)


def shown(value: Any) -> str:
    if value is None or value == "":
        return ""
    if value is True:
        return "Yes"
    if value is False:
        return "No"
    return str(value)


def record_rows(
    package: dict[str, Any], labels: dict[str, dict[str, str]]
) -> list[tuple[str, str]]:
    """(what, value) for each field of the record that holds a value, codes as their labels."""
    record = package.get("record") or {}
    rows = []
    for column, words in SHOWN.items():
        value = record.get(column)
        if value is None or value == "":
            continue
        text = shown(value)
        rows.append((words, labels.get(column, {}).get(text, text)))
    return rows


def _table(rows: list[dict[str, Any]], columns: dict[str, str], none: str) -> str:
    if not rows:
        return f"<p>{html.escape(none)}</p>"
    head = "".join(f"<th>{html.escape(w)}</th>" for w in columns.values())
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(shown(r.get(c)))}</td>" for c in columns) + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _audit(package: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            **e,
            "event": EVENTS.get(str(e.get("event")), e.get("event")),
            "event_at": shown(e.get("event_at"))[:16],  # to the minute
        }
        for e in package.get("audit_events", [])
    ]


def _outcomes(package: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    held = package.get("held_in_tables", {})
    return {t: rows for t, rows in held.items() if t.startswith("outcomes")}


def pack_html(package: dict[str, Any], labels: dict[str, dict[str, str]]) -> str:
    member = html.escape(str(package["member"]))
    record = "".join(
        f"<tr><th>{html.escape(w)}</th><td>{html.escape(v)}</td></tr>"
        for w, v in record_rows(package, labels)
    )
    retention = package.get("retention") or {}
    kept = (
        f"<p>{html.escape(shown(retention.get('reason')))}</p>"
        f"<p>Your record will be deleted by {html.escape(shown(retention.get('delete_by')))} at "
        "the latest.</p>"
        if retention.get("delete_by")
        else f"<p>{html.escape(shown(retention.get('reason')) or 'No deletion date is set.')}</p>"
    )
    outcomes = (
        "".join(
            f"<h3>{html.escape(table)}</h3>"
            + _table(rows, {c: c for c in rows[0] if c not in ("heat_id", "member")}, "")
            for table, rows in _outcomes(package).items()
        )
        or "<p>We hold no outcomes about you.</p>"
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>What {member} holds about you</title><style>{STYLE}</style></head><body>",
        f"<h1>What {member} holds about you</h1>",
        f"<p>Produced {html.escape(str(package.get('produced_at', '')))} from the HEAT records of "
        f"{member}. Your identifier in these records is "
        f"<code>{html.escape(str(package['heat_id']))}</code>.</p>",
        "<h2>Your record</h2>",
        f"<table><tbody>{record}</tbody></table>",
        "<h2>Activities you attended</h2>",
        _table(package.get("attendance", []), ACTIVITY, "No activities are recorded for you."),
        "<h2>Requests to follow your progress (tracking)</h2>",
        _table(package.get("track_requests", []), REQUEST, "You have not been sent for tracking."),
        "<h2>Outcomes</h2>",
        outcomes,
        "<h2>How long we keep your record</h2>",
        kept,
        "<h2>What was done with your data</h2>",
        _table(_audit(package), AUDIT, "Nothing is recorded."),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_access_pack(
    package: dict[str, Any], labels: dict[str, dict[str, str]], path: Path
) -> None:
    """The pack as `.html` (one page) or `.xlsx` (a sheet per section), owner-only."""
    path = Path(path)
    check_output_path(path, PACK_SUFFIXES)
    if path.suffix.lower() == ".html":
        with replacing(path, "w", encoding="utf-8") as handle:
            handle.write(pack_html(package, labels))
        return
    rows = record_rows(package, labels)
    frame = pl.DataFrame({"What": [w for w, _ in rows], "Held": [v for _, v in rows]})
    about = {
        "what": f"what {package['member']} holds about you (a subject access request)",
        "your identifier": package["heat_id"],
        "activities attended": "; ".join(
            f"{shown(a.get('attended_on'))} {shown(a.get('name'))}" for a in package["attendance"]
        ),
        "tracking requests": len(package.get("track_requests", [])),
        "kept until": shown((package.get("retention") or {}).get("delete_by")),
    }
    write_xlsx(frame, path, about)
