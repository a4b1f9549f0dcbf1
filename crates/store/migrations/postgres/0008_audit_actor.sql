-- Who acted for someone else (issue 22): a helpdesk helper, a district tool's certificate and
-- the person it names, an administrator on the command line. Empty for a person's own request.
ALTER TABLE audit_log ADD COLUMN actor TEXT;
