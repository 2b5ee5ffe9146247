-- Instance-level audit entries: superuser mode, user management, permissions (not tied to an organization).
CREATE TABLE instance_audit_entries (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    actor_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    actor_label TEXT NOT NULL,
    ip_address TEXT,
    event VARCHAR(64) NOT NULL,
    target_user_id INTEGER REFERENCES users (id) ON DELETE SET NULL,
    data TEXT NOT NULL,
    datetime TIMESTAMP NOT NULL
);

-- Second factors of users (TOTP; recovery codes are their own kind and do not count as 2FA).
CREATE TABLE authenticators (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind VARCHAR(32) NOT NULL,
    -- TOTP: the base32 secret; recovery codes: the unused codes, hashed, as JSON
    config TEXT NOT NULL,
    confirmed BOOLEAN NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    last_used_at TIMESTAMP,
    -- the last TOTP time step accepted, so a code cannot be used twice
    last_step BIGINT NOT NULL DEFAULT 0,
    UNIQUE (user_id, kind)
);
