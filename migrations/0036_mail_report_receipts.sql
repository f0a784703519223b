-- Receipts to people who mailed a signed report (issue 17, "No receipts for reports written by
-- people"; ADR 0025 "Receipts to people").
--
-- One receipt per report mail: keyed by the incident and the report's Message-ID (or, for a
-- report that carried none, `sha256:` and the signed text's digest), so a second delivery of the
-- same mail, or a retry of the filing, never queues a second receipt. The row is the receipt's own
-- mail outbox: the composed mail (signed with the node key, encrypted to the peer's pinned key
-- where the report or its label asks for it), kept so every attempt hands over the same bytes
-- with the same Message-ID; queued -> handing-over -> sent, at most once (exchange/mail-hand-over.ts).
CREATE TABLE mail_report_receipt (
  id               uuid PRIMARY KEY,
  incident_id      uuid NOT NULL REFERENCES incident (id) ON DELETE CASCADE,
  report_key       text NOT NULL CHECK (length(report_key) <= 1000),
  peer_team        text NOT NULL,
  state            text NOT NULL CHECK (state IN ('queued', 'handing-over', 'sent')),
  envelope_from    text NOT NULL,
  envelope_to      text NOT NULL,
  raw              text NOT NULL,
  encrypted        boolean NOT NULL,
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  last_error       text CHECK (length(last_error) <= 500),
  send_uncertain   boolean NOT NULL DEFAULT false,
  queued_at        timestamptz NOT NULL,
  sent_at          timestamptz,
  UNIQUE (incident_id, report_key)
);
CREATE INDEX mail_report_receipt_due ON mail_report_receipt (state, next_attempt_at);
