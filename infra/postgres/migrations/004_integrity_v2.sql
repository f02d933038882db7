-- Integrity v2 (see docs/integrity.md): event hashes that cover the global position and the
-- recorded time, recorded times taken inside the serialised append section, and seals signed with
-- Ed25519 instead of an HMAC. Rows written before this migration keep hash_version 1 and their
-- HMAC seals (format 1); nothing old is rewritten.

-- 1: sha256 of chitti-event-v1 (content + prev hash); 2: chitti-event-v2 (also position and time).
ALTER TABLE events ADD COLUMN hash_version smallint NOT NULL DEFAULT 1 CHECK (hash_version IN (1, 2));

-- The recorded time of the newest event. Appends set it under the counter's row lock to
-- greatest(it, clock_timestamp()), so recorded times never decrease along global positions.
ALTER TABLE event_log_head ADD COLUMN recorded_at timestamptz;
UPDATE event_log_head SET recorded_at = (SELECT max(recorded_at) FROM events);

-- A stream's head hash is read from its newest event: it is computed inside the append statement
-- now, after the stream row was compare-and-set, so the streams row keeps the version only.
ALTER TABLE streams DROP COLUMN last_hash, DROP COLUMN last_recorded_at;

-- The chitti-event-v2 hashes of one appended batch. The caller sends each event's canonical JSON
-- (RFC 8785) in three pieces around the parts only known here: the global position, the previous
-- hash (the one before in the batch for all but the first) and the recorded time.
CREATE FUNCTION chitti_event_hashes_v2(
  first_position bigint, recorded_at timestamptz, prev_hash text, heads text[], mids text[], tails text[]
) RETURNS text[] LANGUAGE plpgsql STABLE STRICT AS $$
DECLARE
  hashes text[] := '{}';
  prev text := prev_hash;
  at text := to_char(recorded_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"');
  h text;
BEGIN
  FOR i IN 1 .. coalesce(array_length(heads, 1), 0) LOOP
    h := encode(sha256(convert_to(
           heads[i] || (first_position + i - 1)::text || mids[i] || prev || ',"recordedAt":"' || at || '"' || tails[i],
           'UTF8')), 'hex');
    hashes := hashes || h;
    prev := '"' || h || '"';
  END LOOP;
  RETURN hashes;
END $$;

-- Seals: format 1 = HMAC-SHA256 (legacy, verifiable only with the old key); format 2 = Ed25519
-- signature by the key named key_id over the seal message, digest = sha256 of that message.
ALTER TABLE seals
  ADD COLUMN format smallint NOT NULL DEFAULT 1 CHECK (format IN (1, 2)),
  ADD COLUMN key_id text,
  ADD COLUMN signature text,
  ADD CONSTRAINT seals_signed CHECK (format = 1 OR (key_id IS NOT NULL AND signature IS NOT NULL));
