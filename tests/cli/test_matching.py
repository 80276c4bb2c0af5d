"""heattool match and heattool duplicates through the CLI: duplicate groups found, twins kept
apart, decisions honoured across runs, erased people and other members never matched."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.helpers import query, write_csv

HEADINGS = ["Student Ref", "Forename", "Surname", "Date of Birth", "Postcode", "School"]
# Nine students, as heat-helper's own tests have them: two groups of duplicates under other
# refs (Amelia Hughes three times, Mohammed/Muhammad Khan twice), twins (Jack and Jacob Evans,
# born the same day at the same address), and three people once each.
NINE = [
    ("H001", "Amelia", "Hughes", "14/03/2009", "CT1 2EH", "Canterbury Academy"),
    ("H002", "Amelia", "Hughes", "14/03/2009", "CT12EH", "Canterbury Academy"),
    ("H003", "amelia", "HUGHES", "14/03/2009", "", "Canterbury Academy"),
    ("H004", "Mohammed", "Khan", "02/11/2008", "ME4 4AA", "Brompton Academy"),
    ("H005", "Muhammad", "Khan", "02/11/2008", "ME4 4AA", "Brompton Academy"),
    ("H006", "Oliver", "Smith", "21/06/2009", "TN1 1AA", "Skinners' School"),
    ("H007", "Grace", "Taylor", "05/01/2010", "DA1 2BB", "Dartford Grammar School"),
    ("H008", "Jack", "Evans", "30/09/2008", "CT2 7NZ", "Simon Langton"),
    ("H009", "Jacob", "Evans", "30/09/2008", "CT2 7NZ", "Simon Langton"),
]
LIST_HEADINGS = ["First Name", "Last Name", "DOB", "Post Code", "School"]
LISTED = [
    ("Amelia", "Hughes", "14/03/2009", "CT1 2EH", "Canterbury Academy"),
    ("Jake", "Evans", "30/09/2008", "CT2 7NZ", "Simon Langton"),  # Jack's twin? a person decides
    ("Jack", "Evans", "30/09/2008", "CT2 7NZ", "Simon Langton"),
    ("Mo", "Khan", "2008-11-02", "", ""),  # a nickname, no postcode
    ("Zara", "Ng", "01/01/2009", "ME1 1AA", ""),  # nobody stored
    ("Grace", "Tayolr", "05/01/2010", "DA1 2BB", "Dartford Grammar School"),  # a typo
]


def upload(folder: Path, rows, name: str = "nine.csv") -> Path:
    return write_csv(folder / name, [dict(zip(HEADINGS, r, strict=True)) for r in rows], HEADINGS)


def listing(folder: Path, rows=LISTED, name: str = "event.csv") -> Path:
    records = [dict(zip(LIST_HEADINGS, r, strict=True)) for r in rows]
    return write_csv(folder / name, records, LIST_HEADINGS)


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def db(tmp_path, invoke) -> Path:
    path = tmp_path / "heat.duckdb"
    result = invoke("import", upload(tmp_path, NINE), "--member", "KENT", "--db", path)
    assert result.exit_code == 0, result.stderr
    return path


def heat_ids(db: Path, member: str = "KENT") -> dict[str, str]:
    rows = query(
        db, "SELECT student_ref, heat_id::VARCHAR FROM students WHERE member = ?", [member]
    )
    return dict(rows)


def test_duplicates_finds_both_groups_and_keeps_the_twins_for_review(invoke, db, tmp_path):
    out = tmp_path / "duplicates.csv"
    result = invoke("duplicates", "--member", "KENT", "--db", db, "--out", out)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith(
        "9 stored people of member KENT: 2 clusters of probable duplicates, 1 to review"
    )
    rows = read(out)
    clusters: dict[tuple[str, str], set[str]] = {}
    for row in rows:
        clusters.setdefault((row["cluster"], row["status"]), set()).add(row["ref"])
    assert clusters == {
        ("1", "matched"): {"H001", "H002", "H003"},
        ("2", "matched"): {"H004", "H005"},
        ("3", "review"): {"H008", "H009"},
    }
    assert all(float(r["match_probability"]) >= 0.95 for r in rows)
    assert "pandas" not in sys.modules  # Splink's DuckDB backend runs without it
    (event,) = query(db, "SELECT details FROM audit_events WHERE event = 'duplicates'")
    assert json.loads(event[0])["matched_clusters"] == 2


def test_match_a_list_statuses_twins_and_agreed_fields(invoke, db, tmp_path):
    ids = heat_ids(db)
    out, review = tmp_path / "matched.csv", tmp_path / "review.csv"
    result = invoke(
        "match", listing(tmp_path), "--member", "KENT", "--db", db, "--out", out,
        "--review-out", review,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "6 rows matched against 9 stored people of member KENT: 4 matched, 1 review, 1 new" in (
        result.stdout
    )
    rows = read(out)
    assert list(rows[0])[:5] == LIST_HEADINGS  # the list as uploaded, then the match
    assert [(r["match_status"], r["ref"]) for r in rows] == [
        ("matched", "H001"),
        ("review", ""),  # Jake Evans: Jack's or Jacob's twin, or a typo of one of them
        ("matched", "H008"),
        ("matched", "H004"),
        ("new", ""),
        ("matched", "H007"),
    ]
    assert rows[2]["heat_id"] == ids["H008"]
    assert rows[3]["agreed"] == "forename, surname, date_of_birth"
    pairs = read(review)
    assert {p["ref"] for p in pairs} == {"H008", "H009"}
    assert all(p["reason"].startswith("twin guard") and p["decision"] == "" for p in pairs)
    assert {p["stored_forename"] for p in pairs} == {"Jack", "Jacob"}


def test_twins_are_never_matched_automatically(invoke, db, tmp_path):
    """Jacob's twin Jack listed under Jacob's details but his own forename is Jack: matched to
    Jack exactly, never to Jacob; a third forename is at most review."""
    twin = [("Joe", "Evans", "30/09/2008", "CT2 7NZ", "Simon Langton")]
    out = tmp_path / "twin.csv"
    result = invoke("match", listing(tmp_path, twin), "--member", "KENT", "--db", db, "--out", out)
    assert result.exit_code == 0, result.stderr
    (row,) = read(out)
    assert row["match_status"] == "review" and row["heat_id"] == ""


def test_decisions_are_honoured_by_every_later_run(invoke, db, tmp_path):
    ids = heat_ids(db)
    event = listing(tmp_path)
    review, first, again = tmp_path / "review.csv", tmp_path / "1.csv", tmp_path / "2.csv"
    args = ("--member", "KENT", "--db", db)
    assert invoke("match", event, *args, "--out", first, "--review-out", review).exit_code == 0
    assert invoke("match", event, *args, "--out", again).exit_code == 0
    assert first.read_bytes() == again.read_bytes()  # the same list, the same answer
    pairs = read(review)
    for pair in pairs:  # Jake is Jacob (a nickname the table lacks), not Jack
        pair["decision"] = "same" if pair["ref"] == "H009" else "different"
    decided = write_csv(tmp_path / "decided.csv", pairs, list(pairs[0]))
    result = invoke("match", "decide", decided, *args)
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("2 decisions stored for member KENT (1 same, 1 different")
    assert invoke("match", event, *args, "--out", again).exit_code == 0
    jake = read(again)[1]
    assert (jake["match_status"], jake["heat_id"]) == ("matched", ids["H009"])
    stored = query(db, "SELECT decision, heat_id::VARCHAR FROM match_decisions ORDER BY 1")
    assert stored == [("different", ids["H008"]), ("same", ids["H009"])]
    (audit,) = query(db, "SELECT details FROM audit_events WHERE event = 'match-decide'")
    assert json.loads(audit[0])["same"] == 1
    # Decided different: Jack Evans's record no longer matches the listed Jake, even alone.
    alone = [LISTED[1]]
    out = tmp_path / "alone.csv"
    assert invoke("match", listing(tmp_path, alone, "a.csv"), *args, "--out", out).exit_code == 0
    assert read(out)[0]["heat_id"] == ids["H009"]


def test_match_decide_refuses_bad_decisions_and_other_members_people(invoke, db, tmp_path):
    review = tmp_path / "review.csv"
    args = ("--member", "KENT", "--db", db)
    assert invoke("match", listing(tmp_path), *args, "--review-out", review).exit_code == 0
    pairs = read(review)
    pairs[0]["decision"] = "maybe"
    bad = write_csv(tmp_path / "bad.csv", pairs, list(pairs[0]))
    result = invoke("match", "decide", bad, *args)
    assert result.exit_code == 2
    assert "decision must be same or different (or left blank) on line 2" in result.stderr
    pairs[0]["decision"] = "same"
    pairs[0]["heat_id"] = "00000000-0000-4000-8000-000000000000"
    other = write_csv(tmp_path / "other.csv", pairs, list(pairs[0]))
    result = invoke("match", "decide", other, *args)
    assert result.exit_code == 2
    assert "1 heat_id(s) are not people of member KENT" in result.stderr
    assert query(db, "SELECT count(*) FROM match_decisions") == [(0,)]


def test_erased_people_are_not_matched_and_their_decisions_go_with_them(invoke, db, tmp_path):
    ids = heat_ids(db)
    args = ("--member", "KENT", "--db", db)
    grace = [LISTED[5]]
    review = tmp_path / "review.csv"
    result = invoke("match", listing(tmp_path, grace), *args, "--review-out", review)
    assert result.exit_code == 0
    erased = invoke("subject", "erase", ids["H007"], "--db", db, "--yes",
                    "--receipt", tmp_path / "receipt.json")  # fmt: skip
    assert erased.exit_code == 0, erased.stderr
    out = tmp_path / "after.csv"
    assert invoke("match", listing(tmp_path, grace), *args, "--out", out).exit_code == 0
    assert read(out)[0]["match_status"] == "new"
    assert ids["H007"] not in (tmp_path / "after.csv").read_text("utf-8")


def test_a_list_needs_names_and_a_member_the_store_holds(invoke, db, tmp_path):
    nameless = write_csv(tmp_path / "x.csv", [{"DOB": "01/01/2009"}], ["DOB"])
    result = invoke("match", nameless, "--member", "KENT", "--db", db)
    assert result.exit_code == 2
    assert "a list to match needs a forename column" in result.stderr
    result = invoke("match", listing(tmp_path), "--member", "KNET", "--db", db)
    assert result.exit_code == 2
    assert "has no records of member KNET" in result.stderr


def test_thresholds_come_from_the_policy(invoke, db, tmp_path):
    from tests.helpers import HEAT_TOML

    strict = tmp_path / "strict.toml"
    strict.write_text(HEAT_TOML.replace("match_at = 0.95", "match_at = 0.9999999999"), "utf-8")
    out = tmp_path / "strict.csv"
    result = invoke("match", listing(tmp_path), "--member", "KENT", "--db", db, "--out", out,
                    "--policy", strict)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert read(out)[3]["match_status"] == "review"  # Mo Khan, no postcode: not that sure
    wrong = tmp_path / "wrong.toml"
    wrong.write_text(HEAT_TOML.replace("review_at = 0.5", "review_at = 0.99"), "utf-8")
    result = invoke("match", listing(tmp_path), "--member", "KENT", "--db", db, "--policy", wrong)
    assert result.exit_code == 3
    assert "[matching]: review_at (0.99) must not be above match_at (0.95)" in result.stderr


# -- never across members ----------------------------------------------------------------------

PEOPLE = st.tuples(
    st.sampled_from(["Amelia", "Jack", "Jacob", "Mohammed", "Grace"]),
    st.sampled_from(["Hughes", "Evans", "Khan"]),
    st.sampled_from(["14/03/2009", "30/09/2008", "02/11/2008"]),
    st.sampled_from(["CT1 2EH", "CT2 7NZ", ""]),
)


@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    kent=st.lists(PEOPLE, min_size=1, max_size=5),
    other=st.lists(PEOPLE, min_size=1, max_size=5),
    listed=st.lists(PEOPLE, min_size=1, max_size=4),
)
def test_matches_only_ever_name_the_members_own_people(
    invoke_fresh, tmp_path_factory, kent, other, listed
):
    folder = tmp_path_factory.mktemp("members")
    db = folder / "mixed.duckdb"
    for member, people in (("KENT", kent), ("OTHER", other)):
        rows = [(f"{member[0]}{n}", *p, "Canterbury Academy") for n, p in enumerate(people)]
        result = invoke_fresh("import", upload(folder, rows, f"{member}.csv"), "--member",
                              member, "--db", db)  # fmt: skip
        assert result.exit_code == 0, result.stderr
    out, review = folder / "out.csv", folder / "review.csv"
    event = listing(folder, [(*p, "Canterbury Academy") for p in listed])
    result = invoke_fresh("match", event, "--member", "KENT", "--db", db, "--out", out,
                          "--review-out", review)  # fmt: skip
    assert result.exit_code == 0, result.stderr
    own = set(heat_ids(db, "KENT").values())
    named = {r["heat_id"] for r in read(out) + read(review) if r["heat_id"]}
    assert named <= own
    if kent == other == listed:
        assert named  # the same people listed are found, among KENT's own
