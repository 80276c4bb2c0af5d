"""HEAT's own export headings, `Label (code)` values, and headings that look like a column."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from heattool.findings import CODES, message
from heattool.store.migrations import latest_version
from tests.helpers import DATA, EXAMPLES, query

AS_OF = "2026-11-24"
HEAT_EXPORT = DATA / "heat_student_export.csv"
FLAGS = [
    "care_leaver",
    "young_carer",
    "first_generation_he",
    "estranged",
    "refugee_asylum_seeker",
    "service_children",
]


def write(tmp_path: Path, text: str, name: str = "upload.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def validate(invoke, path: Path, *args: str):
    result = invoke("validate", path, "--format", "json", "--as-of", AS_OF, *args)
    return result, json.loads(result.stdout)["files"][0] if result.stdout else None


def import_(invoke, db: Path, *args: Path | str):
    return invoke("import", *args, "--member", "KENT", "--db", db, "--as-of", AS_OF)


def codes(findings: list[dict]) -> list[tuple[str, str]]:
    return [(f["code"], f["column"]) for f in findings]


def lookalike_message(heading: str, canonical: str, suggested: str) -> str:
    quoted = json.dumps(heading)
    return message(
        "lookalike-column", heading, canonical=canonical, suggested=suggested, quoted=quoted
    )


# -- HEAT's export headings ---------------------------------------------------------------------

STUDENT_PREFIXED = (
    "Student Ref,Student Forename,Student Surname,Student Date of Birth,Student Postcode\n"
    "S1,Amelia,Hughes,14/03/2009,ct1 2eh\n"
)


def test_student_prefixed_headings_map_and_the_dob_and_postcode_are_stored(invoke, tmp_path):
    upload = write(tmp_path, STUDENT_PREFIXED)
    result, document = validate(invoke, upload)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert document["warnings"] == []
    db = tmp_path / "tmp.duckdb"
    loaded = import_(invoke, db, upload)
    assert loaded.exit_code == 0, loaded.stdout + loaded.stderr
    assert query(
        db, "SELECT student_ref, forename, surname, date_of_birth, postcode FROM students"
    ) == [("S1", "Amelia", "Hughes", dt.date(2009, 3, 14), "CT1 2EH")]


def test_a_heat_student_export_validates_with_its_own_headings(invoke):
    result, document = validate(invoke, HEAT_EXPORT)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert (document["kind"], document["rows"], document["valid_rows"]) == ("students", 3, 3)
    assert codes(document["warnings"]) == [
        ("unknown-column", "Last known Institution HEAT ID"),  # known, and not loaded
        ("heat-id-as-ref", "Student HEAT ID"),
    ]
    assert document["warnings"][1]["message"] == message("heat-id-as-ref", "Student HEAT ID")


def test_a_heat_student_export_loads_its_names_flags_and_codes(invoke, tmp_path):
    db = tmp_path / "tmp.duckdb"
    result = import_(invoke, db, HEAT_EXPORT)
    assert result.exit_code == 0, result.stdout + result.stderr
    rows = query(
        db,
        "SELECT student_ref, heat_student_id, forename, middle_name, surname, date_of_birth, "
        f"postcode, school, sex, ethnicity, disability, permission_to_track, {', '.join(FLAGS)} "
        "FROM students ORDER BY student_ref",
    )
    assert rows == [
        ("1000234", "1000234", "Amelia", "Rose", "Hughes", dt.date(2009, 3, 14), "CT1 2EH",
         "Canterbury Academy", "10", "160", "95", True, False, False, True, False, False, False),
        ("1000235", "1000235", "Oliver", None, "Khan", dt.date(2008, 9, 2), "ME4 4AA",
         "Chatham Grammar", "11", "104", "99", True, True, True, False, False, False, True),
        ("1000236", "1000236", "Freya", None, "Smith", dt.date(2008, 9, 1), "TN1 1AA",
         "Tunbridge Wells Grammar", "99", "997", "98", False, None, None, None, None, None, None),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("heading", "column"),
    [
        ("First Generation to HE", "first_generation_he"),
        ("Refugee or Asylum Seeker", "refugee_asylum_seeker"),
        ("Service Child", "service_children"),
        ("Middle Names", "middle_name"),
        ("School/College Name", "school"),
        ("Student Sex", "sex"),
        ("Student Gender", "gender_identity"),
        ("Student Ethnicity", "ethnicity"),
        ("Student Disability", "disability"),
        ("HEAT Student ID", "heat_student_id"),
    ],
)
def test_more_heat_headings_map_to_their_columns(tmp_path, heading, column):
    from heattool.schemas.validate import validate_file

    upload = write(tmp_path, f"Student Ref,{heading}\nS1,\n")
    result = validate_file(upload, as_of=dt.date(2026, 11, 24))
    assert result.header.columns[column] == heading
    assert result.valid


def test_the_heat_id_is_kept_beside_the_members_own_ref(invoke, tmp_path):
    upload = write(
        tmp_path,
        "Student Ref,Student HEAT ID,First Name,heat_id\nS1,1000234,Amelia,not-a-heattool-id\n",
    )
    result, document = validate(invoke, upload)
    assert result.exit_code == 0, result.stdout + result.stderr
    # heattool's own heat_id is never read from an upload
    assert codes(document["warnings"]) == [("unknown-column", "heat_id")]
    db = tmp_path / "tmp.duckdb"
    assert import_(invoke, db, upload).exit_code == 0
    ((ref, heat_student_id, heat_id),) = query(
        db, "SELECT student_ref, heat_student_id, heat_id::VARCHAR FROM students"
    )
    assert (ref, heat_student_id) == ("S1", "1000234")
    assert heat_id not in ("1000234", "not-a-heattool-id")
    assert len(heat_id) == 36  # the store's own UUID


def test_a_register_by_heat_id_matches_students_loaded_by_heat_id(invoke, tmp_path):
    register = write(
        tmp_path,
        "Student HEAT ID,Activity Ref,Date Attended\n1000234,A001,10/10/2024\n"
        "1000235,A001,10/10/2024\n",
        "register.csv",
    )
    result, document = validate(invoke, register)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert document["kind"] == "attendance"
    db = tmp_path / "tmp.duckdb"
    loaded = import_(invoke, db, EXAMPLES / "activities.csv", HEAT_EXPORT, register)
    assert loaded.exit_code == 0, loaded.stdout + loaded.stderr
    assert query(db, "SELECT student_ref FROM attendance ORDER BY 1") == [
        ("1000234",),
        ("1000235",),
    ]


@pytest.mark.parametrize(
    ("cell", "expected"),
    [("Yes", True), ("no", False), ("Y", True), ("0", False), ("", None)],
)
def test_contextual_flags_are_yes_no(tmp_path, cell, expected):
    from heattool.schemas.validate import validate_file

    upload = write(tmp_path, f"Student Ref,Care Leaver,Young Carer\nS1,{cell},{cell}\n")
    frame = validate_file(upload, as_of=dt.date(2026, 11, 24)).valid_frame()
    assert frame.select("care_leaver", "young_carer").row(0) == (expected, expected)


def test_a_flag_that_is_not_yes_or_no_is_an_error(invoke, tmp_path):
    result, document = validate(invoke, write(tmp_path, "Student Ref,Estranged\nS1,perhaps\n"))
    assert result.exit_code == 1
    assert codes(document["errors"]) == [("invalid-boolean", "Estranged")]


def test_a_store_of_schema_version_1_gains_the_new_columns(invoke, tmp_path):
    import duckdb

    db = tmp_path / "old.duckdb"
    con = duckdb.connect(str(db))
    con.execute((DATA / "store_v1.sql").read_text("utf-8"))
    con.close()
    result = import_(invoke, db, HEAT_EXPORT)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert query(db, "SELECT max(version) FROM schema_version") == [(latest_version(),)]
    # the old rows are kept, with the new columns empty
    assert query(
        db,
        f"SELECT middle_name, heat_student_id, {', '.join(FLAGS)} FROM students "
        "WHERE student_ref = 'S0001'",
    ) == [(None,) * 8]
    assert query(db, "SELECT count(*) FROM students WHERE heat_student_id IS NOT NULL") == [(3,)]


# -- `Label (code)` values ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "cell", "code"),
    [
        ("Sex", "Female (10)", "10"),
        ("Sex", "male (11)", "11"),
        ("Sex", "Information refused (96)", "96"),
        ("Sex", "Other (12)", "12"),
        ("Ethnicity", "Not known (997)", "997"),
        ("Ethnicity", "White - British (160)", "160"),
        ("Ethnicity", "Prefer not to say (998)", "998"),
        ("Ethnicity", "Not available (other) (899)", "899"),
        ("Disability", "Learning difference such as dyslexia, dyspraxia or AD(H)D (51)", "51"),
        ("Disability", "No known impairment (95)", "95"),
        ("Nation", "Wales (Wales)", "Wales"),
    ],
)
def test_label_and_code_values_are_stored_as_the_code(invoke, tmp_path, column, cell, code):
    upload = write(tmp_path, f'Student Ref,{column}\nS1,"{cell}"\n')
    db = tmp_path / "tmp.duckdb"
    result = import_(invoke, db, upload)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert query(db, f"SELECT {column.lower()} FROM students") == [(code,)]


@pytest.mark.parametrize(
    ("column", "cell"),
    [
        ("Sex", "Male (10)"),  # the label of another code
        ("Sex", "Not known (997)"),  # not a code of this list
        ("Sex", "Female (F)"),  # a label in the brackets is not a code
        ("Ethnicity", "White - Irish (160)"),
        ("Disability", "Female (10)"),
    ],
)
def test_a_label_and_code_that_disagree_are_an_invalid_code(invoke, tmp_path, column, cell):
    good = {"Sex": "Female (10)", "Ethnicity": "Not known (997)", "Disability": "Not listed (96)"}
    upload = write(tmp_path, f'Student Ref,{column}\nS1,"{good[column]}"\nS2,"{cell}"\n')
    result, document = validate(invoke, upload)
    assert result.exit_code == 1
    # the cell's text is not quoted (a person's sex, ethnicity or disability): its place is
    assert [(e["row"], e["cell"], e["code"], e["value"]) for e in document["errors"]] == [
        (3, "B3", "invalid-code", None)
    ]
    assert document["valid_rows"] == 1


# -- headings that look like a column ----------------------------------------------------------

LOOKALIKES = [
    # heading, column it looks like, heading suggested
    ("Pupil Date of Birth", "date_of_birth", "Date of Birth"),
    ("Pupil DOB", "date_of_birth", "Date of Birth"),
    ("PupilDateOfBirth", "date_of_birth", "Date of Birth"),
    ("PUPILDATEOFBIRTH", "date_of_birth", "Date of Birth"),
    ("Student Postcode Area", "postcode", "Postcode"),
    ("Postcode of Home Address", "postcode", "Postcode"),
    ("Pupil Forename", "forename", "Forename"),
    ("Pupil Surname", "surname", "Surname"),
    ("Legal Sex of Pupil", "sex", "Sex"),
    ("Pupil Ethnicity", "ethnicity", "Ethnicity"),
    ("Disability Status", "disability", "Disability"),
    ("Care Leaver Status", "care_leaver", "Care Leaver"),
    ("Young Carer Flag", "young_carer", "Young Carer"),
    ("Permission to Track (Y/N)", "permission_to_track", "Permission to Track"),
    ("Expected HE Entry Year (EHEEY)", "expected_he_entry_year", "Expected HE Entry Year"),
]


@pytest.mark.parametrize(("heading", "column", "suggested"), LOOKALIKES)
def test_a_heading_that_looks_like_a_column_is_an_error_naming_it(
    invoke, tmp_path, heading, column, suggested
):
    upload = write(tmp_path, f'Student Ref,Notes,"{heading}"\nS1,keen,x\n')
    result, document = validate(invoke, upload)
    assert result.exit_code == 1, result.stdout + result.stderr
    (error,) = document["errors"]
    assert (error["code"], error["cell"], error["column"], error["row"]) == (
        "lookalike-column",
        "C1",
        heading,
        None,
    )
    assert error["message"] == lookalike_message(heading, column, suggested)
    assert f"looks like {column}" in error["message"]
    assert f'[aliases] {column} = ["{heading}"]' in error["message"]
    # an unrelated heading beside it is still only a warning
    assert codes(document["warnings"]) == [("unknown-column", "Notes")]


def test_the_lookalike_message_reads_as_the_issue_asks(invoke, tmp_path):
    upload = write(tmp_path, "Student Ref,Pupil Date of Birth\nS1,14/03/2009\n")
    _result, document = validate(invoke, upload)
    assert document["errors"][0]["message"] == (
        "heading 'Pupil Date of Birth' looks like date_of_birth but is not one of its headings: "
        "rename it 'Date of Birth', or map it with --aliases (a TOML file: [aliases] "
        'date_of_birth = ["Pupil Date of Birth"]); if it is something else, delete it or list '
        'it in that file under [ignore] headings = ["Pupil Date of Birth"]'
    )


def test_the_suggested_alias_file_maps_the_heading_and_ignore_lets_it_go(invoke, tmp_path):
    upload = write(tmp_path, "Student Ref,Pupil Date of Birth\nS1,14/03/2009\n")
    mapped = write(tmp_path, '[aliases]\ndate_of_birth = ["Pupil Date of Birth"]\n', "a.toml")
    result, document = validate(invoke, upload, "--aliases", str(mapped))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert document["warnings"] == []
    ignored = write(tmp_path, '[ignore]\nheadings = ["Pupil Date of Birth"]\n', "i.toml")
    result, document = validate(invoke, upload, "--aliases", str(ignored))
    assert result.exit_code == 0, result.stdout + result.stderr
    assert codes(document["warnings"]) == [("unknown-column", "Pupil Date of Birth")]
    # a heading heattool ignores, such as HEAT's Phase Adjustment, can still be mapped
    upload = write(tmp_path, "Student Ref,Phase Adjustment\nS1,-1\n")
    religion = write(tmp_path, '[aliases]\nreligion = ["Phase Adjustment"]\n', "r.toml")
    result, document = validate(invoke, upload, "--aliases", str(religion))
    assert (result.exit_code, document["warnings"]) == (0, [])


@pytest.mark.parametrize(
    "heading",
    [
        "Notes",
        "Shoe Size",
        "Schools Officer",
        "Name Badge",
        "Nationality",
        "Sexuality",
        "Sexual Orientation",
        "Permission to Photograph",
        "Photo Consent",
        "Key Stage",
        "Year Group",
        "School Year",
        "Country of Birth",
        "Mode of Transport",
        "Title",
        "Email Address",
        "Parent/Carer Email",
        "Carer Name",
        "Date Added",
        "Dietary Requirements",
        "Free School Meals",
        "Pronouns",
        "Middle Initial",
        "HEAT ID",
        "Student Full Name",
        "Last known Institution HEAT ID",
        "Individual Data Collection Date",
        "Phase Adjustment",
        "Activity Name",  # a heading of another kind
    ],
)
def test_an_innocent_heading_stays_a_warning_beside_a_lookalike(invoke, tmp_path, heading):
    upload = write(tmp_path, f'Student Ref,Pupil DOB,"{heading}"\nS1,14/03/2009,x\n')
    result, document = validate(invoke, upload)
    assert result.exit_code == 1
    assert codes(document["errors"]) == [("lookalike-column", "Pupil DOB")]
    assert codes(document["warnings"]) == [("unknown-column", heading)]


@pytest.mark.parametrize(
    ("kind_headings", "lookalike", "heading"),
    [
        ("Ambassador Ref,Forename,Surname", "Ambassador DOB", "Course Leader"),
        ("Ambassador Ref,Forename,Surname", "Ambassador DOB", "University Contact"),
        ("Activity Ref,Name,Activity Type,Start Date", "Total Contact Hours", "Delivery Partner"),
        ("Activity Ref,Name,Activity Type,Start Date", "Total Contact Hours", "Hours Volunteered"),
        ("Student Ref,Activity Ref", "Register Date Attended", "Attended Lunch"),
    ],
)
def test_innocent_headings_of_other_kinds_stay_warnings(
    invoke, tmp_path, kind_headings, lookalike, heading
):
    values = ",".join("01/10/2025" if h == "Start Date" else "x" for h in kind_headings.split(","))
    upload = write(tmp_path, f"{kind_headings},{lookalike},{heading}\n{values},,y\n")
    result, document = validate(invoke, upload)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert codes(document["errors"]) == [("lookalike-column", lookalike)]
    assert codes(document["warnings"]) == [("unknown-column", heading)]


@pytest.mark.parametrize(
    "headings",
    [
        "Student Ref,Date of Birth,Pupil Date of Birth",
        "Student Ref,Student Postcode,Student Postcode Area",
        "Student Ref,Home Post Code,School Postcode",
    ],
)
def test_a_lookalike_of_a_column_already_given_is_only_a_warning(invoke, tmp_path, headings):
    upload = write(tmp_path, f"{headings},Pupil Surname\nS1,,,\n")
    result, document = validate(invoke, upload)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert codes(document["errors"]) == [("lookalike-column", "Pupil Surname")]  # not given
    assert codes(document["warnings"]) == [("unknown-column", headings.split(",")[2])]


def test_a_lookalike_of_a_required_column_is_one_error_not_two(invoke, tmp_path):
    upload = write(
        tmp_path, "Activity Ref,Name,Activity Type,Event Start Date\nA1,Visit,Visit,01/10/2025\n"
    )
    result, document = validate(invoke, upload, "--kind", "activities")
    assert result.exit_code == 1
    assert codes(document["errors"]) == [("lookalike-column", "Event Start Date")]
    assert "looks like start_date" in document["errors"][0]["message"]


def test_an_import_with_a_lookalike_loads_nothing_until_it_is_mapped(invoke, tmp_path):
    upload = write(tmp_path, "Student Ref,Forename,Pupil Date of Birth\nS1,Amelia,14/03/2009\n")
    db = tmp_path / "tmp.duckdb"
    result = import_(invoke, db, upload)
    assert result.exit_code == 1, result.stdout + result.stderr
    assert "1 rejected" in result.stdout
    assert query(db, "SELECT count(*) FROM students") == [(0,)]
    # mapped as the message says, it loads
    aliases = write(tmp_path, '[aliases]\ndate_of_birth = ["Pupil Date of Birth"]\n', "a.toml")
    result = import_(invoke, db, upload, "--aliases", aliases)
    assert result.exit_code == 0, result.stdout + result.stderr
    assert query(db, "SELECT date_of_birth FROM students") == [(dt.date(2009, 3, 14),)]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('[ignore]\nheadings = ["Date of Birth"]\n', "is in [ignore] but is a heading for"),
        ('[ignore]\nheadings = "Notes"\n', "[ignore] must hold one list"),
        ('[ignore]\nnames = ["Notes"]\n', "[ignore] must hold one list"),
        ('[others]\nnames = ["Notes"]\n', "and, if wanted, an [ignore] table"),
    ],
)
def test_a_bad_ignore_table_exits_3(invoke, tmp_path, text, expected):
    aliases = write(tmp_path, text, "aliases.toml")
    result = invoke("validate", EXAMPLES / "students.csv", "--aliases", aliases)
    assert result.exit_code == 3
    assert expected in result.stderr


def test_the_new_finding_codes_are_catalogued():
    assert CODES["lookalike-column"].severity == "error"
    assert CODES["heat-id-as-ref"].severity == "warning"
