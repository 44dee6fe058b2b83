-- Multi-table runs: one run (one runner task) plays `tables` identical tables at once, each
-- with its own table row, deal seed, feed and watch page. The run row keeps its first table
-- in `table_id`; all of them are `tables.run_id`, in `position` order.

ALTER TABLE simulation_configs
    ADD COLUMN tables SMALLINT NOT NULL DEFAULT 1 CHECK (tables BETWEEN 1 AND 50);

ALTER TABLE tables
    ADD COLUMN position SMALLINT NOT NULL DEFAULT 1 CHECK (position BETWEEN 1 AND 50);

CREATE UNIQUE INDEX tables_run_position ON tables (run_id, position);

-- Each table of a multi-table run logs under its number: `table-2/agent-0-random`.
ALTER TABLE run_log_entries DROP CONSTRAINT run_log_entries_stream_check;
ALTER TABLE run_log_entries ADD CONSTRAINT run_log_entries_stream_check
    CHECK (stream ~ '^(table-[1-9][0-9]?/)?(simulation-summary|agent-[0-8]-[a-z]+)$');

-- Recording speed (issue 20): the runner writes a table's hands and events in batches of
-- thousands of rows, and the foreign keys checked each row's table one by one, which was
-- more than half of PostgreSQL's time in those COPYs. Tables are never deleted, and every
-- batch now checks its table once, in its own transaction, instead.
ALTER TABLE table_events DROP CONSTRAINT table_events_table_id_fkey;
ALTER TABLE hands DROP CONSTRAINT hands_table_id_fkey;
