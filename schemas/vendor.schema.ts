import Type, { type Static } from 'typebox';
import { DateTimeSchema, TlpSchema, named } from './common.schema.js';

/**
 * Vendor coordination (issue 17 part 1, ADR 0024): vendors as contacts, VINCE-like vulnerability
 * cases, questions to the vendors that are parties to a case and their statements, and the
 * `vendor.question` / `vendor.statement` bodies nodes exchange (docs/federation-protocol.md §5.23,
 * §5.24). Every object is closed.
 */

const IdSchema = (description: string) => Type.String({ pattern: '^[a-z0-9][a-z0-9._-]{0,62}$', description });
export const VendorIdSchema = IdSchema('A vendor id chosen here: lower-case letters, digits, dot, underscore, hyphen (1-63).');
export const CaseIdSchema = IdSchema('A vulnerability case id chosen here (e.g. "vc-2026-001").');
const TeamIdSchema = Type.String({ pattern: '^[a-z0-9][a-z0-9-]{1,62}$', description: "The vendor node's team id (a peer of ours)." });
const EmailSchema = Type.String({ minLength: 3, maxLength: 254, pattern: '^[^@\\s]+@[^@\\s]+$', description: 'An e-mail address.' });
const ArmoredKeySchema = Type.String({ minLength: 1, maxLength: 64 * 1024, description: "The vendor's armored OpenPGP public key." });
const FingerprintSchema = Type.String({ pattern: '^[0-9A-Fa-f]{40}$', description: 'A v4 key fingerprint, 40 hex digits.' });
const ProductNameSchema = Type.String({ minLength: 1, maxLength: 200, description: 'A product name as the vendor calls it.' });
const VersionSchema = Type.String({ minLength: 1, maxLength: 100, description: 'A product version.' });
const VersionsSchema = Type.Array(VersionSchema, { maxItems: 100, uniqueItems: true });
const CveSchema = Type.String({ pattern: '^CVE-[0-9]{4}-[0-9]{4,}$', description: 'A CVE id.' });
const RefSchema = Type.String({ minLength: 1, maxLength: 200, description: 'A reference number of one of our incidents.' });

export const VENDOR_STATUSES = ['affected', 'not affected', 'under investigation'] as const;
export type VendorStatus = (typeof VENDOR_STATUSES)[number];
export const VendorStatusSchema = Type.Enum(VENDOR_STATUSES, { description: "The vendor's statement about one product." });

export const VendorCreateSchema = named(
  'VendorCreate',
  Type.Object(
    {
      id: VendorIdSchema,
      name: Type.String({ minLength: 1, maxLength: 200 }),
      teamId: Type.Optional(TeamIdSchema),
      email: Type.Optional(EmailSchema),
      publicKey: Type.Optional(ArmoredKeySchema),
      fingerprint: Type.Optional(FingerprintSchema),
    },
    {
      additionalProperties: false,
      description:
        'Either teamId (a vendor that runs a node, a peer of ours) or email, publicKey and fingerprint (the key is pinned only if it has that fingerprint).',
    },
  ),
);
export type VendorCreate = Static<typeof VendorCreateSchema>;

export const VendorPatchSchema = named(
  'VendorPatch',
  Type.Object(
    {
      name: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
      email: Type.Optional(EmailSchema),
      publicKey: Type.Optional(ArmoredKeySchema),
      fingerprint: Type.Optional(FingerprintSchema),
    },
    { additionalProperties: false, description: 'A new key needs its fingerprint in the same request.' },
  ),
);
export type VendorPatch = Static<typeof VendorPatchSchema>;

export const VendorSchema = named(
  'Vendor',
  Type.Object(
    {
      id: VendorIdSchema,
      name: Type.String(),
      channel: Type.Enum(['federation', 'email']),
      teamId: Type.Union([Type.String(), Type.Null()]),
      email: Type.Union([Type.String(), Type.Null()]),
      fingerprint: Type.Union([Type.String(), Type.Null()]),
      createdAt: DateTimeSchema,
      updatedAt: DateTimeSchema,
    },
    { additionalProperties: false },
  ),
);
export type Vendor = Static<typeof VendorSchema>;
export const VendorListSchema = named('VendorList', Type.Object({ items: Type.Array(VendorSchema) }, { additionalProperties: false }));
export const VendorParamsSchema = Type.Object({ id: VendorIdSchema }, { additionalProperties: false });

