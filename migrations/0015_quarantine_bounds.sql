-- The quarantine's bounds per source address (issue 13): the address a message came from, so
-- that a flood from one address fills only its own share and a new team's first message still
-- gets held. Null for messages held before this column existed, which count for no address.
ALTER TABLE quarantined_message ADD COLUMN source_address text
  CHECK (source_address IS NULL OR length(source_address) BETWEEN 1 AND 64);
CREATE INDEX quarantined_message_open ON quarantined_message (claimed_from, source_address) WHERE state = 'quarantined';
