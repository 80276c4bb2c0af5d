"""Upload schemas: header aliases, code lists and one Pandera model per upload kind."""

KINDS = ("students", "activities", "attendance", "ambassadors")
REF_COLUMNS = {
    "students": "student_ref",
    "activities": "activity_ref",
    "attendance": None,
    "ambassadors": "ambassador_ref",
}
