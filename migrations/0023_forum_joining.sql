-- Joining a forum (issue 14 part 3): the operator keeps every application and sponsorship it
-- receives, with the signed document exactly as received, so an admission can be shown to rest
-- on the members' own signatures.
CREATE TABLE forum_application (
  forum_id     text NOT NULL REFERENCES forum (id) ON DELETE CASCADE,
  team_id      text NOT NULL CHECK (team_id ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  statement    text NOT NULL,
  contact      jsonb,
  message_id   uuid NOT NULL,
  document     text NOT NULL,
  signature    text NOT NULL,
  received_at  timestamptz NOT NULL,
  PRIMARY KEY (forum_id, team_id)
);

CREATE TABLE forum_sponsorship (
  forum_id     text NOT NULL REFERENCES forum (id) ON DELETE CASCADE,
  candidate    text NOT NULL CHECK (candidate ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  sponsor      text NOT NULL CHECK (sponsor ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  fingerprint  text NOT NULL CHECK (fingerprint ~ '^[0-9A-F]{40}$'),
  withdrawn    boolean NOT NULL DEFAULT false,
  message_id   uuid NOT NULL,
  document     text NOT NULL,
  signature    text NOT NULL,
  received_at  timestamptz NOT NULL,
  PRIMARY KEY (forum_id, candidate, sponsor)
);
