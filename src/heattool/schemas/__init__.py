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

_MEMBER_CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def member_code(text: str) -> str:
    """A member code as stored: letters (upper-cased), digits, '-', '_' or '.'."""
    if not _MEMBER_CODE.fullmatch(text or ""):
        raise HeattoolError(
            f"{text!r} is not a member code; use letters, digits, '-', '_' or '.', e.g. KENT"
        )
    return text.upper()
