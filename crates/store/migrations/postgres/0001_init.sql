-- claimd's schema on PostgreSQL: the SQLite schema after its migrations 0001-0007, with
-- BIGINT times (Unix milliseconds), BYTEA for sealed passwords and BOOLEAN flags. Later
-- changes get a migration here and one in ../sqlite, written together.

-- The HR roster: who may claim.
CREATE TABLE roster (
    employee_id BIGINT PRIMARY KEY,
    last_name   TEXT   NOT NULL,
    first_name  TEXT   NOT NULL,
    email       TEXT   NOT NULL,
    status      TEXT   NOT NULL CHECK (status IN ('active', 'terminated')),
    updated_at  BIGINT NOT NULL
);
CREATE INDEX roster_email ON roster (email);

-- A claim binds a person to a roster entry; at most one live claim per employee and username.
CREATE TABLE claims (
    id          TEXT   PRIMARY KEY,
    employee_id BIGINT NOT NULL REFERENCES roster (employee_id),
    username    TEXT   NOT NULL,
    state       TEXT   NOT NULL CHECK (state IN ('pending', 'active', 'rejected')),
    reason      TEXT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL
);
CREATE UNIQUE INDEX claims_live_employee ON claims (employee_id) WHERE state <> 'rejected';
CREATE UNIQUE INDEX claims_live_username ON claims (username) WHERE state <> 'rejected';
CREATE INDEX claims_employee ON claims (employee_id);

-- Argon2id hashes of the three normalised answers, with the questions as asked.
CREATE TABLE challenge_answers (
    claim_id      TEXT   NOT NULL REFERENCES claims (id) ON DELETE CASCADE,
    position      BIGINT NOT NULL,
    question_id   TEXT   NOT NULL,
    question_text TEXT   NOT NULL,
    answer_hash   TEXT   NOT NULL,
    PRIMARY KEY (claim_id, position)
);

-- What mutating requests return; callers poll or watch them.
CREATE TABLE operations (
    id         TEXT   PRIMARY KEY,
    kind       TEXT   NOT NULL,
    state      TEXT   NOT NULL CHECK (state IN ('pending', 'succeeded', 'failed')),
    reason     TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The durable queue of directory work, one job per operation; the sealed password is erased
-- when the job ends. account_seq orders a claim's jobs (the fence against stale passwords).
CREATE TABLE directory_jobs (
    id              TEXT    PRIMARY KEY REFERENCES operations (id),
    kind            TEXT    NOT NULL,
    claim_id        TEXT    REFERENCES claims (id),
    account         TEXT    NOT NULL,
    sealed_password BYTEA,
    state           TEXT    NOT NULL CHECK (state IN ('queued', 'done', 'failed')),
    attempts        BIGINT  NOT NULL DEFAULT 0,
    next_attempt_at BIGINT  NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    last_error      TEXT,
    created_at      BIGINT  NOT NULL,
    updated_at      BIGINT  NOT NULL,
    rehire          BOOLEAN NOT NULL DEFAULT FALSE,
    account_seq     BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX directory_jobs_due ON directory_jobs (next_attempt_at) WHERE state = 'queued';
CREATE INDEX directory_jobs_claim ON directory_jobs (claim_id, created_at);
CREATE INDEX directory_jobs_due_order ON directory_jobs (next_attempt_at, created_at)
    WHERE state = 'queued';

-- Failed and in-flight attempts, per account and per client address.
CREATE TABLE attempt_failures (
    id      BIGSERIAL PRIMARY KEY,
    key     TEXT      NOT NULL,
    at      BIGINT    NOT NULL,
    pending BIGINT    NOT NULL DEFAULT 0
);
CREATE INDEX attempt_failures_key ON attempt_failures (key, at);

-- Consecutive failures per account, however spread out; reset by a success.
CREATE TABLE attempt_streaks (
    key      TEXT   PRIMARY KEY,
    failures BIGINT NOT NULL
);

CREATE TABLE lockouts (
    key   TEXT   PRIMARY KEY,
    until BIGINT NOT NULL
);

-- Every claim, reset, change, lockout and admin action. Never a secret.
CREATE TABLE audit_log (
    id          BIGSERIAL PRIMARY KEY,
    at          BIGINT    NOT NULL,
    action      TEXT      NOT NULL,
    employee_id BIGINT,
    username    TEXT,
    client      TEXT,
    outcome     TEXT      NOT NULL,
    reason      TEXT
);

-- Mail waiting for (or handed to) the SMTP server. Bodies name usernames, never a secret.
CREATE TABLE mail_outbox (
    id              TEXT   PRIMARY KEY,
    kind            TEXT   NOT NULL,
    recipient       TEXT   NOT NULL,
    subject         TEXT   NOT NULL,
    body            TEXT   NOT NULL,
    state           TEXT   NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    lease_owner     TEXT,
    lease_until     BIGINT,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE state = 'queued';
CREATE INDEX mail_outbox_recipient ON mail_outbox (recipient, kind, created_at);
