-- 5: when an instance's lease was found expired (kept for parity: on SQLite one instance runs at a time, and
-- the one that starts after a crash takes the ledger's lock, so no other instance is ever found lost).
ALTER TABLE instances ADD COLUMN lost_at TEXT;
