-- Relays and signed provenance (issue 15 parts 2 and 3; docs/federation-protocol.md §5.18, §5.21, §5.22;
-- ADR 0020).

-- One row per relay this node takes part in, keyed the same on every node of the path: the
-- originator and the id of the incident.report it signed (the document every relay forwards
-- intact). role: requested (we asked), relayed (we passed it on), received (we are the target).
--   requested_from / requested_ref: who asked us to pass it on, and its reference number
--   via:         where we sent it (the relay we asked, or the next hop)
--   target:      what the originator asked for, {team} or {address}; target_team as resolved
--   message_id:  what we sent (the report with relayTo, or our relay.forward)
--   receipt:     the target's signed receipt, as it reached us (envelope JSON text)
--   reasons, denied_by, refused_by: a refusal, and the team whose policy refused
-- Both keep a foreign key to incident: one row per relay, or per received report that carries
-- signed hops, written with one statement per group (ADR 0013).
CREATE TABLE relay (
  origin_team      text NOT NULL CHECK (origin_team ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  origin_id        uuid NOT NULL,
  origin_ref       text NOT NULL CHECK (length(origin_ref) BETWEEN 1 AND 200),
  role             text NOT NULL CHECK (role IN ('requested', 'relayed', 'received')),
  state            text NOT NULL CHECK (state IN ('requested', 'forwarded', 'delivered', 'refused')),
  incident_id      uuid NOT NULL REFERENCES incident (id),
  requested_from   text,
  requested_ref    text,
  via              text,
  target           jsonb NOT NULL CHECK (jsonb_typeof(target) = 'object'),
  target_team      text,
  target_ref       text,
  message_id       uuid,
  receipt          text,
  reasons          jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(reasons) = 'array'),
  denied_by        text[] NOT NULL DEFAULT '{}',
  refused_by       text,
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL,
  PRIMARY KEY (origin_team, origin_id)
);
CREATE INDEX relay_incident ON relay (incident_id);
CREATE INDEX relay_message ON relay (message_id) WHERE message_id IS NOT NULL;

-- The signed hops a received copy came with, exactly as received (incident_policy.provenance
-- keeps the labels the policy decides on, which a later label change may tighten; these keep
-- what each team signed), and what this node found when it checked each: whether the signature
-- verified and with which key (pinned here, or introduced by the relay that carried it).
CREATE TABLE incident_signed_provenance (
  incident_id   uuid PRIMARY KEY REFERENCES incident (id),
  hops          jsonb NOT NULL CHECK (jsonb_typeof(hops) = 'array'),
  verification  jsonb NOT NULL CHECK (jsonb_typeof(verification) = 'array'),
  received_at   timestamptz NOT NULL
);
