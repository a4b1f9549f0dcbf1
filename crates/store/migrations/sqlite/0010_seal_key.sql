-- The fingerprint of the seal key the database was first started with (HMAC of a fixed
-- label under the key, never the key): a replica started with another key refuses to run.
CREATE TABLE seal_key (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    fingerprint TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);
