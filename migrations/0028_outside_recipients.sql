-- Outside recipients (issue 17 parts 3 and 4; ADR 0023): law enforcement and the press.
--
-- A law-enforcement request: one an agency sent us (origin inbound) or a report we decided to
-- make (proactive); the handler approves it (which records a law_enforcement_approval for each
-- incident in scope) or declines it. scope holds {incidents: [uuid], sections: [..]|null,
-- information: text|null}; officer {name, contact} or null.
CREATE TABLE law_enforcement_request (
  id              uuid PRIMARY KEY,
  origin          text NOT NULL CHECK (origin IN ('inbound', 'proactive')),
  agency          text NOT NULL CHECK (length(agency) BETWEEN 1 AND 63),
  agency_name     text NOT NULL,
  officer         jsonb,
  legal_basis     text NOT NULL,
  scope           jsonb NOT NULL,
  deadline        timestamptz,
  received_at     timestamptz,
  request_text    text,
  state           text NOT NULL CHECK (state IN ('pending', 'approved', 'declined')),
  recorded_by     text NOT NULL,
  recorded_at     timestamptz NOT NULL,
  decided_by      text,
  decided_at      timestamptz,
  decision_basis  text,
  decline_reason  text
);
CREATE INDEX law_enforcement_request_recorded ON law_enforcement_request (recorded_at, id);

-- A signed disclosure package made for an approved request: exactly what was handed over (the
-- canonical JSON and the text, each with its detached signature), kept so every download is
-- the same signed bytes and a reviewer can see what left.
CREATE TABLE law_enforcement_package (
  id                 uuid PRIMARY KEY,
  request_id         uuid NOT NULL REFERENCES law_enforcement_request (id),
  agency             text NOT NULL,
  summary            jsonb NOT NULL,
  canonical_json     text NOT NULL,
  json_signature     text NOT NULL,
  text_rendering     text NOT NULL,
  text_signature     text NOT NULL,
  signer_fingerprint text NOT NULL,
  payload_sha256     text NOT NULL,
  created_by         text NOT NULL,
  created_at         timestamptz NOT NULL
);
CREATE INDEX law_enforcement_package_request ON law_enforcement_package (request_id, created_at);

-- A press statement: drafted by one handler, approved (and so published) by another, withdrawn.
-- incidents: the uuids of the TLP:CLEAR incidents it speaks about.
CREATE TABLE press_statement (
  id                uuid PRIMARY KEY,
  title             text NOT NULL,
  body              text NOT NULL,
  incidents         jsonb NOT NULL,
  state             text NOT NULL CHECK (state IN ('draft', 'published', 'withdrawn')),
  drafted_by        text NOT NULL,
  drafted_at        timestamptz NOT NULL,
  approved_by       text,
  published_at      timestamptz,
  withdrawn_by      text,
  withdrawn_at      timestamptz,
  withdrawal_reason text
);
CREATE INDEX press_statement_published ON press_statement (state, published_at);
