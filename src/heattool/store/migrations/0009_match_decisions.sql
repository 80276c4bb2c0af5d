-- 0009: decisions people made about pairs that matching could not settle (heattool match decide).
-- A decision is about one stored person (heat_id) and one other record: a record of a list,
-- named by record_key, a keyed hash of its folded forename, surname, date of birth, postcode
-- and school (the key is the store's own secret, as for the suppression list, so the hash
-- cannot be recomputed outside the store). `same` makes every later match of that record
-- name this person; `different` keeps them apart for good. A decision between two stored
-- people (for duplicates and merges to come) will name the other person's heat_id as its
-- record_key. Decisions are personal data: erasing or purging the person deletes them
-- (store/erasure.py). Version 0008 is another branch's.
CREATE TABLE match_decisions (
    member     VARCHAR NOT NULL,
    record_key VARCHAR NOT NULL,
    heat_id    UUID NOT NULL,
    decision   VARCHAR NOT NULL CHECK (decision IN ('same', 'different')),
    decided_at TIMESTAMP NOT NULL,
    event_id   INTEGER NOT NULL,
    PRIMARY KEY (member, record_key, heat_id)
);
