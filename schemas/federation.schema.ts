import Type, { type Static } from 'typebox';
import { ContactSchema, DateTimeSchema, TlpSchema, UuidSchema, named } from './common.schema.js';
import { ActivityRelatedBodySchema, ActivitySummaryBodySchema, ActivityWithdrawnBodySchema } from './coordination.schema.js';
import { ActivitySummarySchema, POLICY_SECTIONS, PolicySectionSchema, RedactionSchema, ScrubbedSchema } from './policy.schema.js';
import { CategorySchema, HostSchema, IncidentCreateSchema, IndicatorSchema, PhaseSchema } from './incident.schema.js';
import { ForumRosterBodySchema } from './forum.schema.js';
import { ForumInquiryAnswerBodySchema, ForumInquiryBodySchema } from './forum-inquiry.schema.js';
import { ForumApplicationBodySchema, ForumSponsorshipBodySchema } from './forum-joining.schema.js';
import { IncidentCorrectionAckBodySchema, IncidentCorrectionBodySchema } from './correction.schema.js';
import {
  RelayDeliveredBodySchema,
  RelayForwardBodySchema,
  RelayRefusedBodySchema,
  RelayTargetSchema,
  ReportProvenanceHopSchema,
} from './relay.schema.js';
import { VendorQuestionBodySchema, VendorStatementBodySchema } from './vendor.schema.js';
import { SiteNotificationAnswerBodySchema, SiteNotificationBodySchema } from './notification.schema.js';

/**
 * The federation exchange on the wire: the signed envelope, the message documents nodes send
 * each other, and the /api/v1 and /federation/v1 bodies of sharing, investigations, quarantine,
 * peer tokens and the pull feed. docs/federation-protocol.md is the normative description; these
 * schemas are its machine-readable form. Every object is closed.
 *
 * A received document is checked against these schemas only AFTER its signature verified, and
 * the validator never coerces, strips or defaults anything (the signed bytes stay what they are).
 */

export const FEDERATION_PROTOCOL_VERSION = 1;

const TeamId = (description = 'A team id: lower-case letters, digits and hyphens, 2-63 characters.') =>
  Type.String({ pattern: '^[a-z0-9][a-z0-9-]{1,62}$', description });
export const FederationTeamIdSchema = TeamId();

/** RFC 3339 in UTC ("Z"), as every `created` of a message document must be. */
export const UtcDateTimeSchema = Type.String({
  format: 'date-time',
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?Z$',
  description: 'RFC 3339 date-time in UTC (ending in Z).',
});

const RefSchema = (description: string) => Type.String({ minLength: 1, maxLength: 200, description });
const ArmoredSignatureSchema = Type.String({
  minLength: 1,
  maxLength: 64 * 1024,
  description: 'Armored OpenPGP detached signature over the RFC 8785 canonical bytes of `document`.',
});

export const MESSAGE_TYPES = [
  'incident.report',
  'incident.update',
  'investigation.request',
  'investigation.result',
  'receipt',
  'key.rotation',
  'auth.token-request',
  'activity.summary',
  'activity.related',
  'activity.withdrawn',
  'feed.page',
  'audit.head',
  'forum.roster',
  'peer.introduction',
  'forum.inquiry',
  'forum.inquiry-answer',
  'forum.application',
  'forum.sponsorship',
  'incident.correction',
  'incident.correction-ack',
  'relay.forward',
  'relay.delivered',
  'relay.refused',
  // Vendor coordination (schemas/vendor.schema.ts, issue 17).
  'vendor.question',
  'vendor.statement',
  // A site's own node (schemas/notification.schema.ts, issue 19, ADR 0026).
  'site.notification',
  'site.notification-answer',
] as const;
export type MessageType = (typeof MESSAGE_TYPES)[number];

// ---------------------------------------------------------------------------------------------
// Bodies

const { phase: _phase, ...reportContent } = IncidentCreateSchema.properties;
/** The incident as the sender records it (POST /api/v1/incidents minus the phase: each team keeps its own). */
export const IncidentReportContentSchema = named('IncidentReportContent', Type.Object(reportContent, { additionalProperties: false }));
export type IncidentReportContent = Static<typeof IncidentReportContentSchema>;

export const IncidentReportBodySchema = named(
  'IncidentReportBody',
  Type.Object(
    {
      ref: RefSchema("The sender's reference number for the incident."),
      phase: PhaseSchema,
      incident: IncidentReportContentSchema,
      provenance: Type.Optional(
        Type.Array(ReportProvenanceHopSchema, {
          minItems: 1,
          maxItems: 100,
          description:
            "The path the report travelled, originator first, the sender last (its hop added when it decided to send): the receiver keeps the originator's label and limits with its copy (docs/trust-model.md §5). Absent: the sender is the originator.",
        }),
      ),
      redactions: Type.Optional(
        Type.Array(RedactionSchema, {
          maxItems: POLICY_SECTIONS.length,
          description: "Sections the sender's policy replaced by a redaction marker for this receiver, with the reason.",
        }),
      ),
      // A relay request (§5.18): the receiver is asked to pass this report, signed as it is, on to that team or address.
      relayTo: Type.Optional(RelayTargetSchema),
    },
    {
      additionalProperties: false,
      description: 'incident.report: the receiver files it under its own reference number.',
    },
  ),
);
export type IncidentReportBody = Static<typeof IncidentReportBodySchema>;

