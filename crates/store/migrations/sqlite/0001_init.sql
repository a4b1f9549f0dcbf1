-- claimd's schema. Times are Unix milliseconds (INTEGER); the same shape is meant to carry
-- over to PostgreSQL (BIGINT, BYTEA) unchanged otherwise.

-- The HR roster: who may claim.
CREATE TABLE roster (
    employee_id INTEGER PRIMARY KEY,
    last_name   TEXT    NOT NULL,
    first_name  TEXT    NOT NULL,
    email       TEXT    NOT NULL,
    status      TEXT    NOT NULL CHECK (status IN ('active', 'terminated')),
    updated_at  INTEGER NOT NULL
);
CREATE INDEX roster_email ON roster (email);

-- A claim binds a person to a roster entry. At most one live (pending or active) claim per
-- employee and per username; a rejected claim frees the entry for another try.
CREATE TABLE claims (
    id          TEXT    PRIMARY KEY, -- the id of the operation that made it
    employee_id INTEGER NOT NULL REFERENCES roster (employee_id),
    username    TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN ('pending', 'active', 'rejected')),
    reason      TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX claims_live_employee ON claims (employee_id) WHERE state <> 'rejected';
CREATE UNIQUE INDEX claims_live_username ON claims (username) WHERE state <> 'rejected';

-- Argon2id hashes of the three normalised answers, with the questions as asked.
CREATE TABLE challenge_answers (
    claim_id      TEXT    NOT NULL REFERENCES claims (id) ON DELETE CASCADE,
    position      INTEGER NOT NULL,
    question_id   TEXT    NOT NULL,
    question_text TEXT    NOT NULL,
    answer_hash   TEXT    NOT NULL,
    PRIMARY KEY (claim_id, position)
);

-- What mutating requests return; callers poll or watch them.
CREATE TABLE operations (
    id         TEXT    PRIMARY KEY,
    kind       TEXT    NOT NULL,
    state      TEXT    NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    reason     TEXT,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);

-- The durable queue of directory work, one job per operation. The sealed password is erased
-- (and, with secure_delete, overwritten on disk) when the job ends.
CREATE TABLE directory_jobs (
    id              TEXT    PRIMARY KEY REFERENCES operations (id),
    kind            TEXT    NOT NULL,
    claim_id        TEXT    REFERENCES claims (id),
    account         TEXT    NOT NULL, -- JSON: username, employee_id, names, email
    sealed_password BLOB,
    state           TEXT    NOT NULL CHECK (state IN ('queued', 'done', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX directory_jobs_due ON directory_jobs (next_attempt_at) WHERE state = 'queued';

-- Failed identity matches and answer checks, per account and per client address.
CREATE TABLE attempt_failures (
    key TEXT    NOT NULL,
    at  INTEGER NOT NULL
);
CREATE INDEX attempt_failures_key ON attempt_failures (key, at);

-- Consecutive failures per account, however spread out; reset by a success.
CREATE TABLE attempt_streaks (
    key      TEXT    PRIMARY KEY,
    failures INTEGER NOT NULL
);

CREATE TABLE lockouts (
    key   TEXT    PRIMARY KEY,
    until INTEGER NOT NULL
);

-- Every claim, reset, change, lockout and admin action. Never a secret.
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    at          INTEGER NOT NULL,
    action      TEXT    NOT NULL,
    employee_id INTEGER,
    username    TEXT,
    client      TEXT,
    outcome     TEXT    NOT NULL,
    reason      TEXT
);
