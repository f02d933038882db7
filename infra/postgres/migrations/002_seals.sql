-- Seals: keyed digests over consecutive ranges of global positions, each chained to the one
-- before (see infra/postgres/sealer.ts). Someone who can edit rows but lacks the seal key cannot
-- re-forge them.
CREATE TABLE seals (
  seal_number integer PRIMARY KEY CHECK (seal_number > 0),
  from_position bigint NOT NULL,
  to_position bigint NOT NULL,
  event_count integer NOT NULL,
  -- per sealed event, in position order: position (8 bytes) | event id (16) | sha256 (32)
  entries bytea NOT NULL,
  prev_digest text,
  -- HMAC-SHA256 hex over the above and prev_digest
  digest text NOT NULL,
  sealed_at timestamptz NOT NULL DEFAULT now(),
  CHECK (from_position <= to_position)
);
