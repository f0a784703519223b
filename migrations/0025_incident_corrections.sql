-- Corrections that follow the copies (issue 15 part 4; ADR 0018; docs/federation-protocol.md
-- §5.14). The originator of a report re-labels or retracts it with a statement its own key
-- signs; every holder verifies it, applies it to its copy and forwards it to the teams it passed
-- the report to.
--
-- incident.retraction: a retracted report is kept (for the audit) but marked, and the sharing
-- policy refuses it to everyone (rule `retracted`). Null while the report stands.
ALTER TABLE incident ADD COLUMN retraction jsonb;

-- One row per correction per copy here: the originator's own (received_from null), one applied
-- to a copy we hold, or one kept because the report it corrects has not arrived yet
-- (state pending, incident_id null: found again by the sender and the sender's reference
-- number when that report is filed). `statement` is the originator's signed statement exactly
-- as received ({document, signature}); `originator_key` the armored key it verified with, which
-- a forwarder passes on so that holders further down can verify it too.
CREATE TABLE incident_correction (
  row_id          uuid PRIMARY KEY,
  correction_id   uuid NOT NULL,
  incident_id     uuid REFERENCES incident (id),
  originator      text NOT NULL CHECK (length(originator) BETWEEN 1 AND 200),
  originator_ref  text NOT NULL CHECK (length(originator_ref) BETWEEN 1 AND 200),
  kind            text NOT NULL CHECK (kind IN ('relabel', 'retract')),
  statement       jsonb NOT NULL,
  originator_key  text,
  received_from   text,
  received_ref    text,
  message_id      uuid,
  state           text NOT NULL CHECK (state IN ('issued', 'applied', 'pending', 'refused')),
  outcome         text,
  created_at      timestamptz NOT NULL,
  applied_at      timestamptz
);
CREATE UNIQUE INDEX incident_correction_copy ON incident_correction (correction_id, incident_id) WHERE incident_id IS NOT NULL;
CREATE UNIQUE INDEX incident_correction_pending ON incident_correction (correction_id, received_from, received_ref) WHERE state = 'pending';
CREATE INDEX incident_correction_waiting ON incident_correction (received_from, received_ref) WHERE state = 'pending';
CREATE INDEX incident_correction_incident ON incident_correction (incident_id);

-- Which holders acknowledged a correction: direct holders by their signed receipt, holders
-- further down by the signed incident.correction-ack the team that forwarded to them sends back
-- (`via`). Kept by every node that forwarded the correction, so each sees the copies below it.
-- status: applied (the copy is corrected) or pending (the holder keeps it until the report arrives).
CREATE TABLE incident_correction_ack (
  correction_id   uuid NOT NULL,
  holder          text NOT NULL CHECK (length(holder) BETWEEN 1 AND 200),
  via             text NOT NULL CHECK (length(via) BETWEEN 1 AND 200),
  status          text NOT NULL CHECK (status IN ('applied', 'pending')),
  holder_ref      text,
  message_id      uuid NOT NULL,
  at              timestamptz NOT NULL,
  PRIMARY KEY (correction_id, holder)
);
