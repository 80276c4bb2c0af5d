"""A synthetic outreach cohort, and the HESA return that comes back for it (seeded, no real data).

`python examples/returns/make_returns.py cohort` writes, beside this file, a cohort of another
member (`CCCU`): cohort_students.csv (260 participants and 80 of a comparison group, who took
no part), cohort_activities.csv and cohort_attendance.csv. Their contact hours fall in the
bands <3, 3–8 and ≥8, with only 14 students at 8 hours and over: a small cell that a
publishable table must suppress.

`python examples/returns/make_returns.py hesa REQUEST.csv RETURN.csv` plays HESA: for each
person a track request sent, by their heat_id, whether they entered HE and the rest, written as
heattool's HESA return (README "Track returns and outcomes"). The outcome of each person
follows from a hash of their name and date of birth and the seed, not from their random
heat_id, so every run of `heattool demo` gets the same return: rates are realistic (about 40%
of the comparison group enter HE, 45% to 70% of participants, more with more hours).
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import random
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
SEED = 12
# (activity ref, name, type, hours)
ACTIVITIES = [
    ("C01", "Campus Taster Day", "Campus visit", 2),
    ("C02", "GCSE Study Skills Mentoring", "Mentoring", 6),
    ("C03", "Residential Summer School", "Summer school", 30),
]
# band -> (students, their activities, chance of entering HE)
BANDS = {
    "<3": (140, ["C01"], 0.45),
    "3–8": (106, ["C02"], 0.56),
    "≥8": (14, ["C01", "C03"], 0.70),
}
COMPARISON = (80, 0.40)
FORENAMES = "Ava Ben Chloe Dan Ella Finn Grace Harry Isla Jack Kai Lola Max Nia Owen Priya".split()  # noqa: SIM905
SURNAMES = [
    "Ahmed",
    "Brown",
    "Clarke",
    "Evans",
    "Green",
    "Hall",
    "Jones",
    "Khan",
    "Lewis",
    "Patel",
    "Price",
    "Shaw",
    "Smith",
    "Ward",
]
POSTCODES = ["CT1 2EH", "ME4 4AA", "TN23 1AA", "CT2 7NZ", "ME7 4AG", "CT1 1QU"]
SEXES = ["10"] * 12 + ["11"] * 11 + ["12"]
ETHNICITIES = ["160"] * 14 + ["104", "120", "141", "100", "180", "999"]


def _chance(*parts: str) -> float:
    """A number in [0, 1) fixed by the parts and the seed."""
    digest = hashlib.sha256("|".join((str(SEED), *parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def cohort() -> None:
    rng = random.Random(SEED)
    students, attendance = [], []
    people = [(band, acts) for band, (n, acts, _) in BANDS.items() for _ in range(n)]
    people += [("comparison", [])] * COMPARISON[0]
    for number, (band, acts) in enumerate(people, start=1):
        ref = f"C{number:04}"
        dob = dt.date(2005, 9, 1) + dt.timedelta(days=rng.randrange(365))  # entry year 2024
        students.append(
            {
                "Student Ref": ref,
                "Forename": rng.choice(FORENAMES),
                "Surname": rng.choice(SURNAMES),
                "Date of Birth": dob.strftime("%d/%m/%Y"),
                "Postcode": rng.choice(POSTCODES),
                "School": rng.choice(["Canterbury Academy", "Chatham Grammar", "Ashford School"]),
                "Sex": rng.choice(SEXES),
                "Ethnicity": rng.choice(ETHNICITIES),
                "Disability": rng.choice(["95"] * 8 + ["51", "54"]),
                "Permission to Track": "Yes",
                "Evaluation Group": "comparison" if band == "comparison" else "participant",
            }
        )
        for ref_activity in acts:
            attendance.append(
                {"Student Ref": ref, "Activity Ref": ref_activity, "Date Attended": "12/07/2022"}
            )
    _write(HERE / "cohort_students.csv", students)
    _write(
        HERE / "cohort_activities.csv",
        [
            {
                "Activity Ref": ref,
                "Activity Name": name,
                "Activity Type": kind,
                "Start Date": "12/07/2022",
                "Hours": str(hours),
            }
            for ref, name, kind, hours in ACTIVITIES
        ],
    )
    _write(HERE / "cohort_attendance.csv", attendance)


def hesa(request: Path, out: Path) -> None:
    """The HESA return for the people of a track request (a heattool request file)."""
    with (HERE / "cohort_students.csv").open(encoding="utf-8", newline="") as handle:
        students = list(csv.DictReader(handle))
    with (HERE / "cohort_attendance.csv").open(encoding="utf-8", newline="") as handle:
        attended = {row["Student Ref"] for row in csv.DictReader(handle)}
    hours = {ref: hours for ref, _, _, hours in ACTIVITIES}
    with (HERE / "cohort_attendance.csv").open(encoding="utf-8", newline="") as handle:
        total: dict[str, int] = {}
        for row in csv.DictReader(handle):
            total[row["Student Ref"]] = (
                total.get(row["Student Ref"], 0) + hours[row["Activity Ref"]]
            )
    chance = {}
    for s in students:
        ref, key = s["Student Ref"], (s["Forename"], s["Surname"], s["Date of Birth"])
        if ref not in attended:
            chance[key] = COMPARISON[1]
        else:
            band = "<3" if total[ref] < 3 else "3–8" if total[ref] < 8 else "≥8"
            chance[key] = BANDS[band][2]
    with request.open(encoding="utf-8-sig", newline="") as handle:
        sent = list(csv.DictReader(handle))
    rows = []
    for person in sent:
        dob = dt.date.fromisoformat(person["date_of_birth"]).strftime("%d/%m/%Y")
        key = (person["forename"], person["surname"], dob)
        if key not in chance:
            continue  # not one of the cohort: HESA has nothing to say of them
        entered = _chance("entered", *key) < chance[key]
        rows.append(
            {
                "heat_id": person["heat_id"],
                "Entered HE": "Yes" if entered else "No",
                "HE Entry Year": "2024/25" if entered else "",
                "HE Provider": "Canterbury Christ Church University" if entered else "",
                "Tariff Group": ("High" if _chance("tariff", *key) < 0.3 else "Low")
                if entered
                else "",
                "Continued": ("Yes" if _chance("continued", *key) < 0.88 else "No")
                if entered
                else "",
            }
        )
    _write(out, rows)


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


if __name__ == "__main__":
    if sys.argv[1:2] == ["cohort"]:
        cohort()
    elif sys.argv[1:2] == ["hesa"] and len(sys.argv) == 4:
        hesa(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        sys.exit(__doc__)
