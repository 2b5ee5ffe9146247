DROP INDEX organization_members_org_id;
DROP INDEX organization_members_invited_order;
DROP INDEX organization_members_joined_order;
ALTER TABLE organization_members DROP COLUMN sort_address;
ALTER TABLE organization_members DROP COLUMN role_rank;
