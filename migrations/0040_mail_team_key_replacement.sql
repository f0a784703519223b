-- A team without a node changes its key without being removed and added again (issue 17, ADR
-- 0028): an admin replaces the pinned key. The key history names how each key came:
--   replaced: an admin pinned it in place of the previous key of a team without a node
--             (which has no node to announce a key.rotation).
ALTER TABLE peer_key DROP CONSTRAINT peer_key_how_check;
ALTER TABLE peer_key ADD CONSTRAINT peer_key_how_check CHECK (how IN ('added', 'rotation', 'reverified', 'replaced'));
