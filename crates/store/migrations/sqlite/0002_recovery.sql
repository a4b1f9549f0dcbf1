-- Recovery flows: the mail outbox, and lookups by username and email.

-- Mail waiting for (or handed to) the SMTP server. Bodies name usernames, never a secret.
CREATE TABLE mail_outbox (
    id              TEXT    PRIMARY KEY,
    kind            TEXT    NOT NULL,
    recipient       TEXT    NOT NULL,
    subject         TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    state           TEXT    NOT NULL CHECK (state IN ('queued', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_owner     TEXT,
    lease_until     INTEGER,
    last_error      TEXT,
    created_at      INTEGER NOT NULL,
    updated_at      INTEGER NOT NULL
);
CREATE INDEX mail_outbox_due ON mail_outbox (next_attempt_at) WHERE state = 'queued';
CREATE INDEX mail_outbox_recipient ON mail_outbox (recipient, kind, created_at);

CREATE INDEX directory_jobs_claim ON directory_jobs (claim_id, created_at);
