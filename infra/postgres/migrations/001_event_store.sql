-- The event log. Rows are immutable once written; positions and hashes never change.
CREATE TABLE events (
  global_position bigint PRIMARY KEY CHECK (global_position > 0),
  stream_id text NOT NULL,
  stream_version integer NOT NULL CHECK (stream_version > 0),
  event_id uuid NOT NULL,
  type text NOT NULL,
  schema_version integer NOT NULL CHECK (schema_version > 0),
  data jsonb NOT NULL,
  metadata jsonb NOT NULL,
  recorded_at timestamptz NOT NULL,
  -- sha256 hex over the event's canonical content and prev_hash (see infra/postgres/event-hash.ts)
  hash text NOT NULL,
  -- the hash of the previous event in the same stream; NULL for a stream's first event
  prev_hash text,
  CONSTRAINT events_event_id_key UNIQUE (event_id),
  CONSTRAINT events_stream_version_key UNIQUE (stream_id, stream_version)
);

-- One row per stream: its head. Appends lock this row, so writers of one stream queue up
-- instead of racing; the unique constraint on events stays as the backstop.
CREATE TABLE streams (
  stream_id text PRIMARY KEY,
  version integer NOT NULL CHECK (version >= 0),
  last_hash text,
  last_recorded_at timestamptz
);

-- The single counter that hands out global positions. Updating it is the serialised append
-- section (see infra/postgres/event-store.ts): positions become visible in commit order.
CREATE TABLE event_log_head (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  position bigint NOT NULL CHECK (position >= 0)
);
INSERT INTO event_log_head (singleton, position) VALUES (true, 0);

-- Idempotency key -> the first append's result; written in the append's own transaction.
CREATE TABLE idempotency_keys (
  key text PRIMARY KEY,
  stream_id text NOT NULL,
  result jsonb,
  created_at timestamptz NOT NULL DEFAULT now()
);
