"""Every file heattool writes: chosen by its suffix, put in place whole, never through a link.

What a data officer relies on: a symbolic link planted at an output's name is refused and what it
points to is left alone; a full disk leaves the old file, never a truncated one; an `.xlsx` is a
real workbook; no cell or heading of a CSV or workbook starts a formula.
"""

from __future__ import annotations

import csv
import errno
import io
import json
import os
import shutil
import stat
import tempfile
import zipfile
from pathlib import Path

import duckdb
import polars as pl
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from heattool.errors import UnreadableInput
from heattool.io.files import FORMULA_CHARACTERS, install
from heattool.io.writers import (
    csv_text,
    finish_partial,
    write_csv,
    write_frame,
    write_json,
    write_text,
)
from heattool.store.exports import write_query
from tests.helpers import EXAMPLES, query

UPLOADS = [EXAMPLES / f"{k}.csv" for k in ("activities", "students", "attendance", "ambassadors")]
MESSY = EXAMPLES / "messy_students.csv"
LINKED = "is a symbolic link; heattool does not write through links"
VICTIM_TEXT = "somebody else's file\n"
STUDENT_HEADER = "Student Ref,Forename,Surname,Date of Birth,Postcode,Permission to Track\n"


@pytest.fixture(scope="module")
def template_store(tmp_path_factory, invoke_fresh) -> Path:
    path = tmp_path_factory.mktemp("template") / "store.duckdb"
    result = invoke_fresh("import", *UPLOADS, "--member", "KENT", "--db", path)
    assert result.exit_code == 0, result.stderr
    assert not Path(f"{path}.wal").exists()
    return path


@pytest.fixture
def db(tmp_path, template_store) -> Path:
    """A store of the bundled examples (member KENT), a copy of one built once per module."""
    path = tmp_path / "store.duckdb"
    shutil.copyfile(template_store, path)
    return path


def plant_link(at: Path, tmp_path: Path) -> Path:
    """A symbolic link at `at` to a readable file of someone else's; the file."""
    victim = tmp_path / "victim" / "theirs.txt"
    victim.parent.mkdir(exist_ok=True)
    victim.write_text(VICTIM_TEXT)
    os.chmod(victim, 0o644)
    at.parent.mkdir(parents=True, exist_ok=True)
    at.symlink_to(victim)
    return victim


def assert_untouched(link: Path, victim: Path) -> None:
    assert link.is_symlink() and link.resolve() == victim.resolve()
    assert victim.read_text() == VICTIM_TEXT
    assert stat.S_IMODE(victim.stat().st_mode) == 0o644


def leftovers(folder: Path) -> list[str]:
    """Partial or temporary files left in a folder."""
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".partial"))


def heat_id_of(db: Path, ref: str) -> str:
    return str(query(db, "SELECT heat_id FROM students WHERE student_ref = ?", [ref])[0][0])


def read_csv_rows(path: Path) -> list[list[str]]:
    with path.open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.reader(handle))


# -- 17. symbolic links ----------------------------------------------------------------------------

# (name, the command's arguments with OUT for the linked path, the link's name, needs a store)
LINKED_OUTPUTS = [
    ("validate --errors-out", ["validate", MESSY, "--errors-out", "OUT"], "errors.csv"),
    ("import --rejects-out", ["import", MESSY, "-m", "KENT", "--rejects-out", "OUT"], "r.csv"),
    ("retention --out", ["retention", "--as-of", "2060-09-01", "--out", "OUT"], "due.csv"),
    (
        "track-request --out",
        ["track-request", "--target", "hesa", "--year", "2026", "--out", "OUT"],
        "hesa.csv",
    ),
    (
        "track-request --excluded-out",
        ["track-request", "-t", "hesa", "--year", "2026", "--dry-run", "--excluded-out", "OUT"],
        "excluded.csv",
    ),
    (
        "track-request manifest",
        ["track-request", "-t", "hesa", "--year", "2026", "--out", "DIR/hesa.csv"],
        "hesa.csv.manifest.json",
    ),
    (
        "purge --receipt",
        ["purge", "--as-of", "2060-09-01", "--allow-future", "--yes", "--receipt", "OUT"],
        "receipt.json",
    ),
    ("subject access --out", ["subject", "access", "HEAT_ID", "--out", "OUT"], "package.json"),
    (
        "subject erase --receipt",
        ["subject", "erase", "HEAT_ID", "--yes", "--receipt", "OUT"],
        "erasure.json",
    ),
]


