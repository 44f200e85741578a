-- 10: the register's version per insured city (issue 16): bumped by every write that can change what a claim of
-- that city is checked against, so a claim's checks made before its decision's unit of work (outside the lock)
-- are reused inside it only if the version is still the one they were made on.
CREATE TABLE register_versions (
    insured TEXT PRIMARY KEY, version INTEGER NOT NULL
);
