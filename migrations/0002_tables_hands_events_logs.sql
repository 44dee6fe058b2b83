-- What a run plays and records: the table, every hand, the ordered public event feed, and
-- the run's JSON-lines log streams.

CREATE TABLE tables (
    id                TEXT PRIMARY KEY CHECK (id ~ '^tbl_[0-9a-f]{32}$'),
    -- Tables outlive their run's config: the public history stays when a config is deleted.
    run_id            TEXT REFERENCES simulation_runs (id) ON DELETE SET NULL,
    bucket_key        TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'ended')),
    small_blind       BIGINT NOT NULL CHECK (small_blind >= 1),
    big_blind         BIGINT NOT NULL CHECK (big_blind >= small_blind),
    initial_stack     BIGINT NOT NULL CHECK (initial_stack >= 2 * big_blind),
    action_timeout_ms BIGINT NOT NULL CHECK (action_timeout_ms > 0),
    -- [{"seat": 0, "name": "sim-random-0", "type": "random", "model": null}]
    seats             JSONB NOT NULL CHECK (jsonb_typeof(seats) = 'array'),
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    ended_at          TIMESTAMPTZ,
    CONSTRAINT ended_tables_have_an_end CHECK ((status = 'ended') = (ended_at IS NOT NULL))
);

CREATE INDEX tables_open ON tables (created_at DESC) WHERE status = 'open';

ALTER TABLE simulation_runs
    ADD CONSTRAINT simulation_runs_table_fk FOREIGN KEY (table_id) REFERENCES tables (id) ON DELETE SET NULL,
    -- Set when the run's log entries were deleted by retention: its logs answer logs_expired.
    ADD COLUMN logs_expired_at TIMESTAMPTZ;

CREATE TABLE hands (
    table_id     TEXT NOT NULL REFERENCES tables (id) ON DELETE CASCADE,
    number       BIGINT NOT NULL CHECK (number >= 1),
    -- The deck: the run seed and this hand's stream; replaying them deals the same cards.
    seed         TEXT NOT NULL,
    button       SMALLINT NOT NULL CHECK (button BETWEEN 0 AND 8),
    small_blind  BIGINT NOT NULL,
    big_blind    BIGINT NOT NULL,
    board        TEXT[] NOT NULL,
    -- [{"amount", "eligible": [seats], "winners": [seats]}], main pot first
    pots         JSON NOT NULL,
    -- [{"seat", "hole": [..], "start_stack", "end_stack", "net", "rank"?}]
    results      JSON NOT NULL,
    started_at   TIMESTAMPTZ NOT NULL,
    completed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (table_id, number)
);

-- The public feed: hole cards appear only in showdown events.
CREATE TABLE table_events (
    table_id    TEXT NOT NULL REFERENCES tables (id) ON DELETE CASCADE,
    seq         BIGINT NOT NULL CHECK (seq >= 1),
    hand_number BIGINT,
    kind        TEXT NOT NULL CHECK (kind IN ('table_opened', 'hand_started', 'blind_posted',
                    'action', 'street_dealt', 'uncalled_bet_returned', 'showdown',
                    'pot_awarded', 'hand_complete', 'table_ended')),
    payload     JSON NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (table_id, seq)
);

CREATE TABLE run_log_entries (
    run_id     TEXT NOT NULL REFERENCES simulation_runs (id) ON DELETE CASCADE,
    -- 'simulation-summary' or 'agent-<seat>-<type>'
    stream     TEXT NOT NULL CHECK (stream ~ '^(simulation-summary|agent-[0-8]-[a-z]+)$'),
    seq        BIGINT NOT NULL CHECK (seq >= 1),
    entry      JSON NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (run_id, stream, seq)
);