@pytest.mark.parametrize(
    ("args", "name"), [c[1:] for c in LINKED_OUTPUTS], ids=[c[0] for c in LINKED_OUTPUTS]
)
def test_a_symbolic_link_at_an_output_is_refused_and_its_target_left_alone(
    invoke, db, tmp_path, args, name
):
    out = tmp_path / "out" / name
    victim = plant_link(out, tmp_path)
    before = query(db, "SELECT count(*) FROM students")
    batches = query(db, "SELECT count(*) FROM track_batches")
    heat_id = heat_id_of(db, "S0001")
    argv = [out if a == "OUT" else heat_id if a == "HEAT_ID" else a for a in args]
    argv = [str(a).replace("DIR", str(out.parent)) for a in argv]
    result = invoke(*argv, *([] if args[0] == "validate" else ["--db", db]))
    assert result.exit_code == 2, result.stdout + result.stderr
    assert f"{out} {LINKED}" in " ".join(result.stderr.split())
    assert_untouched(out, victim)
    # refused before any work: nothing deleted, loaded or recorded, and no file left beside it
    assert query(db, "SELECT count(*) FROM students") == before
    assert query(db, "SELECT count(*) FROM track_batches") == batches
    assert sorted(p.name for p in out.parent.iterdir()) == [name]


def test_every_writer_refuses_a_link_even_when_not_checked_first(tmp_path):
    frame = pl.DataFrame({"ref": ["S1"], "n": [1]})
    writers = {
        "a.csv": lambda p: write_csv(frame, p),
        "b.json": lambda p: write_json({"a": 1}, p),
        "c.txt": lambda p: write_text("text", p),
        **{
            f"d{s}": (lambda p: write_frame(frame, p))
            for s in (".csv", ".xlsx", ".json", ".parquet")
        },
    }
    for name, write in writers.items():
        link = tmp_path / name
        victim = plant_link(link, tmp_path)
        with pytest.raises(UnreadableInput, match="symbolic link"):
            write(link)
        assert_untouched(link, victim)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_write_query_refuses_a_linked_target_and_writes_under_a_fresh_name(tmp_path, file_format):
    con = duckdb.connect()
    link = tmp_path / f"request.{file_format}"
    victim = plant_link(link, tmp_path)
    with pytest.raises(UnreadableInput, match="symbolic link"):
        write_query(con, "SELECT 1 AS n", link, file_format)
    assert_untouched(link, victim)
    # the old, predictable partial name is not used: a link planted there is not followed
    out = tmp_path / f"fresh.{file_format}"
    old_partial = tmp_path / f".{out.name}.partial"
    other = plant_link(old_partial, tmp_path)
    write_query(con, "SELECT 1 AS n", out, file_format)
    assert_untouched(old_partial, other)
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert leftovers(tmp_path) == [old_partial.name]


def test_finish_partial_and_install_refuse_a_link(tmp_path):
    for head in (b"", b"head\n"):
        partial = tmp_path / "rows.partial"
        partial.write_bytes(b"rows\n")
        link = tmp_path / f"out{len(head)}.csv"
        victim = plant_link(link, tmp_path)
        with pytest.raises(UnreadableInput, match="symbolic link"):
            finish_partial(partial, link, head)
        assert_untouched(link, victim)
        assert not partial.exists()
    written = tmp_path / "written"
    written.write_text("new")
    with pytest.raises(UnreadableInput, match="symbolic link"):
        install(written, link)
    assert_untouched(link, victim)
    assert written.read_text() == "new"  # kept: it may be the only receipt of a deletion


def test_a_link_planted_at_the_purge_receipt_after_the_check_is_not_written_through(
    invoke, db, tmp_path, monkeypatch
):
    from heattool.actions import purge

    receipt = tmp_path / "out" / "receipt.json"
    real_purge = purge.purge_plan
    planted: list[Path] = []

    def purge_then_plant(store, *args):
        planted.append(plant_link(receipt, tmp_path))
        return real_purge(store, *args)

    monkeypatch.setattr(purge, "purge_plan", purge_then_plant)
    result = invoke(
        "purge",
        "--db",
        db,
        "--as-of",
        "2060-09-01",
        "--allow-future",
        "--yes",
        "--receipt",
        receipt,
    )
    assert result.exit_code == 2
    assert LINKED in " ".join(result.stderr.split())
    assert_untouched(receipt, planted[0])
    # the deletion was committed: its receipt stays under the partial name, as JSON
    kept = json.loads((receipt.parent / "receipt.json.partial").read_text("utf-8"))
    assert kept["event"] == "purge"


# -- 17. a full disk ---------------------------------------------------------------------------


