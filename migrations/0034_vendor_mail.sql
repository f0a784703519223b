-- Questions to e-mail vendors go out by signed e-mail (issue 17, ADR 0024 "The e-mail channel").
-- Numbered 0034: 0033 is left to a migration written in parallel on another branch.
--
-- vendor_question.state gains `sent` (the mail server took the question's mail) and `refused`
-- (a question that waited as awaiting-email and that the rule refuses by the time the channel
-- exists, e.g. the case became TLP:RED).
ALTER TABLE vendor_question DROP CONSTRAINT vendor_question_state_check;
ALTER TABLE vendor_question ADD CONSTRAINT vendor_question_state_check
  CHECK (state IN ('queued', 'awaiting-email', 'sent', 'refused', 'received', 'answered'));
-- A reply finds its question by the Message-ID the question's mail went out with.
CREATE INDEX vendor_question_message ON vendor_question (message_id) WHERE message_id IS NOT NULL;

-- The vendor questions' own mail outbox: the composed mail (signed, encrypted to the vendor's
-- pinned key where the label needs it), kept so every attempt hands over the same bytes with the
-- same Message-ID. queued -> handing-over -> sent, at most once (as notification_outbox, ADR
-- 0026): a row still handing-over past its lease is not handed over again but marked sent with
-- send_uncertain. The foreign key is deferred: the question row is written after its mail is
-- queued, in the same transaction.
CREATE TABLE vendor_mail_outbox (
  question_id      uuid PRIMARY KEY REFERENCES vendor_question (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
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
  sent_at          timestamptz
);
CREATE INDEX vendor_mail_outbox_due ON vendor_mail_outbox (state, next_attempt_at);
