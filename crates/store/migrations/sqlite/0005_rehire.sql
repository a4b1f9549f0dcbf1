-- A provision for a rehire: the directory account was this person's under an earlier claim
-- that claimd disabled when they left, so it is adopted whatever its past use.
ALTER TABLE directory_jobs ADD COLUMN rehire INTEGER NOT NULL DEFAULT 0;
