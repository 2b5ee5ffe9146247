-- Old slugs of renamed organizations, redirected (301) to the organization until another one takes the slug.
CREATE TABLE organization_slug_redirects (
    id BIGSERIAL PRIMARY KEY,
    slug VARCHAR(50) NOT NULL UNIQUE,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX organization_slug_redirects_org ON organization_slug_redirects (organization_id);

-- When a pending deletion becomes due.
ALTER TABLE organizations ADD COLUMN deletion_scheduled_at TIMESTAMP;

-- Conflicts are detected per field (the form sends the values it showed), not by a row version.
ALTER TABLE organizations DROP COLUMN version;
