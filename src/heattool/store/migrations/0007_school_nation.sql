-- 0007: each person's nation of schooling, kept beside their Expected HE Entry Year.
-- The National Pupil Database covers pupils schooled in England only, so an NPD track request
-- needs each person's nation: the `nation` column when it can be read, else their postcode's
-- area (rules/entry_year.py, the rule that picks the entry year's cut-off). That rule is Polars
-- over entry_year.toml and is never copied into SQL, so this file only adds the column: heattool
-- fills it for every stored person right after, in this migration's transaction, with that rule
-- (store/people.py, fill_school_nation), and the importer sets it on every row it writes.
-- Until now Wales was not told from England (the same cut-off), so no entry year changes.
-- ADD COLUMN appends a column without rebuilding the table and keeps 0004's uncompressed refs.
ALTER TABLE students ADD COLUMN school_nation VARCHAR;
ALTER TABLE ambassadors ADD COLUMN school_nation VARCHAR;
