"""`subject access --pack`: a pack the person can read (issue 14 section 3)."""

from __future__ import annotations

import json
import os
import stat
from html.parser import HTMLParser

import polars as pl
import pytest

from tests.helpers import UPLOADS


class Page(HTMLParser):
    """The page's tags, its text, and the rows of its tables as (header, cell) pairs."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.cells: list[str] = []
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        if tag == "tr":
            self.cells = []
        if tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None:
            self.cells.append("".join(self._cell))
            self._cell = None
        if tag == "tr":
            self.rows.append(self.cells)

    def handle_data(self, data):
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture
def db(invoke, tmp_path):
    path = tmp_path / "store.duckdb"
    assert invoke("import", *UPLOADS, "--member", "KENT", "--db", path).exit_code == 0
    return path


def page_of(path) -> Page:
    page = Page()
    page.feed(path.read_text("utf-8"))
    return page


def test_the_pack_shows_codes_as_words_the_activities_and_the_deletion_date(invoke, db, tmp_path):
    pack, package = tmp_path / "amelia.html", tmp_path / "amelia.json"
    result = invoke(
        "subject", "access", "--member", "KENT", "--ref", "S0001", "--db", db,
        "--out", package, "--pack", pack,
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert stat.S_IMODE(os.stat(pack).st_mode) == 0o600
    page = page_of(pack)
    record = {row[0]: row[1] for row in page.rows if len(row) == 2}
    assert record["Sex"] == "Female"  # stored as 10
    assert record["First name"] == "Amelia" and record["Your reference"] == "S0001"
    attended = [row[1] for row in page.rows if len(row) == 4 and row[0][:2] == "20"]
    stored = json.loads(package.read_text("utf-8"))
    assert attended == [a["name"] for a in stored["attendance"]] and attended
    deleted_by = stored["retention"]["delete_by"]
    assert deleted_by and f"deleted by {deleted_by}" in "".join(page.text)


def test_the_pack_is_self_contained_and_escapes_what_it_shows(invoke, db, tmp_path):
    upload = tmp_path / "students.csv"
    upload.write_text(
        "Student Ref,Forename,Surname,School\n"
        'S9,<script>alert(1)</script>,"<img src=http://x/y.png>",<a href="http://evil">\n',
        "utf-8",
    )
    assert invoke("import", upload, "-m", "KENT", "--db", db).exit_code == 0
    pack = tmp_path / "pack.html"
    result = invoke("subject", "access", "-m", "KENT", "--ref", "S9", "--db", db, "--pack", pack)
    assert result.exit_code == 0, result.stderr
    page = page_of(pack)
    tags = {tag for tag, _ in page.tags}
    assert not tags & {"script", "img", "a", "link", "iframe", "object"}
    assert not any(value and "http" in value for _, attrs in page.tags for value in attrs.values())
    assert "<script>alert(1)</script>" in "".join(page.text)  # shown, as text


def test_the_pack_as_a_workbook(invoke, db, tmp_path):
    pack = tmp_path / "pack.xlsx"
    result = invoke("subject", "access", "-m", "KENT", "--ref", "S0001", "--db", db, "--pack", pack)
    assert result.exit_code == 0, result.stderr
    data = pl.read_excel(pack, sheet_name="Data")
    held = dict(data.iter_rows())
    assert held["Sex"] == "Female" and held["Last name"] == "Hughes"
    about = dict(pl.read_excel(pack, sheet_name="About", has_header=False).iter_rows())
    assert "Campus Visit" in about["activities attended"]


def test_a_pack_of_another_kind_of_file_is_refused_before_any_work(invoke, db, tmp_path):
    pack = tmp_path / "pack.pdf"
    result = invoke("subject", "access", "-m", "KENT", "--ref", "S0001", "--db", db, "--pack", pack)
    assert result.exit_code == 2
    assert ".html or .xlsx" in result.stderr and not pack.exists()
