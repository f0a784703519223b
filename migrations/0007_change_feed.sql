-- The pull feed widens (issue 4 item 6; docs/federation-protocol.md §15): a peer pulls every
-- incident the sharing policy lets it see, each at its latest change, in one node-wide order of
-- changes. Every journalled change of an incident (its creation, a patch, a note, a share, a
-- delivery, a peer's update) moves it to the end of that order: change_xid is the transaction
-- that made the change, change_seq orders changes within it.
--
-- Why a transaction id and not only a sequence: numbers from a sequence are taken when a change
-- is made but become visible when its transaction commits, so a reader could see number 8 before
-- number 7 commits and skip it for good. A reader serves only changes made by transactions older
-- than every transaction still running (pg_snapshot_xmin of its snapshot): those have all
-- committed or rolled back, and every later change gets a larger transaction id. The cursor is
-- (change_xid, change_seq); it survives restarts (xid8 never wraps) and no reader ever waits on
-- a lock, nor does a writer take one beyond the incident's own row.
CREATE SEQUENCE incident_change_seq;
ALTER TABLE incident ADD COLUMN change_xid xid8;
ALTER TABLE incident ADD COLUMN change_seq bigint;
UPDATE incident SET change_xid = pg_current_xact_id(), change_seq = seq;
SELECT setval('incident_change_seq', GREATEST((SELECT max(seq) FROM incident), 1));
ALTER TABLE incident ALTER COLUMN change_xid SET DEFAULT pg_current_xact_id();
ALTER TABLE incident ALTER COLUMN change_xid SET NOT NULL;
ALTER TABLE incident ALTER COLUMN change_seq SET DEFAULT nextval('incident_change_seq');
ALTER TABLE incident ALTER COLUMN change_seq SET NOT NULL;
CREATE INDEX incident_change ON incident (change_xid, change_seq);

-- The per-peer feed of documents sent (migration 0003) is replaced by the policy-decided feed
-- above: a pushed document was decided for a push, and re-serving it later could show a peer
-- what the policy no longer lets it see (a RED report, a section its trust no longer reaches).
DROP TABLE feed_item;
DROP TABLE feed_counter;
