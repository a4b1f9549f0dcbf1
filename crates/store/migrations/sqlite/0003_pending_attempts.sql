-- Attempts reserved before they are judged: counted toward the limits while in flight, so a
-- burst is judged like a row; turned into failures when the secret is wrong, removed when it
-- is right. Only failures place locks.
ALTER TABLE attempt_failures ADD COLUMN pending INTEGER NOT NULL DEFAULT 0;
