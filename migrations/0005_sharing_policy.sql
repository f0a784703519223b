-- Trust groups and per-incident sharing facts (issue 4; docs/trust-model.md). The policy itself
-- is pure code (src/modules/policy/); these tables hold the facts it decides on that are not in
-- the incident or the peer record: which trust groups exist and who is in them, whom a handler
-- named or chose for an incident, where a received report came from, and law-enforcement
-- approvals. src/modules/sharing/ is the one reader that turns them into a decision.

-- A trust group: a FIRST-like forum, a national or sector community. our_membership says
-- whether WE belong to it (only groups we belong to give floors: we cannot judge the vetting of
-- the others); the floors are what its members' membership is worth to us, absent = the
-- policy's default (full: community, liaison: nothing). No group raises a team above partner.
CREATE TABLE trust_group (
  id              text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  kind            text NOT NULL CHECK (kind IN ('forum', 'national', 'sector', 'other')),
  description     text CHECK (length(description) BETWEEN 1 AND 2000),
  our_membership  text NOT NULL DEFAULT 'none' CHECK (our_membership IN ('full', 'liaison', 'none')),
  floor_full      text CHECK (floor_full IN ('unknown', 'community', 'partner')),
  floor_liaison   text CHECK (floor_liaison IN ('unknown', 'community', 'partner')),
  version         integer NOT NULL DEFAULT 1,
  created_at      timestamptz NOT NULL,
  created_by      text NOT NULL,
  updated_at      timestamptz NOT NULL
);

-- A team's membership of a group. team_id is not a reference to peer: a roster lists teams we
-- do not (yet) exchange with, and the membership counts once we add them as peers.
CREATE TABLE trust_group_member (
  group_id    text NOT NULL REFERENCES trust_group (id) ON DELETE CASCADE,
  team_id     text NOT NULL CHECK (team_id ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  level       text NOT NULL CHECK (level IN ('full', 'liaison')),
  since       timestamptz NOT NULL,
  -- Where we learnt it: 'manual' (a handler entered it), 'roster' (a group's published list), ...
  source      text NOT NULL CHECK (source ~ '^[a-z][a-z0-9-]{0,39}$'),
  added_by    text NOT NULL,
  updated_at  timestamptz NOT NULL,
  PRIMARY KEY (group_id, team_id)
);
CREATE INDEX trust_group_member_team ON trust_group_member (team_id);

-- The policy facts of one incident; no row = none of them (our own incident, nobody named).
--   red_recipients:    teams a handler named for TLP:RED
--   chosen_recipients: recipients a handler explicitly chose (a share): their need to know,
--                      remembered so later updates and the pull feed see it too
--   section_minimums:  per-incident overrides of the section minimum trust levels
--   provenance:        for a received report, the chain of hops (originator first, the team
--                      we received it from last), as ProvenanceHop objects
--   originator_*:      the originator and the label it gave; redistribution its stated limit
--   relay_requested_to: teams the originator asked us to relay the report to
CREATE TABLE incident_policy (
  incident_id         uuid PRIMARY KEY REFERENCES incident (id) ON DELETE CASCADE,
  red_recipients      text[] NOT NULL DEFAULT '{}',
  chosen_recipients   text[] NOT NULL DEFAULT '{}',
  section_minimums    jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(section_minimums) = 'object'),
  provenance          jsonb CHECK (provenance IS NULL OR (jsonb_typeof(provenance) = 'array' AND jsonb_array_length(provenance) > 0)),
  originator_team     text,
  originator_tlp      text CHECK (originator_tlp IN ('CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED')),
  redistribution      text CHECK (redistribution IN ('none', 'constituency', 'no-further')),
  relay_requested_to  text[] NOT NULL DEFAULT '{}',
  version             integer NOT NULL DEFAULT 1,
  updated_at          timestamptz NOT NULL,
  updated_by          text NOT NULL,
  -- A received report has all three or none.
  CHECK ((provenance IS NULL) = (originator_team IS NULL) AND (originator_team IS NULL) = (originator_tlp IS NULL)),
  CHECK (provenance IS NOT NULL OR redistribution IS NULL)
);

-- A handler's approval to disclose an incident to a law-enforcement recipient, with the legal
-- basis. Kept, never edited: it is the record that the disclosure was lawful.
CREATE TABLE law_enforcement_approval (
  id           uuid PRIMARY KEY,
  incident_id  uuid NOT NULL REFERENCES incident (id) ON DELETE CASCADE,
  recipient    text NOT NULL CHECK (recipient ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  legal_basis  text NOT NULL CHECK (length(btrim(legal_basis)) BETWEEN 1 AND 2000),
  approved_by  text NOT NULL,
  approved_at  timestamptz NOT NULL
);
CREATE INDEX law_enforcement_approval_incident ON law_enforcement_approval (incident_id, approved_at);
