-- The Members page's order stored with each row, so a page of a big organization is read off an
-- index instead of sorting every member (docs/architecture.md, "Member order"): role_rank puts
-- owners first (owner 0, manager 1, admin 2, member 3), sort_address is the member's normalized
-- address (the user's primary one, or the invitation's). The application keeps both current.
ALTER TABLE organization_members ADD COLUMN role_rank INTEGER NOT NULL DEFAULT 3;
ALTER TABLE organization_members ADD COLUMN sort_address TEXT NOT NULL DEFAULT '';
UPDATE organization_members SET
    role_rank = CASE role WHEN 'owner' THEN 0 WHEN 'manager' THEN 1 WHEN 'admin' THEN 2 ELSE 3 END,
    sort_address = COALESCE(
        (SELECT users.email_normalized FROM users WHERE users.id = organization_members.user_id),
        email_normalized,
        '');
-- members and invitations are listed apart: one index each
CREATE INDEX organization_members_joined_order
    ON organization_members (organization_id, role_rank, sort_address, id) WHERE user_id IS NOT NULL;
-- (user_id is in the invitations' index so that `user_id IS NULL` is an equality on it: SQLite
-- would otherwise prefer the (organization_id, user_id) unique index and sort)
CREATE INDEX organization_members_invited_order
    ON organization_members (organization_id, user_id, role_rank, sort_address, id) WHERE user_id IS NULL;
-- the API lists by id
CREATE INDEX organization_members_org_id ON organization_members (organization_id, id);
