-- 0003: the register without its UNIQUE index.
-- DuckDB updates that index row by row when rows are deleted, which made a purge of a million
-- people take minutes (docs/benchmarks.md). The importer already keeps one row per
-- (member, student_ref, activity_ref, attended_on): a register row already in the store is
-- "unchanged", and a repeated row within one upload is rejected as duplicate-row.
CREATE TABLE attendance_0003 (
    member       VARCHAR NOT NULL,
    student_ref  VARCHAR NOT NULL,
    activity_ref VARCHAR NOT NULL,
    attended_on  DATE,
    created_at   TIMESTAMP NOT NULL,
    batch_id     INTEGER NOT NULL
);
INSERT INTO attendance_0003 SELECT * FROM attendance;
DROP TABLE attendance;
ALTER TABLE attendance_0003 RENAME TO attendance;
