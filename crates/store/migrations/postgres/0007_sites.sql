-- Sites (issue 22): the school or department a person belongs to (the roster's optional
-- `site` column), which decides whose helpdesk may help them.
ALTER TABLE roster ADD COLUMN site TEXT;
CREATE INDEX roster_site ON roster (site);
