import type { ColumnType } from 'kysely';

/** Handler accounts and their sessions (migration 0039, ADR 0029), composed into DatabaseSchema in tables.ts. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;

export interface HandlerAccountTable {
  name: string;
  display_name: string;
  role: string;
  password_hash: string;
  totp_secret: string | null;
  /** bigint: the driver may answer a string; the repository converts. */
  totp_last_step: ColumnType<string | number | null, number | null, number | null>;
  language: string;
  disabled: ColumnType<boolean, boolean | undefined, boolean>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface HandlerSessionTable {
  id_hash: string;
  account_name: string;
  csrf_hash: string;
  created_at: Timestamp;
  last_seen_at: Timestamp;
  expires_at: Timestamp;
}
