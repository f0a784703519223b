-- The delivery worker's claim (outbox.repository.ts claimDue) holds a message back while an
-- earlier key.rotation to the same peer is pending. Through outbound_message_thread that check
-- visited every pending message of the peer; the embedded engine (which never runs ANALYZE) then
-- chose a generic plan that visited every pending message of every peer for each candidate, so a
-- fan-out of 500 messages cost the claims O(n^2) (ADR 0032). Pending key rotations are almost
-- always none: this index is empty, and the check costs one probe of it whatever the plan.
CREATE INDEX outbound_message_pending_rotation ON outbound_message (peer_team, seq)
  WHERE state = 'pending' AND type = 'key.rotation';
