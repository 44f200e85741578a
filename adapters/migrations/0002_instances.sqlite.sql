-- 2: the instance that runs on this ledger (SQLite: one at a time) and capture leases, kept for parity
CREATE TABLE instances (
    instance TEXT PRIMARY KEY, host TEXT NOT NULL, pid INTEGER NOT NULL, started_at TEXT NOT NULL,
    heartbeat_at TEXT NOT NULL, expires_at TEXT NOT NULL
);
CREATE TABLE city_leases (
    city TEXT PRIMARY KEY, holder TEXT, acquired_at TEXT, expires_at TEXT
);
ALTER TABLE captures ADD COLUMN leased_by TEXT;
ALTER TABLE captures ADD COLUMN lease_until TEXT;