export const CaseProductSchema = named(
  'CaseProduct',
  Type.Object(
    {
      vendor: VendorIdSchema,
      product: ProductNameSchema,
      versions: Type.Array(VersionSchema, { minItems: 1, maxItems: 100, uniqueItems: true }),
    },
    { additionalProperties: false, description: 'A product in the case: its vendor (a vendor id here), name and the versions concerned.' },
  ),
);
export type CaseProduct = Static<typeof CaseProductSchema>;

const caseFields = {
  title: Type.String({ minLength: 1, maxLength: 300 }),
  description: Type.String({ minLength: 1, maxLength: 20_000, description: 'What the vulnerability is: goes to the party vendors.' }),
  tlp: TlpSchema,
  incidents: Type.Array(RefSchema, {
    maxItems: 100,
    uniqueItems: true,
    description: 'Our incidents the case links to, by reference number.',
  }),
  products: Type.Array(CaseProductSchema, { minItems: 1, maxItems: 100 }),
  cveIds: Type.Array(CveSchema, { maxItems: 50, uniqueItems: true }),
  embargoUntil: Type.Union([DateTimeSchema, Type.Null()], { description: 'Nothing about the case is published before this time.' }),
  parties: Type.Array(VendorIdSchema, { maxItems: 100, uniqueItems: true, description: 'The vendors that are parties to the case.' }),
};

export const CaseCreateSchema = named(
  'CaseCreate',
  Type.Object(
    {
      id: CaseIdSchema,
      title: caseFields.title,
      description: caseFields.description,
      tlp: caseFields.tlp,
      products: caseFields.products,
      incidents: Type.Optional(caseFields.incidents),
      cveIds: Type.Optional(caseFields.cveIds),
      embargoUntil: Type.Optional(caseFields.embargoUntil),
      parties: Type.Optional(caseFields.parties),
    },
    { additionalProperties: false, description: "Parties default to every product's vendor." },
  ),
);
export type CaseCreate = Static<typeof CaseCreateSchema>;

export const CasePatchSchema = named(
  'CasePatch',
  Type.Object(
    {
      title: Type.Optional(caseFields.title),
      description: Type.Optional(caseFields.description),
      tlp: Type.Optional(caseFields.tlp),
      products: Type.Optional(caseFields.products),
      incidents: Type.Optional(caseFields.incidents),
      cveIds: Type.Optional(caseFields.cveIds),
      embargoUntil: Type.Optional(caseFields.embargoUntil),
      parties: Type.Optional(caseFields.parties),
    },
    { additionalProperties: false },
  ),
);
export type CasePatch = Static<typeof CasePatchSchema>;

export const QUESTION_STATES = ['queued', 'awaiting-email', 'sent', 'refused', 'received', 'answered'] as const;
export const VendorQuestionSchema = named(
  'VendorQuestion',
  Type.Object(
    {
      id: Type.String({ format: 'uuid' }),
      direction: Type.Enum(['sent', 'received']),
      caseId: Type.String({ description: 'sent: our case; received: the asking team’s case id.' }),
      vendor: Type.Union([Type.String(), Type.Null()], { description: 'sent: the vendor asked.' }),
      askerTeam: Type.Union([Type.String(), Type.Null()], { description: 'received: the team that asks.' }),
      channel: Type.Enum(['federation', 'email']),
      state: Type.Enum(QUESTION_STATES, {
        description:
          "queued: in the outbox (a node vendor) or the vendor mail outbox (an e-mail vendor); awaiting-email: waits for the e-mail channel to be configured; sent: its signed mail was handed to the mail server; refused: it waited for the e-mail channel and the rule refused it once the channel existed; received: a question to us; answered: a statement answered it (ours to the asker, or the e-mail vendor's signed reply).",
      }),
      delivery: Type.Union([Type.String(), Type.Null()], {
        description:
          "The state of the question's message, when one was queued: the federation outbox's (node vendors) or the vendor mail outbox's (queued, handing-over, sent).",
      }),
      tlp: TlpSchema,
      question: Type.Object(
        {
          title: Type.String(),
          description: Type.String(),
          products: Type.Array(
            Type.Object({ product: Type.String(), versions: Type.Array(Type.String()) }, { additionalProperties: false }),
          ),
          cveIds: Type.Array(Type.String()),
          embargoUntil: Type.Union([Type.String(), Type.Null()]),
        },
        {
          additionalProperties: false,
          description: 'What the question carries: the case fields for that vendor, nothing of the incidents.',
        },
      ),
      createdAt: DateTimeSchema,
    },
    { additionalProperties: false },
  ),
);
export type VendorQuestion = Static<typeof VendorQuestionSchema>;
export const VendorQuestionListSchema = named(
  'VendorQuestionList',
  Type.Object({ items: Type.Array(VendorQuestionSchema) }, { additionalProperties: false }),
);

