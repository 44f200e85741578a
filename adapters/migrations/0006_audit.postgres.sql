-- 6: the console's audit log: who did what to which message, when, why, and how it ended
CREATE TABLE audit (
    key BIGSERIAL PRIMARY KEY, at TEXT NOT NULL, user_name TEXT NOT NULL, role TEXT NOT NULL, action TEXT NOT NULL,
    subject TEXT NOT NULL, reason TEXT NOT NULL, outcome TEXT NOT NULL
);
