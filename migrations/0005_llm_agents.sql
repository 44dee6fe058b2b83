-- LLM agents: a per-run spending limit on configs, and each run's LLM tokens and cost.

-- The LLM seats' estimated spend a run may reach, in cents (max_llm_cost_usd in the API);
-- NULL: no limit.
ALTER TABLE simulation_configs
    ADD COLUMN max_llm_cost_cents BIGINT CHECK (max_llm_cost_cents BETWEEN 1 AND 1000000);

-- {"seats": [{"seat", "provider", "model", "tokens", "calls", "decisions", "fallbacks",
--   "repairs", "cost_usd"}], "tokens", "calls", "cost_usd", "budget_usd",
--   "budget_exhausted", "warnings": [{"seat", "provider", "code", "status", "message"}]}
-- Written by the runner with its heartbeat and when the run ends; NULL without LLM seats.
ALTER TABLE simulation_runs
    ADD COLUMN llm_usage JSONB CHECK (llm_usage IS NULL OR jsonb_typeof(llm_usage) = 'object');
