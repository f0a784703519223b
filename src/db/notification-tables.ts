import type { ColumnType } from 'kysely';

/** The site notifications' tables (migrations 0031 and 0033, ADR 0026), composed into DatabaseSchema in tables.ts. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;
type Json<T> = ColumnType<T, string, string>;
type NullableJson<T> = ColumnType<T | null, string | null, string | null>;
type Defaulted<T> = ColumnType<T, T | undefined, T>;

export interface SiteNotificationTable {
  id: string;
  incident_id: string;
  site_id: string;
  site_name: string;
  state: string;
  reason: string | null;
  denied_by: Json<string[]>;
  reasons: Json<string[]>;
  tlp: string | null;
  poc_name: string | null;
  poc_email: string | null;
  language: string;
  counter_measure: string | null;
  advice: string | null;
  content: NullableJson<unknown>;
  payload_sha256: string | null;
  encrypted: boolean | null;
  message_id: string | null;
  send_uncertain: Defaulted<boolean>;
  proposed_by: string;
  proposed_at: Timestamp;
  approved_by: string | null;
  approved_at: NullableTimestamp;
  sent_at: NullableTimestamp;
  outcome_at: NullableTimestamp;
  outcome_by: string | null;
  outcome_detail: string | null;
  updated_at: Timestamp;
  /** The notification to the same site and incident this one follows up (migration 0033); null: the first. */
  follows: Defaulted<string | null>;
  /** email: the signed mail; node: a site.notification through the exchange to peer_team (migration 0037). */
  channel: Defaulted<string>;
  peer_team: Defaulted<string | null>;
}

export interface NotificationOutboxTable {
  notification_id: string;
  state: string;
  envelope_from: string;
  envelope_to: string;
  raw: string;
  attempts: Defaulted<number>;
  next_attempt_at: Timestamp;
  last_error: string | null;
  queued_at: Timestamp;
  sent_at: NullableTimestamp;
}

export interface SiteContactTable {
  email: string;
  public_key: string | null;
  fingerprint: string | null;
  failing: Defaulted<boolean>;
  last_bounce_reason: string | null;
  last_bounce_at: NullableTimestamp;
  key_set_by: string | null;
  updated_at: Timestamp;
}

/** Migration 0041: a site node the exchange gave up on, as a failing contact. */
export interface SiteNodeContactTable {
  team_id: string;
  failing: Defaulted<boolean>;
  last_failure_reason: string | null;
  last_failure_at: NullableTimestamp;
  updated_at: Timestamp;
}

export interface CounterMeasureTable {
  id: string;
  title: string;
  category: string | null;
  types: Json<string[]>;
  texts: Json<Partial<Record<'en' | 'ja', string>>>;
  updated_by: string;
  updated_at: Timestamp;
}

/** A notification our coordinator's node sent us about our own hosts (migration 0037). */
export interface ReceivedSiteNotificationTable {
  id: string;
  from_team: string;
  message_id: string;
  remote_notification: string;
  sender_ref: string;
  tlp: string;
  language: string;
  content: Json<unknown>;
  text: string;
  follows: string | null;
  state: string;
  answered_by: string | null;
  answered_at: NullableTimestamp;
  received_at: Timestamp;
}
