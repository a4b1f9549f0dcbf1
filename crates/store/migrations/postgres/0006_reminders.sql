-- Expiry reminders (issue 21): one row per reminder sent, keyed so that each threshold is
-- mailed once per password (when it was set) whichever replica scans and however often.
CREATE TABLE password_reminders (
    username        TEXT    NOT NULL,
    password_set_at BIGINT  NOT NULL,
    threshold_days  INTEGER NOT NULL,
    expires_at      BIGINT  NOT NULL,
    sent_at         BIGINT  NOT NULL,
    PRIMARY KEY (username, password_set_at, threshold_days)
);
CREATE INDEX password_reminders_sent ON password_reminders (sent_at);
