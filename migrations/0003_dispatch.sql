-- Dispatch: the database itself enforces how many runs may be active.

-- At most one queued or running run per config: racing starts cannot both insert.
CREATE UNIQUE INDEX simulation_runs_one_active_per_config
    ON simulation_runs (config_id) WHERE status IN ('queued', 'running');

-- A global limit (SIMRUNNER_MAX_CONCURRENT_RUNS): an active run holds one of slots 1..limit,
-- and no two active runs hold the same slot.
ALTER TABLE simulation_runs ADD COLUMN slot INTEGER CHECK (slot >= 1);
CREATE UNIQUE INDEX simulation_runs_active_slot
    ON simulation_runs (slot) WHERE status IN ('queued', 'running');

-- Cooldowns are measured from the config's last completed run.
CREATE INDEX simulation_runs_last_completion
    ON simulation_runs (config_id, completed_at DESC) WHERE completed_at IS NOT NULL;
