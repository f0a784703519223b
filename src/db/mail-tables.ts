import type { ColumnType, Generated } from 'kysely';

/** The e-mail channel's table (migration 0030), composed into DatabaseSchema in tables.ts. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;

/** Incoming mail that could not be filed, kept whole with the reason. */
export interface QuarantinedMailTable {
  id: string;
  seq: Generated<number>;
  envelope_from: string | null;
  header_from: string | null;
  message_id: string | null;
  reason: string;
  detail: string;
  issuer_fingerprint: string | null;
  raw: string;
  size_bytes: number;
  source_address: string | null;
  state: ColumnType<string, string | undefined, string>;
  received_at: Timestamp;
  /** Migration 0035: an admin's acceptance or rejection. */
  decided_by: ColumnType<string | null, string | null | undefined, string | null>;
  decided_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
  decision_note: ColumnType<string | null, string | null | undefined, string | null>;
}

/** A report a person wrote and mailed, and the incident it was filed as. */
export interface MailReportTable {
  peer_team: string;
  digest: string;
  incident_id: string;
  received_at: Timestamp;
}

/**
 * The columns of a module's own plain mail outbox: one composed mail per row, handed over by the
 * exchange's hand-over loop through mailOutboxTableStore (exchange/mail-outbox-table.repository.ts).
 */
export interface MailOutboxColumns {
  state: string;
  envelope_from: string;
  envelope_to: string;
  raw: string;
  encrypted: boolean;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Timestamp;
  last_error: ColumnType<string | null, string | null | undefined, string | null>;
  send_uncertain: ColumnType<boolean, boolean | undefined, boolean>;
  queued_at: Timestamp;
  sent_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

/** A receipt mailed to the person who mailed a report (migration 0036): its own mail outbox row. */
export interface MailReportReceiptTable extends MailOutboxColumns {
  id: string;
  incident_id: string;
  report_key: string;
  peer_team: string;
  /** A receipt owed while no mail is configured: its text and headers, composed once mail is (migration 0038). */
  unsent: ColumnType<string | null, string | null | undefined, string | null>;
}
