"""Rebuild examples/students.xlsx from examples/students.csv, as a data officer's workbook would be.

Dates of birth become real Excel date cells, the entry-year override a number, everything else
text; a second sheet holds the code list. Run: `uv run python examples/make_xlsx.py`.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import xlsxwriter

HERE = Path(__file__).resolve().parent


def main() -> None:
    with (HERE / "students.csv").open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    workbook = xlsxwriter.Workbook(HERE / "students.xlsx")
    date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    sheet = workbook.add_worksheet("Students")
    sheet.write_row(0, 0, rows[0])
    dob, year = rows[0].index("Date of Birth"), rows[0].index("Expected HE Entry Year")
    for r, row in enumerate(rows[1:], start=1):
        for c, value in enumerate(row):
            if c == dob and value:
                day = dt.datetime.strptime(value, "%d/%m/%Y")
                sheet.write_datetime(r, c, day, date_format)
            elif c == year and value:
                sheet.write_number(r, c, int(value))
            elif value:
                sheet.write_string(r, c, value)
    codes = workbook.add_worksheet("Codes")
    codes.write_row(0, 0, ["Sex code", "Label"])
    for r, (code, label) in enumerate([("10", "Female"), ("11", "Male"), ("12", "Other")], 1):
        codes.write_row(r, 0, [code, label])
    workbook.close()


if __name__ == "__main__":
    main()
