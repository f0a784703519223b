-- Sites that run their own Hikeshi node (issue 19 part 3, "or to the site's own node if it runs
-- one"; ADR 0026). A site may name the peer team that runs its node: its notifications then go
-- as signed `site.notification` documents through the exchange outbox instead of by mail.
-- No foreign key to peer: a peer removed (or never re-added) leaves the site's notifications to
-- fall back to the POC mail, decided at approval, rather than losing the record of the node.
ALTER TABLE site ADD COLUMN team_id text CHECK (team_id IS NULL OR team_id ~ '^[a-z0-9][a-z0-9-]{1,62}$');

-- Which channel a notification went by (email: the signed mail of ADR 0026; node: the exchange)
-- and, for node, the peer team it went to. message_id is then the exchange document's id.
ALTER TABLE site_notification ADD COLUMN channel text NOT NULL DEFAULT 'email' CHECK (channel IN ('email', 'node'));
ALTER TABLE site_notification ADD COLUMN peer_team text CHECK (peer_team IS NULL OR length(peer_team) <= 63);

-- The receiving side: notifications our coordinator sent about our own hosts, for our handlers
-- to read and answer. The sender's notification id (and the sending team) identify it: the same
-- notification delivered twice is kept once. state: received -> acknowledged -> answered.
CREATE TABLE received_site_notification (
  id                   uuid PRIMARY KEY,
  from_team            text NOT NULL CHECK (length(from_team) <= 63),
  message_id           text NOT NULL CHECK (length(message_id) <= 200),
  remote_notification  uuid NOT NULL,
  sender_ref           text NOT NULL CHECK (length(sender_ref) <= 200),
  tlp                  text NOT NULL,
  language             text NOT NULL CHECK (language IN ('ja', 'en')),
  content              jsonb NOT NULL,
  text                 text NOT NULL CHECK (length(text) <= 100000),
  follows              uuid,
  state                text NOT NULL CHECK (state IN ('received', 'acknowledged', 'answered')),
  answered_by          text,
  answered_at          timestamptz,
  received_at          timestamptz NOT NULL,
  UNIQUE (from_team, remote_notification)
);
CREATE INDEX received_site_notification_received ON received_site_notification (received_at DESC, id);
