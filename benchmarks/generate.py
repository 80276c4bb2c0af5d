"""Generate realistic synthetic student uploads for the validation benchmark.

Deterministic: the same seed and row count give the same bytes (for a given Polars version,
whose seeded sampling this uses). Every column is built at once from seeded samples of small
pools, so a million rows take a few seconds. About 1% of rows carry one deliberate error each:
an invalid postcode, an impossible date, an unknown code or a duplicated student ref.

    python benchmarks/generate.py --rows 100000 1000000
"""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

import polars as pl

DATA_DIR = Path(__file__).resolve().parent / "data"
SEED = 20261124
BAD_SHARE = 0.01  # a quarter each: postcode, date, code, duplicate ref

HEADINGS = {
    "student_ref": "Student Ref",
    "forename": "Forename",
    "surname": "Surname",
    "date_of_birth": "Date of Birth",
    "postcode": "Postcode",
    "school": "School",
    "nation": "Nation",
    "sex": "Sex",
    "gender_identity": "Gender Identity",
    "ethnicity": "Ethnicity",
    "disability": "Disability",
    "religion": "Religion",
    "permission_to_track": "Permission to Track",
    "expected_he_entry_year": "Expected HE Entry Year",
}

COLUMNS = list(HEADINGS)

FORENAMES = [
    "Oliver", "Amelia", "George", "Isla", "Harry", "Ava", "Noah", "Mia", "Jack", "Olivia",
    "Leo", "Freya", "Muhammad", "Aisha", "Zoë", "Siân", "Seán", "Niamh", "Aoife", "Ciarán",
    "Eilidh", "Rhiannon", "Dafydd", "Gethin", "Chloé", "Renée", "Anaïs", "Oisín", "Róisín",
    "Iolo", "Callum", "Ruaridh", "Priya", "Arjun", "Fatima", "Yusuf", "Kacper", "Zofia",
    "Tomás", "Precious", "Chidi", "Kwame", "Mei", "Hamza", "Ellie-Mae", "Lily-Rose", "Sophie",
    "Jamie", "Charlie", "Alex",
]  # fmt: skip
SURNAMES = [
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
    "Roberts", "Johnson", "Lewis", "Walker", "Robinson", "Wright", "Thompson", "Hughes",
    "O'Brien", "O'Neill", "MacDonald", "McLaughlin", "Campbell", "Stewart", "Ní Bhriain",
    "ap Rhys", "Llewellyn", "Khan", "Patel", "Begum", "Hussain", "Singh", "Ahmed", "Nowak",
    "Kowalski", "Okafor", "Mensah", "Chen", "Nguyen", "Smith-Jones", "Fitzgerald",
    "Ó Súilleabháin", "Brontë", "Zoë-Ann Price", "Morgan", "Pritchard", "Jenkins", "Doherty",
    "Quinn", "Murray", "Fraser",
]  # fmt: skip
# Postcode areas weighted towards a Kent member, with Wales, Scotland and Northern Ireland.
AREAS = [
    *["CT"] * 6, *["ME"] * 5, *["TN"] * 4, *["DA"] * 2, "BR", "SE", "E", "N", "NW", "SW", "W",
    "EC", "WC", "B", "M", "L", "LS", "S", "NE", "BS", "CF", "SA", "LL", "NP", "G", "EH", "AB",
    "DD", "KY", "IV", "BT", "BT", "TD", "OX", "CB", "NR", "PL", "EX", "YO", "HU",
]  # fmt: skip
INWARD_LETTERS = list("ABDEFGHJLNPQRSTUWXYZ")
SCHOOLS = [
    "Canterbury Academy", "Simon Langton Girls' Grammar School", "The Archbishop's School",
    "St Anselm's Catholic School, Canterbury", "Folkestone Academy", "Maidstone Grammar School",
    "Invicta Grammar School", "Hillview School for Girls", "Ysgol Gyfun Gymraeg Glantaf",
    "Ysgol Bro Myrddin", "Holyrood Secondary School", "Boroughmuir High School",
    "St Malachy's College, Belfast", "Methodist College Belfast", "East Kent College",
    "Hadlow College", "Dartford Grammar School", "Royal Harbour Academy",
    "Brompton Academy", "Leigh Academy Tonbridge",
]  # fmt: skip
SCOTTISH_AREAS = ["G", "EH", "AB", "DD", "KY", "IV", "TD"]
WELSH_AREAS = ["CF", "SA", "LL", "NP"]
SEX = [*["10", "11"] * 3, *["Female", "Male"] * 3, "F", "M", "12", "Other", "96", "99"]
GENDER_IDENTITY = [*["Woman", "Man"] * 8, "Non-binary", "Prefer not to say", *[None] * 4]
ETHNICITY = [
    *["160"] * 10, *["White British"] * 6, "161", "168", "Any other White background",
    "100", "101", "103", "104", "Asian - Indian or Indian British",
    "Asian - Chinese or Chinese British",
    "120", "121", "Black - African or African British", "140", "141", "142",
    "Mixed - White and Asian", "159", "179", "180", "997", "998", "Prefer not to say", "999",
]  # fmt: skip
DISABILITY = [
    *["95"] * 8, *["No known impairment"] * 5, "None", "51", "53", "54", "56", "57", "96",
    "Learning difference such as dyslexia dyspraxia or AD(H)D", "98", "Prefer not to say", "99",
]  # fmt: skip
RELIGION = [
    *["No religion"] * 6, *["Christian"] * 4, "Muslim", "Hindu", "Sikh", "Jewish", "Buddhist",
    "Any other religion", "Prefer not to say", *[None] * 3,
]  # fmt: skip
PERMISSION = [*["Y"] * 6, *["Yes"] * 5, "yes", "YES", "N", "No", "no", None]