export const VendorStatementSchema = named(
  'VendorStatement',
  Type.Object(
    {
      vendor: Type.String(),
      product: Type.String(),
      status: VendorStatusSchema,
      fixedVersions: Type.Array(Type.String()),
      text: Type.Union([Type.String(), Type.Null()]),
      provenance: Type.Enum(['federation', 'openpgp', 'manual'], {
        description:
          "federation: a vendor.statement signed by the vendor's node; openpgp: a clear-signed text verified with the vendor's pinned key; manual: recorded by a handler, unsigned.",
      }),
      signed: Type.Boolean(),
      recordedAt: DateTimeSchema,
      recordedBy: Type.String(),
    },
    { additionalProperties: false },
  ),
);
export type VendorStatement = Static<typeof VendorStatementSchema>;

/** A statement this node sent as the vendor, answering a question asked of us (GET /vendor-questions/{id}/statements). */
export const SentVendorStatementSchema = named(
  'SentVendorStatement',
  Type.Object(
    {
      product: Type.String(),
      status: VendorStatusSchema,
      fixedVersions: Type.Array(Type.String()),
      text: Type.Union([Type.String(), Type.Null()]),
      delivery: Type.Union([Type.String(), Type.Null()], {
        description:
          'The state of the signed vendor.statement in the outbox (queued, delivered, failed...); null once the outbox no longer holds it.',
      }),
      recordedAt: DateTimeSchema,
      recordedBy: Type.String({ description: 'Who sent it: account:<name> or token:<id>.' }),
    },
    { additionalProperties: false },
  ),
);
export type SentVendorStatement = Static<typeof SentVendorStatementSchema>;
export const SentVendorStatementListSchema = named(
  'SentVendorStatementList',
  Type.Object(
    { items: Type.Array(SentVendorStatementSchema, { description: 'Oldest first; the newest per product is in force.' }) },
    { additionalProperties: false },
  ),
);

export const VulnerabilityCaseSchema = named(
  'VulnerabilityCase',
  Type.Object(
    {
      id: CaseIdSchema,
      title: Type.String(),
      description: Type.String(),
      tlp: TlpSchema,
      incidents: Type.Array(Type.String()),
      products: Type.Array(CaseProductSchema),
      cveIds: Type.Array(Type.String()),
      embargoUntil: Type.Union([DateTimeSchema, Type.Null()]),
      parties: Type.Array(Type.String()),
      version: Type.Integer(),
      createdAt: DateTimeSchema,
      updatedAt: DateTimeSchema,
      questions: Type.Array(VendorQuestionSchema),
      statements: Type.Array(VendorStatementSchema, {
        description: 'Every statement, oldest first; the newest per vendor and product is in force.',
      }),
    },
    { additionalProperties: false },
  ),
);
export type VulnerabilityCase = Static<typeof VulnerabilityCaseSchema>;
export const VulnerabilityCaseListSchema = named(
  'VulnerabilityCaseList',
  Type.Object({ items: Type.Array(VulnerabilityCaseSchema) }, { additionalProperties: false }),
);
export const CaseParamsSchema = Type.Object({ id: CaseIdSchema }, { additionalProperties: false });
export const QuestionParamsSchema = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });

