"""Reading Parquet: every column as text, so an upload or a return is parsed as its CSV is."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from heattool.errors import UnreadableInput
from heattool.io.readers import read_upload


def test_a_parquet_file_is_read_as_text_in_its_own_column_order(tmp_path):
    path = tmp_path / "typed.parquet"
    pl.DataFrame(
        {
            "Student Ref": ["S1", None],
            "Date of Birth": [dt.date(2009, 3, 14), None],
            "Permission to Track": [True, False],
            "Hours": [2.5, 10.0],
            "Year": [2026, 2027],
        }
    ).write_parquet(path)
    raw = read_upload(path)
    assert (raw.format, raw.header_row, raw.first_column, raw.sheet) == ("parquet", 1, 0, None)
    assert raw.frame.schema == dict.fromkeys(raw.frame.columns, pl.String)
    assert raw.frame.rows() == [
        ("S1", "2009-03-14", "true", "2.5", "2026"),
        (None, None, "false", "10.0", "2027"),
    ]


def test_parquet_is_told_by_its_bytes_whatever_its_name(tmp_path):
    path = tmp_path / "export.dat"
    pl.DataFrame({"a": [1]}).write_parquet(path)
    assert read_upload(path).frame.rows() == [("1",)]


@pytest.mark.parametrize(
    ("contents", "option", "message"),
    [
        (b"PAR1 not a parquet file PAR1", {}, "cannot be read as a Parquet file"),
        (None, {"sheet": "Students"}, "--sheet does not apply to a Parquet file"),
        (None, {"header_row": 2}, "--header-row does not apply to a Parquet file"),
    ],
)
def test_what_cannot_be_read_from_parquet_is_one_line(tmp_path, contents, option, message):
    path = tmp_path / "file.parquet"
    if contents is None:
        pl.DataFrame({"a": [1]}).write_parquet(path)
    else:
        path.write_bytes(contents)
    with pytest.raises(UnreadableInput, match=message):
        read_upload(path, **option)
