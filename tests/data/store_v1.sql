-- A heattool store at schema version 1 (heattool 0.1.0), frozen: later migrations must upgrade it.
-- Loaded by tests/test_store.py into a fresh DuckDB file; never edit it when adding a migration.
-- Tables and columns keep the canonical upload names. Times are UTC.

CREATE TABLE schema_version (
    version      INTEGER PRIMARY KEY,
    description  VARCHAR NOT NULL,
    applied_at   TIMESTAMP NOT NULL,
    tool_version VARCHAR NOT NULL
);

CREATE TABLE members (
    member     VARCHAR PRIMARY KEY,
    created_at TIMESTAMP NOT NULL
);

CREATE SEQUENCE batch_id_seq START 1;

CREATE TABLE import_batches (
    batch_id     INTEGER PRIMARY KEY,
    member       VARCHAR NOT NULL REFERENCES members (member),
    kind         VARCHAR NOT NULL,
    file_name    VARCHAR NOT NULL,
    sha256       VARCHAR NOT NULL,
    rows         INTEGER NOT NULL,
    inserted     INTEGER NOT NULL,
    updated      INTEGER NOT NULL,
    unchanged    INTEGER NOT NULL,
    rejected     INTEGER NOT NULL,
    imported_at  TIMESTAMP NOT NULL,
    tool_version VARCHAR NOT NULL
);

CREATE TABLE activities (
    member        VARCHAR NOT NULL REFERENCES members (member),
    activity_ref  VARCHAR NOT NULL,
    name          VARCHAR NOT NULL,
    activity_type VARCHAR NOT NULL,
    start_date    DATE NOT NULL,
    end_date      DATE,
    delivery_mode VARCHAR,
    hours         DOUBLE,
    stage         VARCHAR,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    batch_id      INTEGER NOT NULL,
    PRIMARY KEY (member, activity_ref)
);

CREATE TABLE students (
    member                 VARCHAR NOT NULL REFERENCES members (member),
    student_ref            VARCHAR NOT NULL,
    heat_id                UUID NOT NULL,
    forename               VARCHAR,
    surname                VARCHAR,
    date_of_birth          DATE,
    postcode               VARCHAR,
    school                 VARCHAR,
    nation                 VARCHAR,
    sex                    VARCHAR,
    gender_identity        VARCHAR,
    ethnicity              VARCHAR,
    disability             VARCHAR,
    religion               VARCHAR,
    permission_to_track    BOOLEAN,
    expected_he_entry_year INTEGER,
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL,
    batch_id               INTEGER NOT NULL,
    PRIMARY KEY (member, student_ref)
);

CREATE TABLE ambassadors (
    member              VARCHAR NOT NULL REFERENCES members (member),
    ambassador_ref      VARCHAR NOT NULL,
    heat_id             UUID NOT NULL,
    forename            VARCHAR NOT NULL,
    surname             VARCHAR NOT NULL,
    date_of_birth       DATE,
    postcode            VARCHAR,
    he_provider         VARCHAR,
    course              VARCHAR,
    permission_to_track BOOLEAN,
    heat_privacy_notice BOOLEAN,
    hesa_privacy_notice BOOLEAN,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL,
    batch_id            INTEGER NOT NULL,
    PRIMARY KEY (member, ambassador_ref)
);

-- attended_on may be unknown, so the natural key cannot be a primary key; the importer matches
-- it null-safely so a register row is stored once.
CREATE TABLE attendance (
    member       VARCHAR NOT NULL,
    student_ref  VARCHAR NOT NULL,
    activity_ref VARCHAR NOT NULL,
    attended_on  DATE,
    created_at   TIMESTAMP NOT NULL,
    batch_id     INTEGER NOT NULL,
    FOREIGN KEY (member, student_ref) REFERENCES students (member, student_ref),
    FOREIGN KEY (member, activity_ref) REFERENCES activities (member, activity_ref),
    UNIQUE (member, student_ref, activity_ref, attended_on)
);

CREATE SEQUENCE audit_event_seq START 1;

-- What happened, never to whom by name: counts, hashes and heat_ids only.
CREATE TABLE audit_events (
    event_id     INTEGER PRIMARY KEY,
    event_at     TIMESTAMP NOT NULL,
    event        VARCHAR NOT NULL,
    member       VARCHAR,
    batch_id     INTEGER,
    sha256       VARCHAR,
    details      JSON,
    tool_version VARCHAR NOT NULL
);

CREATE TABLE audit_records (
    event_id INTEGER NOT NULL,
    heat_id  UUID NOT NULL,
    change   VARCHAR NOT NULL
);

INSERT INTO schema_version VALUES (1, 'initial', TIMESTAMP '2026-01-05 09:00:00', '0.1.0');
INSERT INTO members VALUES ('KENT', TIMESTAMP '2026-01-05 09:00:00');
INSERT INTO import_batches VALUES
    (1, 'KENT', 'activities', 'activities.csv', 'aa', 1, 1, 0, 0, 0, TIMESTAMP '2026-01-05 09:00:00', '0.1.0'),
    (2, 'KENT', 'students', 'students.csv', 'bb', 2, 2, 0, 0, 0, TIMESTAMP '2026-01-05 09:00:00', '0.1.0');
SELECT nextval('batch_id_seq') FROM range(2);
INSERT INTO activities VALUES
    ('KENT', 'A001', 'Campus visit', 'Campus visit', DATE '2025-10-10', NULL, 'In person', 5, 'pre-entry',
     TIMESTAMP '2026-01-05 09:00:00', TIMESTAMP '2026-01-05 09:00:00', 1);
INSERT INTO students VALUES
    ('KENT', 'S0001', '5b1f0c8e-3a43-4d7e-9a55-0c1d2e3f4a5b', 'Amelia', 'Hughes', DATE '2009-03-14',
     'CT1 2EH', 'Canterbury Academy', NULL, '10', 'Female', '160', '95', NULL, true, NULL,
     TIMESTAMP '2026-01-05 09:00:00', TIMESTAMP '2026-01-05 09:00:00', 2),
    ('KENT', 'S0002', '0a6c2d47-8e1b-4f3a-b2c9-7d8e9f0a1b2c', 'Oliver', 'Khan', DATE '2008-09-02',
     'ME4 4AA', NULL, NULL, '11', NULL, NULL, NULL, NULL, true, NULL,
     TIMESTAMP '2026-01-05 09:00:00', TIMESTAMP '2026-01-05 09:00:00', 2);
INSERT INTO attendance VALUES ('KENT', 'S0001', 'A001', DATE '2025-10-10', TIMESTAMP '2026-01-05 09:00:00', 1);