/** Fields of an incident an `updated` change may name. */
export const INCIDENT_FIELDS = [
  'title',
  'summary',
  'category',
  'type',
  'severity',
  'tlp',
  'firstSeen',
  'lastSeen',
  'reporter',
  'poc',
  'hosts',
  'intruderActivity',
  'vulnerabilities',
  'systemChanges',
  'installedSoftware',
  'evidence',
  'indicators',
] as const;

const ScalarOrNull = Type.Union([Type.String({ maxLength: 2000 }), Type.Number(), Type.Null()]);
export const FieldChangeSchema = named(
  'FieldChange',
  Type.Object(
    {
      field: Type.Enum(INCIDENT_FIELDS),
      from: Type.Optional(ScalarOrNull),
      to: Type.Optional(ScalarOrNull),
      unit: Type.Optional(Type.Literal('items', { description: 'from/to count the items of a list field.' })),
      replaced: Type.Optional(Type.Literal(true, { description: 'A long or personal field was replaced; its value is not repeated.' })),
    },
    { additionalProperties: false },
  ),
);

export const UPDATE_KINDS = ['note', 'phase-changed', 'updated'] as const;
export const IncidentChangeSchema = named(
  'IncidentChange',
  Type.Object(
    {
      kind: Type.Enum(UPDATE_KINDS),
      at: DateTimeSchema,
      actor: Type.String({
        minLength: 1,
        maxLength: 200,
        description: "Who made the change at the sender (a token subject of the sender's team).",
      }),
      note: Type.Optional(Type.String({ minLength: 1, maxLength: 20000 })),
      phase: Type.Optional(
        Type.Object(
          { from: PhaseSchema, to: PhaseSchema },
          { additionalProperties: false, description: "The sender's own phase moved; the receiver's phase does not." },
        ),
      ),
      fields: Type.Optional(Type.Array(FieldChangeSchema, { minItems: 1, maxItems: INCIDENT_FIELDS.length })),
    },
    {
      additionalProperties: false,
      description: 'A journal-like change: a note, a phase change, or a summary of field changes.',
    },
  ),
);
export type IncidentChange = Static<typeof IncidentChangeSchema>;

export const IncidentUpdateBodySchema = named(
  'IncidentUpdateBody',
  Type.Object(
    {
      ref: RefSchema("The sender's reference number for the incident."),
      peerRef: Type.Optional(RefSchema("The receiver's reference number, when the sender knows it.")),
      change: IncidentChangeSchema,
      relayedFrom: Type.Optional(
        Type.Object(
          { team: TeamId('The target team, whose change it is.'), ref: RefSchema("The target's reference number for its copy.") },
          {
            additionalProperties: false,
            description:
              "A relay passing back, towards the originator, a change the target of a relay made on its copy (§5.21): the target team, whose change it is, and its reference number. Accepted only from the team the receiver's relay went to.",
          },
        ),
      ),
    },
    {
      additionalProperties: false,
      description: 'incident.update: a later change on a shared incident, sent to every linked team.',
    },
  ),
);
export type IncidentUpdateBody = Static<typeof IncidentUpdateBodySchema>;

export const InvestigationRequestBodySchema = named(
  'InvestigationRequestBody',
  Type.Object(
    {
      ref: RefSchema("The requester's reference number for its incident."),
      peerRef: Type.Optional(RefSchema("The receiver's reference number, when the incident is already shared with it.")),
      question: Type.String({ minLength: 1, maxLength: 20000, description: 'What the receiver is asked to check.' }),
      hosts: Type.Array(HostSchema, {
        minItems: 1,
        maxItems: 1000,
        description: "Hosts in the receiver's networks to check.",
      }),
      category: Type.Optional(CategorySchema),
      indicators: Type.Optional(Type.Array(IndicatorSchema, { maxItems: 1000 })),
      contact: Type.Optional(ContactSchema),
    },
    {
      additionalProperties: false,
      description:
        '§7 "request an investigation": suspicious access is not always an attack, so ask the other side to check the facts about hosts in its network.',
    },
  ),
);
export type InvestigationRequestBody = Static<typeof InvestigationRequestBodySchema>;

export const INVESTIGATION_FINDINGS = [
  'attack-confirmed',
  'misconfiguration',
  'fault',
  'no-evidence',
  'not-our-network',
  'inconclusive',
] as const;
export const InvestigationFindingSchema = Type.Enum(INVESTIGATION_FINDINGS, {
  description: 'What the check found: an attack, a misconfiguration or fault at the source, nothing, not our network, or no conclusion.',
});