def no_space(*args, **kwargs):
    raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))


def test_a_full_disk_mid_csv_leaves_the_old_file_and_no_partial(tmp_path, monkeypatch):
    path = tmp_path / "out.csv"
    path.write_text("old\n")
    real = pl.DataFrame.write_csv

    def half_then_full(self, file=None, **kwargs):
        text = real(self, **kwargs)
        if file is None:  # the header line, as text
            return text
        file.write(text[: len(text) // 2].encode())
        no_space()

    monkeypatch.setattr(pl.DataFrame, "write_csv", half_then_full)
    frame = pl.DataFrame({"ref": [f"S{i}" for i in range(100)]})
    with pytest.raises(UnreadableInput, match="No space left on device"):
        write_csv(frame, path)
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv"]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx", ".json", ".parquet", ".txt-document"])
def test_a_full_disk_at_the_flush_leaves_the_old_file_and_no_partial(tmp_path, monkeypatch, suffix):
    monkeypatch.setattr(os, "fsync", no_space)
    path = tmp_path / f"out{suffix}"
    path.write_text("old\n")
    frame = pl.DataFrame({"ref": ["S1", "S2"]})
    with pytest.raises(UnreadableInput, match="No space left on device"):
        if suffix == ".txt-document":
            write_json({"a": 1}, path)
        else:
            write_frame(frame, path)
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_a_full_disk_while_a_query_is_put_in_place_leaves_the_old_file(
    tmp_path, monkeypatch, file_format
):
    path = tmp_path / f"request.{file_format}"
    path.write_text("old\n")
    monkeypatch.setattr(os, "fsync", no_space)
    monkeypatch.setattr(os, "replace", no_space)  # Parquet is renamed into place, not copied
    with pytest.raises(UnreadableInput, match="No space left on device"):
        write_query(duckdb.connect(), "SELECT 1 AS n", path, file_format)
    assert path.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_a_full_disk_exits_2_through_the_cli_and_the_old_errors_file_stays(
    invoke, tmp_path, monkeypatch
):
    out = tmp_path / "errors.csv"
    out.write_text("old\n")
    monkeypatch.setattr(os, "fsync", no_space)
    result = invoke("validate", MESSY, "--errors-out", out)
    assert result.exit_code == 2
    assert f"{out}: cannot write (No space left on device)" in " ".join(result.stderr.split())
    assert out.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["errors.csv"]


def test_a_purge_receipt_on_a_full_disk_exits_2_and_leaves_no_receipt(
    invoke, db, tmp_path, monkeypatch
):
    monkeypatch.setattr(os, "fsync", no_space)
    receipt = tmp_path / "out" / "receipt.json"
    result = invoke(
        "purge",
        "--db",
        db,
        "--as-of",
        "2060-09-01",
        "--allow-future",
        "--yes",
        "--receipt",
        receipt,
    )
    assert result.exit_code == 2
    assert "No space left on device" in result.stderr
    assert not receipt.parent.exists() or list(receipt.parent.iterdir()) == []


# -- 18. formula injection ---------------------------------------------------------------------

FORMULA_TEXT = st.text(max_size=8) | st.sampled_from(["=1+1", "+1", "-1", "@SUM(A1)", "\tx", "\rx"])
COLUMN_NAMES = st.lists(FORMULA_TEXT, min_size=1, max_size=4, unique_by=str.lower)


def safe(text: str) -> str:
    return "'" + text if text and text[0] in FORMULA_CHARACTERS else text


@st.composite
def text_frames(draw) -> pl.DataFrame:
    names = draw(COLUMN_NAMES)
    height = draw(st.integers(0, 4))
    return pl.DataFrame(
        {name: draw(st.lists(FORMULA_TEXT, min_size=height, max_size=height)) for name in names},
        schema=dict.fromkeys(names, pl.String),
    )


def written_by(writer: str, frame: pl.DataFrame, folder: Path) -> list[list[str]]:
    """The rows (header first) of `frame` as `writer` writes it, read back as a CSV reader would."""
    if writer == "write_query":  # DuckDB's names: never empty, any case one name, no NUL (Arrow)
        names = frame.columns
        assume(all(names) and "_n" not in {n.lower() for n in names} and "\0" not in "".join(names))
    if writer == "csv_text":
        return list(csv.reader(io.StringIO(csv_text(frame), newline="")))
    path = folder / "out.csv"
    if writer == "write_csv":
        write_csv(frame, path)
    elif writer == "write_frame":
        write_frame(frame, path.with_suffix(".CSV"))
        path = path.with_suffix(".CSV")
    else:
        con = duckdb.connect()
        con.register("cells", frame.with_row_index("_n"))
        columns = ", ".join('"' + n.replace('"', '""') + '"' for n in frame.columns)
        write_query(con, f"SELECT {columns} FROM cells ORDER BY _n", path)
    return read_csv_rows(path)


