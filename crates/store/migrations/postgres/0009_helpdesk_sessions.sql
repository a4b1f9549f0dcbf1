-- Helpdesk sessions (issue 22): a signed-in helper, by the hash of their session token (the
-- token itself is never stored), with the scope read from their groups at sign-in.
CREATE TABLE helpdesk_sessions (
    token_hash TEXT PRIMARY KEY,
    login TEXT NOT NULL,
    dn TEXT NOT NULL,
    sites TEXT NOT NULL,
    started_at BIGINT NOT NULL,
    seen_at BIGINT NOT NULL
);
CREATE INDEX helpdesk_sessions_seen ON helpdesk_sessions (seen_at);
