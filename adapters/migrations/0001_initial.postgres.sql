-- 1: the same tables on PostgreSQL; times stay ISO-8601 UTC text so both backends read alike
CREATE TABLE captures (
    key BIGSERIAL PRIMARY KEY, city TEXT NOT NULL, name TEXT NOT NULL, sha256 TEXT NOT NULL,
    size BIGINT NOT NULL, mtime DOUBLE PRECISION NOT NULL, captured_at TEXT NOT NULL,
    removed INTEGER NOT NULL DEFAULT 0, processed INTEGER NOT NULL DEFAULT 0, message_key BIGINT
);
CREATE INDEX captures_pending ON captures(processed, key);
CREATE INDEX captures_unremoved ON captures(city, name, sha256, removed);
CREATE TABLE messages (
    key BIGSERIAL PRIMARY KEY, message_id TEXT, type TEXT, sender TEXT, receiver TEXT, period TEXT,
    serial TEXT, revision INTEGER, reply_to TEXT, reply_to_sha256 TEXT, sha256 TEXT NOT NULL,
    size BIGINT NOT NULL, drop_city TEXT NOT NULL, state TEXT NOT NULL, received_at TEXT NOT NULL,
    updated_at TEXT NOT NULL, delivery_name TEXT, deliveries INTEGER NOT NULL DEFAULT 0,
    last_delivered_at TEXT, findings TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX messages_id ON messages(message_id);
CREATE INDEX messages_sha ON messages(sha256, drop_city);
CREATE INDEX messages_document ON messages(type, sender, receiver, period, serial);
CREATE INDEX messages_state ON messages(state);
CREATE TABLE transitions (
    key BIGSERIAL PRIMARY KEY, message_key BIGINT NOT NULL REFERENCES messages(key), at TEXT NOT NULL,
    source TEXT, target TEXT NOT NULL, event TEXT NOT NULL, cause TEXT NOT NULL
);
CREATE INDEX transitions_message ON transitions(message_key, key);
CREATE TABLE outgoing (
    key BIGSERIAL PRIMARY KEY, city TEXT NOT NULL, name TEXT NOT NULL, area TEXT NOT NULL,
    sha256 TEXT NOT NULL, kind TEXT NOT NULL, message_key BIGINT, created_at TEXT NOT NULL,
    written_at TEXT, cancelled INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX outgoing_pending ON outgoing(city, written_at, cancelled);
CREATE INDEX outgoing_message ON outgoing(message_key);
CREATE INDEX outgoing_name ON outgoing(city, name);
CREATE TABLE events (
    key BIGSERIAL PRIMARY KEY, at TEXT NOT NULL, kind TEXT NOT NULL, city TEXT, detail TEXT NOT NULL
);
