"""Time `heattool outcomes import` against its validation, and `outcomes report` by two dimensions.

The store is generated straight into DuckDB in a temporary folder and deleted afterwards: N
students (10% of a comparison group, a fifth without attendance), a register of 2N rows over
20 activities of four types, and a HESA track request that sent every student. A HESA return of
M rows (every sent person's heat_id, realistic values, as heattool's CSV) is written, then:

- validate: the return's validation alone (`validate_file(RETURN, kind="hesa")`, in-process);
- import: `outcomes import` of it (`import_returns`, in-process: read, validate, stage against
  the people and the request, write, audit) on a copy of the store;
- report, a whole process: `heattool outcomes report --target hesa --measure entered_he --by group
  --by hours_band` on the store the import made.

    .venv/bin/python benchmarks/run_outcomes.py --students 10000000 --outcomes 2000000

The targets (issue 12): the import within 3x its validation; the report within 5 s on 2 cores.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import duckdb

HEATTOOL = [sys.executable, "-m", "heattool"]


def build(db: Path, students: int, outcomes: int, return_csv: Path) -> None:
    """The store, through heattool's migrations, then filled by SQL; and the return file."""
    from heattool.store import Store

    with Store.open(db):
        pass
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO members VALUES ('KENT', now())")
    con.execute(
        """
        INSERT INTO activities (member, activity_ref, name, activity_type, start_date, hours,
                                created_at, updated_at, batch_id)
        SELECT 'KENT', 'A' || i, 'Activity ' || i,
               ['Campus visit', 'Mentoring', 'Summer school', 'Subject taster'][i % 4 + 1],
               DATE '2022-01-01' + (i * 7)::INTEGER, [1.5, 4, 12, 2][i % 4 + 1], now(), now(), 1
        FROM range(20) AS t(i)
        """
    )
    con.execute(
        f"""
        INSERT INTO students (member, student_ref, heat_id, sex, ethnicity, disability,
                              expected_he_entry_year, evaluation_group, created_at,
                              updated_at, batch_id)
        SELECT 'KENT', 'S' || i, gen_random_uuid(), ['10', '11', '12'][i % 3 + 1],
               ['160', '104', '120', '141', '999'][i % 5 + 1], ['95', '51', '99'][i % 3 + 1],
               2020 + i % 8, CASE WHEN i % 10 = 0 THEN 'comparison' END, now(), now(), 1
        FROM range({students}) AS t(i)
        """
    )
    # two register rows each for 4 of every 5 participants (none for the comparison group)
    con.execute(
        f"""
        INSERT INTO attendance (member, student_ref, activity_ref, attended_on, created_at,
                                batch_id)
        SELECT 'KENT', 'S' || i, 'A' || ((i * 7 + j) % 20), NULL, now(), 1
        FROM range({students}) AS t(i), range(2) AS u(j)
        WHERE i % 10 <> 0 AND i % 5 <> 1
        UNION ALL
        SELECT 'KENT', 'S' || i, 'A' || (i % 20), DATE '2023-03-01', now(), 1
        FROM range({students}) AS t(i) WHERE i % 5 = 1
        """
    )
    con.execute(
        "INSERT INTO track_batches VALUES (1, 'hesa', 2026, 'KENT', 'hesa.csv', 'x', 'x', ?, "
        "now(), 'bench')",
        [students],
    )
    con.execute(
        "INSERT INTO track_batch_records SELECT 1, member, 'students', heat_id FROM students"
    )
    con.execute(
        f"""
        COPY (
            SELECT heat_id::VARCHAR AS heat_id,
                   CASE WHEN hash(heat_id) % 100 < 50 THEN 'Yes' ELSE 'No' END AS "Entered HE",
                   2025 AS "HE Entry Year",
                   CASE WHEN hash(heat_id) % 100 < 50 THEN 'high' END AS "Tariff Group",
                   CASE WHEN hash(heat_id) % 100 < 45 THEN 'Yes' END AS "Continued"
            FROM students USING SAMPLE {outcomes} ROWS (reservoir, 12)
        ) TO '{return_csv}' (HEADER)
        """
    )
    con.close()


def timed(*args: object) -> float:
    start = time.perf_counter()
    result = subprocess.run([*HEATTOOL, *map(str, args)], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if result.returncode not in (0, 1):
        sys.exit(f"heattool {' '.join(map(str, args))} failed:\n{result.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=10_000_000)
    parser.add_argument("--outcomes", type=int, default=2_000_000)
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="heattool-outcomes-bench-"))
    try:
        db, copy, ret = folder / "store.duckdb", folder / "copy.duckdb", folder / "return.csv"
        start = time.perf_counter()
        build(db, options.students, options.outcomes, ret)
        print(f"built {options.students:,} students, {options.outcomes:,} outcomes in "
              f"{time.perf_counter() - start:.1f} s")  # fmt: skip
        shutil.copy(db, copy)
        from heattool.actions.outcomes import import_returns
        from heattool.schemas.validate import validate_file

        start = time.perf_counter()
        validate_file(ret, kind="hesa")
        validate = time.perf_counter() - start
        start = time.perf_counter()
        import_returns([ret], target="hesa", db=copy, write_rejects=False)
        load = time.perf_counter() - start
        report = timed(
            "outcomes", "report", "--target", "hesa", "--measure", "entered_he",
            "--by", "group", "--by", "hours_band", "--db", copy,
        )  # fmt: skip
        print(f"validate {validate:.1f} s; outcomes import {load:.1f} s ({load / validate:.2f}x "
              f"validation; target 3x); outcomes report by two dimensions {report:.1f} s "
              "(target 5 s)")  # fmt: skip
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