export const InvestigationResultBodySchema = named(
  'InvestigationResultBody',
  Type.Object(
    {
      requestId: UuidSchema,
      ref: RefSchema("The responder's reference number (the incident it filed or noted the request on)."),
      peerRef: RefSchema("The requester's reference number, from the request."),
      finding: InvestigationFindingSchema,
      summary: Type.String({ minLength: 1, maxLength: 20000 }),
      hosts: Type.Optional(Type.Array(HostSchema, { maxItems: 1000 })),
    },
    {
      additionalProperties: false,
      description: 'investigation.result: the answer to an investigation.request (inReplyTo is the request id).',
    },
  ),
);
export type InvestigationResultBody = Static<typeof InvestigationResultBodySchema>;

export const RECEIPT_STATUSES = ['filed', 'noted', 'applied'] as const;
export const ReceiptBodySchema = named(
  'ReceiptBody',
  Type.Object(
    {
      status: Type.Enum(RECEIPT_STATUSES, {
        description:
          'filed: a new incident; noted: recorded on an existing incident, an audit head witnessed, or an introduction kept; applied: an update, result or key rotation was applied.',
      }),
      ref: Type.Optional(RefSchema("The receiver's reference number for the incident concerned.")),
    },
    { additionalProperties: false },
  ),
);
export type ReceiptBody = Static<typeof ReceiptBodySchema>;

export const KeyRotationBodySchema = named(
  'KeyRotationBody',
  Type.Object(
    {
      newPublicKey: Type.String({
        minLength: 1,
        maxLength: 1024 * 1024,
        description: 'The new armored OpenPGP public key (v4).',
      }),
      newFingerprint: Type.String({
        pattern: '^[0-9A-F]{40}$',
        description: 'Its fingerprint, 40 upper-case hex digits.',
      }),
      newKeySignature: Type.String({
        minLength: 1,
        maxLength: 64 * 1024,
        description:
          'An armored detached signature by the NEW key over the RFC 8785 bytes of {"type":"key.rotation.proof","team":<from>,"oldFingerprint":<the key that signs this message>,"newFingerprint":<newFingerprint>}: proof that the sender holds the new key.',
      }),
    },
    {
      additionalProperties: false,
      description: 'key.rotation: signed by the OLD key, announces the new one; newKeySignature is signed by the NEW key.',
    },
  ),
);
export type KeyRotationBody = Static<typeof KeyRotationBodySchema>;

export const TokenRequestBodySchema = named(
  'TokenRequestBody',
  Type.Object({}, { additionalProperties: false, description: 'auth.token-request: no fields yet.' }),
);

/** The head of the sender's audit chain, for the receiver to witness (docs/federation-protocol.md §5.11). */
export const AuditHeadBodySchema = named(
  'AuditHeadBody',
  Type.Object(
    {
      seq: Type.Integer({
        minimum: 1,
        maximum: Number.MAX_SAFE_INTEGER,
        description: "The newest entry's seq in the sender's audit chain.",
      }),
      hash: Type.String({
        pattern: '^[0-9a-f]{64}$',
        description: "That entry's hash as the chain stores it: SHA-256, 64 lowercase hex digits.",
      }),
      at: UtcDateTimeSchema,
    },
    {
      additionalProperties: false,
      description:
        "audit.head: the newest entry of the sender's hash-chained audit log (seq, hash, and its `at`), for the receiver to keep as a witness.",
    },
  ),
);
export type AuditHeadBody = Static<typeof AuditHeadBodySchema>;

/**
 * A team vouches that a key is another team's (docs/federation-protocol.md §5, peer.introduction):
 * enough introductions from teams the receiver verified give the key assurance `introduced`.
 */
export const PeerIntroductionBodySchema = named(
  'PeerIntroductionBody',
  Type.Object(
    {
      team: TeamId('The team whose key is introduced (never the sender, never the receiver).'),
      fingerprint: Type.String({
        pattern: '^[0-9A-F]{40}$',
        description: "The introduced key's fingerprint, 40 upper-case hex digits: the key the sender pinned and verified for `team`.",
      }),
      publicKey: Type.Optional(
        Type.String({
          minLength: 1,
          maxLength: 64 * 1024,
          description:
            "The armored key itself (informative; its fingerprint must be `fingerprint`). The receiver pins keys only from the team's own profile.",
        }),
      ),
      vouchesFor: Type.Optional(
        Type.String({
          minLength: 1,
          maxLength: 500,
          description: 'What the sender vouches for, in words (e.g. "met their team at FIRST 2026").',
        }),
      ),
      withdrawn: Type.Optional(Type.Boolean({ description: 'true: the sender takes back its introduction of this key.' })),
    },
    {
      additionalProperties: false,
      description: 'peer.introduction: the sender vouches (or, withdrawn, no longer vouches) that `fingerprint` is the key of `team`.',
    },
  ),
);
export type PeerIntroductionBody = Static<typeof PeerIntroductionBodySchema>;

