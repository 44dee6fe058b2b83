-- Liveness: always-on configs (tables kept live inside daily windows, handing over before a
-- table closes), calendar schedules (cron in a time zone, start/end, a run limit), the skip
-- history, degraded runs, provider keys that stopped working, auto-pause, and the alert
-- outbox that operators' destinations read from.

-- ---- configs: new schedule kinds ------------------------------------------------------------

ALTER TABLE simulation_configs DROP CONSTRAINT simulation_configs_schedule_type_check;
ALTER TABLE simulation_configs DROP CONSTRAINT interval_matches_schedule;
ALTER TABLE simulation_configs
    ADD CONSTRAINT simulation_configs_schedule_type_check
        CHECK (schedule_type IN ('one_off', 'periodic', 'always_on')),
    -- Periodic configs: an EventBridge cron expression instead of an interval (6 fields).
    ADD COLUMN cron_expression  TEXT CHECK (char_length(cron_expression) BETWEEN 11 AND 256),
    -- IANA name: the cron expression's and the daily windows' time zone.
    ADD COLUMN time_zone        TEXT CHECK (char_length(time_zone) BETWEEN 1 AND 64),
    ADD COLUMN starts_at        TIMESTAMPTZ,
    ADD COLUMN ends_at          TIMESTAMPTZ,
    -- Scheduled runs a calendar schedule may start in all.
    ADD COLUMN max_runs         INT CHECK (max_runs BETWEEN 1 AND 100000),
    -- Always-on configs: how many tables are kept playing.
    ADD COLUMN live_tables      INT CHECK (live_tables BETWEEN 1 AND 9),
    -- [{"start": "08:00", "end": "23:00"}] in time_zone; NULL: all day.
    ADD COLUMN windows          JSONB CHECK (jsonb_typeof(windows) = 'array'),
    -- The next table opens before the current one closes.
    ADD COLUMN handover         BOOLEAN NOT NULL DEFAULT false,
    -- Pause after this many failed or degraded runs in a row; NULL: never.
    ADD COLUMN auto_pause_after INT CHECK (auto_pause_after BETWEEN 1 AND 100),
    -- Why the config was paused by simrunner itself (auto-pause); cleared when it resumes.
    ADD COLUMN pause_reason     TEXT,
    -- Always-on coverage as the ticks see it: since when no table is open although one
    -- should be, and when that was declared lost (an alert); both NULL while covered.
    ADD COLUMN uncovered_since  TIMESTAMPTZ,
    ADD COLUMN coverage_lost_at TIMESTAMPTZ,
    ADD CONSTRAINT schedule_fields_match_kind CHECK (
        (schedule_type = 'one_off' AND interval_minutes IS NULL AND cron_expression IS NULL
             AND live_tables IS NULL)
        OR (schedule_type = 'periodic' AND live_tables IS NULL
             AND ((interval_minutes IS NOT NULL AND interval_minutes BETWEEN 1 AND 1440
                   AND cron_expression IS NULL)
                  OR (interval_minutes IS NULL AND cron_expression IS NOT NULL
                      AND time_zone IS NOT NULL)))
        OR (schedule_type = 'always_on' AND interval_minutes IS NULL AND cron_expression IS NULL
             AND live_tables IS NOT NULL)),
    ADD CONSTRAINT calendar_fields_need_a_calendar CHECK (
        cron_expression IS NOT NULL
        OR (starts_at IS NULL AND ends_at IS NULL AND max_runs IS NULL)),
    ADD CONSTRAINT ends_after_start CHECK (ends_at > starts_at),
    ADD CONSTRAINT windows_need_a_time_zone CHECK (windows IS NULL OR time_zone IS NOT NULL);

-- ---- runs: lanes, standby, quality ------------------------------------------------------------

