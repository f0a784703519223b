-- The site nodes the exchange gave up on (issue 19 part 3, "a bounce marks the contact as failing";
-- ADR 0026): a site that names its own node is told through it, and when the exchange fails to
-- deliver a site.notification for good (the node refuses it, or does not answer within the
-- delivery's maximum age) the notification is bounced and the node, as a contact, is failing,
-- the way a bounced mail flags the POC address in site_contact. Keyed by the peer team: several
-- sites may name the same node. The next site.notification that node takes clears the flag.
CREATE TABLE site_node_contact (
  team_id              text PRIMARY KEY CHECK (team_id ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  failing              boolean NOT NULL DEFAULT false,
  last_failure_reason  text CHECK (length(last_failure_reason) <= 500),
  last_failure_at      timestamptz,
  updated_at           timestamptz NOT NULL
);
CREATE INDEX site_node_contact_failing ON site_node_contact (team_id) WHERE failing;
