import type { ColumnType, Generated, JSONColumnType } from 'kysely';
import type {
  ForumApplicationTable,
  ForumSponsorshipTable,
  ForumTable,
  ForumRosterTable,
  ForumMemberTable,
  ForumInquiryTable,
  ForumInquiryMemberTable,
  ForumInquiryMatchTable,
  ForumInquiryAnswerTable,
} from './forum-tables.js';
import type { ContactCacheTable } from './contact-tables.js';
import type { FormatPullCursorTable, ImportedObjectTable } from './format-tables.js';
import type { IncidentCorrectionAckTable, IncidentCorrectionTable } from './correction-tables.js';
import type { IncidentSignedProvenanceTable, RelayTable } from './relay-tables.js';
import type {
  CsafAdvisoryTable,
  VendorMailOutboxTable,
  VendorQuestionTable,
  VendorStatementTable,
  VendorTable,
  VulnerabilityCaseTable,
} from './vendor-tables.js';
import type { LawEnforcementPackageTable, LawEnforcementRequestTable, PressStatementTable } from './outside-tables.js';
import type {
  CounterMeasureTable,
  NotificationOutboxTable,
  ReceivedSiteNotificationTable,
  SiteContactTable,
  SiteNodeContactTable,
  SiteNotificationTable,
} from './notification-tables.js';
import type { MailReportReceiptTable, MailReportTable, QuarantinedMailTable } from './mail-tables.js';
import type { CampaignEventTable, CampaignIncidentTable, CampaignRunTable } from './campaign-tables.js';
import type { HandlerAccountTable, HandlerSessionTable } from './account-tables.js';

/**
 * One interface per table, composed into the database type Kysely checks queries against.
 * Rows are mapped to domain objects explicitly in each repository, so SQL names (snake_case)
 * never leak into the wire contract (camelCase).
 */
type Timestamp = ColumnType<Date, Date | string, Date | string>;
/** A timestamp with a database default: optional on insert. */
type DefaultTimestamp = ColumnType<Date, Date | string | undefined, Date | string>;
type Json<T extends object | null> = JSONColumnType<T, string, string>;
type NullableJson<T extends object> = ColumnType<T | null, string | null, string | null>;

export interface TeamProfileTable {
  singleton: Generated<boolean>;
  team_id: string;
  profile: Json<object>;
  public_key: string;
  fingerprint: string;
  updated_at: DefaultTimestamp;
}

export interface TokenRevocationTable {
  token_id: string;
  revoked_at: DefaultTimestamp;
  revoked_by: string;
}

export interface SiteTable {
  id: string;
  name: string;
  description: string | null;
  pocs: Json<unknown[]>;
  /** The peer team that runs the site's own node (migration 0037); null: the site is told by mail. */
  team_id: ColumnType<string | null, string | null | undefined, string | null>;
  version: Generated<number>;
  created_at: DefaultTimestamp;
  updated_at: DefaultTimestamp;
}

export interface SiteNetworkTable {
  id: Generated<number>;
  site_id: string;
  network: string;
}
export interface SiteAsnTable {
  id: Generated<number>;
  site_id: string;
  asn: number;
}
export interface SiteDomainTable {
  id: Generated<number>;
  site_id: string;
  domain: string;
}

export interface ReferenceCounterTable {
  prefix: string;
  year: number;
  last_seq: number;
}

export interface IncidentTable {
  id: string;
  seq: Generated<number>;
  ref: string;
  title: string;
  summary: string | null;
  phase: string;
  category: string;
  type: string | null;
  severity: string;
  tlp: string;
  first_seen: Timestamp | null;
  last_seen: Timestamp | null;
  /** firstSeen and lastSeen as written (with their offset): migration 0018. */
  first_seen_text: string | null;
  last_seen_text: string | null;
  reporter: Json<object>;
  poc: NullableJson<object>;
  hosts: Json<unknown[]>;
  intruder_activity: string | null;
  vulnerabilities: Json<unknown[]>;
  system_changes: Json<unknown[]>;
  installed_software: Json<unknown[]>;
  evidence: Json<unknown[]>;
  indicators: Json<unknown[]>;
  /** A retracted report (migration 0025): who retracted it, when and why; null while it stands. */
  retraction: ColumnType<object | null, string | null | undefined, string | null>;
  version: Generated<number>;
  created_by: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  /** Position of the incident's latest journalled change (migration 0007): the transaction (xid8, as text), then the order within it. */
  change_xid: Generated<string>;
  change_seq: Generated<string>;
}

