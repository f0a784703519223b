import type { ColumnType } from 'kysely';

/** The campaign tables (migration 0032, ADR 0027), composed into DatabaseSchema in tables.ts. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface CampaignEventTable {
  campaign: string;
  site_id: string;
  period: string;
  event_key: string;
  incident_id: string;
  filed_at: Timestamp;
}

export interface CampaignRunCounts {
  rows: number;
  events: number;
  rejected: number;
  unmatched: number;
  duplicates: number;
  alreadyFiled: number;
  sites: number;
  incidents: number;
  notifications: number;
}

export interface CampaignRunTable {
  id: string;
  campaign: string;
  at: Timestamp;
  actor: string;
  input_sha256: string;
  counts: ColumnType<CampaignRunCounts, string, string>;
}

export interface CampaignIncidentTable {
  incident_id: string;
  campaign: string;
  site_id: string;
  period: string;
  created_at: Timestamp;
  proposed_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
}
