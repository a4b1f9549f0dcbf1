-- The consecutive-failure limit is read from attempt_streaks, no longer written as a lock
-- until the end of time: past it, plain attempts stay refused but a reset with the mailed
-- code gets through. The old never-ending lock rows go; their streaks keep the accounts shut.
DELETE FROM lockouts WHERE until = 9223372036854775807;
