-- Teams without a node (issue 17, "a team without a node"; ADR 0028). Many CSIRTs run no node:
-- they use GnuPG and a mailbox. Such a team is a peer added from its team id, name, e-mail address
-- and armored OpenPGP key: it has no URL and no signed profile, and takes everything by signed
-- e-mail. A message mailed to it is `sent` once the mail server took it (it sends no machine
-- receipts), and `delivered` only when a reply signed by its pinned key names our Message-ID or
-- reference number.
ALTER TABLE peer ADD COLUMN kind text NOT NULL DEFAULT 'node' CHECK (kind IN ('node', 'mail'));
ALTER TABLE peer ALTER COLUMN url DROP NOT NULL;
ALTER TABLE peer ALTER COLUMN signed_profile DROP NOT NULL;
ALTER TABLE peer ALTER COLUMN profile_fetched_at DROP NOT NULL;
ALTER TABLE peer ADD CONSTRAINT peer_kind_fields CHECK (
  (kind = 'node' AND url IS NOT NULL AND signed_profile IS NOT NULL AND profile_fetched_at IS NOT NULL)
  OR (kind = 'mail' AND url IS NULL AND signed_profile IS NULL AND profile_fetched_at IS NULL AND email IS NOT NULL AND mail_only)
);

-- sent: handed to the mail server for a team without a node, waiting for nothing (no resend).
ALTER TABLE outbound_message DROP CONSTRAINT outbound_message_state_check;
ALTER TABLE outbound_message ADD CONSTRAINT outbound_message_state_check CHECK (state IN ('pending', 'sent', 'delivered', 'failed'));
-- The Message-ID (without angle brackets) of the mail that carried it to a team without a node:
-- a reply names it in In-Reply-To or References.
ALTER TABLE outbound_message ADD COLUMN mail_message_id text CHECK (length(mail_message_id) <= 998);
ALTER TABLE outbound_message ADD COLUMN sent_at timestamptz;
ALTER TABLE outbound_message ADD CONSTRAINT outbound_message_sent CHECK (state <> 'sent' OR (sent_at IS NOT NULL AND mail_message_id IS NOT NULL));
CREATE UNIQUE INDEX outbound_message_mail_id ON outbound_message (mail_message_id) WHERE mail_message_id IS NOT NULL;
-- A team's reply naming our reference number (no In-Reply-To) is matched among what we mailed it.
CREATE INDEX outbound_message_mailed ON outbound_message (peer_team, seq) WHERE mail_message_id IS NOT NULL;

-- Receipts owed to people while the node sends no mail (issue 17: "a node without outgoing mail
-- sends no receipts and keeps no record of the receipts it owes"): the receipt's text and headers
-- are recorded as `unsent` (raw empty) and composed, signed and handed over once mail is configured.
ALTER TABLE mail_report_receipt ADD COLUMN unsent text CHECK (length(unsent) <= 20000);
ALTER TABLE mail_report_receipt ADD CONSTRAINT mail_report_receipt_composed CHECK (state <> 'handing-over' OR unsent IS NULL);
