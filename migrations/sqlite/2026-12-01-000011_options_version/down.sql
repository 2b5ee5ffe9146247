DROP TRIGGER organization_options_deleted;
DROP TRIGGER organization_options_updated;
DROP TRIGGER organization_options_inserted;
ALTER TABLE organizations DROP COLUMN options_version;
