-- Each job's place among its claim's jobs: a worker about to write a password checks that no
-- later password job exists for the account, so an older password never lands after a newer
-- one however long a write stalled. Existing jobs keep their order by creation time.
ALTER TABLE directory_jobs ADD COLUMN account_seq INTEGER NOT NULL DEFAULT 0;
UPDATE directory_jobs SET account_seq = (
    SELECT COUNT(*) FROM directory_jobs o
    WHERE o.claim_id = directory_jobs.claim_id
      AND (o.created_at < directory_jobs.created_at
           OR (o.created_at = directory_jobs.created_at AND o.id <= directory_jobs.id)));
