-- Proof beyond names (issue 13): the address HR holds for each person, claim codes issued at
-- import, and the one-time codes Forgot My Password mails there. Codes are stored only as
-- keyed hashes.
ALTER TABLE roster ADD COLUMN personal_email TEXT;

-- One code per employee: reissuing replaces it, so the old one stops working.
CREATE TABLE claim_codes (
    employee_id BIGINT PRIMARY KEY,
    hash        TEXT    NOT NULL,
    issued_at   BIGINT  NOT NULL,
    expires_at  BIGINT  NOT NULL,
    used_at     BIGINT
);

CREATE TABLE verification_codes (
    id         TEXT    PRIMARY KEY,
    username   TEXT    NOT NULL,
    hash       TEXT    NOT NULL,
    created_at BIGINT  NOT NULL,
    expires_at BIGINT  NOT NULL,
    -- Kept a day once used, so the day's count of codes sent includes them.
    used_at    BIGINT
);
CREATE INDEX verification_codes_username ON verification_codes (username, expires_at);
