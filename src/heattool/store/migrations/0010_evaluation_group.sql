-- 0010: each student's evaluation group, participant or comparison (issue 12, "Who is who").
-- A member may record a comparison group who did not take part, so that outcome reports set
-- the participants' outcomes beside theirs; empty means a participant (anyone with attendance).
-- 0009 is the matching branch's; ADD COLUMN appends a column of nulls without a rebuild.
ALTER TABLE students ADD COLUMN evaluation_group VARCHAR;