/** One incident in a pull-feed page, at its latest change, as the policy lets the pulling peer see it. */
export const FeedItemSchema = named(
  'FeedItem',
  Type.Object(
    {
      position: Type.String({
        pattern: '^[0-9]+\\.[0-9]+$',
        description:
          "The item's place in the serving node's order of changes (informative; continue with nextCursor). The same incident appears again, later, after each change.",
      }),
      version: Type.Integer({ minimum: 1, description: "The incident's version at the serving node." }),
      updatedAt: DateTimeSchema,
      tlp: TlpSchema,
      detail: Type.Enum(['full', 'summary'], {
        description: 'full: `report` holds the incident, redacted as decided; summary: `summary` holds its activity summary.',
      }),
      report: Type.Optional(IncidentReportBodySchema),
      summary: Type.Optional(ActivitySummarySchema),
    },
    { additionalProperties: false },
  ),
);
export type FeedItem = Static<typeof FeedItemSchema>;

export const FeedPageBodySchema = named(
  'FeedPageBody',
  Type.Object(
    {
      items: Type.Array(FeedItemSchema, { maxItems: 500 }),
      nextCursor: Type.String({
        description: 'Where to continue; also when the page is empty (poll again later with it).',
      }),
      hasMore: Type.Boolean({
        description: 'More changes are visible now (a page may hold fewer items than asked, even none, while true).',
      }),
    },
    {
      additionalProperties: false,
      description: 'feed.page: one page of GET /federation/v1/feed, signed by the serving node for the peer that pulled it.',
    },
  ),
);
export type FeedPageBody = Static<typeof FeedPageBodySchema>;

// ---------------------------------------------------------------------------------------------
// Message documents

function messageDocument<T extends MessageType, B extends Type.TSchema>(type: T, body: B, inReplyTo: 'optional' | 'required' = 'optional') {
  return Type.Object(
    {
      v: Type.Literal(FEDERATION_PROTOCOL_VERSION),
      id: Type.String({ format: 'uuid', description: 'Unique per sender; (from, id) makes a message idempotent.' }),
      type: Type.Literal(type),
      from: TeamId('Sending team.'),
      to: TeamId('Receiving team.'),
      created: UtcDateTimeSchema,
      inReplyTo: inReplyTo === 'required' ? Type.String({ format: 'uuid' }) : Type.Optional(Type.String({ format: 'uuid' })),
      tlp: TlpSchema,
      body,
    },
    { additionalProperties: false },
  );
}

export const IncidentReportDocumentSchema = named('IncidentReportDocument', messageDocument('incident.report', IncidentReportBodySchema));
export const IncidentUpdateDocumentSchema = named('IncidentUpdateDocument', messageDocument('incident.update', IncidentUpdateBodySchema));
export const InvestigationRequestDocumentSchema = named(
  'InvestigationRequestDocument',
  messageDocument('investigation.request', InvestigationRequestBodySchema),
);
export const InvestigationResultDocumentSchema = named(
  'InvestigationResultDocument',
  messageDocument('investigation.result', InvestigationResultBodySchema, 'required'),
);
export const ReceiptDocumentSchema = named('ReceiptDocument', messageDocument('receipt', ReceiptBodySchema, 'required'));
export const KeyRotationDocumentSchema = named('KeyRotationDocument', messageDocument('key.rotation', KeyRotationBodySchema));
export const TokenRequestDocumentSchema = named('TokenRequestDocument', messageDocument('auth.token-request', TokenRequestBodySchema));
/** Coordination (schemas/coordination.schema.ts): a member's activity to its coordinator, and the coordinator's related-activity warning. */
export const ActivitySummaryDocumentSchema = named(
  'ActivitySummaryDocument',
  messageDocument('activity.summary', ActivitySummaryBodySchema),
);
export const ActivityRelatedDocumentSchema = named(
  'ActivityRelatedDocument',
  messageDocument('activity.related', ActivityRelatedBodySchema),
);
export const ActivityWithdrawnDocumentSchema = named(
  'ActivityWithdrawnDocument',
  messageDocument('activity.withdrawn', ActivityWithdrawnBodySchema),
);
export const FeedPageDocumentSchema = named('FeedPageDocument', messageDocument('feed.page', FeedPageBodySchema));
export const AuditHeadDocumentSchema = named('AuditHeadDocument', messageDocument('audit.head', AuditHeadBodySchema));
export const ForumRosterDocumentSchema = named('ForumRosterDocument', messageDocument('forum.roster', ForumRosterBodySchema));
export const PeerIntroductionDocumentSchema = named(
  'PeerIntroductionDocument',
  messageDocument('peer.introduction', PeerIntroductionBodySchema),
);
export const ForumInquiryDocumentSchema = named('ForumInquiryDocument', messageDocument('forum.inquiry', ForumInquiryBodySchema));
export const ForumInquiryAnswerDocumentSchema = named(
  'ForumInquiryAnswerDocument',
  messageDocument('forum.inquiry-answer', ForumInquiryAnswerBodySchema),
);
export const ForumApplicationDocumentSchema = named(
  'ForumApplicationDocument',
  messageDocument('forum.application', ForumApplicationBodySchema),
);
export const ForumSponsorshipDocumentSchema = named(
  'ForumSponsorshipDocument',
  messageDocument('forum.sponsorship', ForumSponsorshipBodySchema),
);
/** Corrections (schemas/correction.schema.ts): the originator's signed re-label or retraction, and holders' acknowledgements. */
export const IncidentCorrectionDocumentSchema = named(
  'IncidentCorrectionDocument',
  messageDocument('incident.correction', IncidentCorrectionBodySchema),
);
export const IncidentCorrectionAckDocumentSchema = named(
  'IncidentCorrectionAckDocument',
  messageDocument('incident.correction-ack', IncidentCorrectionAckBodySchema),
);
/** Relays (schemas/relay.schema.ts): the originator's report forwarded intact with signed hops, and the answers travelling back. */
export const RelayForwardDocumentSchema = named('RelayForwardDocument', messageDocument('relay.forward', RelayForwardBodySchema));
export const RelayDeliveredDocumentSchema = named('RelayDeliveredDocument', messageDocument('relay.delivered', RelayDeliveredBodySchema));
export const RelayRefusedDocumentSchema = named('RelayRefusedDocument', messageDocument('relay.refused', RelayRefusedBodySchema));

