-- 0006: an ambassador's last activity is the last upload that listed them.
-- Ambassadors have no register, so retention counts from the last import that listed them,
-- changed or not: last_listed_on is that import's day (UTC), which the importer sets on every
-- ambassador an upload lists. Until now their last change (updated_at) stood in for it, and an
-- upload that listed them unchanged left no trace on their row, so a store made before this
-- migration starts from the day of that last change.
-- ADD COLUMN appends a column without rebuilding the table and keeps 0004's uncompressed refs.
ALTER TABLE ambassadors ADD COLUMN last_listed_on DATE;
UPDATE ambassadors SET last_listed_on = CAST(updated_at AS DATE);
