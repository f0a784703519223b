-- Notifications to the constituency's sites (issue 19 parts 1 to 3; ADR 0026).
--
-- One notification per incident and site: what the sharing policy decided for that site, the
-- content that concerns the site alone (its own hosts, the indicators that are its own or no
-- site's, CVE ids: never the title, summary, reporter or evidence), the advice, and where it is
-- in its life: drafted, refused (the policy said no: denied_by), unreachable (no usable address:
-- reason), approved, sent, delivered, bounced, acknowledged, answered.
CREATE TABLE site_notification (
  id               uuid PRIMARY KEY,
  incident_id      uuid NOT NULL REFERENCES incident (id) ON DELETE CASCADE,
  -- No foreign key: a site removed from the directory leaves the record of what it was told.
  site_id          uuid NOT NULL,
  site_name        text NOT NULL,
  state            text NOT NULL CHECK (state IN ('drafted', 'refused', 'unreachable', 'approved', 'sent', 'delivered',
                                                  'bounced', 'acknowledged', 'answered')),
  -- refused: the policy's deniedBy ids; unreachable: one stable reason code.
  reason           text CHECK (length(reason) <= 64),
  denied_by        jsonb NOT NULL DEFAULT '[]',
  reasons          jsonb NOT NULL DEFAULT '[]',
  tlp              text,
  poc_name         text,
  poc_email        text CHECK (poc_email IS NULL OR length(poc_email) <= 254),
  language         text NOT NULL CHECK (language IN ('ja', 'en')),
  counter_measure  text,
  advice           text CHECK (length(advice) <= 20000),
  content          jsonb,
  payload_sha256   text,
  encrypted        boolean,
  message_id       text CHECK (length(message_id) <= 998),
  -- Set when the node stopped while handing the mail over: the server may or may not have it.
  send_uncertain   boolean NOT NULL DEFAULT false,
  proposed_by      text NOT NULL,
  proposed_at      timestamptz NOT NULL,
  approved_by      text,
  approved_at      timestamptz,
  sent_at          timestamptz,
  outcome_at       timestamptz,
  outcome_by       text,
  outcome_detail   text CHECK (length(outcome_detail) <= 1000),
  updated_at       timestamptz NOT NULL
);
-- One notification per incident and site: proposing again refreshes it, never duplicates it.
CREATE UNIQUE INDEX site_notification_incident_site ON site_notification (incident_id, site_id);
CREATE UNIQUE INDEX site_notification_message ON site_notification (message_id) WHERE message_id IS NOT NULL;

-- The notifications' own outbox: the composed mail (signed, encrypted where the label needs it),
-- kept so every attempt hands over the same bytes with the same Message-ID.
-- queued -> handing-over -> sent. While handing-over, next_attempt_at is the end of the claim's
-- lease; a row still handing-over past it (the process died) is NOT sent again (at-most-once,
-- ADR 0026): the notification is marked send_uncertain instead.
CREATE TABLE notification_outbox (
  notification_id  uuid PRIMARY KEY REFERENCES site_notification (id) ON DELETE CASCADE,
  state            text NOT NULL CHECK (state IN ('queued', 'handing-over', 'sent')),
  envelope_from    text NOT NULL,
  envelope_to      text NOT NULL,
  raw              text NOT NULL,
  attempts         integer NOT NULL DEFAULT 0,
  next_attempt_at  timestamptz NOT NULL,
  last_error       text CHECK (length(last_error) <= 500),
  queued_at        timestamptz NOT NULL,
  sent_at          timestamptz
);
CREATE INDEX notification_outbox_due ON notification_outbox (state, next_attempt_at);
-- Hand-overs per receiving domain in the last hour (HIKESHI_MAIL_PER_DOMAIN_PER_HOUR, ADR 0027).
CREATE INDEX notification_outbox_domain ON notification_outbox (lower(split_part(envelope_to, '@', 2)), sent_at);

-- The e-mail addresses of the sites' POCs as the node knows them beyond the directory: a pinned
-- OpenPGP key (for labels that must travel encrypted) and whether mail to it bounces.
CREATE TABLE site_contact (
  email              text PRIMARY KEY CHECK (length(email) BETWEEN 3 AND 254 AND email = lower(email)),
  public_key         text,
  fingerprint        text CHECK (fingerprint IS NULL OR length(fingerprint) = 40),
  failing            boolean NOT NULL DEFAULT false,
  last_bounce_reason text CHECK (length(last_bounce_reason) <= 500),
  last_bounce_at     timestamptz,
  key_set_by         text,
  updated_at         timestamptz NOT NULL
);

-- Counter-measure templates the team wrote: they override a built-in one of the same id or add
-- new ones. texts: {"en": "...", "ja": "..."}; types: RSIT types it is for (empty: the category).
CREATE TABLE counter_measure (
  id          text PRIMARY KEY CHECK (id ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
  title       text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
  category    text,
  types       jsonb NOT NULL DEFAULT '[]',
  texts       jsonb NOT NULL,
  updated_by  text NOT NULL,
  updated_at  timestamptz NOT NULL
);
