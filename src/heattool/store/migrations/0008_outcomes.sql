-- 0008: track returns and the outcomes they bring back (heattool outcomes import).
-- A return is a file from HESA or the NPD of what happened to the people a track request sent,
-- by their heat_id. Each target's outcomes are a table of one row per person (a later return
-- replaces the earlier row), with the return batch it came from and when; the batches hold the
-- file's name, hash and counts, never an outcome. Outcomes are personal data: store/erasure.py
-- lists both tables, so subject access shows them and erase and purge delete them.
-- One row per heat_id is kept so by the importer, not by a DuckDB primary key: on 2 cores one
-- made loading a million outcomes 4.5x slower (5.4 s) and deleting half of them 3.8x (3.8 s).
CREATE SEQUENCE return_batch_seq START 1;
CREATE TABLE return_batches (
    return_batch_id INTEGER PRIMARY KEY,
    target          VARCHAR NOT NULL,     -- hesa or npd
    member          VARCHAR,              -- the --member the import was limited to, if any
    file_name       VARCHAR NOT NULL,
    sha256          VARCHAR NOT NULL,
    rows            INTEGER NOT NULL,
    inserted        INTEGER NOT NULL,
    replaced        INTEGER NOT NULL,
    unchanged       INTEGER NOT NULL,
    rejected        INTEGER NOT NULL,
    imported_at     TIMESTAMP NOT NULL,
    tool_version    VARCHAR NOT NULL
);
CREATE TABLE outcomes_hesa (
    heat_id         UUID NOT NULL,
    member          VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL,     -- students or ambassadors
    entered_he      BOOLEAN NOT NULL,
    he_entry_year   INTEGER,
    he_provider     VARCHAR,
    he_level        VARCHAR,              -- first-degree, other-undergraduate, postgraduate
    tariff_group    VARCHAR,              -- high, medium, low
    continued       BOOLEAN,              -- NULL while not yet known
    return_batch_id INTEGER NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
CREATE TABLE outcomes_npd (
    heat_id         UUID NOT NULL,
    member          VARCHAR NOT NULL,
    kind            VARCHAR NOT NULL,
    exam_year       INTEGER NOT NULL,
    attainment8     DOUBLE,
    english_maths_4 BOOLEAN,
    english_maths_5 BOOLEAN,
    level3          BOOLEAN,
    fsm             BOOLEAN,
    idaci_decile    INTEGER,
    return_batch_id INTEGER NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);
