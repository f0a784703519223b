-- Legal hold (ADR 0013). While an incident is under legal hold (a court, a regulator or law
-- enforcement asked the team to preserve it), its personal data may not be erased: the erasure
-- answers 409 legal-hold. A row here means the incident is held; clearing the hold removes the
-- row. Who set or cleared it, when and why is in the audit log (incident.legal-hold-set,
-- incident.legal-hold-cleared), which keeps the history this table does not.
--
-- Unlike the incident's search rows, journal and references (ADR 0010), this table keeps its
-- foreign key: it is written only when a handler sets a hold, never on the path that files
-- received reports, so the per-row check costs nothing that was measured.
CREATE TABLE incident_legal_hold (
  incident_id  uuid PRIMARY KEY REFERENCES incident (id),
  reason       text NOT NULL CHECK (length(reason) BETWEEN 1 AND 2000),
  set_by       text NOT NULL CHECK (length(set_by) BETWEEN 1 AND 200),
  set_at       timestamptz NOT NULL
);
