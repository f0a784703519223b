import type { ColumnType, Generated, JSONColumnType } from 'kysely';

/** The forum tables (migrations 0020, 0022, 0023), composed into DatabaseSchema in tables.ts. */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
type Json<T extends object | null> = JSONColumnType<T, string, string>;

/** Applications and sponsorships the operator received (migration 0023). */
export interface ForumApplicationTable {
  forum_id: string;
  team_id: string;
  statement: string;
  contact: ColumnType<unknown, string | null | undefined, string | null>;
  message_id: string;
  document: string;
  signature: string;
  received_at: Timestamp;
}
export interface ForumSponsorshipTable {
  forum_id: string;
  candidate: string;
  sponsor: string;
  fingerprint: string;
  withdrawn: ColumnType<boolean, boolean | undefined, boolean>;
  message_id: string;
  document: string;
  signature: string;
  received_at: Timestamp;
}

/** Forums (migration 0020). */
export interface ForumTable {
  id: string;
  name: string;
  operator_team: string;
  our_role: string;
  sponsors_needed: ColumnType<number, number | undefined, number>;
  roster_version: ColumnType<string | number, number | undefined, number>;
  created_at: Timestamp;
  created_by: string;
  updated_at: Timestamp;
}
export interface ForumRosterTable {
  forum_id: string;
  version: ColumnType<string | number, number, number>;
  document: string;
  signature: string;
  member_count: number;
  received_from: string;
  received_at: Timestamp;
}
export interface ForumMemberTable {
  forum_id: string;
  team_id: string;
  kind: string;
  status: ColumnType<string, string | undefined, string>;
  sponsors: ColumnType<string[], string[] | undefined, string[]>;
  contact: ColumnType<unknown, string | null | undefined, string | null>;
  admitted_at: Timestamp;
  updated_at: Timestamp;
  updated_by: string;
}

/** Inquiries to all members of a forum (migration 0022). */
export interface ForumInquiryTable {
  id: string;
  inquiry_id: string;
  direction: string;
  forum_id: string;
  poster_team: string;
  message_id: string | null;
  question: string;
  subjects: Json<object>;
  tlp: string;
  incident_id: string | null;
  poster_ref: string | null;
  created_at: Timestamp;
  created_by: string;
}
export interface ForumInquiryMemberTable {
  inquiry_id: string;
  team_id: string;
  outcome: string;
  reason: string | null;
  message_id: string | null;
}
export interface ForumInquiryMatchTable {
  inquiry_id: string;
  target_kind: string;
  target_id: string;
  label: string;
  matched_on: string;
  value: string;
}
export interface ForumInquiryAnswerTable {
  seq: Generated<string | number>;
  inquiry_id: string;
  team_id: string;
  answer: string;
  ref: string | null;
  note: string | null;
  automatic: ColumnType<boolean, boolean | undefined, boolean>;
  message_id: string | null;
  created_at: Timestamp;
  created_by: string;
}
