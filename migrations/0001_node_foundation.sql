-- The node's own team: one row. The RFC 2350 description is a document the team edits as a
-- whole, so it is kept as jsonb; the key columns are separate because federation reads them.
CREATE TABLE team_profile (
  singleton    boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  team_id      text NOT NULL,
  profile      jsonb NOT NULL,
  public_key   text NOT NULL,
  fingerprint  text NOT NULL,
  updated_at   timestamptz NOT NULL DEFAULT now()
);

-- Tokens are stateless JWTs (so the CLI can mint them while the node holds the embedded
-- database); only revocations are stored, and every authenticated request checks this table.
CREATE TABLE token_revocation (
  token_id    uuid PRIMARY KEY,
  revoked_at  timestamptz NOT NULL DEFAULT now(),
  revoked_by  text NOT NULL
);

-- Constituency directory (§1 site, POC).
CREATE TABLE site (
  id          uuid PRIMARY KEY,
  name        text NOT NULL,
  description text,
  pocs        jsonb NOT NULL DEFAULT '[]',
  version     integer NOT NULL DEFAULT 1,
  created_at  timestamptz NOT NULL DEFAULT now(),
  updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX site_name_id ON site (name, id);  -- keyset pages of the directory

CREATE TABLE site_network (
  id       bigserial PRIMARY KEY,
  site_id  uuid NOT NULL REFERENCES site (id) ON DELETE CASCADE,
  network  cidr NOT NULL
);
-- "Which prefixes contain this address" (>>=) through a space-partitioned GiST (SP-GiST)
-- over inet_ops: measured 1.6-2.5x faster than plain GiST at a million prefixes (ADR 0006).
CREATE INDEX site_network_spgist ON site_network USING spgist (network inet_ops);
CREATE INDEX site_network_site ON site_network (site_id);

CREATE TABLE site_asn (
  id       bigserial PRIMARY KEY,
  site_id  uuid NOT NULL REFERENCES site (id) ON DELETE CASCADE,
  asn      bigint NOT NULL CHECK (asn BETWEEN 0 AND 4294967295)
);
CREATE INDEX site_asn_asn ON site_asn (asn);
CREATE INDEX site_asn_site ON site_asn (site_id);

CREATE TABLE site_domain (
  id       bigserial PRIMARY KEY,
  site_id  uuid NOT NULL REFERENCES site (id) ON DELETE CASCADE,
  domain   text NOT NULL CHECK (domain = lower(domain))
);
CREATE INDEX site_domain_domain ON site_domain (domain);
CREATE INDEX site_domain_site ON site_domain (site_id);

-- Reference numbers <PREFIX>#<YEAR>-<SEQ>: the counter row is locked by the transaction that
-- creates the incident, so numbers are assigned in order, and a rolled-back creation gives its
-- number back: no duplicates, no gaps.
CREATE TABLE reference_counter (
  prefix    text NOT NULL,
  year      integer NOT NULL,
  last_seq  integer NOT NULL,
  PRIMARY KEY (prefix, year)
);

CREATE TABLE incident (
  id                  uuid PRIMARY KEY,
  seq                 bigserial UNIQUE,
  ref                 text NOT NULL UNIQUE,
  title               text NOT NULL,
  summary             text,
  phase               text NOT NULL,
  category            text NOT NULL,
  type                text,
  severity            text NOT NULL,
  tlp                 text NOT NULL,
  first_seen          timestamptz,
  last_seen           timestamptz,
  reporter            jsonb NOT NULL,
  poc                 jsonb,
  hosts               jsonb NOT NULL DEFAULT '[]',
  intruder_activity   text,
  vulnerabilities     jsonb NOT NULL DEFAULT '[]',
  system_changes      jsonb NOT NULL DEFAULT '[]',
  installed_software  jsonb NOT NULL DEFAULT '[]',
  evidence            jsonb NOT NULL DEFAULT '[]',
  indicators          jsonb NOT NULL DEFAULT '[]',
  version             integer NOT NULL DEFAULT 1,
  created_by          text NOT NULL,
  created_at          timestamptz NOT NULL,
  updated_at          timestamptz NOT NULL
);
CREATE INDEX incident_updated ON incident (updated_at, seq);
CREATE INDEX incident_phase ON incident (phase);
CREATE INDEX incident_category ON incident (category);

-- Search tables kept in step with incident.hosts / incident.indicators by the repository.
CREATE TABLE incident_host (
  incident_id  uuid NOT NULL REFERENCES incident (id) ON DELETE CASCADE,
  ip           inet,
  hostname     text
);
CREATE INDEX incident_host_ip ON incident_host USING gist (ip inet_ops);
CREATE INDEX incident_host_name ON incident_host (lower(hostname));
CREATE INDEX incident_host_incident ON incident_host (incident_id);

CREATE TABLE incident_indicator (
  incident_id  uuid NOT NULL REFERENCES incident (id) ON DELETE CASCADE,
  kind         text NOT NULL,
  value        text NOT NULL
);
CREATE INDEX incident_indicator_value ON incident_indicator (lower(value));
CREATE INDEX incident_indicator_incident ON incident_indicator (incident_id);

-- Other teams' reference numbers for the same incident (§7).
CREATE TABLE incident_external_ref (
  incident_id  uuid NOT NULL REFERENCES incident (id) ON DELETE CASCADE,
  team_id      text NOT NULL,
  ref          text NOT NULL,
  PRIMARY KEY (incident_id, team_id)
);
CREATE INDEX incident_external_ref_ref ON incident_external_ref (ref);

-- Append-only journal: who did what, when. The trigger makes "append-only" a property of the
-- database, not a promise of the code.
CREATE TABLE journal_entry (
  id           bigserial PRIMARY KEY,
  incident_id  uuid NOT NULL REFERENCES incident (id) ON DELETE RESTRICT,
  at           timestamptz NOT NULL,
  actor        text NOT NULL,
  actor_team   text NOT NULL,
  kind         text NOT NULL,
  changes      jsonb,
  note         text
);
CREATE INDEX journal_entry_incident ON journal_entry (incident_id, id);

CREATE FUNCTION forbid_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only', TG_TABLE_NAME USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER journal_entry_append_only BEFORE UPDATE OR DELETE ON journal_entry
  FOR EACH ROW EXECUTE FUNCTION forbid_change();
