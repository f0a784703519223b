import type { ColumnType, Generated } from 'kysely';
import type { MailOutboxColumns } from './mail-tables.js';

/** Vendor coordination and CSAF advisories (migration 0029), composed into DatabaseSchema in tables.ts. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Jsonb<T> = ColumnType<T, string, string>;

export interface VendorTable {
  id: string;
  name: string;
  team_id: string | null;
  email: string | null;
  public_key: string | null;
  fingerprint: string | null;
  created_at: Timestamp;
  created_by: string;
  updated_at: Timestamp;
}

export interface VulnerabilityCaseTable {
  id: string;
  title: string;
  description: string;
  tlp: string;
  incident_refs: Jsonb<string[]>;
  products: Jsonb<Array<{ vendor: string; product: string; versions: string[] }>>;
  cve_ids: Jsonb<string[]>;
  embargo_until: ColumnType<Date | null, Date | string | null, Date | string | null>;
  parties: Jsonb<string[]>;
  version: number;
  created_at: Timestamp;
  created_by: string;
  updated_at: Timestamp;
}

export interface VendorQuestionTable {
  id: string;
  direction: string;
  case_id: string;
  vendor_id: string | null;
  asker_team: string | null;
  channel: string;
  state: string;
  message_id: string | null;
  remote_question: string | null;
  content: Jsonb<object>;
  tlp: string;
  created_at: Timestamp;
  created_by: string;
}

export interface VendorStatementTable {
  seq: Generated<string>;
  direction: string;
  case_id: string;
  vendor_id: string;
  product: string;
  status: string;
  fixed_versions: Jsonb<string[]>;
  statement_text: string | null;
  provenance: string;
  signed_text: string | null;
  message_id: string | null;
  recorded_at: Timestamp;
  recorded_by: string;
}

export interface CsafAdvisoryTable {
  case_id: string;
  tracking_id: string;
  edits: Jsonb<object>;
  version: number;
  revision_history: Jsonb<object[]>;
  initial_release: ColumnType<Date | null, Date | string | null, Date | string | null>;
  current_release: ColumnType<Date | null, Date | string | null, Date | string | null>;
  document_text: string | null;
  signature: string | null;
  folder: string | null;
  published_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** The vendor questions' own mail outbox (migration 0034). */
export interface VendorMailOutboxTable extends MailOutboxColumns {
  question_id: string;
}
