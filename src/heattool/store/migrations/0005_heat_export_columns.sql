-- 0005: the students' columns from HEAT's own Student Export.
-- heat_student_id is HEAT's id of the student, as the upload gives it; it is not heat_id (the
-- store's own pseudonymous id, which no upload sets). middle_name is personal data like the
-- other names. The six contextual flags are yes/no, empty when not known.
-- ADD COLUMN appends columns of nulls without rebuilding the table (under half a second for a
-- million students, store opened and closed) and keeps 0004's uncompressed refs; the importer
-- names its columns, so their order in the table does not matter.
ALTER TABLE students ADD COLUMN heat_student_id VARCHAR;
ALTER TABLE students ADD COLUMN middle_name VARCHAR;
ALTER TABLE students ADD COLUMN care_leaver BOOLEAN;
ALTER TABLE students ADD COLUMN young_carer BOOLEAN;
ALTER TABLE students ADD COLUMN first_generation_he BOOLEAN;
ALTER TABLE students ADD COLUMN estranged BOOLEAN;
ALTER TABLE students ADD COLUMN refugee_asylum_seeker BOOLEAN;
ALTER TABLE students ADD COLUMN service_children BOOLEAN;
