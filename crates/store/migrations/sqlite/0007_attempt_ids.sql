-- Attempt rows get an explicit id (they used SQLite's implicit rowid), so the same SQL names
-- them on PostgreSQL too. The ids are the old rowids: reservations in flight stay valid.
CREATE TABLE attempt_failures_new (
    id      INTEGER PRIMARY KEY,
    key     TEXT    NOT NULL,
    at      INTEGER NOT NULL,
    pending INTEGER NOT NULL DEFAULT 0
);
INSERT INTO attempt_failures_new (id, key, at, pending)
    SELECT rowid, key, at, pending FROM attempt_failures;
DROP TABLE attempt_failures;
ALTER TABLE attempt_failures_new RENAME TO attempt_failures;
CREATE INDEX attempt_failures_key ON attempt_failures (key, at);
