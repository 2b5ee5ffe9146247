-- Password reset links (Sentry's LostPasswordHash): one per user at most, replaced by a newer one,
-- deleted when used. Only the SHA-256 of the link's token is kept.
CREATE TABLE password_resets (
    id BIGSERIAL PRIMARY KEY,
    user_id BIGINT NOT NULL UNIQUE REFERENCES users (id) ON DELETE CASCADE,
    token_hash VARCHAR(64) NOT NULL,
    created_at TIMESTAMP NOT NULL
);

-- Email verification links are now kept as the SHA-256 of their token too. Links sent before this
-- migration stop working (a new one is a click away on /account/).
UPDATE user_emails SET validation_hash = '';
