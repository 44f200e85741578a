-- 10: the register's version per insured city (issue 16): bumped by every write that can change what a claim of
-- that city is checked against, so a claim's checks made before its decision's unit of work (outside the lock)
-- are reused inside it only if the version is still the one they were made on.
CREATE TABLE register_versions (
    insured TEXT PRIMARY KEY, version INTEGER NOT NULL
);
-- A large claim's statements are written before its decision in short transactions, marked `pending` (its batch:
-- the time it was staged, then a random id) and invisible to every read; its decision's unit of work only clears
-- the mark (or drops them, if refused), so it holds the lock for a fraction of a second instead of seconds.
ALTER TABLE register_billings ADD COLUMN pending TEXT;
CREATE INDEX register_billings_pending ON register_billings(pending) WHERE pending IS NOT NULL;
