DROP TRIGGER organization_options_changed ON organization_options;
DROP FUNCTION organization_options_changed();
ALTER TABLE organizations DROP COLUMN options_version;