ALTER TABLE simulation_runs DROP CONSTRAINT simulation_runs_trigger_check;
ALTER TABLE simulation_runs
    ADD CONSTRAINT simulation_runs_trigger_check
        CHECK (trigger IN ('manual', 'schedule', 'always_on')),
    -- An active run holds one of its config's lanes: 1 for one-off and periodic configs,
    -- 1..live_tables for always-on ones (twice that with handover, for the next tables).
    ADD COLUMN lane     SMALLINT NOT NULL DEFAULT 1 CHECK (lane BETWEEN 1 AND 18),
    -- Started to take over from a table about to close: it opens its table but deals only
    -- once fewer than live_tables of its config's runs are in play.
    ADD COLUMN standby  BOOLEAN NOT NULL DEFAULT false,
    -- [{"code", "seat"?, "message"}]: why a finished run counts as degraded; NULL: it does not.
    ADD COLUMN degraded_reasons JSONB CHECK (degraded_reasons IS NULL
        OR (jsonb_typeof(degraded_reasons) = 'array' AND jsonb_array_length(degraded_reasons) > 0)),
    -- Decisions of LLM and outside seats, and how many of them fell back (check or fold).
    ADD COLUMN decisions BIGINT NOT NULL DEFAULT 0 CHECK (decisions >= 0),
    ADD COLUMN fallbacks BIGINT NOT NULL DEFAULT 0 CHECK (fallbacks >= 0),
    ADD COLUMN llm_cost_usd NUMERIC GENERATED ALWAYS AS ((llm_usage ->> 'cost_usd')::numeric) STORED;

-- One active run per config and lane replaces one active run per config.
DROP INDEX simulation_runs_one_active_per_config;
CREATE UNIQUE INDEX simulation_runs_one_active_per_lane
    ON simulation_runs (config_id, lane) WHERE status IN ('queued', 'running');
-- The health figures read the runs that ended in a period.
CREATE INDEX simulation_runs_completed ON simulation_runs (completed_at) WHERE completed_at IS NOT NULL;
-- Coverage reads the tables open during a period.
CREATE INDEX tables_by_end ON tables (ended_at);
CREATE INDEX tables_by_run ON tables (run_id);

-- ---- the skip history ---------------------------------------------------------------------

-- Every trigger that started nothing, not only the last (the newest 100 per config are kept).
CREATE TABLE simulation_skips (
    config_id    TEXT NOT NULL REFERENCES simulation_configs (id) ON DELETE CASCADE,
    at           TIMESTAMPTZ NOT NULL,
    reason       TEXT NOT NULL,
    message      TEXT NOT NULL,
    -- The scheduled time the trigger was for (absent for a manual start).
    scheduled_at TIMESTAMPTZ
);
CREATE INDEX simulation_skips_newest ON simulation_skips (config_id, at DESC);

-- ---- provider keys that stopped working ---------------------------------------------------

ALTER TABLE provider_api_keys
    -- A run's LLM seat was refused with this key (401/403): when, and what the provider said
    -- (scrubbed by the runner). Cleared by a later run that used it successfully.
    ADD COLUMN auth_failed_at TIMESTAMPTZ,
    ADD COLUMN auth_error     TEXT,
    ADD COLUMN last_worked_at TIMESTAMPTZ;

-- ---- alerts -------------------------------------------------------------------------------

