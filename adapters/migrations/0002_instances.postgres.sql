-- 2: several instances share the work: who is alive, which city's drop each polls, which capture each
-- checks (leases expire on the database's clock, so machines' clocks need not agree), and the spool.
CREATE TABLE instances (
    instance TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, started_at TIMESTAMPTZ NOT NULL,
    heartbeat_at TIMESTAMPTZ NOT NULL, expires_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE city_leases (
    city TEXT PRIMARY KEY, holder TEXT, acquired_at TIMESTAMPTZ, expires_at TIMESTAMPTZ
);
ALTER TABLE captures ADD COLUMN leased_by TEXT;
ALTER TABLE captures ADD COLUMN lease_until TIMESTAMPTZ;
CREATE INDEX captures_unprocessed ON captures(key) WHERE processed = 0;
CREATE TABLE spool_files (
    area TEXT NOT NULL, sha256 TEXT NOT NULL, size BIGINT NOT NULL, data BYTEA NOT NULL,
    stored_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (area, sha256)
);
ALTER TABLE spool_files ALTER COLUMN data SET STORAGE EXTERNAL;
