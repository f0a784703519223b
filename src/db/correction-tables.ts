import type { ColumnType } from 'kysely';

/** The corrections' tables (migration 0025), composed into DatabaseSchema in tables.ts. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type NullableTimestamp = ColumnType<Date | null, Date | string | null, Date | string | null>;

/** A correction issued here, applied to a copy here, or kept until the report it corrects arrives. */
export interface IncidentCorrectionTable {
  row_id: string;
  correction_id: string;
  incident_id: string | null;
  originator: string;
  originator_ref: string;
  kind: string;
  statement: ColumnType<object, string, string>;
  originator_key: string | null;
  received_from: string | null;
  received_ref: string | null;
  message_id: string | null;
  state: string;
  outcome: string | null;
  created_at: Timestamp;
  applied_at: NullableTimestamp;
}

/** A holder's acknowledgement of a correction (its receipt, or a forwarder's incident.correction-ack). */
export interface IncidentCorrectionAckTable {
  correction_id: string;
  holder: string;
  via: string;
  status: string;
  holder_ref: string | null;
  message_id: string;
  at: Timestamp;
}
