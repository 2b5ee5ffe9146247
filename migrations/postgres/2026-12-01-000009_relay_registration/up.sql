-- Relays that registered (Sentry's Relay): one row per relay id, with the key it registered with.
CREATE TABLE relays (
    id BIGSERIAL PRIMARY KEY,
    relay_id VARCHAR(64) NOT NULL UNIQUE,
    public_key VARCHAR(200) NOT NULL,
    is_internal BOOLEAN NOT NULL DEFAULT false,
    first_seen TIMESTAMP NOT NULL
);

-- Registrations (Sentry's RelayUsage): one row per relay id and version.
CREATE TABLE relay_usage (
    id BIGSERIAL PRIMARY KEY,
    relay_id VARCHAR(64) NOT NULL,
    version VARCHAR(32) NOT NULL,
    public_key VARCHAR(200) NOT NULL,
    first_seen TIMESTAMP NOT NULL,
    last_seen TIMESTAMP NOT NULL,
    UNIQUE (relay_id, version)
);
CREATE INDEX relay_usage_public_key ON relay_usage (public_key, last_seen);

-- Challenge tokens already answered, kept until they expire, so none is answered twice.
CREATE TABLE relay_challenges_used (
    nonce VARCHAR(128) PRIMARY KEY,
    expires_at TIMESTAMP NOT NULL
);
