-- Server-side sessions: the cookie carries only a random key; the SHA-256 of that key and the
-- session's state are kept here, so ending a session on the server makes every copy of its cookie
-- worthless.
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key_hash VARCHAR(64) NOT NULL UNIQUE,
    -- the logged-in user, so all of a user's sessions can be ended at once
    user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    state TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    expires_at TIMESTAMP NOT NULL
);
CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_expires ON sessions (expires_at);

-- The throttle counts every password and code check, and invitations, not only failed logins.
ALTER TABLE auth_failures RENAME TO rate_events;
DROP INDEX auth_failures_scope;
CREATE INDEX rate_events_scope ON rate_events (scope, created_at);

-- Email addresses are compared in one normalized form (Unicode NFC, then lowercase), computed in
-- Rust and stored, because SQL's lower() folds ASCII only on SQLite. Rows written before this
-- migration get SQL's lower() here; `orgsettings` recomputes them in Rust right after migrating.
ALTER TABLE users ADD COLUMN email_normalized TEXT NOT NULL DEFAULT '';
UPDATE users SET email_normalized = lower(email);
DROP INDEX users_email_ci;
CREATE INDEX users_email_normalized ON users (email_normalized);

ALTER TABLE user_emails ADD COLUMN email_normalized TEXT NOT NULL DEFAULT '';
UPDATE user_emails SET email_normalized = lower(email);
DROP INDEX user_emails_user_email;
DROP INDEX user_emails_email_ci;
CREATE UNIQUE INDEX user_emails_user_email ON user_emails (user_id, email_normalized);
CREATE INDEX user_emails_email_normalized ON user_emails (email_normalized);

ALTER TABLE organization_members ADD COLUMN email_normalized TEXT;
UPDATE organization_members SET email_normalized = lower(email) WHERE email IS NOT NULL;
DROP INDEX organization_members_org_email;
CREATE UNIQUE INDEX organization_members_org_email ON organization_members (organization_id, email_normalized);
