"""Messages name files, rows, cells, columns and codes, never a person's data (issue 11 item 19).

stderr goes to cron mail and CI logs, and so do reports: no error, warning, text report or JSON
report quotes a name, a date of birth, a postcode or any other cell of a person, from an upload
or from the store, whether heattool wrote the message or a library (Polars, Pandera, DuckDB,
fastexcel) did. Refs may be quoted: they are what the officer needs to find the row. The files
of the member's own, written owner-only (the rejects file, --errors-out), and `subject access`
hold the cells deliberately.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

AS_OF = "2026-11-24"
FORENAME, SURNAME, DOB, POSTCODE = "Zyxwvut", "Vexquorn", "14/03/2009", "CT2 7NZ"
# The person's data, and malformed versions of it as uploads carry them.
BAD_DOB, BAD_POSTCODE, SWAPPED_POSTCODE = "14/03/20O9", "CT2 7NZX", "CT1O 2EH"
SECRETS = [
    FORENAME,
    SURNAME,
    DOB,
    "2009-03-14",
    POSTCODE,
    BAD_DOB,
    BAD_POSTCODE,
    SWAPPED_POSTCODE,
    "CT10 2EH",  # what swapping the O for a 0 makes of it
    "Femalez",
    "Whitez",
    "Yesz",
    "2026/28",
    "31/02/2009",
    "05/05/2031",
]
HEADINGS = (
    "Student Ref,Forename,Surname,Date of Birth,Postcode,Sex,Ethnicity,Permission to Track,"
    "Expected HE Entry Year"
)


def leaks(*texts: str) -> list[str]:
    """The secrets found in any of `texts`, in any case and with the spacing taken out (a table
    cell may be folded over two lines; a postcode may be shown unspaced)."""
    flat = [re.sub(r"[\s│┃]", "", t).casefold() for t in texts]
    return [s for s in SECRETS if any(re.sub(r"\s", "", s).casefold() in f for f in flat)]


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, "utf-8")
    return path


def run_all(invoke, *args: str) -> list:
    """The command as text and as JSON."""
    return [invoke(*args), invoke(*args, "--format", "json")]


def students(tmp_path: Path) -> Path:
    """A student upload whose cells are wrong in every way a person's cell can be."""
    rows = [
        f"S0001,{FORENAME},{SURNAME},{BAD_DOB},{BAD_POSTCODE},Femalez,Whitez,Yesz,2026/28",
        f"S0002,{FORENAME},{SURNAME},31/02/2009,{SWAPPED_POSTCODE},10,160,Yes,2026",
        f"S0003,{FORENAME},{SURNAME},05/05/2031,{POSTCODE},10,160,Yes,",
        f"S0003,{FORENAME},{SURNAME},{DOB},{POSTCODE},10,160,Yes,",
    ]
    return write(tmp_path, "students.csv", HEADINGS + "\n" + "\n".join(rows) + "\n")


# -- cells that fail validation ------------------------------------------------------------------


def test_validate_names_the_cells_that_fail_but_never_quotes_them(invoke, tmp_path):
    path = students(tmp_path)
    text, as_json = run_all(invoke, "validate", path, "--as-of", AS_OF, "--max-errors", "0")
    assert (text.exit_code, as_json.exit_code) == (1, 1)
    assert leaks(text.stdout, text.stderr, as_json.stdout, as_json.stderr) == []
    (file,) = json.loads(as_json.stdout)["files"]
    found = [(e["cell"], e["code"], e["value"]) for e in file["errors"]]
    assert found == [
        ("D2", "invalid-date", None),
        ("E2", "invalid-postcode", None),
        ("F2", "invalid-code", None),
        ("G2", "invalid-code", None),
        ("H2", "invalid-boolean", None),
        ("I2", "implausible-year", None),
        ("D3", "invalid-date", None),
        ("E3", "invalid-postcode", None),
        ("A4", "duplicate-ref", "S0003"),  # a ref is quoted: it is how the row is found
        ("D4", "dob-in-future", None),
        ("A5", "duplicate-ref", "S0003"),
    ]
    # the O for a 0 is still pointed out, by its place, not by the postcode it makes
    swap = next(e for e in file["errors"] if e["cell"] == "E3")
    assert swap["message"] == (
        "not a UK postcode; write the digit 0, not the letter O, as its 4th letter or digit "
        "(the letters O and I look like 0 and 1)"
    )
    # the text report says a cell's value is not shown, rather than showing it empty
    assert "D2   │ Date of Birth          │ (not shown)" in text.stdout
    assert "A4   │ Student Ref            │ S0003" in text.stdout


def test_the_files_of_the_members_own_keep_the_cells(invoke, tmp_path):
    path = students(tmp_path)
    errors = tmp_path / "errors.csv"
    result = invoke("validate", path, "--as-of", AS_OF, "--errors-out", errors)
    assert result.exit_code == 1
    assert leaks(result.stdout, result.stderr) == []
    with errors.open(encoding="utf-8-sig", newline="") as handle:
        values = [row["value"] for row in csv.DictReader(handle)]
    assert BAD_DOB in values and SWAPPED_POSTCODE in values  # owner-only, for the officer
    rejects = tmp_path / "rejects.csv"
    for args in ([], ["--format", "json"]):
        result = invoke("import", path, "--member", "KENT", "--db", tmp_path / "s.duckdb",
                        "--rejects-out", rejects, "--as-of", AS_OF, *args)  # fmt: skip
        assert result.exit_code == 1, result.stderr
        assert leaks(result.stdout, result.stderr) == []
    assert FORENAME in rejects.read_text("utf-8-sig")  # the member's own rows, to fix
    assert BAD_DOB in rejects.read_text("utf-8-sig")


def test_an_ambassador_attendance_and_activity_upload_quote_only_what_is_not_personal(
    invoke, tmp_path
):
    ambassadors = write(
        tmp_path,
        "ambassadors.csv",
        "Ambassador Ref,Forename,Surname,Date of Birth,Postcode\n"
        f"SA1,{FORENAME},{SURNAME},{BAD_DOB},{BAD_POSTCODE}\nSA2,,{SURNAME},{DOB},{POSTCODE}\n",
    )
    for result in run_all(invoke, "validate", ambassadors, "--as-of", AS_OF):
        assert result.exit_code == 1, result.stderr
        assert leaks(result.stdout, result.stderr) == []
    # an activity and a register are no one's personal data: their cells are quoted
    activities = write(
        tmp_path,
        "activities.csv",
        "Activity Ref,Name,Activity Type,Start Date,Hours\nA1,Taster day,Campus visit,2026-13-01,"
        "1e3\n",
    )
    text, as_json = run_all(invoke, "validate", activities, "--as-of", AS_OF)
    (file,) = json.loads(as_json.stdout)["files"]
    assert [(e["cell"], e["value"]) for e in file["errors"]] == [
        ("D2", "2026-13-01"),
        ("E2", "1e3"),
    ]
    assert "2026-13-01" in text.stdout
