-- Resume positions of log consumers that keep no other state in PostgreSQL (e.g. the embedded
-- inference source). Read models keep theirs beside their tables, the relay in its own schema.
CREATE TABLE chitti_checkpoints (
  name text PRIMARY KEY,
  position bigint NOT NULL CHECK (position >= 0),
  updated_at timestamptz NOT NULL DEFAULT now()
);
