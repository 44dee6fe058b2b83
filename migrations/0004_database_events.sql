-- One-time events in the life of a database, such as "the demo simulation was created", so
-- that they happen once per database however often the local stack restarts.
CREATE TABLE database_events (
    name        TEXT PRIMARY KEY CHECK (name ~ '^[a-z_]{1,64}$'),
    happened_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
