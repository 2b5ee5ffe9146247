-- Personal API tokens (Sentry's ApiToken without an application): only the SHA-256 of the token
-- is kept, with its last 4 characters for display. Revoking deletes the row.
CREATE TABLE api_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name VARCHAR(255) NOT NULL DEFAULT '',
    token_hash VARCHAR(64) NOT NULL UNIQUE,
    token_last_characters VARCHAR(4) NOT NULL,
    -- the scopes asked for, space-separated (widened by Sentry's hierarchy when used)
    scopes TEXT NOT NULL,
    expires_at TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP
);
CREATE INDEX api_tokens_user ON api_tokens (user_id);

-- Organization auth tokens (Sentry's OrgAuthToken, `sntrys_`): kept hashed, deactivated (not
-- deleted) when revoked, so the audit log can still name them.
CREATE TABLE org_auth_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    name VARCHAR(255) NOT NULL,
    token_hash VARCHAR(64) NOT NULL UNIQUE,
    token_last_characters VARCHAR(4) NOT NULL,
    scopes TEXT NOT NULL,
    created_by_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    deactivated_at TIMESTAMP
);
CREATE INDEX org_auth_tokens_org ON org_auth_tokens (organization_id);