@pytest.mark.parametrize("writer", ["write_csv", "write_frame", "write_query", "csv_text"])
@given(frame=text_frames())
def test_no_cell_or_heading_of_a_written_csv_starts_a_formula(writer, frame):
    with tempfile.TemporaryDirectory() as folder:
        rows = written_by(writer, frame, Path(folder))
    header, *cells = rows
    assert not any(t[:1] in FORMULA_CHARACTERS and t for row in rows for t in row)
    assert header == [safe(n) for n in frame.columns]
    assert cells == [[safe(t) for t in row] for row in frame.rows()]


def test_upload_headings_reach_the_rejects_file_neutralised(invoke, tmp_path):
    upload = tmp_path / "students.csv"
    upload.write_text(
        'Student Ref,Forename,=HYPERLINK("http://x"),Surname,Date of Birth\n'
        "S1,Ann,x,Lee,31/02/2009\n",
        encoding="utf-8",
    )
    rejects = tmp_path / "rejects.csv"
    result = invoke("import", upload, "-m", "KENT", "--db", tmp_path / "s.duckdb",
                    "--rejects-out", rejects)  # fmt: skip
    assert result.exit_code == 1, result.stderr
    header = read_csv_rows(rejects)[0]
    assert not any(h[:1] in FORMULA_CHARACTERS for h in header)
    assert '\'=HYPERLINK("http://x")' in header


def test_retention_csv_on_standard_output_is_formula_safe(invoke, tmp_path):
    text = (EXAMPLES / "policies" / "staff-records.csv").read_text("utf-8")
    path = tmp_path / "staff.csv"
    path.write_text(text.replace("ST-001", "=cmd|' /C calc'!A0").replace("ST-002", "@S2"))
    policy = EXAMPLES / "policies" / "kent-staff.toml"
    result = invoke("retention", "--policy", policy, "--input", path, "--format", "csv")
    assert result.exit_code == 0, result.stderr
    rows = list(csv.reader(io.StringIO(result.stdout, newline="")))
    refs = [row[rows[0].index("ref")] for row in rows[1:]]
    assert {"'=cmd|' /C calc'!A0", "'@S2"} <= set(refs)
    assert not any(t[:1] in FORMULA_CHARACTERS and t for row in rows for t in row)


# -- 21. outputs by name -----------------------------------------------------------------------


def test_errors_out_xlsx_is_a_real_owner_only_workbook_matching_the_csv(invoke, tmp_path):
    as_csv, as_xlsx = tmp_path / "e.csv", tmp_path / "e.xlsx"
    for out in (as_csv, as_xlsx):
        result = invoke("validate", MESSY, "--as-of", "2026-11-24", "--errors-out", out)
        assert result.exit_code == 1, result.stderr
    assert zipfile.is_zipfile(as_xlsx)
    assert stat.S_IMODE(as_xlsx.stat().st_mode) == 0o600
    workbook = pl.read_excel(as_xlsx, infer_schema_length=0)
    text = pl.read_csv(as_csv, infer_schema=False)
    assert workbook.columns == text.columns
    assert workbook.height == text.height == 10
    assert workbook.equals(text)


def test_a_formula_in_an_upload_comes_back_from_the_xlsx_as_text(invoke, tmp_path):
    upload = tmp_path / "u.csv"
    upload.write_text(STUDENT_HEADER + "S1,Ann,Lee,=1+1,,Yes\nS2,Bo,Day,+1,,Yes\n", "utf-8")
    out = tmp_path / "E.XLSX"  # the suffix in any case
    result = invoke("validate", upload, "--errors-out", out)
    assert result.exit_code == 1, result.stderr
    values = pl.read_excel(out).get_column("value").to_list()
    assert values == ["'=1+1", "'+1"]
    with zipfile.ZipFile(out) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet  # no cell is a formula