/** Vendor coordination (schemas/vendor.schema.ts): a case's question to a party vendor's node, and its signed statement. */
export const VendorQuestionDocumentSchema = named('VendorQuestionDocument', messageDocument('vendor.question', VendorQuestionBodySchema));
export const VendorStatementDocumentSchema = named(
  'VendorStatementDocument',
  messageDocument('vendor.statement', VendorStatementBodySchema),
);

/** A site's own node (schemas/notification.schema.ts): a coordinator's notification to it, and the site's acknowledgement or answer. */
export const SiteNotificationDocumentSchema = named(
  'SiteNotificationDocument',
  messageDocument('site.notification', SiteNotificationBodySchema),
);
export const SiteNotificationAnswerDocumentSchema = named(
  'SiteNotificationAnswerDocument',
  messageDocument('site.notification-answer', SiteNotificationAnswerBodySchema),
);

export type IncidentReportDocument = Static<typeof IncidentReportDocumentSchema>;
export type IncidentUpdateDocument = Static<typeof IncidentUpdateDocumentSchema>;
export type InvestigationRequestDocument = Static<typeof InvestigationRequestDocumentSchema>;
export type InvestigationResultDocument = Static<typeof InvestigationResultDocumentSchema>;
export type ReceiptDocument = Static<typeof ReceiptDocumentSchema>;
export type KeyRotationDocument = Static<typeof KeyRotationDocumentSchema>;
export type TokenRequestDocument = Static<typeof TokenRequestDocumentSchema>;
export type ActivitySummaryDocument = Static<typeof ActivitySummaryDocumentSchema>;
export type ActivityRelatedDocument = Static<typeof ActivityRelatedDocumentSchema>;
export type ActivityWithdrawnDocument = Static<typeof ActivityWithdrawnDocumentSchema>;
export type FeedPageDocument = Static<typeof FeedPageDocumentSchema>;
export type AuditHeadDocument = Static<typeof AuditHeadDocumentSchema>;
export type ForumRosterDocument = Static<typeof ForumRosterDocumentSchema>;
export type PeerIntroductionDocument = Static<typeof PeerIntroductionDocumentSchema>;
export type ForumInquiryDocument = Static<typeof ForumInquiryDocumentSchema>;
export type ForumInquiryAnswerDocument = Static<typeof ForumInquiryAnswerDocumentSchema>;
export type ForumApplicationDocument = Static<typeof ForumApplicationDocumentSchema>;
export type ForumSponsorshipDocument = Static<typeof ForumSponsorshipDocumentSchema>;
export type IncidentCorrectionDocument = Static<typeof IncidentCorrectionDocumentSchema>;
export type IncidentCorrectionAckDocument = Static<typeof IncidentCorrectionAckDocumentSchema>;
export type RelayForwardDocument = Static<typeof RelayForwardDocumentSchema>;
export type RelayDeliveredDocument = Static<typeof RelayDeliveredDocumentSchema>;
export type RelayRefusedDocument = Static<typeof RelayRefusedDocumentSchema>;
export type VendorQuestionDocument = Static<typeof VendorQuestionDocumentSchema>;
export type VendorStatementDocument = Static<typeof VendorStatementDocumentSchema>;
export type SiteNotificationDocument = Static<typeof SiteNotificationDocumentSchema>;
export type SiteNotificationAnswerDocument = Static<typeof SiteNotificationAnswerDocumentSchema>;

