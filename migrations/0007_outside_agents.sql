-- Outside agents: registered identities (API keys stored as hashes only), the seats they
-- take at tables, and the inbox through which the agents surface (REST and WebSocket, in the
-- local stack or in Lambda) tells a table's runner what its agents did.

ALTER TABLE simulation_configs
    -- Configs with external seats: how long a run waits for the agents, and which bot takes
    -- the seats nobody took (NULL: the run fails, naming them).
    ADD COLUMN join_timeout_seconds INT CHECK (join_timeout_seconds BETWEEN 5 AND 600),
    ADD COLUMN fill_empty_seats_with TEXT
        CHECK (fill_empty_seats_with IN ('random', 'tight', 'callstation'));

CREATE TABLE agents (
    id           TEXT PRIMARY KEY CHECK (id ~ '^agt_[0-9a-f]{32}$'),
    name         TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 64),
    metadata     JSON,
    -- SHA-256 of the API key (256 random bits): the key itself is shown once, never stored.
    key_hash     BYTEA NOT NULL UNIQUE CHECK (octet_length(key_hash) = 32),
    -- 'self' (POST /v1/agents) or 'admin' (the admin API, also when registration is closed).
    created_by   TEXT NOT NULL CHECK (created_by IN ('self', 'admin')),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_seen_at TIMESTAMPTZ,
    -- A revoked agent's key opens nothing and its sessions end at once.
    revoked_at   TIMESTAMPTZ,
    tables_played INT NOT NULL DEFAULT 0,
    timeouts     BIGINT NOT NULL DEFAULT 0
);

CREATE INDEX agents_newest ON agents (created_at DESC, id DESC);

-- When the first hand was dealt; NULL while the table waits for its external seats.
ALTER TABLE tables ADD COLUMN started_at TIMESTAMPTZ;
UPDATE tables SET started_at = created_at;

-- The external seats of a table. A seat is open while agent_id is NULL; a join fills it with
-- a session (its token's SHA-256); leaving, a revoke or the table's end closes the session.
CREATE TABLE table_seats (
    table_id     TEXT NOT NULL REFERENCES tables (id) ON DELETE CASCADE,
    seat         SMALLINT NOT NULL CHECK (seat BETWEEN 0 AND 8),
    -- The one agent this seat is kept for; NULL: any registered agent.
    reserved_for TEXT REFERENCES agents (id),
    agent_id     TEXT REFERENCES agents (id),
    session_hash BYTEA UNIQUE CHECK (octet_length(session_hash) = 32),
    joined_at    TIMESTAMPTZ,
    left_at      TIMESTAMPTZ,
    PRIMARY KEY (table_id, seat),
    CONSTRAINT taken_seats_have_a_session
        CHECK ((agent_id IS NULL) = (session_hash IS NULL) AND (agent_id IS NULL) = (joined_at IS NULL)),
    CONSTRAINT only_taken_seats_are_left CHECK (left_at IS NULL OR agent_id IS NOT NULL)
);

-- One seat per agent per table (ALREADY_SEATED).
CREATE UNIQUE INDEX table_seats_one_per_agent ON table_seats (table_id, agent_id)
    WHERE agent_id IS NOT NULL;
CREATE INDEX table_seats_by_agent ON table_seats (agent_id) WHERE agent_id IS NOT NULL;

-- What happened to a table's agents, in order, for its runner: joins, connections (with the
-- gateway's connection id and framing), actions, disconnections, leaves and revocations.
-- Writers NOTIFY the channel named by the table id; the runner reads rows after the last id
-- it handled, so a missed notification delays nothing past its next poll.
CREATE TABLE agent_inbox (
    id         BIGSERIAL PRIMARY KEY,
    table_id   TEXT NOT NULL REFERENCES tables (id) ON DELETE CASCADE,
    seat       SMALLINT NOT NULL CHECK (seat BETWEEN 0 AND 8),
    kind       TEXT NOT NULL CHECK (kind IN ('joined', 'connected', 'disconnected', 'action',
                   'left', 'revoked')),
    payload    JSON NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX agent_inbox_by_table ON agent_inbox (table_id, id);

-- Connections an API Gateway WebSocket API holds (AWS): which seat each belongs to, so the
-- function that receives a frame knows where it goes. The local gateway keeps this in memory.
CREATE TABLE agent_connections (
    connection_id TEXT PRIMARY KEY CHECK (char_length(connection_id) BETWEEN 1 AND 128),
    table_id      TEXT NOT NULL REFERENCES tables (id) ON DELETE CASCADE,
    seat          SMALLINT NOT NULL CHECK (seat BETWEEN 0 AND 8),
    framing       TEXT NOT NULL CHECK (framing IN ('agent', 'envelope')),
    connected_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

-- The public feed tells watchers when an outside agent leaves the table.
ALTER TABLE table_events DROP CONSTRAINT table_events_kind_check;
ALTER TABLE table_events ADD CONSTRAINT table_events_kind_check
    CHECK (kind IN ('table_opened', 'hand_started', 'blind_posted', 'action', 'street_dealt',
                    'uncalled_bet_returned', 'showdown', 'pot_awarded', 'hand_complete',
                    'table_ended', 'hand_aborted', 'player_left'));
