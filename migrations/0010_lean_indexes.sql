-- Indexes that cost every received report more than they ever saved a reader (ADR 0010).
--
-- Incident lists walk incidents newest first by seq and stop at a page: a filter on phase or
-- category is applied along that walk. An index on a column of a few values (the phases, the
-- RSIT categories) was never the better path, and every filing paid for its entries.
DROP INDEX incident_phase;
DROP INDEX incident_category;

-- Host search asks whether an address lies in a network (ip <<= network). PostgreSQL turns that
-- into a range on a B-tree over inet (network_subset_support), which costs far less to maintain
-- than the GiST index it replaces, on every host of every incident filed.
DROP INDEX incident_host_ip;
CREATE INDEX incident_host_ip ON incident_host (ip);

-- The chain is guarded by the unique predecessor (audit_entry_prev_hash): two entries cannot
-- claim one link. An entry's own hash is never looked up; verification walks the log by seq.
DROP INDEX audit_entry_hash;