export const MESSAGE_DOCUMENT_SCHEMAS = {
  'incident.report': IncidentReportDocumentSchema,
  'incident.update': IncidentUpdateDocumentSchema,
  'investigation.request': InvestigationRequestDocumentSchema,
  'investigation.result': InvestigationResultDocumentSchema,
  receipt: ReceiptDocumentSchema,
  'key.rotation': KeyRotationDocumentSchema,
  'auth.token-request': TokenRequestDocumentSchema,
  'activity.summary': ActivitySummaryDocumentSchema,
  'activity.related': ActivityRelatedDocumentSchema,
  'activity.withdrawn': ActivityWithdrawnDocumentSchema,
  'feed.page': FeedPageDocumentSchema,
  'audit.head': AuditHeadDocumentSchema,
  'forum.roster': ForumRosterDocumentSchema,
  'peer.introduction': PeerIntroductionDocumentSchema,
  'forum.inquiry': ForumInquiryDocumentSchema,
  'forum.inquiry-answer': ForumInquiryAnswerDocumentSchema,
  'forum.application': ForumApplicationDocumentSchema,
  'forum.sponsorship': ForumSponsorshipDocumentSchema,
  'incident.correction': IncidentCorrectionDocumentSchema,
  'incident.correction-ack': IncidentCorrectionAckDocumentSchema,
  'relay.forward': RelayForwardDocumentSchema,
  'relay.delivered': RelayDeliveredDocumentSchema,
  'relay.refused': RelayRefusedDocumentSchema,
  'vendor.question': VendorQuestionDocumentSchema,
  'vendor.statement': VendorStatementDocumentSchema,
  'site.notification': SiteNotificationDocumentSchema,
  'site.notification-answer': SiteNotificationAnswerDocumentSchema,
} as const;

export type MessageDocument =
  | IncidentReportDocument
  | IncidentUpdateDocument
  | InvestigationRequestDocument
  | InvestigationResultDocument
  | ReceiptDocument
  | KeyRotationDocument
  | TokenRequestDocument
  | ActivitySummaryDocument
  | ActivityRelatedDocument
  | ActivityWithdrawnDocument
  | FeedPageDocument
  | AuditHeadDocument
  | ForumRosterDocument
  | PeerIntroductionDocument
  | ForumInquiryDocument
  | ForumInquiryAnswerDocument
  | ForumApplicationDocument
  | ForumSponsorshipDocument
  | IncidentCorrectionDocument
  | IncidentCorrectionAckDocument
  | RelayForwardDocument
  | RelayDeliveredDocument
  | RelayRefusedDocument
  | VendorQuestionDocument
  | VendorStatementDocument
  | SiteNotificationDocument
  | SiteNotificationAnswerDocument;

export const MessageDocumentSchema = named(
  'MessageDocument',
  Type.Union(Object.values(MESSAGE_DOCUMENT_SCHEMAS), {
    description: 'A message document; `type` selects the body.',
  }),
);

// ---------------------------------------------------------------------------------------------
// Envelopes (what travels)

export const SignedEnvelopeSchema = named(
  'SignedEnvelope',
  Type.Object(
    { document: MessageDocumentSchema, signature: ArmoredSignatureSchema },
    {
      additionalProperties: false,
      description: '{ document, signature }: the signature covers the RFC 8785 canonical bytes of document.',
    },
  ),
);
export const SignedReceiptSchema = named(
  'SignedReceipt',
  Type.Object(
    { document: ReceiptDocumentSchema, signature: ArmoredSignatureSchema },
    { additionalProperties: false, description: 'The signed receipt the receiving node answers with.' },
  ),
);
export type SignedReceipt = Static<typeof SignedReceiptSchema>;

export const SealedEnvelopeSchema = named(
  'SealedEnvelope',
  Type.Object(
    {
      sealed: Type.String({
        minLength: 1,
        description:
          'An armored OpenPGP message (-----BEGIN PGP MESSAGE-----) encrypted to the receiving node key; it decrypts to the JSON text of a signed envelope.',
      }),
    },
    { additionalProperties: false },
  ),
);

export const InboxBodySchema = named(
  'InboxBody',
  Type.Union([SignedEnvelopeSchema, SealedEnvelopeSchema], {
    description: 'A signed envelope, or one sealed to the receiving node.',
  }),
);

export const QuarantinedAnswerSchema = named(
  'QuarantinedAnswer',
  Type.Object(
    {
      status: Type.Literal('quarantined'),
      quarantineId: UuidSchema,
      detail: Type.String(),
    },
    {
      additionalProperties: false,
      description: 'The sender is not a known peer: the message waits for a handler; it is not processed.',
    },
  ),
);

// ---------------------------------------------------------------------------------------------
// /api/v1: shares

export const SHARE_STATES = ['queued', 'retrying', 'sent', 'delivered', 'failed', 'received'] as const;
export const ShareCreateSchema = named(
  'ShareCreate',
  Type.Object({ peer: TeamId('Team id of the peer to share the incident with.') }, { additionalProperties: false }),
);
export type ShareCreate = Static<typeof ShareCreateSchema>;

