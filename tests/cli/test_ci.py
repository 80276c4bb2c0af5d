"""`heattool validate` in CI: GitHub annotations, a JUnit report, --strict, and standard input.

The annotations are read back as GitHub's runner reads them (a port of its parser below), and
the JUnit report is checked against two published schemas in tests/data: Jenkins' junit-10.xsd
and Ant's JUnit.xsd.
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema
from hypothesis import given
from hypothesis import strategies as st

from heattool.cli.render import escape_data, escape_property, workflow_command
from tests.helpers import DATA, EXAMPLES, ROOT

AS_OF = "2026-11-24"
MESSY = EXAMPLES / "messy_students.csv"
STUDENTS = EXAMPLES / "students.csv"
HEADER = "Student Ref,Forename,Surname,Date of Birth,Postcode,Sex,Permission to Track"
SCHEMAS = {name: DATA / name for name in ("junit-10.xsd", "junit-ant.xsd")}


# -- GitHub's runner, as it reads a workflow command ---------------------------------------------
# actions/runner src/Runner.Common/ActionCommand.cs: TryParseV2, UnescapeProperty, UnescapeData
# (the mappings undone in this order, so `%25` last).

UNESCAPE_DATA = (("%0D", "\r"), ("%0A", "\n"), ("%25", "%"))
UNESCAPE_PROPERTY = (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%"))


def unescape(text: str, mappings: tuple[tuple[str, str], ...]) -> str:
    for escaped, token in mappings:
        text = text.replace(escaped, token)
    return text


def parse_command(line: str) -> tuple[str, dict[str, str], str]:
    """(command, properties, data) of one line, or an AssertionError if it is not a command."""
    message = line.lstrip()
    assert message.startswith("::"), line
    end = message.index("::", 2)
    name, _, rest = message[2:end].partition(" ")
    properties = {}
    for part in rest.strip().split(","):
        key, _, value = part.partition("=")
        if key and value:  # C#'s Split('=', 2, RemoveEmptyEntries) keeps only full pairs
            properties[key] = unescape(value, UNESCAPE_PROPERTY)
    return name, properties, unescape(message[end + 2 :], UNESCAPE_DATA)


def commands(stdout: str) -> list[tuple[str, dict[str, str], str]]:
    return [parse_command(line) for line in stdout.splitlines()]


def annotations(stdout: str) -> list[tuple[str, dict[str, str], str]]:
    return [c for c in commands(stdout) if c[0] in ("error", "warning")]


def write(tmp_path: Path, text: str, name: str = "upload.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return path


# -- the escaping ------------------------------------------------------------------------------


def test_escaping_is_the_toolkits():
    # The cases of actions/toolkit packages/core/__tests__/command.test.ts.
    assert escape_data("percent % percent % cr \r cr \r lf \n lf \n") == (
        "percent %25 percent %25 cr %0D cr %0D lf %0A lf %0A"
    )
    assert escape_data("%25 %25 %0D %0D %0A %0A") == "%2525 %2525 %250D %250D %250A %250A"
    assert escape_property("percent % cr \r lf \n colon : colon : comma , comma ,") == (
        "percent %25 cr %0D lf %0A colon %3A colon %3A comma %2C comma %2C"
    )
    assert workflow_command("error", {"file": "a,b.csv", "line": "3"}, "x: y") == (
        "::error file=a%2Cb.csv,line=3::x: y"
    )


@given(st.text())
def test_escaping_round_trips_through_the_runner(text):
    # as heattool writes them: the file first, a code last (the runner trims the properties)
    line = workflow_command("warning", {"file": text, "title": "unknown-column"}, text)
    assert "\n" not in line and "\r" not in line
    name, properties, data = parse_command(line)
    assert name == "warning"
    assert data == text
    assert properties.get("file", "") == text  # an empty value is left out, as the toolkit does
    assert properties["title"] == "unknown-column"
    assert not set(escape_property(text)) & set("\r\n:,")
    assert not set(escape_data(text)) & set("\r\n")


# -- --format github -----------------------------------------------------------------------------


def test_github_annotates_every_finding_at_its_row_and_column(invoke):
    result = invoke("validate", MESSY, "--format", "github", "--max-errors", "0", "--as-of", AS_OF)
    assert result.exit_code == 1, result.stderr
    parsed = commands(result.stdout)
    assert [c[0] for c in parsed[:1] + parsed[-1:]] == ["group", "endgroup"]
    assert parsed[0][2] == f"{MESSY}: students, 11 rows, 3 valid, 8 invalid: invalid"

    document = json.loads(
        invoke("validate", MESSY, "--format", "json", "--max-errors", "0", "--as-of", AS_OF).stdout
    )["files"][0]
    found = annotations(result.stdout)
    errors = [(p, m) for c, p, m in found if c == "error"]
    assert len(errors) == document["error_count"] == 8
    for (properties, message), error in zip(errors, document["errors"], strict=True):
        column = ord(error["cell"][0]) - ord("A") + 1
        assert properties == {
            "file": str(MESSY),
            "line": str(error["row"]),
            "col": str(column),
            "title": error["code"],
        }
        assert message.startswith(f"row {error['row']}, {error['column']} ({error['cell']}): ")
    warnings = [(p, m) for c, p, m in found if c == "warning"]
    assert [(p, m) for p, m in warnings] == [
        ({"file": str(MESSY), "title": w["code"]}, w["message"]) for w in document["warnings"]
    ]  # whole-file findings: no line, no col


def test_github_never_shows_a_cells_value(invoke):
    result = invoke("validate", MESSY, "--format", "github", "--max-errors", "0", "--as-of", AS_OF)
    document = json.loads(
        invoke("validate", MESSY, "--format", "json", "--max-errors", "0", "--as-of", AS_OF).stdout
    )["files"][0]
    values = {e["value"] for e in document["errors"] if e["value"]}
    assert values and not [v for v in values if v in result.stdout]


def test_github_leaves_out_a_fix_made_from_the_cell(invoke, tmp_path):
    # A fix made from CTI 2EH would be the person's postcode: neither report quotes it.
    upload = write(tmp_path, f"{HEADER}\nS1,Ann,Lee,01/10/2008,CTI 2EH,10,Yes\n")
    text = invoke("validate", upload, "--as-of", AS_OF)
    assert "CT1 2EH" not in text.stdout and "CTI 2EH" not in text.stdout
    result = invoke("validate", upload, "--format", "github", "--as-of", AS_OF)
    assert result.exit_code == 1
    ((_, properties, message),) = annotations(result.stdout)
    assert properties["title"] == "invalid-postcode"
    assert message == (
        "row 2, Postcode (E2): not a UK postcode; write it like SW1A 1AA, or leave the cell empty"
    )
    assert "CT" not in result.stdout.replace(str(upload), "")


def test_github_escapes_a_file_name_and_a_heading_with_percent_colon_comma_newline(
    invoke, tmp_path
):
    folder = tmp_path / "100% a:b,c\nd"
    folder.mkdir()
    heading = "Notes 50%: a,b\nc ::error::x"
    upload = write(folder, f'{HEADER},"{heading}"\nS1,Ann,Lee,01/10/2008,CT1 2EH,10,Yes,hi\n')
    result = invoke("validate", upload, "--format", "github", "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 3  # group, one warning, endgroup: the newlines are escaped
    name, properties, message = parse_command(lines[1])
    assert (name, properties) == ("warning", {"file": str(upload), "title": "unknown-column"})
    assert (
        message == f"column '{heading}' is not a known heading and was ignored; rename or remove it"
    )
    assert parse_command(lines[0])[2].startswith(f"{upload}: students, 1 row, 1 valid")


def test_github_caps_the_annotations_and_says_so(invoke):
    result = invoke("validate", MESSY, "--format", "github", "--max-errors", "2", "--as-of", AS_OF)
    assert result.exit_code == 1
    found = annotations(result.stdout)
    assert [c for c, _, _ in found] == ["error", "error", "warning", "warning"]
    assert commands(result.stdout)[0][2].endswith(
        "; the first 2 of 8 errors annotated (--max-errors 0 annotates all)"
    )


def test_github_annotates_an_unreadable_upload_and_exits_2(invoke, tmp_path):
    result = invoke("validate", STUDENTS, tmp_path / "nope.csv", "--format", "github")
    assert result.exit_code == 2
    assert commands(result.stdout)[-1] == (
        "error",
        {"file": str(tmp_path / "nope.csv"), "title": "unreadable"},
        f"{tmp_path / 'nope.csv'}: no such file",
    )
    assert result.stderr.strip() == f"error: {tmp_path / 'nope.csv'}: no such file"


def test_github_clean_upload_is_one_group_and_exit_0(invoke):
    result = invoke("validate", STUDENTS, "--format", "github", "--as-of", AS_OF)
    assert result.exit_code == 0
    assert commands(result.stdout) == [
        ("group", {}, f"{STUDENTS}: students, 13 rows, 13 valid, 0 invalid: valid"),
        ("endgroup", {}, ""),
    ]


# -- --format junit ------------------------------------------------------------------------------


def junit(invoke, *args: str, code: int) -> ET.Element:
    result = invoke("validate", *args, "--format", "junit", "--as-of", AS_OF)
    assert result.exit_code == code, result.stderr
    report = result.stdout_bytes
    assert report.startswith(b"<?xml version='1.0' encoding='utf-8'?>")
    for schema in SCHEMAS.values():
        xmlschema.XMLSchema(schema).validate(report.decode("utf-8"))
    return ET.fromstring(report)


def test_the_schemas_are_really_checked():
    bad = '<testsuites><testsuite tests="1" failures="0" errors="0"/></testsuites>'  # no name
    for schema in SCHEMAS.values():
        assert not xmlschema.XMLSchema(schema).is_valid(bad)


def test_junit_has_a_suite_per_file_and_a_failing_testcase_per_code(invoke, tmp_path):
    root = junit(invoke, MESSY, STUDENTS, tmp_path / "nope.csv", "--max-errors", "0", code=2)
    messy, clean, unreadable = root.findall("testsuite")
    assert [s.get("name") for s in root] == [str(MESSY), str(STUDENTS), str(tmp_path / "nope.csv")]
    assert [s.get("id") for s in root] == ["0", "1", "2"]

    cases = {c.get("name"): c for c in messy.findall("testcase")}
    assert set(cases) == {
        "duplicate-ref",
        "invalid-date",
        "dob-in-future",
        "invalid-boolean",
        "invalid-code",
        "invalid-postcode",
    }
    assert (messy.get("tests"), messy.get("failures"), messy.get("errors")) == ("6", "6", "0")
    failure = cases["duplicate-ref"].find("failure")
    assert failure.get("type") == "duplicate-ref"
    assert failure.get("message").startswith("2 findings; the first: row 3, Student Ref (A3): ")
    assert failure.text.splitlines() == [
        "row 3, Student Ref (A3): this reference appears on more than one row; keep one row per "
        "reference",
        "row 6, Student Ref (A6): this reference appears on more than one row; keep one row per "
        "reference",
    ]
    properties = {p.get("name"): p.get("value") for p in messy.find("properties")}
    assert (properties["kind"], properties["rows"], properties["invalid_rows"]) == (
        "students",
        "11",
        "8",
    )
    out = messy.find("system-out").text.splitlines()
    assert out[0] == f"{MESSY}: students, 11 rows, 3 valid, 8 invalid: invalid"
    assert [line.split(":")[0] for line in out[1:]] == [
        "warning encoding-guessed",
        "warning unknown-column",
    ]

    assert [(c.get("name"), list(c)) for c in clean.findall("testcase")] == [("valid", [])]
    assert clean.get("failures") == "0"

    error = unreadable.find("testcase/error")
    assert unreadable.find("testcase").get("name") == "readable"
    assert (error.get("type"), error.get("message")) == (
        "unreadable",
        f"{tmp_path / 'nope.csv'}: no such file",
    )
    assert unreadable.get("errors") == "1"


def test_junit_never_shows_a_cells_value(invoke):
    result = invoke("validate", MESSY, "--format", "junit", "--max-errors", "0", "--as-of", AS_OF)
    document = json.loads(
        invoke("validate", MESSY, "--format", "json", "--max-errors", "0", "--as-of", AS_OF).stdout
    )["files"][0]
    values = {e["value"] for e in document["errors"] if e["value"]}
    assert values and not [v for v in values if v in result.stdout]


def test_junit_lists_the_first_max_errors_and_counts_the_rest(invoke):
    root = junit(invoke, MESSY, "--max-errors", "2", code=1)
    failures = {c.get("name"): c.find("failure") for c in root.iter("testcase")}
    assert failures["duplicate-ref"].text.splitlines()[-1] == (
        "... and 1 more (--max-errors 0 lists all)"
    )
    assert failures["invalid-code"].get("message") == (
        "1 finding, after the first 2 errors listed (--max-errors 0 lists all)"
    )


def test_junit_holds_any_text_a_heading_or_file_name_can_have(invoke, tmp_path):
    folder = tmp_path / 'a&b <c> "d"'
    folder.mkdir()
    heading = "Notes \x0b<&>'\nend"  # a vertical tab cannot be in XML at all
    upload = write(folder, f'{HEADER},"{heading}"\nS1,Ann,Lee,01/10/2008,CT1 2EH,10,Yes,hi\n')
    root = junit(invoke, upload, "--strict", code=1)
    suite = root.find("testsuite")
    assert suite.get("name") == str(upload)
    failure = suite.find("testcase/failure")
    assert failure.get("type") == "unknown-column"
    assert failure.get("message") == (
        "column 'Notes \ufffd<&>'\nend' is not a known heading and was ignored; rename or remove it"
    )


# -- --strict ------------------------------------------------------------------------------------


@pytest.fixture
def warned(tmp_path) -> Path:
    """A valid upload with one warning (an unknown column)."""
    return write(tmp_path, f"{HEADER},Notes\nS1,Ann,Lee,01/10/2008,CT1 2EH,10,Yes,hi\n")


@pytest.mark.parametrize("output", ["text", "json", "github", "junit"])
def test_strict_makes_warnings_fail_in_every_format(invoke, warned, output):
    plain = invoke("validate", warned, "--format", output, "--as-of", AS_OF)
    strict = invoke("validate", warned, "--format", output, "--as-of", AS_OF, "--strict")
    assert (plain.exit_code, strict.exit_code) == (0, 1), plain.stderr + strict.stderr
    clean = invoke("validate", STUDENTS, "--format", output, "--as-of", AS_OF, "--strict")
    assert clean.exit_code == 0
    invalid = invoke("validate", MESSY, "--format", output, "--as-of", AS_OF, "--strict")
    assert invalid.exit_code == 1


def test_strict_says_why_a_valid_upload_fails(invoke, warned):
    text = invoke("validate", warned, "--as-of", AS_OF, "--strict")
    assert "1 valid, 0 invalid: invalid (--strict: 1 warning)" in " ".join(text.stdout.split())
    document = json.loads(
        invoke("validate", warned, "--format", "json", "--as-of", AS_OF, "--strict").stdout
    )
    assert (document["valid"], document["strict"], document["files"][0]["valid"]) == (
        False,
        True,
        False,
    )
    github = invoke("validate", warned, "--format", "github", "--as-of", AS_OF, "--strict")
    assert commands(github.stdout)[0][2].endswith(": invalid (--strict: 1 warning)")
    assert [c for c, _, _ in annotations(github.stdout)] == ["warning"]
    root = junit(invoke, warned, "--strict", code=1)
    failure = root.find("testsuite/testcase/failure")
    assert failure.get("type") == "unknown-column"
    assert root.find("testsuite").get("failures") == "1"


def test_without_strict_a_junit_warning_is_output_not_a_failure(invoke, warned):
    root = junit(invoke, warned, code=0)
    suite = root.find("testsuite")
    assert [c.get("name") for c in suite.findall("testcase")] == ["valid"]
    assert suite.find("system-out").text.splitlines()[1].startswith("warning unknown-column: ")


# -- standard input ------------------------------------------------------------------------------


def test_dash_reads_a_csv_upload_from_standard_input(invoke):
    text = STUDENTS.read_text("utf-8-sig")
    result = invoke("validate", "-", "--as-of", AS_OF, input=text)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("<stdin>: students, 13 rows, 13 valid, 0 invalid: valid")
    document = json.loads(
        invoke("validate", "-", "--format", "json", "--as-of", AS_OF, input=text).stdout
    )
    file = document["files"][0]
    assert (file["file"], file["rows"]) == ("<stdin>", 13)


def test_standard_input_is_read_as_a_file_is(invoke):
    data = MESSY.read_bytes()  # a BOM, then Windows-1252
    from_file = json.loads(invoke("validate", MESSY, "--format", "json", "--as-of", AS_OF).stdout)
    piped = invoke("validate", "-", "--format", "json", "--as-of", AS_OF, input=data)
    assert piped.exit_code == 1
    document = json.loads(piped.stdout)
    ours, theirs = document["files"][0], from_file["files"][0]
    assert ours.pop("file") == "<stdin>"
    theirs.pop("file")
    assert ours == theirs


def test_standard_input_with_kind_and_in_github_format(invoke):
    text = "Activity Ref,Name,Activity Type,Start Date\nA1,Visit,Campus visit,31/02/2026\n"
    result = invoke(
        "validate", "-", "--kind", "activities", "--format", "github", "--as-of", AS_OF, input=text
    )
    assert result.exit_code == 1
    ((name, properties, _message),) = annotations(result.stdout)
    assert (name, properties["file"], properties["line"], properties["title"]) == (
        "error",
        "<stdin>",
        "2",
        "invalid-date",
    )


def test_an_excel_workbook_on_standard_input_is_refused(invoke):
    result = invoke("validate", "-", input=(EXAMPLES / "students.xlsx").read_bytes())
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        "error: <stdin>: looks like an Excel workbook; standard input takes CSV only, so give "
        "the workbook's file name instead of -"
    )


def test_empty_standard_input_and_a_second_dash_are_usage_errors(invoke):
    empty = invoke("validate", "-")
    assert empty.exit_code == 2
    assert empty.stderr.startswith("error: <stdin>: the file is empty")
    twice = invoke("validate", "-", "-", input="x")
    assert twice.exit_code == 2
    assert twice.stderr.strip() == "error: - (standard input) can be given only once"


def test_a_file_named_dash_is_read_by_its_full_path(invoke, tmp_path):
    named = tmp_path / "-"
    named.write_text(STUDENTS.read_text("utf-8-sig"), "utf-8")
    result = invoke("validate", named, "--as-of", AS_OF)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(f"{named}: students")


def test_import_reads_standard_input_too(invoke, tmp_path):
    db = tmp_path / "s.duckdb"
    result = invoke(
        "import", "-", "--member", "KENT", "--db", db, "--as-of", AS_OF, input=MESSY.read_bytes()
    )
    assert result.exit_code == 1, result.stderr
    assert result.stdout.startswith("<stdin> (students): 11 rows: 3 inserted")
    (rejects,) = tmp_path.glob("s-rejects-KENT-*.csv")
    assert rejects.name.endswith("-stdin.csv")  # no `<` or `>` in a file name


# -- the README and the pre-commit hook ----------------------------------------------------------


def test_the_readme_shows_the_github_format_as_it_is(invoke, monkeypatch):
    monkeypatch.chdir(ROOT)
    readme = (ROOT / "README.md").read_text("utf-8")
    command = "$ heattool validate examples/messy_students.csv --format github --max-errors 2\n"
    shown = readme.split(command, 1)[1].split("$ echo $?", 1)[0]
    result = invoke(
        "validate", "examples/messy_students.csv", "--format", "github", "--max-errors", "2",
        "--as-of", AS_OF,
    )  # fmt: skip
    assert result.stdout == shown


def test_the_pre_commit_hook_runs_heattool_validate_on_uploads():
    text = (ROOT / ".pre-commit-hooks.yaml").read_text("utf-8")
    hook = dict(
        line.strip().removeprefix("- ").split(": ", 1)
        for line in text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )  # one hook of plain `key: value` lines: no YAML library needed
    assert (hook["id"], hook["entry"], hook["language"]) == (
        "heattool-validate",
        "heattool validate",
        "python",
    )
    files = re.compile(hook["files"])
    assert [bool(files.search(n)) for n in ("a.csv", "b/C.XLSX", "c.txt", "d.csv.bak")] == [
        True,
        True,
        False,
        False,
    ]
    assert "id: heattool-validate" in (ROOT / "README.md").read_text("utf-8")
