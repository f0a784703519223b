-- Follow-up notifications (issue 19, ADR 0026): a site told about an incident may be told again
-- (new hosts, new advice) by a new notification that names the one it follows. The one-per-site
-- index becomes one not yet gone out per site: at most one drafted, refused, unreachable or
-- approved notification per incident and site, so a site never has two on their way at once.
ALTER TABLE site_notification ADD COLUMN follows uuid REFERENCES site_notification (id) ON DELETE SET NULL;
DROP INDEX site_notification_incident_site;
CREATE UNIQUE INDEX site_notification_pending ON site_notification (incident_id, site_id)
  WHERE state IN ('drafted', 'refused', 'unreachable', 'approved');
CREATE INDEX site_notification_incident_site ON site_notification (incident_id, site_id, proposed_at);
-- A chain, not a tree: each notification is followed up at most once.
CREATE UNIQUE INDEX site_notification_follows ON site_notification (follows) WHERE follows IS NOT NULL;
