-- Forums (issue 14): FIRST-like forums with an operator (the secretariat: one team's node) that
-- signs the roster. A node is the operator of the forums it runs and a member of others.
--   forum:         each forum we operate or belong to; roster_version is the newest applied
--   forum_roster:  every roster version signed by the operator, exactly as signed (history)
--   forum_member:  the operator's working list, from which it signs the next version
CREATE TABLE forum (
  id              text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
  operator_team   text NOT NULL CHECK (operator_team ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  our_role        text NOT NULL CHECK (our_role IN ('operator', 'member')),
  sponsors_needed integer NOT NULL DEFAULT 2 CHECK (sponsors_needed BETWEEN 0 AND 10),
  roster_version  bigint NOT NULL DEFAULT 0 CHECK (roster_version >= 0),
  created_at      timestamptz NOT NULL,
  created_by      text NOT NULL,
  updated_at      timestamptz NOT NULL
);

CREATE TABLE forum_roster (
  forum_id       text NOT NULL REFERENCES forum (id) ON DELETE CASCADE,
  version        bigint NOT NULL CHECK (version >= 1),
  -- The RFC 8785 text of the roster document and the operator's detached signature over it.
  document       text NOT NULL,
  signature      text NOT NULL,
  member_count   integer NOT NULL,
  received_from  text NOT NULL,
  received_at    timestamptz NOT NULL,
  PRIMARY KEY (forum_id, version)
);

CREATE TABLE forum_member (
  forum_id     text NOT NULL REFERENCES forum (id) ON DELETE CASCADE,
  team_id      text NOT NULL CHECK (team_id ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  kind         text NOT NULL CHECK (kind IN ('full', 'liaison')),
  status       text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'suspended')),
  sponsors     text[] NOT NULL DEFAULT '{}',
  contact      jsonb,
  admitted_at  timestamptz NOT NULL,
  updated_at   timestamptz NOT NULL,
  updated_by   text NOT NULL,
  PRIMARY KEY (forum_id, team_id)
);

-- A trust group whose members come from a forum's signed roster: hand edits are refused, the
-- roster alone changes them (and a team removed from it loses its floor in that transaction).
ALTER TABLE trust_group ADD COLUMN roster_forum text REFERENCES forum (id) ON DELETE SET NULL;
