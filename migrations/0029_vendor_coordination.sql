-- Vendor coordination and CSAF 2.0 advisories (issue 17 parts 1 and 2, ADR 0024).
--   vendor:              a contact that makes products: a node peer (team_id) or an e-mail address
--                        with an OpenPGP key whose fingerprint is pinned here
--   vulnerability_case:  a VINCE-like case: products, CVE ids, embargo, the vendors that are parties;
--                        linked incidents by reference number (never their content)
--   vendor_question:     "is this product affected?" sent to a party vendor (direction sent), or
--                        received by this node as a vendor (direction received, the reporter's case)
--   vendor_statement:    what a vendor said, per product, with how it came (signed or not);
--                        direction sent: what we answered as a vendor (case_id: the received question's id)
--   csaf_advisory:       the CSAF 2.0 document drafted from a case and, once published, its files
CREATE TABLE vendor (
  id            text PRIMARY KEY,
  name          text NOT NULL,
  team_id       text UNIQUE,
  email         text,
  public_key    text,
  fingerprint   text,
  created_at    timestamptz NOT NULL,
  created_by    text NOT NULL,
  updated_at    timestamptz NOT NULL,
  CHECK ((team_id IS NOT NULL AND email IS NULL AND public_key IS NULL AND fingerprint IS NULL)
      OR (team_id IS NULL AND email IS NOT NULL AND public_key IS NOT NULL AND fingerprint IS NOT NULL))
);

CREATE TABLE vulnerability_case (
  id             text PRIMARY KEY,
  title          text NOT NULL,
  description    text NOT NULL,
  tlp            text NOT NULL,
  -- reference numbers of our incidents; their content never leaves through a case
  incident_refs  jsonb NOT NULL,
  -- [{ vendor, product, versions[] }]
  products       jsonb NOT NULL,
  cve_ids        jsonb NOT NULL,
  embargo_until  timestamptz,
  parties        jsonb NOT NULL,
  version        integer NOT NULL,
  created_at     timestamptz NOT NULL,
  created_by     text NOT NULL,
  updated_at     timestamptz NOT NULL
);

CREATE TABLE vendor_question (
  id             uuid PRIMARY KEY,
  direction      text NOT NULL CHECK (direction IN ('sent', 'received')),
  -- sent: our case and the vendor asked; received: the asking team and its case id
  case_id        text NOT NULL,
  vendor_id      text,
  asker_team     text,
  channel        text NOT NULL CHECK (channel IN ('federation', 'email')),
  state          text NOT NULL CHECK (state IN ('queued', 'awaiting-email', 'received', 'answered')),
  message_id     uuid,
  -- received: the question id the asking team chose (its vendor.statement names it)
  remote_question uuid,
  -- what the question carried (received: the asker's case fields as sent)
  content        jsonb NOT NULL,
  tlp            text NOT NULL,
  created_at     timestamptz NOT NULL,
  created_by     text NOT NULL,
  UNIQUE (asker_team, message_id)
);
CREATE INDEX vendor_question_case ON vendor_question (direction, case_id, created_at);

CREATE TABLE vendor_statement (
  seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  direction       text NOT NULL CHECK (direction IN ('received', 'sent')),
  case_id         text NOT NULL,
  vendor_id       text NOT NULL,
  product         text NOT NULL,
  status          text NOT NULL CHECK (status IN ('affected', 'not affected', 'under investigation')),
  fixed_versions  jsonb NOT NULL,
  statement_text  text,
  -- federation: a signed vendor.statement document; openpgp: a clear-signed text verified
  -- against the vendor's pinned key; manual: recorded by a handler, unsigned
  provenance      text NOT NULL CHECK (provenance IN ('federation', 'openpgp', 'manual')),
  signed_text     text,
  message_id      uuid,
  recorded_at     timestamptz NOT NULL,
  recorded_by     text NOT NULL
);
CREATE INDEX vendor_statement_case ON vendor_statement (case_id, seq);

CREATE TABLE csaf_advisory (
  case_id             text PRIMARY KEY REFERENCES vulnerability_case (id) ON DELETE CASCADE,
  tracking_id         text NOT NULL UNIQUE,
  -- the handler's edits kept over every rebuild from the case: { notes, remediations }
  edits               jsonb NOT NULL,
  version             integer NOT NULL,
  revision_history    jsonb NOT NULL,
  initial_release     timestamptz,
  current_release     timestamptz,
  -- published: the exact bytes served, their signature, where (white folder or not public)
  document_text       text,
  signature           text,
  folder              text,
  published_at        timestamptz,
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL
);
