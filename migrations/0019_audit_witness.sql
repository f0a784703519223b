-- The anchored audit (issue 13 part 4). A chain alone cannot show that its newest entries were
-- removed; so each node sends its chain's head, signed, to its witnesses (its coordinators and
-- the teams it names), and each witness keeps every head it receives here, exactly as signed.
-- `hikeshi audit verify` at the sender asks its witnesses for them back (GET
-- /federation/v1/audit-heads) and checks its chain still reaches them.
--
-- head_seq, head_hash, head_at and created are read out of the document for the conflict check
-- and the listing; document (the canonical text the signature covers) and signature are what
-- is served back, so the sender verifies its own signature, not the witness's word.
-- `conflict` marks a head that contradicts one held before from the same team: a lower seq
-- signed later than a higher one, or the same seq with another hash. It is stored all the same
-- (it is evidence), audited and logged.
CREATE TABLE witnessed_audit_head (
  seq          bigserial PRIMARY KEY,
  peer_team    text NOT NULL,
  message_id   uuid NOT NULL,
  head_seq     bigint NOT NULL CHECK (head_seq >= 1),
  head_hash    text NOT NULL CHECK (head_hash ~ '^[0-9a-f]{64}$'),
  head_at      timestamptz(3) NOT NULL,
  -- The document's `created`: when the sender signed it. Delivery may reorder two heads, so
  -- "went backwards" compares heads by when they were signed, not by when they arrived.
  created      timestamptz(3) NOT NULL,
  document     text NOT NULL,
  signature    text NOT NULL,
  conflict     boolean NOT NULL DEFAULT false,
  received_at  timestamptz NOT NULL,
  UNIQUE (peer_team, message_id)
);
-- The listing a peer pulls (its own heads, highest seq first) and the conflict check.
CREATE INDEX witnessed_audit_head_peer_head ON witnessed_audit_head (peer_team, head_seq DESC, seq DESC);
