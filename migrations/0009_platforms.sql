-- Remote platforms: MoltPoker-compatible servers a simulation can play at instead of the
-- built-in engine (its seats join a table the run creates there, as outside agents), and
-- tables simrunner hosts for such a client (POST /v1/admin/tables).

CREATE TABLE platforms (
    id               TEXT PRIMARY KEY CHECK (id ~ '^plt_[0-9a-f]{32}$'),
    name             TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    -- The platform's base URL: its /v1/* routes hang below it.
    base_url         TEXT NOT NULL CHECK (char_length(base_url) <= 2048 AND base_url ~ '^https?://'),
    -- The admin credential its /v1/admin/* routes accept, sealed like provider keys (the row
    -- id is the associated data); only its last four characters are kept in clear.
    ciphertext       BYTEA NOT NULL,
    nonce            BYTEA NOT NULL CHECK (octet_length(nonce) = 12),
    key_id           TEXT NOT NULL,
    credential_last4 TEXT NOT NULL CHECK (char_length(credential_last4) BETWEEN 1 AND 4),
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX platforms_newest ON platforms (created_at DESC, id DESC);

-- Where a config plays: NULL is the built-in engine. A platform a config names cannot be
-- deleted.
ALTER TABLE simulation_configs
    ADD COLUMN platform_id TEXT REFERENCES platforms (id) ON DELETE RESTRICT;

-- The agent identity each seat of a config has on a platform: registered once (POST
-- /v1/agents there), kept for later runs so the platform sees the same players; the agent's
-- key is sealed like provider keys (the row id is the associated data).
CREATE TABLE platform_identities (
    id          TEXT PRIMARY KEY CHECK (id ~ '^pid_[0-9a-f]{32}$'),
    platform_id TEXT NOT NULL REFERENCES platforms (id) ON DELETE CASCADE,
    config_id   TEXT NOT NULL REFERENCES simulation_configs (id) ON DELETE CASCADE,
    seat        SMALLINT NOT NULL CHECK (seat BETWEEN 0 AND 8),
    agent_id    TEXT NOT NULL CHECK (char_length(agent_id) BETWEEN 1 AND 200),
    ciphertext  BYTEA NOT NULL,
    nonce       BYTEA NOT NULL CHECK (octet_length(nonce) = 12),
    key_id      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    UNIQUE (platform_id, config_id, seat)
);

-- A run played at a platform: its table there and where to watch it.
ALTER TABLE simulation_runs
    ADD COLUMN remote_table_id TEXT CHECK (char_length(remote_table_id) <= 200),
    ADD COLUMN remote_watch_url TEXT CHECK (char_length(remote_watch_url) <= 2048);

-- Tables simrunner hosts for a remote client (admin-create mode) start when that client says
-- so: a `start` row in the table's inbox.
ALTER TABLE agent_inbox DROP CONSTRAINT agent_inbox_kind_check;
ALTER TABLE agent_inbox ADD CONSTRAINT agent_inbox_kind_check
    CHECK (kind IN ('joined', 'connected', 'disconnected', 'action', 'left', 'revoked', 'start'));

-- Configs made by POST /v1/admin/tables: one per hosted table, whose id the table keeps
-- (the API answers with it before any runner has started).
ALTER TABLE simulation_configs
    ADD COLUMN hosted_table_id TEXT UNIQUE CHECK (hosted_table_id ~ '^tbl_[0-9a-f]{32}$');
