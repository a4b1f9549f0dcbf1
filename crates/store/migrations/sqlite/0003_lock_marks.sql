-- When each lock was placed. Failures at or before it are spent on that lock and never count
-- again; a lock given back (its last attempt proved right) restores the row it replaced.
ALTER TABLE lockouts ADD COLUMN placed_at INTEGER NOT NULL DEFAULT 0;
