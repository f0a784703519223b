-- Audit log (issue 4): every disclosure decision, receipt, quarantine decision and trust change,
-- hash-chained so that editing or removing an entry is detectable (`hikeshi audit verify`).
-- Each entry's hash covers its own content and the previous entry's hash; the definition lives
-- in src/modules/audit/audit-chain.ts.
--
-- incident_id has no foreign key on purpose: the audit must outlive anything it mentions.
-- `at` keeps milliseconds only, so the instant read back (a JS Date) is the instant that was
-- hashed; a writer cannot hide a change in the microseconds either.
CREATE TABLE audit_entry (
  seq          bigserial PRIMARY KEY,
  at           timestamptz(3) NOT NULL,
  kind         text NOT NULL,
  actor        text NOT NULL,
  incident_id  uuid,
  peer         text,
  decision     text,
  details      jsonb NOT NULL,
  prev_hash    text NOT NULL CHECK (prev_hash ~ '^[0-9a-f]{64}$'),
  hash         text NOT NULL CHECK (hash ~ '^[0-9a-f]{64}$'),
  CHECK (jsonb_typeof(details) = 'object')
);
-- A link can be taken once: two entries claiming the same predecessor (a fork, e.g. from an
-- appender whose snapshot predates the last entry) fail here instead of splitting the chain.
CREATE UNIQUE INDEX audit_entry_prev_hash ON audit_entry (prev_hash);
CREATE UNIQUE INDEX audit_entry_hash ON audit_entry (hash);
CREATE INDEX audit_entry_incident ON audit_entry (incident_id, seq) WHERE incident_id IS NOT NULL;
CREATE INDEX audit_entry_peer ON audit_entry (peer, seq) WHERE peer IS NOT NULL;
CREATE INDEX audit_entry_kind ON audit_entry (kind, seq);
CREATE INDEX audit_entry_at ON audit_entry (at);

-- Append-only is a property of the database, not a promise of the code (forbid_change() comes
-- from 0001). Row triggers do not fire on TRUNCATE, hence the statement trigger.
CREATE TRIGGER audit_entry_append_only BEFORE UPDATE OR DELETE ON audit_entry
  FOR EACH ROW EXECUTE FUNCTION forbid_change();
CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry
  FOR EACH STATEMENT EXECUTE FUNCTION forbid_change();
