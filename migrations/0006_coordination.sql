-- Coordination (issue 4 item 5; docs/federation-protocol.md §5.8-5.9): what a coordinating CSIRT keeps of its
-- members' activity (the latest activity.summary per member incident), the observables it
-- correlates them on, and the related-activity warnings it has already given, so that no
-- warning is ever repeated. Every node keeps its own incidents here too (own = true): a
-- coordinator that also serves a constituency directly (domain §4) correlates them with its
-- members' reports.

-- The latest report per (team, reference number). For a member's incident: the summary it sent
-- (activity.summary), replaced only by a newer one (version, then updated). For our own
-- incident: derived from the incident itself on every change.
CREATE TABLE member_activity (
  team              text NOT NULL CHECK (team ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  ref               text NOT NULL CHECK (length(ref) BETWEEN 1 AND 200),
  own               boolean NOT NULL,
  -- Our own incidents only: the incident (journal entries for warnings go there).
  incident_id       uuid REFERENCES incident (id) ON DELETE CASCADE,
  -- What the sender's policy let us have: summary or full (the redacted incident); own: ours.
  detail            text NOT NULL CHECK (detail IN ('summary', 'full', 'own')),
  category          text NOT NULL,
  type              text,
  phase             text NOT NULL,
  severity          text NOT NULL,
  tlp               text NOT NULL CHECK (tlp IN ('CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED')),
  first_seen        timestamptz,
  last_seen         timestamptz,
  -- The incident's own updatedAt and version at its team: newer summaries replace older ones.
  updated           timestamptz NOT NULL,
  version           integer NOT NULL,
  -- The ActivitySummary as received (or derived), for the overview and the record.
  summary           jsonb NOT NULL CHECK (jsonb_typeof(summary) = 'object'),
  -- Other teams' reference numbers of this same incident ([{team, ref}]): a report shared
  -- between two members is one incident, not related activity.
  links             jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(links) = 'array'),
  message_id        uuid,
  first_received_at timestamptz NOT NULL,
  received_at       timestamptz NOT NULL,
  PRIMARY KEY (team, ref),
  CHECK (own = (incident_id IS NOT NULL))
);
CREATE INDEX member_activity_updated ON member_activity (updated);
CREATE INDEX member_activity_incident ON member_activity (incident_id) WHERE incident_id IS NOT NULL;

-- What a report is correlated on: host addresses (ip), their /24 or /48 (network), host names
-- and domain indicators (domain), other indicators as "<kind>:<value>" (indicator). Values are
-- canonical (addresses as PostgreSQL prints them, names and hashes in lower case).
CREATE TABLE activity_observable (
  team   text NOT NULL,
  ref    text NOT NULL,
  kind   text NOT NULL CHECK (kind IN ('ip', 'network', 'domain', 'indicator')),
  value  text NOT NULL CHECK (length(value) BETWEEN 1 AND 600),
  PRIMARY KEY (team, ref, kind, value),
  FOREIGN KEY (team, ref) REFERENCES member_activity (team, ref) ON DELETE CASCADE
);
CREATE INDEX activity_observable_value ON activity_observable (kind, value);

-- Warnings given: team `team` was told (or, for our own team, its incident's journal says)
-- that report (other_team, other_ref) shares the observable (kind, value). named = false: the
-- report was counted but not named (its label does not let this team see it); it is named
-- later only if a newer summary lets it be. A pair is never warned twice.
CREATE TABLE related_warning (
  kind        text NOT NULL,
  value       text NOT NULL,
  team        text NOT NULL,
  other_team  text NOT NULL,
  other_ref   text NOT NULL,
  named       boolean NOT NULL,
  message_id  uuid,
  warned_at   timestamptz NOT NULL,
  PRIMARY KEY (kind, value, team, other_team, other_ref)
);
CREATE INDEX related_warning_team ON related_warning (team, warned_at);
