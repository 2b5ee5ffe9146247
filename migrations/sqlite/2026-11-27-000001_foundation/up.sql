-- Users, their email addresses and permissions.
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    name TEXT NOT NULL DEFAULT '',
    email TEXT NOT NULL,
    -- Argon2id PHC string, or '!' when the user has no usable password.
    password_hash TEXT NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT 1,
    is_superuser BOOLEAN NOT NULL DEFAULT 0,
    -- Bumped to end every session of the user (password or privilege change).
    session_version INTEGER NOT NULL DEFAULT 0,
    date_joined TIMESTAMP NOT NULL,
    last_login TIMESTAMP
);
CREATE UNIQUE INDEX users_username_ci ON users (lower(username));
CREATE INDEX users_email_ci ON users (lower(email));

CREATE TABLE user_emails (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    email TEXT NOT NULL,
    is_verified BOOLEAN NOT NULL DEFAULT 0,
    validation_hash TEXT NOT NULL,
    date_hash_added TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX user_emails_user_email ON user_emails (user_id, lower(email));
CREATE INDEX user_emails_email_ci ON user_emails (lower(email));

CREATE TABLE user_permissions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    permission VARCHAR(32) NOT NULL CHECK (length(permission) <= 32),
    UNIQUE (user_id, permission)
);

-- Organizations and who belongs to them.
CREATE TABLE organizations (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name VARCHAR(64) NOT NULL,
    slug VARCHAR(50) NOT NULL UNIQUE,
    -- 0 active, 1 pending deletion, 2 deletion in progress
    status INTEGER NOT NULL DEFAULT 0,
    -- bitfield; bit order fixed by the reference (section 8); 1 = allow_joinleave
    flags BIGINT NOT NULL DEFAULT 1,
    default_role VARCHAR(32) NOT NULL DEFAULT 'member',
    -- bumped by every settings save, so a form rendered before another save is detected
    version INTEGER NOT NULL DEFAULT 0,
    date_added TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE organization_members (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    -- NULL for a pending invite, which has an email instead
    user_id INTEGER REFERENCES users (id) ON DELETE CASCADE,
    email TEXT,
    role VARCHAR(32) NOT NULL,
    token TEXT,
    token_expires_at TIMESTAMP,
    date_added TIMESTAMP NOT NULL,
    CHECK (user_id IS NOT NULL OR email IS NOT NULL),
    UNIQUE (organization_id, user_id)
);
CREATE UNIQUE INDEX organization_members_org_email ON organization_members (organization_id, lower(email));
CREATE INDEX organization_members_user ON organization_members (user_id);

-- Organization options: key -> JSON text, one row per key.
CREATE TABLE organization_options (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    key VARCHAR(64) NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (organization_id, key)
);

CREATE TABLE audit_log_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    organization_id INTEGER NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    actor_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    -- who acted, as shown when the user is gone or the actor is not a user ("CLI")
    actor_label TEXT NOT NULL,
    -- set when an active superuser acted on an organization they are not a member of
    actor_is_staff BOOLEAN NOT NULL DEFAULT 0,
    ip_address TEXT,
    event INTEGER NOT NULL,
    target_object BIGINT,
    target_user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    data TEXT NOT NULL,
    datetime TIMESTAMP NOT NULL
);
CREATE INDEX audit_log_entries_org ON audit_log_entries (organization_id, id);

-- Failed logins, counted per IP and per account for throttling.
CREATE TABLE auth_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    scope TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX auth_failures_scope ON auth_failures (scope, created_at);

-- The one-time link that creates the first superuser on an empty instance.
CREATE TABLE setup_tokens (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    token TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
