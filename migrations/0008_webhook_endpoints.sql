-- Webhook endpoints: the HTTPS URLs webhook seats call, one signed POST per decision
-- (Standard Webhooks). Configs name them in agent_slots[].webhook_id; the admin API refuses
-- to delete an endpoint a config still names.

CREATE TABLE webhook_endpoints (
    id           TEXT PRIMARY KEY CHECK (id ~ '^whk_[0-9a-f]{32}$'),
    label        TEXT NOT NULL CHECK (char_length(label) BETWEEN 1 AND 100),
    -- Checked by the admin API (https, no user info, no inside address) and again by the
    -- runner at every call, against the addresses it connects to.
    url          TEXT NOT NULL CHECK (char_length(url) <= 2048 AND url ~ '^https?://'),
    -- The signing secret (whsec_…), sealed like provider keys: AES-256-GCM, 96-bit nonce,
    -- the id of the master key that sealed it; the row id is the associated data. It is
    -- shown once, when the endpoint is created; only its last four characters are kept.
    ciphertext   BYTEA NOT NULL,
    nonce        BYTEA NOT NULL CHECK (octet_length(nonce) = 12),
    key_id       TEXT NOT NULL,
    secret_last4 TEXT NOT NULL CHECK (char_length(secret_last4) = 4),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX webhook_endpoints_newest ON webhook_endpoints (created_at DESC, id DESC);
