-- A quarantined mail can be accepted or rejected by an admin (ADR 0025, issue 17).
--   accepted: fed into the mail intake again as if it had just arrived (filed, or held again
--             under a new quarantine id); decision_note says what became of it
--   rejected: never processed; decision_note says why
ALTER TABLE quarantined_mail DROP CONSTRAINT quarantined_mail_state_check;
ALTER TABLE quarantined_mail ADD CONSTRAINT quarantined_mail_state_check
  CHECK (state IN ('quarantined', 'dismissed', 'accepted', 'rejected'));
ALTER TABLE quarantined_mail
  ADD COLUMN decided_by text,
  ADD COLUMN decided_at timestamptz,
  ADD COLUMN decision_note text CHECK (length(decision_note) <= 2000);
