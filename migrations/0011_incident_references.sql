-- An incident is kept for good; its own tables reference it without per-row foreign-key checks
-- (ADR 0010).
--
-- An incident is the team's record of what happened: no path of the node deletes one, and its
-- journal is append-only. The database now refuses to delete, truncate or renumber incidents,
-- so a row that names an incident can never be left naming none.
--
-- The foreign keys from the incident's own tables (its search rows, journal, the other teams'
-- reference numbers, links, policy) therefore only ever checked inserts, with a trigger per row
-- that looked the incident up and locked it: eleven for each report a peer sends, about a tenth
-- of what filing one cost on the embedded engine. Those rows are written by the incidents,
-- exchange and sharing repositories only, each time with the id of an incident the same
-- transaction created or read; the checks go. (A statement-level check over a transition table
-- was measured too: PostgreSQL plans its query again on every statement, which cost more than
-- the per-row checks it replaced.) Foreign keys to other tables stay, e.g. incident_link's to
-- peer, which keeps a peer that incidents were exchanged with from being removed.
CREATE FUNCTION keep_incidents() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'incidents are kept: % refuses %', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER incident_kept BEFORE DELETE ON incident FOR EACH ROW EXECUTE FUNCTION keep_incidents();
CREATE TRIGGER incident_kept_truncate BEFORE TRUNCATE ON incident FOR EACH STATEMENT EXECUTE FUNCTION keep_incidents();
CREATE TRIGGER incident_id_fixed BEFORE UPDATE OF id ON incident
  FOR EACH ROW WHEN (OLD.id IS DISTINCT FROM NEW.id) EXECUTE FUNCTION keep_incidents();

ALTER TABLE incident_host DROP CONSTRAINT incident_host_incident_id_fkey;
ALTER TABLE incident_indicator DROP CONSTRAINT incident_indicator_incident_id_fkey;
ALTER TABLE incident_external_ref DROP CONSTRAINT incident_external_ref_incident_id_fkey;
ALTER TABLE journal_entry DROP CONSTRAINT journal_entry_incident_id_fkey;
ALTER TABLE incident_link DROP CONSTRAINT incident_link_incident_id_fkey;
ALTER TABLE incident_policy DROP CONSTRAINT incident_policy_incident_id_fkey;