# Deliberate errors, one per bad row.
BAD_POSTCODES = ["CT1 1CI", "ME15 6XK", "12345", "CT2 7N", "TN999 1AA", "SW1A1A", "NOT KNOWN"]
BAD_DATES = ["31/02/2009", "30/02/2010", "29/02/2009", "32/01/2008", "15/13/2009", "2009-02-30"]
BAD_CODES = {"sex": ["X", "Unknown", "3"], "ethnicity": ["123", "White Other"], "disability": ["7"]}


def choice(pool: list, n: int, seed: int) -> pl.Series:
    """n values drawn with replacement from pool (repeat an entry to weight it)."""
    return pl.Series(pool).sample(n, with_replacement=True, seed=seed)


def outward_codes() -> pl.DataFrame:
    """Every outward code the generator writes: for each area in AREAS, up to 20 of the district
    numbers it really uses, and its lettered districts (SW1A, EC4M), from the same data file that
    validation checks against, so that every generated postcode can exist."""
    from heattool.schemas.postcode import DISTRICT_LETTER, postcode_areas

    rows = {row["area"]: row for row in postcode_areas()}
    codes: dict[str, list[str]] = {}
    for area in dict.fromkeys(AREAS):
        row, found = rows[area], []
        if row["districts"]:
            low, _, high = row["districts"].partition("-")
            found += [str(d) for d in range(max(int(low), 1), int(high or low) + 1)][:20]
        if row["lettered"]:
            low, _, high = row["lettered"].partition("-")
            letters = DISTRICT_LETTER[len(area)]
            found += [f"{d}{x}" for d in range(int(low), int(high or low) + 1) for x in letters][
                :20
            ]
        codes[area] = found
    return (
        pl.DataFrame({"area": list(codes), "district": list(codes.values())})
        .explode("district")
        .with_columns(pick=pl.int_range(pl.len()).over("area"))
    )


def postcodes(n: int, seed: int) -> pl.Series:
    """Real-looking UK postcodes written the ways people write them: case and spacing vary."""
    outwards = outward_codes()
    counts = outwards.group_by("area").agg(options=pl.len())
    frame = (
        pl.DataFrame(
            {
                "area": choice(AREAS, n, seed),
                "draw": choice(list(range(1000)), n, seed + 1),
                "digit": choice(list(range(10)), n, seed + 3),
                "l1": choice(INWARD_LETTERS, n, seed + 4),
                "l2": choice(INWARD_LETTERS, n, seed + 5),
                "form": choice([*[0] * 12, 1, 1, 1, 2, 2, 3, 4, 5], n, seed + 6),
            }
        )
        .with_row_index("_order")
        .join(counts, on="area")
        .with_columns(pick=pl.col("draw") % pl.col("options"))
        .join(outwards, on=["area", "pick"])
        .sort("_order")
    )
    district = pl.col("district")
    outward = pl.concat_str(pl.col("area"), district)
    inward = pl.concat_str(pl.col("digit").cast(pl.String), pl.col("l1"), pl.col("l2"))
    form = pl.col("form")
    written = (
        pl.when(form == 0)
        .then(pl.concat_str(outward, inward, separator=" "))  # CT1 1AA
        .when(form == 1)
        .then(pl.concat_str(outward, inward))  # CT11AA
        .when(form == 2)
        .then(pl.concat_str(outward, inward, separator=" ").str.to_lowercase())  # ct1 1aa
        .when(form == 3)
        .then(pl.concat_str(outward, inward).str.to_lowercase())  # ct11aa
        .when(form == 4)
        .then(pl.concat_str(outward, inward, separator="  "))  # CT1  1AA
        .otherwise(None)  # left blank
    )
    return frame.select(written.alias("postcode")).to_series()