export interface IncidentHostTable {
  incident_id: string;
  ip: string | null;
  hostname: string | null;
}

export interface IncidentIndicatorTable {
  incident_id: string;
  kind: string;
  value: string;
}

export interface IncidentExternalRefTable {
  incident_id: string;
  team_id: string;
  ref: string;
}

/** An incident under legal hold (migration 0014): its personal data may not be erased (ADR 0013). */
export interface IncidentLegalHoldTable {
  incident_id: string;
  reason: string;
  set_by: string;
  set_at: Timestamp;
}

export interface JournalEntryTable {
  id: Generated<number>;
  incident_id: string;
  at: Timestamp;
  actor: string;
  actor_team: string;
  kind: string;
  changes: NullableJson<object>;
  note: string | null;
}

/** Hash-chained, append-only (migration 0004): no column is updatable, even in the types. */
export interface AuditEntryTable {
  seq: ColumnType<number, number, never>;
  at: ColumnType<Date, string, never>;
  kind: ColumnType<string, string, never>;
  actor: ColumnType<string, string, never>;
  incident_id: ColumnType<string | null, string | null, never>;
  peer: ColumnType<string | null, string | null, never>;
  decision: ColumnType<string | null, string | null, never>;
  details: ColumnType<Record<string, unknown>, string, never>;
  prev_hash: ColumnType<string, string, never>;
  hash: ColumnType<string, string, never>;
}

export interface PeerTable {
  team_id: string;
  name: string;
  /** Null for a team without a node (kind mail, migration 0038). */
  url: string | null;
  fingerprint: string;
  public_key: string;
  relationship: string;
  trust_level: string;
  assurance: string;
  status: string;
  profile_requires_sealed: boolean;
  seal_always: boolean;
  signed_profile: string | null;
  profile_fetched_at: Timestamp | null;
  pending_fingerprint: string | null;
  pending_public_key: string | null;
  pending_profile: string | null;
  key_changed_at: Timestamp | null;
  verified_at: Timestamp | null;
  verified_by: string | null;
  added_at: Timestamp;
  added_by: string;
  updated_at: Timestamp;
  email: ColumnType<string | null, string | null | undefined, string | null>;
  mail_only: ColumnType<boolean, boolean | undefined, boolean>;
  /** node: added from its node's signed profile; mail: a team without a node (migration 0038). */
  kind: ColumnType<string, string | undefined, string>;
}

export interface PeerKeyTable {
  team_id: string;
  fingerprint: string;
  public_key: string;
  how: string;
  pinned_at: Timestamp;
  pinned_by: string;
  retired_at: Timestamp | null;
}

/** Federation exchange (migration 0003). */
export interface IncidentLinkTable {
  incident_id: string;
  peer_team: string;
  direction: string;
  peer_ref: string | null;
  report_message_id: string | null;
  created_at: Timestamp;
  created_by: string;
}
export interface OutboundMessageTable {
  id: string;
  seq: Generated<number>;
  peer_team: string;
  incident_id: string | null;
  type: string;
  tlp: string;
  document: string;
  signature: string;
  state: ColumnType<string, string | undefined, string>;
  attempts: ColumnType<number, number | undefined, number>;
  next_attempt_at: Timestamp;
  last_attempt_at: Timestamp | null;
  last_error: string | null;
  receipt: string | null;
  receipt_status: string | null;
  peer_ref: string | null;
  delivered_at: Timestamp | null;
  failed_at: Timestamp | null;
  created_at: Timestamp;
  erased_at: Timestamp | null;
  document_sha256: string | null;
  channel: ColumnType<string | null, string | null | undefined, string | null>;
  /** The mail that carried it to a team without a node (migration 0038). */
  mail_message_id: ColumnType<string | null, string | null | undefined, string | null>;
  sent_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}
