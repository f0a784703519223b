-- Inquiries to all members of a forum (issue 14 part 5): a handler asks every member whether it
-- sees some hosts, networks, domains or indicators; each member's node matches the inquiry
-- against its own data at receipt, and a handler there answers the poster.
--   forum_inquiry:         inquiries we posted (direction sent) and inquiries we received; the
--                          wire id is the poster's, unique per poster (another team may pick any id)
--   forum_inquiry_member:  per member of a posted inquiry: sent, or skipped and why
--   forum_inquiry_match:   what a received inquiry matched here (our incidents, sites, constituency)
--   forum_inquiry_answer:  every answer, sent or received; the newest per team is the answer in force
CREATE TABLE forum_inquiry (
  id            uuid PRIMARY KEY,
  inquiry_id    uuid NOT NULL,
  direction     text NOT NULL CHECK (direction IN ('sent', 'received')),
  forum_id      text NOT NULL REFERENCES forum (id) ON DELETE CASCADE,
  poster_team   text NOT NULL,
  message_id    uuid,
  question      text NOT NULL,
  -- { indicators, hosts, networks, domains } as asked (content: never logged, never audited).
  subjects      jsonb NOT NULL,
  tlp           text NOT NULL,
  -- sent: our incident it is about; received: the poster's reference number, when it gave one.
  incident_id   uuid REFERENCES incident (id) ON DELETE SET NULL,
  poster_ref    text,
  created_at    timestamptz NOT NULL,
  created_by    text NOT NULL,
  UNIQUE (poster_team, inquiry_id)
);
CREATE INDEX forum_inquiry_direction ON forum_inquiry (direction, created_at DESC, id);

CREATE TABLE forum_inquiry_member (
  inquiry_id  uuid NOT NULL REFERENCES forum_inquiry (id) ON DELETE CASCADE,
  team_id     text NOT NULL,
  outcome     text NOT NULL CHECK (outcome IN ('sent', 'skipped')),
  reason      text,
  message_id  uuid,
  PRIMARY KEY (inquiry_id, team_id)
);

CREATE TABLE forum_inquiry_match (
  inquiry_id   uuid NOT NULL REFERENCES forum_inquiry (id) ON DELETE CASCADE,
  target_kind  text NOT NULL CHECK (target_kind IN ('incident', 'site', 'constituency')),
  target_id    text NOT NULL,
  label        text NOT NULL,
  matched_on   text NOT NULL,
  value        text NOT NULL,
  PRIMARY KEY (inquiry_id, target_kind, target_id, matched_on, value)
);

CREATE TABLE forum_inquiry_answer (
  seq         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  inquiry_id  uuid NOT NULL REFERENCES forum_inquiry (id) ON DELETE CASCADE,
  team_id     text NOT NULL,
  answer      text NOT NULL CHECK (answer IN ('seen', 'not-seen', 'affected')),
  ref         text,
  note        text,
  automatic   boolean NOT NULL DEFAULT false,
  message_id  uuid,
  created_at  timestamptz NOT NULL,
  created_by  text NOT NULL
);
CREATE INDEX forum_inquiry_answer_inquiry ON forum_inquiry_answer (inquiry_id, team_id, seq);
