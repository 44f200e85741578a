-- 7: the console's failed logins per account and per client address, kept in the ledger so that several
-- consoles on one PostgreSQL ledger count together (gateway/web/throttle.py)
CREATE TABLE login_throttle (
    scope TEXT PRIMARY KEY, failures INTEGER NOT NULL DEFAULT 0, window_started TEXT, locked_until TEXT,
    lockouts INTEGER NOT NULL DEFAULT 0, lockout_ended TEXT
);
