-- 0002: what the rules, track requests and data-subject rights need.

-- DuckDB checks a foreign key against an index that still holds rows deleted earlier in the same
-- transaction, so a register row and its student could not be deleted together, atomically.
-- Attendance keeps its natural key; the importer rejects unknown refs (unknown-student,
-- unknown-activity) and every deletion removes a person's register rows with them.
CREATE TABLE attendance_0002 (
    member       VARCHAR NOT NULL,
    student_ref  VARCHAR NOT NULL,
    activity_ref VARCHAR NOT NULL,
    attended_on  DATE,
    created_at   TIMESTAMP NOT NULL,
    batch_id     INTEGER NOT NULL,
    UNIQUE (member, student_ref, activity_ref, attended_on)
);
INSERT INTO attendance_0002 SELECT * FROM attendance;
DROP TABLE attendance;
ALTER TABLE attendance_0002 RENAME TO attendance;

-- Expected HE Entry Year with its label (2026/27) and where it came from (dob, override, none),
-- and the day permission to track was withdrawn.
ALTER TABLE students ADD COLUMN entry_year_label VARCHAR;
ALTER TABLE students ADD COLUMN entry_year_source VARCHAR;
ALTER TABLE students ADD COLUMN withdrawn_on DATE;
ALTER TABLE ambassadors ADD COLUMN expected_he_entry_year INTEGER;
ALTER TABLE ambassadors ADD COLUMN entry_year_label VARCHAR;
ALTER TABLE ambassadors ADD COLUMN entry_year_source VARCHAR;
ALTER TABLE ambassadors ADD COLUMN withdrawn_on DATE;

-- Settings the store keeps for itself, such as the key of the suppression-list hash.
CREATE TABLE store_settings (
    name  VARCHAR PRIMARY KEY,
    value VARCHAR NOT NULL
);
INSERT INTO store_settings
SELECT 'suppression_key', replace(gen_random_uuid()::VARCHAR || gen_random_uuid()::VARCHAR, '-', '');

-- People erased at their request: a keyed hash of their normalised identifiers, so that a later
-- upload of the same person is refused (previously-erased) rather than silently bringing them back.
CREATE TABLE suppression_list (
    member        VARCHAR NOT NULL,
    kind          VARCHAR NOT NULL,
    identity_hash VARCHAR NOT NULL,
    erased_at     TIMESTAMP NOT NULL,
    event_id      INTEGER NOT NULL,
    PRIMARY KEY (member, kind, identity_hash)
);

-- Track requests: one batch per request file, and the heat_ids it sent.
CREATE SEQUENCE track_batch_seq START 1;
CREATE TABLE track_batches (
    track_batch_id INTEGER PRIMARY KEY,
    target         VARCHAR NOT NULL,
    year           INTEGER NOT NULL,
    member         VARCHAR,            -- the --member the request was limited to, if any
    file_name      VARCHAR NOT NULL,
    file_sha256    VARCHAR NOT NULL,
    policy_sha256  VARCHAR NOT NULL,
    records        INTEGER NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    tool_version   VARCHAR NOT NULL
);
CREATE TABLE track_batch_records (
    track_batch_id INTEGER NOT NULL,
    member         VARCHAR NOT NULL,
    kind           VARCHAR NOT NULL,
    heat_id        UUID NOT NULL
);
