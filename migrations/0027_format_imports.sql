-- The formats neighbouring tools speak (issue 16: STIX 2.1 and TAXII 2.1, MISP, IODEF v2).
-- What was imported from where, so that the same outside object filed twice files once (an
-- import is idempotent), and where each outside source's pull stopped, so that a pull broken
-- halfway resumes without duplicates.
CREATE TABLE imported_object (
  format      text NOT NULL CHECK (format IN ('stix', 'misp', 'iodef')),
  -- The object's own id in its format: a STIX id, a MISP event uuid, an IODEF IncidentID with its name.
  object_id   text NOT NULL CHECK (length(object_id) BETWEEN 1 AND 400),
  incident_id uuid NOT NULL REFERENCES incident (id) ON DELETE CASCADE,
  -- sha256 of the imported object's canonical bytes: the same object again is a no-op.
  digest      text NOT NULL CHECK (digest ~ '^[0-9a-f]{64}$'),
  source      text CHECK (length(source) <= 400),
  imported_at timestamptz NOT NULL,
  PRIMARY KEY (format, object_id)
);
CREATE INDEX imported_object_incident ON imported_object (incident_id);

-- One row per outside source a node pulls from (a TAXII collection URL, a MISP instance).
CREATE TABLE format_pull_cursor (
  source     text PRIMARY KEY CHECK (length(source) BETWEEN 1 AND 400),
  cursor     text NOT NULL CHECK (length(cursor) <= 2000),
  updated_at timestamptz NOT NULL
);