export interface InboundMessageTable {
  seq: Generated<number>;
  sender: string;
  message_id: string;
  type: string;
  /** As received (a sealed message's opened envelope); the canonical document is derived from it. */
  envelope: string;
  signature: string;
  signer_fingerprint: string;
  sealed: boolean;
  incident_id: string | null;
  receipt_document: string | null;
  receipt: string | null;
  receipt_status: string | null;
  received_at: Timestamp;
  erased_at: Timestamp | null;
  document_sha256: string | null;
}
export interface QuarantinedMessageTable {
  id: string;
  seq: Generated<number>;
  claimed_from: string;
  message_id: string;
  type: string | null;
  envelope: string;
  sealed: boolean;
  issuer_fingerprint: string | null;
  state: ColumnType<string, string | undefined, string>;
  source_address: string | null;
  received_at: Timestamp;
  decided_at: Timestamp | null;
  decided_by: string | null;
  reason: string | null;
}
export interface InvestigationTable {
  id: string;
  direction: string;
  peer_team: string;
  incident_id: string;
  peer_ref: string | null;
  question: string;
  hosts: Json<unknown[]>;
  state: ColumnType<string, string | undefined, string>;
  finding: string | null;
  summary: string | null;
  result_hosts: NullableJson<unknown[]>;
  result_message_id: string | null;
  created_at: Timestamp;
  answered_at: Timestamp | null;
}
export interface PeerTokenRequestTable {
  peer_team: string;
  request_id: string;
  expires_at: Timestamp;
}

export interface DatabaseSchema {
  handler_account: HandlerAccountTable;
  handler_session: HandlerSessionTable;
  campaign_event: CampaignEventTable;
  campaign_incident: CampaignIncidentTable;
  campaign_run: CampaignRunTable;
  audit_entry: AuditEntryTable;
  team_profile: TeamProfileTable;
  token_revocation: TokenRevocationTable;
  site: SiteTable;
  site_network: SiteNetworkTable;
  site_asn: SiteAsnTable;
  site_domain: SiteDomainTable;
  reference_counter: ReferenceCounterTable;
  incident: IncidentTable;
  incident_host: IncidentHostTable;
  incident_indicator: IncidentIndicatorTable;
  incident_external_ref: IncidentExternalRefTable;
  journal_entry: JournalEntryTable;
  incident_legal_hold: IncidentLegalHoldTable;
  peer: PeerTable;
  peer_key: PeerKeyTable;
  incident_link: IncidentLinkTable;
  outbound_message: OutboundMessageTable;
  inbound_message: InboundMessageTable;
  quarantined_message: QuarantinedMessageTable;
  investigation: InvestigationTable;
  peer_token_request: PeerTokenRequestTable;
  trust_group: TrustGroupTable;
  trust_group_member: TrustGroupMemberTable;
  incident_policy: IncidentPolicyTable;
  law_enforcement_approval: LawEnforcementApprovalTable;
  member_activity: MemberActivityTable;
  activity_observable: ActivityObservableTable;
  related_warning: RelatedWarningTable;
  activity_withdrawal: ActivityWithdrawalTable;
  witnessed_audit_head: WitnessedAuditHeadTable;
  forum: ForumTable;
  forum_roster: ForumRosterTable;
  forum_member: ForumMemberTable;
  forum_application: ForumApplicationTable;
  forum_sponsorship: ForumSponsorshipTable;
  forum_inquiry: ForumInquiryTable;
  forum_inquiry_member: ForumInquiryMemberTable;
  forum_inquiry_match: ForumInquiryMatchTable;
  forum_inquiry_answer: ForumInquiryAnswerTable;
  key_vouch: KeyVouchTable;
  sent_introduction: SentIntroductionTable;
  contact_cache: ContactCacheTable;
  imported_object: ImportedObjectTable;
  format_pull_cursor: FormatPullCursorTable;
  incident_correction: IncidentCorrectionTable;
  incident_correction_ack: IncidentCorrectionAckTable;
  relay: RelayTable;
  incident_signed_provenance: IncidentSignedProvenanceTable;
  // Vendor coordination and CSAF advisories (migration 0029).
  vendor: VendorTable;
  vulnerability_case: VulnerabilityCaseTable;
  vendor_question: VendorQuestionTable;
  vendor_statement: VendorStatementTable;
  csaf_advisory: CsafAdvisoryTable;
  // Vendor questions by signed e-mail (migration 0034).
  vendor_mail_outbox: VendorMailOutboxTable;
  law_enforcement_request: LawEnforcementRequestTable;
  law_enforcement_package: LawEnforcementPackageTable;
  press_statement: PressStatementTable;
  quarantined_mail: QuarantinedMailTable;
  mail_report: MailReportTable;
  mail_report_receipt: MailReportReceiptTable;
  // Site notifications (migration 0031).
  site_notification: SiteNotificationTable;
  notification_outbox: NotificationOutboxTable;
  // Site notifications received from our coordinator's node (migration 0037).
  received_site_notification: ReceivedSiteNotificationTable;
  site_contact: SiteContactTable;
  site_node_contact: SiteNodeContactTable;
  counter_measure: CounterMeasureTable;
}

