import Type, { type Static } from 'typebox';
import { DateTimeSchema, named, UuidSchema } from './common.schema.js';

/** The signed e-mail channel (ADR 0025): the mail quarantine, as handlers read it. */

export const MAIL_QUARANTINE_STATES = ['quarantined', 'dismissed', 'accepted', 'rejected'] as const;

export const QuarantinedMailSchema = named(
  'QuarantinedMail',
  Type.Object(
    {
      id: UuidSchema,
      envelopeFrom: Type.Union([Type.String(), Type.Null()], { description: 'The SMTP envelope sender (MAIL FROM), unverified.' }),
      headerFrom: Type.Union([Type.String(), Type.Null()], { description: "The From header's address, unverified." }),
      messageId: Type.Union([Type.String(), Type.Null()], { description: 'The Message-ID header, unverified.' }),
      reason: Type.String({
        description:
          'Why the mail was not filed: unsigned, unknown-sender, wrong-key, bad-signature, signature-malformed, malformed-mime, decryption-failed, too-large, sender-mismatch, peer-not-active, receipt-unmatched, not-accepted, or the problem code the inbox refused the document with.',
      }),
      detail: Type.String(),
      issuerFingerprint: Type.Union([Type.String(), Type.Null()], {
        description: 'The key (fingerprint or key id) the signature claims to be made with, unverified.',
      }),
      sizeBytes: Type.Integer({ minimum: 0 }),
      sourceAddress: Type.Union([Type.String(), Type.Null()], { description: 'The address the mail came from (the SMTP client).' }),
      state: Type.Enum(MAIL_QUARANTINE_STATES, {
        description:
          'quarantined: waits for an admin; accepted: fed into the intake again (decisionNote: what became of it); rejected: never processed (decisionNote: why).',
      }),
      receivedAt: DateTimeSchema,
      decidedBy: Type.Union([Type.String(), Type.Null()], { description: 'The admin who accepted or rejected it.' }),
      decidedAt: Type.Union([DateTimeSchema, Type.Null()]),
      decisionNote: Type.Union([Type.String(), Type.Null()], {
        description: 'Rejected: the reason given; accepted: what the intake did with it.',
      }),
      raw: Type.Optional(Type.String({ description: 'The message exactly as received, base64; only when reading one mail.' })),
    },
    { additionalProperties: false },
  ),
);
export type QuarantinedMail = Static<typeof QuarantinedMailSchema>;

export const QuarantinedMailPageSchema = named(
  'QuarantinedMailPage',
  Type.Object(
    { items: Type.Array(QuarantinedMailSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) },
    { additionalProperties: false },
  ),
);

export const QuarantinedMailListQuerySchema = Type.Object(
  {
    state: Type.Optional(Type.Enum(MAIL_QUARANTINE_STATES)),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
    cursor: Type.Optional(Type.String({ maxLength: 200 })),
  },
  { additionalProperties: false },
);
export type QuarantinedMailListQuery = Static<typeof QuarantinedMailListQuerySchema>;

export const MailQuarantineRejectSchema = named(
  'MailQuarantineReject',
  Type.Object(
    { reason: Type.String({ minLength: 1, maxLength: 2000, description: 'Why the mail is rejected; kept with it and audited.' }) },
    { additionalProperties: false },
  ),
);
export type MailQuarantineReject = Static<typeof MailQuarantineRejectSchema>;

export const MailIntakeOutcomeSchema = named(
  'MailIntakeOutcome',
  Type.Object(
    {
      kind: Type.Enum(['filed', 'quarantined'], { description: 'filed: the intake took it; quarantined: it was held again.' }),
      what: Type.Optional(
        Type.String({
          description: 'filed: message, receipt, human-report, unclaimed-mail (a bounce, a reply to a notification) or signed-reply.',
        }),
      ),
      quarantineId: Type.Optional(UuidSchema),
      reason: Type.Optional(Type.String({ description: 'quarantined: why, as in QuarantinedMail.reason.' })),
      detail: Type.String(),
    },
    { additionalProperties: false },
  ),
);
export type MailIntakeOutcome = Static<typeof MailIntakeOutcomeSchema>;

export const MailQuarantineDecisionSchema = named(
  'MailQuarantineDecision',
  Type.Object(
    {
      mail: QuarantinedMailSchema,
      outcome: Type.Union([MailIntakeOutcomeSchema, Type.Null()], { description: 'On acceptance: what the intake did with the mail.' }),
    },
    { additionalProperties: false },
  ),
);
export type MailQuarantineDecision = Static<typeof MailQuarantineDecisionSchema>;

export const MailTestSchema = named(
  'MailTest',
  Type.Object(
    { to: Type.String({ minLength: 3, maxLength: 254, pattern: '^[^\\s@<>]+@[^\\s@<>]+$', description: 'Where the test message goes.' }) },
    { additionalProperties: false },
  ),
);
export type MailTest = Static<typeof MailTestSchema>;

export const MailTestResultSchema = named(
  'MailTestResult',
  Type.Object(
    {
      to: Type.String(),
      from: Type.String(),
      signedBy: Type.String({ description: "The node key's fingerprint: the signature on the test message." }),
    },
    { additionalProperties: false },
  ),
);
export type MailTestResult = Static<typeof MailTestResultSchema>;

// ---------------------------------------------------------------------------------------------
// The receipts outbox (issue 17): receipts to people who mailed a signed report.

export const RECEIPT_OUTBOX_STATES = ['owed', 'queued', 'handing-over', 'sent'] as const;

export const ReceiptOutboxEntrySchema = named(
  'ReceiptOutboxEntry',
  Type.Object(
    {
      id: UuidSchema,
      incident: Type.String({ description: 'Our reference number of the incident the report was filed as.' }),
      peer: Type.String({ description: 'The team that mailed the report.' }),
      state: Type.Enum(RECEIPT_OUTBOX_STATES, {
        description:
          'owed: recorded while the node had no outgoing mail (HIKESHI_SMTP_URL, HIKESHI_MAIL_FROM), composed and sent once it has; queued: composed, waiting for the mail server; handing-over: in its hands now; sent.',
      }),
      to: Type.String({ description: "The peer's address the receipt goes to." }),
      encrypted: Type.Boolean(),
      attempts: Type.Integer({ minimum: 0 }),
      lastError: Type.Union([Type.String(), Type.Null()]),
      sendUncertain: Type.Boolean({ description: 'A hand-over cut by a dying process: the mail server may or may not have it.' }),
      queuedAt: DateTimeSchema,
      sentAt: Type.Union([DateTimeSchema, Type.Null()]),
    },
    { additionalProperties: false },
  ),
);

export const ReceiptOutboxListSchema = named(
  'ReceiptOutboxList',
  Type.Object({ items: Type.Array(ReceiptOutboxEntrySchema) }, { additionalProperties: false }),
);

export const ReceiptOutboxQuerySchema = Type.Object(
  {
    state: Type.Optional(Type.Enum(RECEIPT_OUTBOX_STATES)),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500 })),
  },
  { additionalProperties: false },
);
export type ReceiptOutboxQuery = Static<typeof ReceiptOutboxQuerySchema>;
