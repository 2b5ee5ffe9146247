-- The email outbox: every email is recorded here first; a sender delivers it when SMTP is configured.
CREATE TABLE emails (
    id BIGSERIAL PRIMARY KEY,
    to_address TEXT NOT NULL,
    subject TEXT NOT NULL,
    body_text TEXT NOT NULL,
    body_html TEXT NOT NULL,
    kind VARCHAR(64) NOT NULL,
    created_at TIMESTAMP NOT NULL,
    sent_at TIMESTAMP,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMP NOT NULL,
    last_error TEXT
);
CREATE INDEX emails_due ON emails (sent_at, next_attempt_at);

-- Work that must finish even if the server stops half-way (removing members who do not meet a new
-- requirement); a job without finished_at is run again at the next start.
CREATE TABLE jobs (
    id BIGSERIAL PRIMARY KEY,
    kind VARCHAR(64) NOT NULL,
    organization_id BIGINT NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    actor_id BIGINT REFERENCES users (id) ON DELETE SET NULL,
    actor_label TEXT NOT NULL,
    ip_address TEXT,
    created_at TIMESTAMP NOT NULL,
    finished_at TIMESTAMP
);
CREATE INDEX jobs_unfinished ON jobs (finished_at);