export const ShareSchema = named(
  'Share',
  Type.Object(
    {
      peer: Type.String({ description: 'Team id of the peer.' }),
      direction: Type.Enum(['outgoing', 'incoming'], {
        description: 'outgoing: we shared it; incoming: the peer shared it with us.',
      }),
      state: Type.Enum(SHARE_STATES, {
        description:
          "Of the incident.report: queued (not tried yet), retrying (failed at least once, will try again), sent (mailed to a team without a node, which sends no receipt: handed to the mail server, ADR 0028), delivered (receipt stored, or such a team's signed reply), failed (gave up); received for incoming links.",
      }),
      peerRef: Type.Union([Type.String(), Type.Null()], {
        description: "The peer's reference number, from its receipt.",
      }),
      messageId: Type.Union([UuidSchema, Type.Null()], { description: 'Id of the incident.report message.' }),
      attempts: Type.Integer(),
      lastError: Type.Union([Type.String(), Type.Null()]),
      channel: Type.Union([Type.Enum(['http', 'mail']), Type.Null()], {
        description: 'Where the last attempt went: http (the peer node) or mail (PGP/MIME, ADR 0025); null before the first.',
      }),
      nextAttemptAt: Type.Union([DateTimeSchema, Type.Null()]),
      receiptAt: Type.Union([DateTimeSchema, Type.Null()]),
      pendingUpdates: Type.Integer({
        description: 'Later messages (updates, investigations) for this peer and incident not delivered yet.',
      }),
      createdAt: DateTimeSchema,
      createdBy: Type.String(),
      detail: Type.Optional(
        Type.Enum(['full', 'summary'], {
          description: 'In the answer to a share only: what the sharing policy let go (full: the incident, with the redactions listed).',
        }),
      ),
      redactions: Type.Optional(
        Type.Array(
          Type.Object(
            {
              section: PolicySectionSchema,
              reason: Type.String({
                description: 'Why, in words: the trust level the section needs and the one the peer has.',
              }),
            },
            { additionalProperties: false },
          ),
          {
            description: 'In the answer to a share only: the sections replaced by a redaction marker in what was queued.',
          },
        ),
      ),
      scrubbed: Type.Optional(
        Type.Array(ScrubbedSchema, {
          description:
            "In the answer to a share only: every other field a hidden section's names and addresses were scrubbed from, and whether it was rewritten or dropped.",
        }),
      ),
    },
    { additionalProperties: false },
  ),
);
export type Share = Static<typeof ShareSchema>;

export const ShareListSchema = named('ShareList', Type.Object({ items: Type.Array(ShareSchema) }, { additionalProperties: false }));

// ---------------------------------------------------------------------------------------------
// /api/v1: investigations

export const InvestigationCreateSchema = named(
  'InvestigationCreate',
  Type.Object(
    {
      peer: TeamId('Team id of the peer whose network holds the hosts.'),
      hosts: InvestigationRequestBodySchema.properties.hosts,
      question: InvestigationRequestBodySchema.properties.question,
    },
    { additionalProperties: false },
  ),
);
export type InvestigationCreate = Static<typeof InvestigationCreateSchema>;

export const InvestigationAnswerSchema = named(
  'InvestigationAnswer',
  Type.Object(
    {
      finding: InvestigationFindingSchema,
      summary: InvestigationResultBodySchema.properties.summary,
      hosts: InvestigationResultBodySchema.properties.hosts,
    },
    { additionalProperties: false },
  ),
);
export type InvestigationAnswer = Static<typeof InvestigationAnswerSchema>;

export const InvestigationSchema = named(
  'Investigation',
  Type.Object(
    {
      id: Type.String({ format: 'uuid', description: 'The investigation.request message id.' }),
      direction: Type.Enum(['outgoing', 'incoming'], {
        description: 'outgoing: we asked the peer; incoming: the peer asked us.',
      }),
      peer: Type.String(),
      state: Type.Enum(['open', 'answered']),
      question: Type.String(),
      hosts: Type.Array(HostSchema),
      finding: Type.Union([InvestigationFindingSchema, Type.Null()]),
      summary: Type.Union([Type.String(), Type.Null()]),
      resultHosts: Type.Union([Type.Array(HostSchema), Type.Null()]),
      createdAt: DateTimeSchema,
      answeredAt: Type.Union([DateTimeSchema, Type.Null()]),
    },
    { additionalProperties: false },
  ),
);
export type Investigation = Static<typeof InvestigationSchema>;
export const InvestigationListSchema = named(
  'InvestigationList',
  Type.Object({ items: Type.Array(InvestigationSchema) }, { additionalProperties: false }),
);
export const InvestigationParamsSchema = Type.Object(
  { ref: Type.String({ minLength: 1, maxLength: 200 }), id: Type.String({ format: 'uuid' }) },
  { additionalProperties: false },
);

// ---------------------------------------------------------------------------------------------
// /api/v1: quarantine

