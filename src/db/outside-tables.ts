import type { ColumnType } from 'kysely';

/** The outside recipients' tables (migration 0028, ADR 0023), composed into DatabaseSchema in tables.ts. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;
type Json<T> = ColumnType<T, string, string>;

export interface LawEnforcementRequestTable {
  id: string;
  origin: string;
  agency: string;
  agency_name: string;
  officer: ColumnType<{ name: string; contact: string } | null, string | null, string | null>;
  legal_basis: string;
  scope: Json<{ incidents: string[]; sections: string[] | null; information: string | null }>;
  deadline: NullableTimestamp;
  received_at: NullableTimestamp;
  request_text: string | null;
  state: string;
  recorded_by: string;
  recorded_at: Timestamp;
  decided_by: string | null;
  decided_at: NullableTimestamp;
  decision_basis: string | null;
  decline_reason: string | null;
}

export interface LawEnforcementPackageTable {
  id: string;
  request_id: string;
  agency: string;
  summary: Json<Array<{ id: string; ref: string; tlp: string; detail: string; redactions: string[] }>>;
  canonical_json: string;
  json_signature: string;
  text_rendering: string;
  text_signature: string;
  signer_fingerprint: string;
  payload_sha256: string;
  created_by: string;
  created_at: Timestamp;
}

export interface PressStatementTable {
  id: string;
  title: string;
  body: string;
  incidents: Json<string[]>;
  state: string;
  drafted_by: string;
  drafted_at: Timestamp;
  approved_by: string | null;
  published_at: NullableTimestamp;
  withdrawn_by: string | null;
  withdrawn_at: NullableTimestamp;
  withdrawal_reason: string | null;
}