/** Trust groups and per-incident sharing facts (migration 0005). */
export interface TrustGroupTable {
  id: string;
  name: string;
  kind: string;
  description: string | null;
  our_membership: string;
  floor_full: string | null;
  floor_liaison: string | null;
  version: ColumnType<number, number | undefined, number>;
  created_at: Timestamp;
  created_by: string;
  updated_at: Timestamp;
  /** Migration 0020: the forum whose signed roster sets the members; null for a hand-kept group. */
  roster_forum: ColumnType<string | null, string | null | undefined, string | null>;
}
export interface TrustGroupMemberTable {
  group_id: string;
  team_id: string;
  level: string;
  since: Timestamp;
  source: string;
  added_by: string;
  updated_at: Timestamp;
}
export interface IncidentPolicyTable {
  incident_id: string;
  red_recipients: ColumnType<string[], string[] | undefined, string[]>;
  chosen_recipients: ColumnType<string[], string[] | undefined, string[]>;
  section_minimums: ColumnType<Record<string, string>, string | undefined, string>;
  provenance: NullableJson<unknown[]>;
  originator_team: string | null;
  originator_tlp: string | null;
  redistribution: string | null;
  relay_requested_to: ColumnType<string[], string[] | undefined, string[]>;
  version: ColumnType<number, number | undefined, number>;
  updated_at: Timestamp;
  updated_by: string;
}
export interface LawEnforcementApprovalTable {
  id: string;
  incident_id: string;
  recipient: string;
  legal_basis: string;
  approved_by: string;
  approved_at: Timestamp;
}

/** Coordination: members' activity, observables, warnings given (migration 0006). */
export interface MemberActivityTable {
  team: string;
  ref: string;
  own: boolean;
  incident_id: string | null;
  detail: string;
  category: string;
  type: string | null;
  phase: string;
  severity: string;
  tlp: string;
  first_seen: Timestamp | null;
  last_seen: Timestamp | null;
  updated: Timestamp;
  version: number;
  summary: Json<Record<string, unknown>>;
  links: Json<unknown[]>;
  message_id: string | null;
  first_received_at: Timestamp;
  received_at: Timestamp;
}
export interface ActivityObservableTable {
  team: string;
  ref: string;
  kind: string;
  value: string;
}
export interface RelatedWarningTable {
  kind: string;
  value: string;
  team: string;
  other_team: string;
  other_ref: string;
  named: boolean;
  message_id: string | null;
  warned_at: Timestamp;
}

/** A member's withdrawn summary (migration 0013): the version it was withdrawn at. */
export interface ActivityWithdrawalTable {
  team: string;
  ref: string;
  version: number;
  updated: Timestamp;
  reason: string;
  message_id: string;
  withdrawn_at: Timestamp;
}

/** Audit heads peers sent this node to witness (migration 0019), exactly as signed. */
export interface WitnessedAuditHeadTable {
  seq: Generated<number>;
  peer_team: string;
  message_id: string;
  head_seq: ColumnType<number | string, number, number>;
  head_hash: string;
  head_at: Timestamp;
  created: Timestamp;
  document: string;
  signature: string;
  conflict: ColumnType<boolean, boolean | undefined, boolean>;
  received_at: Timestamp;
}

/** Statements that a key is a team's: introductions and roster listings (migration 0021). */
export interface KeyVouchTable {
  subject_team: string;
  fingerprint: string;
  kind: string;
  voucher: string;
  message_id: string | null;
  document: string | null;
  signature: string | null;
  vouches_for: string | null;
  stated_at: Timestamp;
  created_at: Timestamp;
  updated_at: Timestamp;
  withdrawn_at: Timestamp | null;
}

/** The introductions this node sent, per recipient (migration 0021). */
export interface SentIntroductionTable {
  subject_team: string;
  fingerprint: string;
  recipient: string;
  message_id: string;
  vouches_for: string | null;
  sent_at: Timestamp;
  sent_by: string;
  withdrawn_at: Timestamp | null;
  withdrawal_message_id: string | null;
}