def dates_of_birth(n: int, seed: int) -> pl.Series:
    """School-age DOBs (a few adults), mostly DD/MM/YYYY, some ISO and single-digit D/M/YYYY."""
    young_start, young_days = dt.date(2006, 9, 1), 10 * 365
    adult_start, adult_days = dt.date(1965, 1, 1), 35 * 365
    frame = pl.DataFrame(
        {
            "young": choice(list(range(young_days)), n, seed),
            "adult": choice(list(range(adult_days)), n, seed + 1),
            "is_adult": choice([True] + [False] * 32, n, seed + 2),
            "form": choice([*[0] * 40, *[1] * 5, 2, 3], n, seed + 3),
        }
    )
    dob = (
        pl.when(pl.col("is_adult"))
        .then(pl.lit(adult_start) + pl.duration(days=pl.col("adult")))
        .otherwise(pl.lit(young_start) + pl.duration(days=pl.col("young")))
    )
    form = pl.col("form")
    written = (
        pl.when(form == 0)
        .then(dob.dt.strftime("%d/%m/%Y"))
        .when(form == 1)
        .then(dob.dt.strftime("%Y-%m-%d"))
        .when(form == 2)
        .then(dob.dt.strftime("%-d/%-m/%Y"))  # Excel's short date
        .otherwise(None)  # not known
    )
    return frame.select(written.alias("date_of_birth")).to_series()


def students(n: int, seed: int = SEED) -> pl.DataFrame:
    """n rows of a student upload, with canonical column names."""
    refs = pl.int_range(1, n + 1, eager=True).shuffle(seed=seed)
    frame = pl.DataFrame(
        {
            "student_ref": refs.cast(pl.String).str.zfill(7),
            "forename": choice(FORENAMES, n, seed + 10),
            "surname": choice(SURNAMES, n, seed + 20),
            "date_of_birth": dates_of_birth(n, seed + 30),
            "postcode": postcodes(n, seed + 40),
            "school": choice(SCHOOLS, n, seed + 50),
            "nation_given": choice([True] + [False] * 4, n, seed + 60),
            "sex": choice(SEX, n, seed + 70),
            "gender_identity": choice(GENDER_IDENTITY, n, seed + 80),
            "ethnicity": choice(ETHNICITY, n, seed + 90),
            "disability": choice(DISABILITY, n, seed + 100),
            "religion": choice(RELIGION, n, seed + 110),
            "permission_to_track": choice(PERMISSION, n, seed + 120),
            "expected_he_entry_year": choice(
                [*[None] * 60, "2026", "2027", "2026/27", "2025"], n, seed + 130
            ),
        }
    )
    # A fifth of uploads name the nation; where given, it agrees with the postcode area.
    area = pl.col("postcode").str.to_uppercase().str.extract(r"^([A-Z]+)", 1)
    nation = (
        pl.when(area == "BT")
        .then(pl.lit("Northern Ireland"))
        .when(area.is_in(SCOTTISH_AREAS))
        .then(pl.lit("Scotland"))
        .when(area.is_in(WELSH_AREAS))
        .then(pl.lit("Wales"))
        .otherwise(pl.lit("England"))
    )
    return frame.select(
        pl.format("KU{}", pl.col("student_ref")).alias("student_ref"),
        *COLUMNS[1:6],
        pl.when(pl.col("nation_given")).then(nation).alias("nation"),
        *COLUMNS[7:],
    )


def add_errors(frame: pl.DataFrame, seed: int = SEED) -> pl.DataFrame:
    """Put one deliberate error in about 1% of the rows, a quarter of each kind."""
    n = frame.height
    bad = pl.int_range(n, eager=True).sample(round(n * BAD_SHARE), seed=seed + 200)
    postcode_rows, date_rows, code_rows, duplicate_rows = (
        bad.gather_every(4, offset) for offset in range(4)
    )
    columns = {name: frame[name] for name in frame.columns}
    columns["postcode"] = columns["postcode"].scatter(
        postcode_rows, choice(BAD_POSTCODES, postcode_rows.len(), seed + 201)
    )
    columns["date_of_birth"] = columns["date_of_birth"].scatter(
        date_rows, choice(BAD_DATES, date_rows.len(), seed + 202)
    )
    for offset, (name, values) in enumerate(BAD_CODES.items()):
        rows = code_rows.gather_every(len(BAD_CODES), offset)
        columns[name] = columns[name].scatter(rows, choice(values, rows.len(), seed + 203))
    # A duplicate ref repeats the ref of a row a little earlier, as a copy-paste slip would.
    sources = (duplicate_rows - 1).clip(lower_bound=0)
    columns["student_ref"] = columns["student_ref"].scatter(
        duplicate_rows, columns["student_ref"].gather(sources)
    )
    return pl.DataFrame(columns)


def write_upload(n: int, directory: Path = DATA_DIR, seed: int = SEED) -> Path:
    """Write `students_<n>.csv` (headings as a member writes them) and return its path."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"students_{n}.csv"
    frame = add_errors(students(n, seed), seed).rename(HEADINGS)
    frame.write_csv(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument("--out", type=Path, default=DATA_DIR)
    args = parser.parse_args()
    for n in args.rows:
        path = write_upload(n, args.out, args.seed)
        print(f"{path}: {n} rows, {path.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
