-- The public windows onto the games: what the tables list shows without scanning events,
-- an event for hands cut short, and a read-only role that can read only what the public may
-- see (the public API's database login in AWS is a member of it).

ALTER TABLE tables
    -- The config's name when the run opened the table; the list shows the bucket key without.
    ADD COLUMN name          TEXT,
    ADD COLUMN hands_played  BIGINT NOT NULL DEFAULT 0 CHECK (hands_played >= 0),
    -- [{"seat", "stack"}] after the last finished hand.
    ADD COLUMN stacks        JSONB,
    -- The feed's last event: where a watcher is, and the list's order.
    ADD COLUMN last_seq      BIGINT NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
    ADD COLUMN last_event_at TIMESTAMPTZ NOT NULL DEFAULT now();

CREATE INDEX tables_by_activity ON tables (status, last_event_at DESC, id DESC);

-- Where a hand's events start in the feed, so a viewer can jump to it.
ALTER TABLE hands ADD COLUMN first_seq BIGINT CHECK (first_seq >= 1);

-- `hand_aborted`: a hand that will never finish (its runner was killed or failed); every
-- ended table's feed ends with `table_ended`.
ALTER TABLE table_events DROP CONSTRAINT table_events_kind_check;
ALTER TABLE table_events ADD CONSTRAINT table_events_kind_check CHECK (kind IN (
    'table_opened', 'hand_started', 'blind_posted', 'action', 'street_dealt',
    'uncalled_bet_returned', 'showdown', 'pot_awarded', 'hand_complete', 'hand_aborted',
    'table_ended'));

-- What the public may see, and nothing else.
CREATE VIEW public_tables AS
SELECT id, COALESCE(name, bucket_key) AS name, bucket_key, status, small_blind, big_blind,
       initial_stack, action_timeout_ms, seats, stacks, hands_played, last_seq,
       created_at AS started_at, last_event_at, ended_at
  FROM tables;

-- Hole cards appear in the feed only in `showdown` events.
CREATE VIEW public_table_events AS
SELECT table_id, seq, hand_number, kind, payload, created_at
  FROM table_events;

-- Finished hands with the cards shown at showdown only (a seat with a showdown rank); the
-- hole cards of folded seats stay in `hands.results`, which the public cannot read.
CREATE VIEW public_hands AS
SELECT h.table_id, h.number, h.button, h.small_blind, h.big_blind, h.board, h.pots,
       h.started_at, h.completed_at,
       (SELECT COALESCE(json_agg(json_build_object('seat', r -> 'seat', 'cards', r -> 'hole',
                                                   'rank', r -> 'rank')), '[]'::json)
          FROM json_array_elements(h.results) r
         WHERE r ->> 'rank' IS NOT NULL) AS shown,
       (SELECT COALESCE(json_agg(json_build_object('seat', r -> 'seat', 'start_stack',
                                                   r -> 'start_stack', 'end_stack',
                                                   r -> 'end_stack', 'net', r -> 'net')),
                        '[]'::json)
          FROM json_array_elements(h.results) r) AS seats,
       h.first_seq
  FROM hands h;

-- The role is cluster-wide; test databases migrate side by side, so creating it may race.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'simrunner_public') THEN
        CREATE ROLE simrunner_public NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL;
END
$$;

GRANT USAGE ON SCHEMA public TO simrunner_public;
GRANT SELECT ON public_tables, public_table_events, public_hands TO simrunner_public;