export const QUARANTINE_STATES = ['quarantined', 'accepted', 'rejected'] as const;
export const QuarantinedMessageSchema = named(
  'QuarantinedMessage',
  Type.Object(
    {
      id: UuidSchema,
      claimedFrom: Type.String({ description: 'document.from as received: unverified until accepted.' }),
      messageId: Type.String({ description: 'document.id as received (unverified).' }),
      type: Type.Union([Type.String(), Type.Null()], { description: 'document.type as received (unverified).' }),
      issuerFingerprint: Type.Union([Type.String(), Type.Null()], {
        description: 'The key the signature claims to be made with (unverified).',
      }),
      sealed: Type.Boolean(),
      state: Type.Enum(QUARANTINE_STATES),
      receivedAt: DateTimeSchema,
      decidedAt: Type.Union([DateTimeSchema, Type.Null()]),
      decidedBy: Type.Union([Type.String(), Type.Null()]),
      reason: Type.Union([Type.String(), Type.Null()]),
      envelope: Type.Optional(Type.String({ description: 'The envelope exactly as received (JSON text); only when reading one message.' })),
    },
    { additionalProperties: false },
  ),
);
export type QuarantinedMessage = Static<typeof QuarantinedMessageSchema>;

export const QuarantineListQuerySchema = Type.Object(
  {
    state: Type.Optional(Type.Enum(QUARANTINE_STATES)),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export const QuarantinePageSchema = named(
  'QuarantinePage',
  Type.Object(
    { items: Type.Array(QuarantinedMessageSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) },
    { additionalProperties: false },
  ),
);
export const QuarantineIdParamsSchema = Type.Object({ id: UuidSchema }, { additionalProperties: false });

export const QuarantineAcceptSchema = named(
  'QuarantineAccept',
  Type.Object(
    {
      url: Type.Optional(
        Type.String({
          minLength: 8,
          maxLength: 2048,
          pattern: '^https?://',
          description:
            "The sender's node URL: its signed profile is fetched and its key pinned (as POST /api/v1/peers). Omit when the peer was added already.",
        }),
      ),
    },
    { additionalProperties: false },
  ),
);
export const QuarantineRejectSchema = named(
  'QuarantineReject',
  Type.Object({ reason: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })) }, { additionalProperties: false }),
);
export const QuarantineDecisionSchema = named(
  'QuarantineDecision',
  Type.Object(
    {
      message: QuarantinedMessageSchema,
      receipt: Type.Union([SignedReceiptSchema, Type.Null()], {
        description: 'On acceptance: the receipt the message got when it was processed.',
      }),
    },
    { additionalProperties: false },
  ),
);

// ---------------------------------------------------------------------------------------------
// /federation/v1: peer tokens and the pull feed

export const PeerTokenSchema = named(
  'PeerToken',
  Type.Object(
    {
      token: Type.String({
        description: 'A bearer JWT for /federation/v1 pulls (audience hikeshi:federation, subject the peer team id).',
      }),
      tokenType: Type.Literal('Bearer'),
      expiresAt: DateTimeSchema,
    },
    { additionalProperties: false },
  ),
);

export const FeedQuerySchema = Type.Object(
  {
    cursor: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'nextCursor of a previous page; omit to start at the beginning.',
      }),
    ),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  },
  { additionalProperties: false },
);

export const FeedPageSchema = named(
  'FeedPage',
  Type.Union(
    [
      Type.Object({ document: FeedPageDocumentSchema, signature: ArmoredSignatureSchema }, { additionalProperties: false }),
      SealedEnvelopeSchema,
    ],
    {
      description:
        'A signed feed.page document (verify it like a pushed message), or the same envelope sealed to the peer when an item is AMBER+STRICT or the peer asks for sealing.',
    },
  ),
);

// ---------------------------------------------------------------------------------------------
// /federation/v1: audit heads witnessed for the calling peer (docs/federation-protocol.md §15.3)

export const WitnessedAuditHeadsQuerySchema = Type.Object(
  {
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 100, description: 'At most this many heads, highest seq first (20 by default).' }),
    ),
  },
  { additionalProperties: false },
);

export const WitnessedAuditHeadSchema = named(
  'WitnessedAuditHead',
  Type.Object(
    {
      envelope: Type.Object(
        { document: AuditHeadDocumentSchema, signature: ArmoredSignatureSchema },
        {
          additionalProperties: false,
          description: 'The audit.head exactly as the calling peer signed it: verify it against your own key.',
        },
      ),
      receivedAt: DateTimeSchema,
      conflict: Type.Boolean({
        description:
          'The witness found this head inconsistent with one it holds from you: a lower seq sent later than a higher one, or the same seq with another hash (your chain was rewritten).',
      }),
    },
    { additionalProperties: false },
  ),
);
export type WitnessedAuditHead = Static<typeof WitnessedAuditHeadSchema>;

export const WitnessedAuditHeadsSchema = named(
  'WitnessedAuditHeads',
  Type.Object(
    { items: Type.Array(WitnessedAuditHeadSchema, { maxItems: 100 }) },
    {
      additionalProperties: false,
      description: 'The audit heads this node witnessed for the calling peer: the highest seq first (of one seq, the last received).',
    },
  ),
);
export type WitnessedAuditHeads = Static<typeof WitnessedAuditHeadsSchema>;
