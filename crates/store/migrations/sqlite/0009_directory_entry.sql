-- The directory entry a claim took (OpenLDAP entryUUID), recorded before its password is
-- written there: the claim's own retry tells the password it set from someone else's.
ALTER TABLE claims ADD COLUMN directory_entry TEXT;
