-- The signed e-mail channel (issue 17 part 5, ADR 0025): a peer's e-mail address and whether it
-- takes our messages by mail only (a team without a node reachable from here), the channel a
-- message last went out on, and the incoming mail that could not be filed (kept whole, with the
-- reason, for a handler to look at: nothing is lost).
ALTER TABLE peer ADD COLUMN email text CHECK (email IS NULL OR (length(email) BETWEEN 3 AND 254 AND email ~ '^[^\s@<>]+@[^\s@<>]+$'));
ALTER TABLE peer ADD COLUMN mail_only boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX peer_email ON peer (lower(email)) WHERE email IS NOT NULL;

-- http or mail: where the last attempt went; null before the first attempt.
ALTER TABLE outbound_message ADD COLUMN channel text CHECK (channel IS NULL OR channel IN ('http', 'mail'));

CREATE TABLE quarantined_mail (
  id                 uuid PRIMARY KEY,
  seq                bigserial NOT NULL UNIQUE,
  -- The SMTP envelope sender and the From header, as claimed (nothing in them is verified).
  envelope_from      text CHECK (length(envelope_from) <= 320),
  header_from        text CHECK (length(header_from) <= 320),
  message_id         text CHECK (length(message_id) <= 998),
  -- A stable code (unsigned, bad-signature, unknown-sender, wrong-key, malformed-mime, ...) and a short reason.
  reason             text NOT NULL CHECK (length(reason) BETWEEN 1 AND 64),
  detail             text NOT NULL CHECK (length(detail) <= 1000),
  issuer_fingerprint text CHECK (length(issuer_fingerprint) <= 40),
  -- The message exactly as received, base64 (mail may carry any byte).
  raw                text NOT NULL,
  size_bytes         integer NOT NULL,
  source_address     text CHECK (length(source_address) <= 64),
  state              text NOT NULL DEFAULT 'quarantined' CHECK (state IN ('quarantined', 'dismissed')),
  received_at        timestamptz NOT NULL
);
CREATE INDEX quarantined_mail_state ON quarantined_mail (state, seq);

-- A report a person wrote and signed (GnuPG), filed as an incident: the same signed text from the
-- same peer files once, however often it is mailed.
CREATE TABLE mail_report (
  peer_team   text NOT NULL,
  -- sha256 of the signed text.
  digest      text NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$'),
  incident_id uuid NOT NULL REFERENCES incident (id) ON DELETE CASCADE,
  received_at timestamptz NOT NULL,
  PRIMARY KEY (peer_team, digest)
);
CREATE INDEX mail_report_incident ON mail_report (incident_id);
