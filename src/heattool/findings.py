"""The catalogue of finding codes: stable names, severity and a message that names the fix."""

from __future__ import annotations

from dataclasses import dataclass

ERROR = "error"
WARNING = "warning"


@dataclass(frozen=True)
class FindingCode:
    """One stable finding code with the message a spreadsheet user sees."""

    code: str
    severity: str
    message: str
    # The message when validation can name the correction, `{fix}` standing for it.
    fix: str | None = None
    # The message of a heading that may not be quoted (it may be a person's cell, in a row of
    # data taken for the headings), naming it by its `{cell}` instead.
    unquoted: str | None = None


_CATALOGUE = [
    # Whole-file findings (no row).
    FindingCode(
        "missing-column",
        ERROR,
        "required column '{column}' is missing; add a column headed '{column}'",
    ),
    FindingCode(
        "duplicate-column", ERROR, "two columns both mean '{column}'; delete or rename one of them"
    ),
    FindingCode("encoding-guessed", WARNING, "the file was not UTF-8 and was read as Windows-1252"),
    FindingCode(
        "unknown-column",
        WARNING,
        "column '{column}' is not a known heading and was ignored; rename or remove it",
        unquoted="the heading in {cell} is not a known heading and was ignored; rename or "
        "remove it",
    ),
    FindingCode(
        "lookalike-column",
        ERROR,
        "heading '{column}' looks like {canonical} but is not one of its headings: rename it "
        "'{suggested}', or map it with --aliases (a TOML file: [aliases] {canonical} = "
        "[{quoted}]); if it is something else, delete it or list it in that file under "
        "[ignore] headings = [{quoted}]",
        unquoted="the heading in {cell} looks like {canonical} but is not one of its headings: "
        "rename it '{suggested}', or map it with --aliases (a TOML file: [aliases] {canonical} "
        "= [the heading, in quotes]); if it is something else, delete it or list it in that "
        "file under [ignore] headings = [the heading, in quotes]",
    ),
    FindingCode(
        "heat-id-as-ref",
        WARNING,
        "no column gives the member's own student reference, so the HEAT student ID in "
        "'{column}' is used as student_ref",
    ),
    # Cell findings.
    FindingCode("missing-value", ERROR, "'{column}' is required; fill in this cell"),
    FindingCode(
        "invalid-date",
        ERROR,
        "not a real date; write it as DD/MM/YYYY (e.g. 01/09/2008) or YYYY-MM-DD",
    ),
    FindingCode("invalid-number", ERROR, "not a number; write digits only, e.g. 2.5"),
    FindingCode("invalid-boolean", ERROR, "not a yes/no answer; write Yes or No"),
    FindingCode(
        "invalid-postcode",
        ERROR,
        "not a UK postcode; write it like SW1A 1AA, or leave the cell empty",
        # {fix}: where to swap what, e.g. "the digit 0, not the letter O, as its 4th letter or
        # digit"; never the postcode, which is personal data
        fix="not a UK postcode; write {fix} (the letters O and I look like 0 and 1)",
    ),
    FindingCode(
        "invalid-code",
        ERROR,
        "not a HESA code or label for '{column}'; use a code from the README's code list",
    ),
    FindingCode(
        "invalid-nation", ERROR, "nation must be England, Wales, Scotland or Northern Ireland"
    ),
    FindingCode("invalid-stage", ERROR, "stage must be pre-entry or post-entry"),
    FindingCode(
        "duplicate-ref",
        ERROR,
        "this reference appears on more than one row; keep one row per reference",
    ),
    FindingCode(
        "duplicate-row",
        ERROR,
        "the same attendance appears on more than one row; delete the repeats",
    ),
    FindingCode("dob-in-future", ERROR, "date of birth is in the future; check the year"),
    FindingCode(
        "implausible-age", ERROR, "date of birth gives an age outside 3 to 100; check the year"
    ),
    FindingCode(
        "end-before-start", ERROR, "end date is before the start date; swap or correct them"
    ),
    FindingCode("negative-hours", ERROR, "hours cannot be negative"),
    FindingCode(
        "implausible-year",
        ERROR,
        "expected HE entry year must be a four-digit year, e.g. 2026 or 2026/27; leave empty to "
        "compute it",
    ),
    FindingCode(
        "unknown-student",
        ERROR,
        "no student with this reference for this member; import the student first",
    ),
    FindingCode(
        "previously-erased",
        ERROR,
        "this person was erased at their request; load them again only with new consent "
        "(--allow-previously-erased)",
    ),
    FindingCode(
        "unknown-activity",
        ERROR,
        "no activity with this reference for this member; import the activity first",
    ),
    # Track returns (`heattool outcomes import`).
    FindingCode(
        "invalid-year",
        ERROR,
        "not a year heattool can take; write the four-digit year, e.g. 2025, no later than this "
        "year",
    ),
    FindingCode("invalid-score", ERROR, "an Attainment 8 score is a number from 0 to 90"),
    FindingCode("invalid-decile", ERROR, "an IDACI decile is a whole number from 1 to 10"),
    FindingCode(
        "unknown-heat-id",
        ERROR,
        "the store holds no person with this heat_id (for --member, none of that member's); "
        "check that the return is for this store and member",
    ),
    FindingCode(
        "not-requested",
        ERROR,
        "this person was never sent in a track request of this target that the store recorded; "
        "a return holds only people it was asked about",
    ),
]

CODES: dict[str, FindingCode] = {c.code: c for c in _CATALOGUE}


def message(code: str, column: str | None = None, **details: str) -> str:
    """The user-facing message for a code, naming the column where it has one.

    `details` fill a code's other fields (`lookalike-column`: canonical, suggested, quoted).
    """
    return CODES[code].message.format(column=column or "", **details)


def unquoted_message(code: str, cell: str, **details: str) -> str:
    """The message for a heading that may not be quoted, naming its cell instead."""
    template = CODES[code].unquoted
    if template is None:
        raise KeyError(f"{code} has no message for a heading it may not quote")
    return template.format(cell=cell, **details)
