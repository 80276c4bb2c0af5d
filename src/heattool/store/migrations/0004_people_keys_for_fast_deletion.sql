-- 0004: students and ambassadors rebuilt so that deleting a million of them takes seconds.
--
-- Measured on a store of 10 million students, deleting 950,000 (docs/benchmarks.md):
-- - To remove a row from the primary-key index DuckDB first fetches the row's key, one row at a
--   time. A ref column compressed with FSST (DuckDB's choice for refs like S00000123) makes each
--   fetch decode a block: the delete took 21 s and its commit 18 s. Stored uncompressed, the
--   refs cost about 50 MB more per million people and the delete 1.3 s.
-- - The foreign key to `members` kept an index on `member` holding every row: 1.6 s of every
--   such commit and 2.2 s of the checkpoint after it. The importer adds a member before their
--   rows, in the same transaction, and no member is ever deleted, so that key is kept by heattool.
-- The primary keys on (member, ref) stay.
--
-- Students also keep their last activity (the latest day in the register, or an undated row's
-- activity start) as a column, which the importer refreshes for the students whose register
-- rows or activities an import changed. Retention read it through an aggregate of the register
-- joined to every student: 2 of the 4 seconds of reading 10 million records.

CREATE TABLE students_0004 (
    member                 VARCHAR NOT NULL,
    student_ref            VARCHAR NOT NULL USING COMPRESSION uncompressed,
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
    entry_year_label       VARCHAR,
    entry_year_source      VARCHAR,
    withdrawn_on           DATE,
    last_activity_on       DATE,
    PRIMARY KEY (member, student_ref)
);
INSERT INTO students_0004 BY NAME
SELECT s.*, la.last_activity_on
FROM students AS s
LEFT JOIN (
    SELECT a.member, a.student_ref, max(coalesce(a.attended_on, act.start_date)) AS last_activity_on
    FROM attendance AS a
    LEFT JOIN activities AS act ON act.member = a.member AND act.activity_ref = a.activity_ref
    GROUP BY ALL
) AS la ON la.member = s.member AND la.student_ref = s.student_ref
ORDER BY s.member, s.student_ref;
DROP TABLE students;
ALTER TABLE students_0004 RENAME TO students;

CREATE TABLE ambassadors_0004 (
    member                 VARCHAR NOT NULL,
    ambassador_ref         VARCHAR NOT NULL USING COMPRESSION uncompressed,
    heat_id                UUID NOT NULL,
    forename               VARCHAR NOT NULL,
    surname                VARCHAR NOT NULL,
    date_of_birth          DATE,
    postcode               VARCHAR,
    he_provider            VARCHAR,
    course                 VARCHAR,
    permission_to_track    BOOLEAN,
    heat_privacy_notice    BOOLEAN,
    hesa_privacy_notice    BOOLEAN,
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL,
    batch_id               INTEGER NOT NULL,
    expected_he_entry_year INTEGER,
    entry_year_label       VARCHAR,
    entry_year_source      VARCHAR,
    withdrawn_on           DATE,
    PRIMARY KEY (member, ambassador_ref)
);
INSERT INTO ambassadors_0004 BY NAME SELECT * FROM ambassadors ORDER BY member, ambassador_ref;
DROP TABLE ambassadors;
ALTER TABLE ambassadors_0004 RENAME TO ambassadors;
