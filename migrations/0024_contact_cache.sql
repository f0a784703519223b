-- Contact determination (issue 15 part 1): what the outside sources said (a domain's
-- security.txt, an RDAP answer, the IANA RDAP bootstrap files, a zone's SOA), kept until it
-- expires so that a route plan asked again contacts nobody, and a failure is kept for a short
-- while so that a dead server is not asked on every lookup. One row per source and lookup key;
-- a new answer replaces the old one.
CREATE TABLE contact_cache (
  source      text NOT NULL CHECK (source IN ('security-txt', 'rdap', 'rdap-bootstrap', 'soa')),
  lookup_key  text NOT NULL CHECK (length(lookup_key) BETWEEN 1 AND 300),
  result      jsonb NOT NULL,
  fetched_at  timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL,
  PRIMARY KEY (source, lookup_key),
  CHECK (expires_at >= fetched_at)
);
-- Expired rows are purged by age when new ones are written.
CREATE INDEX contact_cache_expires ON contact_cache (expires_at);