-- What operators are told, once per change; delivered by the ticks (local scheduler,
-- dispatch's reap) to the configured destinations. The id is the message id receivers can
-- deduplicate on.
CREATE TABLE alerts (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind         TEXT NOT NULL CHECK (kind IN ('run_failed', 'config_auto_paused',
                                               'coverage_lost', 'coverage_restored')),
    -- No foreign keys: an alert outlives the config or run it is about.
    config_id    TEXT,
    run_id       TEXT,
    payload      JSONB NOT NULL CHECK (jsonb_typeof(payload) = 'object'),
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Set once every destination took it (or there was none); `sent_to` says which.
    delivered_at TIMESTAMPTZ,
    sent_to      TEXT[] NOT NULL DEFAULT '{}',
    attempts     INT NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    last_error   TEXT
);
CREATE INDEX alerts_pending ON alerts (next_attempt_at) WHERE delivered_at IS NULL;
CREATE INDEX alerts_newest ON alerts (created_at DESC);

-- ---- what happens once when a run starts or ends, whoever does it -----------------------------------

-- The runner, the reaper, a failed launch and an ECS stop event all end runs; this trigger
-- sees each start, takeover and end exactly once: it wakes the local scheduler (an always-on
-- config's next table starts at once, or is readied beside a table now in play), and at an
-- end records a `run_failed` alert and keeps the provider keys' health.
CREATE FUNCTION simulation_run_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('simrunner_runs', NEW.config_id);
    IF OLD.status NOT IN ('queued', 'running')
       OR NEW.status NOT IN ('completed', 'failed', 'cancelled') THEN
        RETURN NULL;
    END IF;
    IF NEW.status = 'failed' THEN
        INSERT INTO alerts (kind, config_id, run_id, payload)
        SELECT 'run_failed', NEW.config_id, NEW.id,
               jsonb_build_object('config_name', c.name, 'error_code', NEW.error_code,
                                  'error_message', NEW.error_message,
                                  'hands_played', NEW.hands_played)
          FROM simulation_configs c WHERE c.id = NEW.config_id;
    END IF;
    IF NEW.llm_usage IS NOT NULL AND NEW.started_at IS NOT NULL THEN
        -- The key a run used is its provider's newest when it started.
        WITH used AS (
            SELECT DISTINCT ON (k.provider) k.id, k.provider
              FROM provider_api_keys k
             WHERE k.created_at <= NEW.started_at
             ORDER BY k.provider, k.created_at DESC, k.id DESC),
        refused AS (
            SELECT DISTINCT ON (w ->> 'provider') w ->> 'provider' AS provider, w ->> 'message' AS message
              FROM jsonb_array_elements(COALESCE(NEW.llm_usage -> 'warnings', '[]')) w
             WHERE w ->> 'code' = 'auth'),
        answered AS (
            SELECT DISTINCT s ->> 'provider' AS provider
              FROM jsonb_array_elements(COALESCE(NEW.llm_usage -> 'seats', '[]')) s
             WHERE (s ->> 'calls')::bigint > 0)
        UPDATE provider_api_keys k
           SET auth_failed_at = CASE WHEN r.provider IS NOT NULL THEN NEW.completed_at END,
               auth_error = CASE WHEN r.provider IS NOT NULL THEN left(r.message, 500) END,
               last_worked_at = CASE WHEN a.provider IS NOT NULL
                                     THEN GREATEST(k.last_worked_at, NEW.completed_at)
                                     ELSE k.last_worked_at END
          FROM used u
          LEFT JOIN refused r ON r.provider = u.provider
          LEFT JOIN answered a ON a.provider = u.provider
         WHERE k.id = u.id AND (r.provider IS NOT NULL OR a.provider IS NOT NULL);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER simulation_run_changed
    AFTER UPDATE OF status, standby ON simulation_runs
    FOR EACH ROW
    WHEN (OLD.status IS DISTINCT FROM NEW.status OR OLD.standby IS DISTINCT FROM NEW.standby)
    EXECUTE FUNCTION simulation_run_changed();

-- ---- the models each provider lists -------------------------------------------------------

-- What a provider's model listing answered with the stored key (refreshed by a runner, or by
-- the local stack, when asked or once a day); the console offers these beside the models
-- simrunner knows.
CREATE TABLE provider_models (
    provider             TEXT PRIMARY KEY CHECK (provider IN ('openai', 'anthropic', 'google')),
    models               TEXT[] NOT NULL DEFAULT '{}',
    fetched_at           TIMESTAMPTZ,
    refresh_requested_at TIMESTAMPTZ,
    last_error           TEXT
);

-- ---- health figures of settled hours ------------------------------------------------------

-- One row per hour and config (`scope` its id; "" for the site) once the hour is over: what
-- the health figures of a period read instead of every run and table again. An hour is
-- final a few minutes after it ends: runs end and tables close at the time they do.
CREATE TABLE health_hours (
    scope            TEXT NOT NULL,
    hour             TIMESTAMPTZ NOT NULL,
    runs             BIGINT NOT NULL,
    failed           BIGINT NOT NULL,
    degraded         BIGINT NOT NULL,
    cancelled        BIGINT NOT NULL,
    hands            BIGINT NOT NULL,
    llm_cost_usd     FLOAT8 NOT NULL,
    decisions        BIGINT NOT NULL,
    fallbacks        BIGINT NOT NULL,
    expected_seconds FLOAT8 NOT NULL,
    covered_seconds  FLOAT8 NOT NULL,
    full_seconds     FLOAT8,
    PRIMARY KEY (scope, hour)
);
