-- Writer MACs (see docs/integrity.md, "Writer MACs"): every event appended from now on carries
-- `<writer key id>:<hex HMAC-SHA256>` made by the appending process with a writer key that is not in
-- the database. The sealer refuses to seal an event without a valid one, so a row forged by someone
-- who can only edit rows is never sealed as genuine. Rows written before this migration keep NULL.
ALTER TABLE events ADD COLUMN writer_mac text;

-- The first position that must carry a writer MAC (the cut-over). The sealer copies it into the
-- seal anchor on its first start after this migration; from then on the anchor's copy is the one
-- trusted, so raising this value later gains nothing.
ALTER TABLE event_log_head ADD COLUMN writer_macs_from bigint;
UPDATE event_log_head SET writer_macs_from = position + 1;
ALTER TABLE event_log_head ALTER COLUMN writer_macs_from SET NOT NULL;