export const VendorQuestionAskSchema = named(
  'VendorQuestionAsk',
  Type.Object(
    {
      vendors: Type.Optional(
        Type.Array(VendorIdSchema, { minItems: 1, maxItems: 100, uniqueItems: true, description: 'Default: every party.' }),
      ),
    },
    { additionalProperties: false },
  ),
);
export type VendorQuestionAsk = Static<typeof VendorQuestionAskSchema>;

export const StatementInputSchema = named(
  'StatementInput',
  Type.Object(
    {
      product: ProductNameSchema,
      status: VendorStatusSchema,
      fixedVersions: Type.Optional(VersionsSchema),
      text: Type.Optional(Type.String({ minLength: 1, maxLength: 10_000 })),
    },
    { additionalProperties: false },
  ),
);
export type StatementInput = Static<typeof StatementInputSchema>;

export const StatementRecordSchema = named(
  'StatementRecord',
  Type.Object(
    {
      vendor: VendorIdSchema,
      product: Type.Optional(ProductNameSchema),
      status: Type.Optional(VendorStatusSchema),
      fixedVersions: Type.Optional(VersionsSchema),
      text: Type.Optional(Type.String({ minLength: 1, maxLength: 10_000 })),
      signedText: Type.Optional(
        Type.String({
          minLength: 1,
          maxLength: 64 * 1024,
          description:
            'The vendor\'s OpenPGP clear-signed statement, pasted: lines "Case:", "Product:", "Status:", "Fixed-Versions:" and "Statement:". Verified with the vendor\'s pinned key; then product/status/fixedVersions/text must be absent.',
        }),
      ),
    },
    {
      additionalProperties: false,
      description: 'A statement a handler records by hand (product and status) or pastes clear-signed (signedText).',
    },
  ),
);
export type StatementRecord = Static<typeof StatementRecordSchema>;

/** `vendor.question` body: a case's fields for one party vendor (never the linked incidents). */
export const VendorQuestionBodySchema = named(
  'VendorQuestionBody',
  Type.Object(
    {
      case: CaseIdSchema,
      question: Type.String({ format: 'uuid', description: 'The question id the asking team chose.' }),
      title: caseFields.title,
      description: caseFields.description,
      products: Type.Array(
        Type.Object(
          { product: ProductNameSchema, versions: Type.Array(VersionSchema, { minItems: 1, maxItems: 100 }) },
          { additionalProperties: false },
        ),
        { minItems: 1, maxItems: 100 },
      ),
      cveIds: caseFields.cveIds,
      embargoUntil: Type.Optional(DateTimeSchema),
    },
    { additionalProperties: false, description: 'vendor.question: is this product of yours affected?' },
  ),
);
export type VendorQuestionBody = Static<typeof VendorQuestionBodySchema>;

/** `vendor.statement` body: the vendor's answer about one product, signed by its node. */
export const VendorStatementBodySchema = named(
  'VendorStatementBody',
  Type.Object(
    {
      case: CaseIdSchema,
      question: Type.String({ format: 'uuid' }),
      product: ProductNameSchema,
      status: VendorStatusSchema,
      fixedVersions: VersionsSchema,
      text: Type.Optional(Type.String({ minLength: 1, maxLength: 10_000 })),
    },
    { additionalProperties: false, description: 'vendor.statement: affected, not affected or under investigation, with fixed versions.' },
  ),
);
export type VendorStatementBody = Static<typeof VendorStatementBodySchema>;

export const VendorQuestionsAskedSchema = named(
  'VendorQuestionsAsked',
  Type.Object(
    {
      questions: Type.Array(VendorQuestionSchema),
      skipped: Type.Array(Type.Object({ vendor: Type.String(), reason: Type.String() }, { additionalProperties: false }), {
        description: 'Vendors the policy did not let the question go to, and why (each decision audited).',
      }),
    },
    { additionalProperties: false },
  ),
);
export type VendorQuestionsAsked = Static<typeof VendorQuestionsAskedSchema>;
