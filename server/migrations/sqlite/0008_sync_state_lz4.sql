-- The PostgreSQL twin of this migration chooses lz4 for compressing
-- sync_records.state. SQLite does not compress values, so there is nothing
-- to do here; the file keeps the two engines' migration numbers in step.
SELECT 1;
