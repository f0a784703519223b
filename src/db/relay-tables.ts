import type { ColumnType } from 'kysely';

/** The relays' tables (migration 0026), composed into DatabaseSchema in tables.ts. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Jsonb<T> = ColumnType<T, string, string>;

/** A relay this node takes part in, keyed by the originator's signed report. */
export interface RelayTable {
  origin_team: string;
  origin_id: string;
  origin_ref: string;
  role: string;
  state: string;
  incident_id: string;
  requested_from: string | null;
  requested_ref: string | null;
  via: string | null;
  target: Jsonb<object>;
  target_team: string | null;
  target_ref: string | null;
  message_id: string | null;
  receipt: string | null;
  reasons: ColumnType<string[], string | undefined, string>;
  denied_by: ColumnType<string[], string[] | undefined, string[]>;
  refused_by: string | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** The signed hops a received copy came with, and what this node found when it checked them. */
export interface IncidentSignedProvenanceTable {
  incident_id: string;
  hops: Jsonb<object[]>;
  verification: Jsonb<object[]>;
  received_at: Timestamp;
}
