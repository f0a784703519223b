-- Campaigns: a feed of many events turned into one incident and one notification per site and
-- period (issue 19 part 4, ADR 0027).
--   campaign_event: each event filed, by site, period and event key (address or name or AS,
--                   port, protocol): a later run of the same or an overlapping feed files only
--                   what is new. Written in the same transaction as the incident it went into,
--                   so a crash mid-campaign leaves no event both filed and unrecorded.
--   campaign_incident: the incident each site and period got in a run, and whether its
--                   notification was proposed yet: a run that crashed between filing and
--                   proposing is finished by the next run.
--   campaign_run:   one row per filing run (not dry runs): counts and the input's digest, never rows.
CREATE TABLE campaign_event (
  campaign     text NOT NULL,
  site_id      uuid NOT NULL,
  period       text NOT NULL,
  event_key    text NOT NULL,
  incident_id  uuid NOT NULL REFERENCES incident (id),
  filed_at     timestamptz NOT NULL,
  PRIMARY KEY (campaign, site_id, period, event_key)
);
CREATE INDEX campaign_event_incident ON campaign_event (incident_id);

CREATE TABLE campaign_run (
  id            uuid PRIMARY KEY,
  campaign      text NOT NULL,
  at            timestamptz NOT NULL,
  actor         text NOT NULL,
  input_sha256  text NOT NULL,
  counts        jsonb NOT NULL
);
CREATE INDEX campaign_run_campaign ON campaign_run (campaign, at);

CREATE TABLE campaign_incident (
  incident_id  uuid PRIMARY KEY REFERENCES incident (id),
  campaign     text NOT NULL,
  site_id      uuid NOT NULL,
  period       text NOT NULL,
  created_at   timestamptz NOT NULL,
  proposed_at  timestamptz
);
CREATE INDEX campaign_incident_unproposed ON campaign_incident (campaign) WHERE proposed_at IS NULL;
