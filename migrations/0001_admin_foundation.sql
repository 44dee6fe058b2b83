-- simrunner's foundation: simulation configs, their runs and provider API keys.
-- The database enforces every invariant it can express; the Rust domain layer repeats them
-- with friendlier messages, and these checks are the last line of defence.

CREATE TABLE simulation_configs (
    id                TEXT PRIMARY KEY CHECK (id ~ '^sim_[0-9a-f]{32}$'),
    name              TEXT NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100 AND name = btrim(name)),
    status            TEXT NOT NULL DEFAULT 'paused' CHECK (status IN ('active', 'paused')),
    schedule_type     TEXT NOT NULL CHECK (schedule_type IN ('one_off', 'periodic')),
    interval_minutes  BIGINT,
    cooldown_minutes  BIGINT NOT NULL DEFAULT 5 CHECK (cooldown_minutes BETWEEN 0 AND 1440),
    max_hands         BIGINT NOT NULL DEFAULT 20 CHECK (max_hands BETWEEN 1 AND 10000),
    max_run_minutes   BIGINT NOT NULL DEFAULT 10 CHECK (max_run_minutes BETWEEN 1 AND 720),
    pace              TEXT NOT NULL DEFAULT 'live' CHECK (pace IN ('live', 'fast')),
    agent_count       BIGINT NOT NULL CHECK (agent_count BETWEEN 2 AND 9),
    -- [{"type": "...", "model": "provider:model" | absent}], one per seat
    agent_slots       JSONB NOT NULL CHECK (
                          jsonb_typeof(agent_slots) = 'array'
                          AND jsonb_array_length(agent_slots) = agent_count),
    small_blind       BIGINT NOT NULL CHECK (small_blind >= 1),
    big_blind         BIGINT NOT NULL CHECK (big_blind >= small_blind),
    initial_stack     BIGINT NOT NULL CHECK (initial_stack >= 2 * big_blind),
    action_timeout_ms BIGINT NOT NULL CHECK (action_timeout_ms BETWEEN 1000 AND 120000),
    -- Computed by the database so it can never disagree with the table config.
    bucket_key        TEXT GENERATED ALWAYS AS (
                          'sb' || small_blind || '_bb' || big_blind || '_seats' || agent_count
                          || '_timeout' || action_timeout_ms) STORED,
    -- Why the last trigger started nothing (already_running, cooling_down, paused, duplicate).
    last_skip_reason  TEXT,
    last_skip_at      TIMESTAMPTZ,
    skip_count        BIGINT NOT NULL DEFAULT 0 CHECK (skip_count >= 0),
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT interval_matches_schedule CHECK (
        (schedule_type = 'periodic' AND interval_minutes IS NOT NULL AND interval_minutes BETWEEN 1 AND 1440)
        OR (schedule_type = 'one_off' AND interval_minutes IS NULL))
);

CREATE INDEX simulation_configs_newest ON simulation_configs (created_at DESC, id DESC);

CREATE TABLE simulation_runs (
    id                TEXT PRIMARY KEY CHECK (id ~ '^run_[0-9a-f]{32}$'),
    config_id         TEXT NOT NULL REFERENCES simulation_configs (id) ON DELETE CASCADE,
    status            TEXT NOT NULL DEFAULT 'queued'
                          CHECK (status IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
    trigger           TEXT NOT NULL CHECK (trigger IN ('manual', 'schedule')),
    -- Unique per config: a duplicate delivery of the same trigger creates nothing.
    trigger_key       TEXT NOT NULL,
    scheduled_at      TIMESTAMPTZ,
    -- The launcher's handle on the task (ECS task ARN, container id, process id).
    task_ref          TEXT,
    runner_id         TEXT,
    table_id          TEXT,
    seed              BIGINT,
    hands_played      BIGINT NOT NULL DEFAULT 0 CHECK (hands_played >= 0),
    -- Per-agent results once the run completes.
    results           JSONB,
    error_code        TEXT,
    error_message     TEXT,
    heartbeat_at      TIMESTAMPTZ,
    stop_requested_at TIMESTAMPTZ,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    started_at        TIMESTAMPTZ,
    completed_at      TIMESTAMPTZ,
    CONSTRAINT one_run_per_trigger UNIQUE (config_id, trigger_key),
    CONSTRAINT finished_runs_have_an_end CHECK (
        (status IN ('completed', 'failed', 'cancelled')) = (completed_at IS NOT NULL)),
    CONSTRAINT running_runs_have_started CHECK (status <> 'running' OR started_at IS NOT NULL),
    CONSTRAINT failed_runs_say_why CHECK (status <> 'failed' OR error_code IS NOT NULL)
);

CREATE INDEX simulation_runs_by_config ON simulation_runs (config_id, created_at DESC, id DESC);
CREATE INDEX simulation_runs_active ON simulation_runs (config_id) WHERE status IN ('queued', 'running');

CREATE TABLE provider_api_keys (
    id          TEXT PRIMARY KEY CHECK (id ~ '^key_[0-9a-f]{32}$'),
    provider    TEXT NOT NULL CHECK (provider IN ('openai', 'anthropic', 'google')),
    label       TEXT NOT NULL CHECK (char_length(label) BETWEEN 1 AND 100),
    -- AES-256-GCM: ciphertext with tag, 96-bit nonce, the id of the master key that sealed it;
    -- the row id is the associated data. The plaintext is never stored.
    ciphertext  BYTEA NOT NULL,
    nonce       BYTEA NOT NULL CHECK (octet_length(nonce) = 12),
    key_id      TEXT NOT NULL,
    last4       TEXT NOT NULL CHECK (char_length(last4) BETWEEN 1 AND 4),
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now()
);

CREATE INDEX provider_api_keys_newest ON provider_api_keys (created_at DESC, id DESC);