def test_an_xlsx_keeps_text_as_text_and_headings_unique_in_any_case(tmp_path):
    frame = pl.DataFrame(
        {
            "ref": ["=1+1", "http://example.org", "1.5", "{=A1}", None],
            "REF": ["a", "b", "c", "d", "e"],
            "=sum": [1, 2, 3, 4, 5],
        }
    )
    out = tmp_path / "x.xlsx"
    write_frame(frame, out)
    back = pl.read_excel(out)
    assert back.columns == ["ref", "REF (2)", "'=sum"]
    assert back.get_column("ref").to_list() == ["'=1+1", "http://example.org", "1.5", "{=A1}", None]
    assert back.get_column("'=sum").to_list() == [1, 2, 3, 4, 5]
    with zipfile.ZipFile(out) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "hyperlink" not in sheet


def test_json_records_and_parquet_round_trip(tmp_path):
    import datetime as dt

    frame = pl.DataFrame({"ref": ["=S1", None], "n": [1, 2], "on": [dt.date(2026, 1, 2), None]})
    write_frame(frame, tmp_path / "f.json")
    records = json.loads((tmp_path / "f.json").read_text("utf-8"))
    assert records == [
        {"ref": "=S1", "n": 1, "on": "2026-01-02"},
        {"ref": None, "n": 2, "on": None},
    ]
    write_frame(frame, tmp_path / "f.parquet")
    assert pl.read_parquet(tmp_path / "f.parquet").equals(frame)
    for name in ("f.json", "f.parquet"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600


@pytest.mark.parametrize(
    "args",
    [
        ["validate", MESSY, "--errors-out", "OUT.txt"],
        ["import", MESSY, "-m", "KENT", "--rejects-out", "OUT.tsv"],
        ["retention", "--as-of", "2060-09-01", "--out", "OUT"],
        ["track-request", "-t", "hesa", "--year", "2026", "--dry-run", "--excluded-out", "OUT.xls"],
        ["purge", "--as-of", "2060-09-01", "--allow-future", "--yes", "--receipt", "OUT.csv"],
        ["subject", "access", "HEAT_ID", "--out", "OUT.xlsx"],
    ],
    ids=["validate", "import", "retention", "excluded", "purge", "access"],
)
def test_an_output_of_an_unknown_kind_is_refused_before_any_work(invoke, db, tmp_path, args):
    before = query(db, "SELECT count(*) FROM students")
    argv = [str(tmp_path / "out" / a[3:]) if str(a).startswith("OUT") else a for a in args]
    argv = [heat_id_of(db, "S0001") if a == "HEAT_ID" else a for a in argv]
    result = invoke(*argv, *([] if args[0] == "validate" else ["--db", db]))
    assert result.exit_code == 2, result.stdout + result.stderr
    message = " ".join(result.stderr.split())
    assert "the file name must end" in message
    assert ".json" in message
    assert not (tmp_path / "out").exists()
    assert query(db, "SELECT count(*) FROM students") == before


def test_a_track_request_must_be_named_for_its_format(invoke, db, tmp_path):
    out = tmp_path / "hesa.parquet"
    result = invoke("track-request", "-t", "hesa", "--year", "2026", "--out", out, "--db", db,
                    "--file-format", "csv")  # fmt: skip
    assert result.exit_code == 2
    message = " ".join(result.stderr.split())
    assert f"{out}: the file name must end .csv for --file-format csv" in message
    assert not out.exists()
    assert query(db, "SELECT count(*) FROM track_batches") == [(0,)]
    text = tmp_path / "hesa.txt"  # csv unless the name says parquet: .txt is refused
    result = invoke("track-request", "-t", "hesa", "--year", "2026", "--out", text, "--db", db)
    assert result.exit_code == 2
    assert not text.exists()
    again = invoke("track-request", "-t", "hesa", "--year", "2026", "--out", out, "--db", db)
    assert again.exit_code == 0, again.stderr
    assert pl.read_parquet(out).height > 0


def test_a_rejects_folder_is_written_into_and_a_link_inside_it_refused(invoke, tmp_path):
    folder = tmp_path / "rejects"
    folder.mkdir()
    upload = tmp_path / "students.csv"
    upload.write_text(STUDENT_HEADER + "S1,Ann,Lee,31/02/2009,,Yes\n", "utf-8")
    db = tmp_path / "s.duckdb"
    result = invoke("import", upload, "-m", "KENT", "--db", db, "--rejects-out", folder)
    assert result.exit_code == 1, result.stderr
    written = folder / "students.rejects.csv"
    assert stat.S_IMODE(written.stat().st_mode) == 0o600
    written.unlink()
    victim = plant_link(written, tmp_path)
    again = invoke("import", upload, "-m", "KENT", "--db", db, "--rejects-out", folder)
    assert again.exit_code == 2
    assert f"{written} {LINKED}" in " ".join(again.stderr.split())
    assert_untouched(written, victim)
    assert leftovers(folder) == []
