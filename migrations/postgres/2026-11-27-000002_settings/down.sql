ALTER TABLE organizations ADD COLUMN version INTEGER NOT NULL DEFAULT 0;
ALTER TABLE organizations DROP COLUMN deletion_scheduled_at;
DROP TABLE organization_slug_redirects;
