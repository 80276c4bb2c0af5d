"""Upload schemas: header aliases, code lists and one Pandera model per upload kind.

Track returns (`heattool outcomes import`) have models of their own, validated by the same
machinery; a return kind is never told from headings, so upload detection never meets one.
"""

import re

from heattool.errors import HeattoolError

KINDS = ("students", "activities", "attendance", "ambassadors")
REF_COLUMNS = {
    "students": "student_ref",
    "activities": "activity_ref",
    "attendance": None,
    "ambassadors": "ambassador_ref",
}
PERSON_KINDS = ("students", "ambassadors")  # the kinds that are people, with a heat_id
RETURN_KINDS = ("hesa", "npd")  # track returns, keyed by heattool's heat_id; given, not detected
HIDDEN = "(not shown)"  # a report's word for a cell it does not quote


def quotable_columns(kind: str) -> tuple[str, ...] | None:
    """The columns whose cells a message or report may quote (None: all of them).

    A person's refs may be quoted, as they are how the officer finds the row, and so may every
    cell of an activity or a register; a person's other cells (names, dates of birth,
    postcodes, codes, free text) never are: errors and reports go to terminals, cron mail and
    CI logs. The upload itself and the rejects file hold them. Of a track return, only its
    heat_ids may be quoted.
    """
    if kind in RETURN_KINDS:  # a person's outcomes: only the store's own id is quoted
        return ("heat_id",)
    if kind not in PERSON_KINDS:
        return None
    return tuple(c for c in (REF_COLUMNS[kind], "heat_student_id") if c)


_MEMBER_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def member_code(text: str) -> str:
    """A member code as stored: letters (upper-cased), digits, '-', '_' or '.'."""
    if not _MEMBER_CODE.fullmatch(text or ""):
        raise HeattoolError(
            f"{text!r} is not a member code; use letters, digits, '-', '_' or '.', e.g. KENT"
        )
    return text.upper()
