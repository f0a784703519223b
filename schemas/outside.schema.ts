import Type, { type Static } from 'typebox';
import { DateTimeSchema, TlpSchema, UuidSchema, named } from './common.schema.js';
import { DetailSchema, PolicySectionSchema } from './policy.schema.js';

/**
 * Outside recipients on the wire (issue 17 parts 3 and 4, ADR 0023): law-enforcement requests,
 * the handler's decision on them, the signed disclosure packages handed to an agency, and press
 * statements (drafted from TLP:CLEAR content, approved by a second handler, published at /press).
 */

const SLUG = '^[a-z0-9][a-z0-9-]{1,62}$';
const text = (max: number, description?: string) =>
  Type.String({ minLength: 1, maxLength: max, pattern: '\\S', ...(description ? { description } : {}) });
const nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);
const IncidentRefSchema = Type.Object({ id: UuidSchema, ref: Type.String() }, { additionalProperties: false });

// ---------------------------------------------------------------------------------------------
// Law enforcement

export const LAW_ENFORCEMENT_ORIGINS = ['inbound', 'proactive'] as const;
export const LAW_ENFORCEMENT_STATES = ['pending', 'approved', 'declined'] as const;

const AgencySchema = Type.Object(
  {
    id: Type.String({
      pattern: SLUG,
      description: 'The agency as a recipient: the id its law-enforcement approvals and audit entries name.',
    }),
    name: text(200),
  },
  { additionalProperties: false },
);
const OfficerSchema = Type.Object(
  { name: text(200), contact: text(500, 'How to reach the officer: e-mail, phone, address.') },
  { additionalProperties: false },
);

export const LawEnforcementRequestCreateSchema = named(
  'LawEnforcementRequestCreate',
  Type.Object(
    {
      origin: Type.Optional(
        Type.Enum(LAW_ENFORCEMENT_ORIGINS, {
          description: 'inbound (default): an agency asked us; proactive: we decided to report to it. Both go through the same approval.',
        }),
      ),
      agency: AgencySchema,
      officer: Type.Optional(OfficerSchema),
      legalBasis: text(2000, 'The statute, court order or agreement the request cites (or, proactive, the one we report under).'),
      scope: Type.Object(
        {
          incidents: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
            minItems: 1,
            maxItems: 100,
            uniqueItems: true,
            description: 'Reference numbers or ids of the incidents the request covers.',
          }),
          sections: Type.Optional(
            Type.Array(PolicySectionSchema, {
              uniqueItems: true,
              maxItems: 5,
              description:
                'The sections asked for; absent: whatever the policy allows. A section not asked for is left out even if allowed.',
            }),
          ),
          information: Type.Optional(text(2000, 'What information is asked for, in words.')),
        },
        { additionalProperties: false },
      ),
      deadline: Type.Optional(DateTimeSchema),
      receivedAt: Type.Optional(DateTimeSchema),
      text: Type.Optional(text(20000, 'The request as received, or notes.')),
    },
    { additionalProperties: false },
  ),
);
export type LawEnforcementRequestCreate = Static<typeof LawEnforcementRequestCreateSchema>;

export const LawEnforcementDecisionCreateSchema = named(
  'LawEnforcementDecisionCreate',
  Type.Object(
    {
      decision: Type.Enum(['approve', 'decline'] as const),
      legalBasis: Type.Optional(text(2000, 'approve: the legal basis the disclosure rests on (required).')),
      reason: Type.Optional(text(2000, 'decline: why (required).')),
    },
    { additionalProperties: false },
  ),
);
export type LawEnforcementDecisionCreate = Static<typeof LawEnforcementDecisionCreateSchema>;

const PackageSummarySchema = Type.Object(
  { id: UuidSchema, createdAt: DateTimeSchema, createdBy: Type.String(), payloadSha256: Type.String() },
  { additionalProperties: false },
);

export const LawEnforcementRequestSchema = named(
  'LawEnforcementRequest',
  Type.Object(
    {
      id: UuidSchema,
      origin: Type.Enum(LAW_ENFORCEMENT_ORIGINS),
      agency: AgencySchema,
      officer: nullable(OfficerSchema),
      legalBasis: Type.String(),
      scope: Type.Object(
        {
          incidents: Type.Array(IncidentRefSchema),
          sections: nullable(Type.Array(PolicySectionSchema)),
          information: nullable(Type.String()),
        },
        { additionalProperties: false },
      ),
      deadline: nullable(DateTimeSchema),
      receivedAt: nullable(DateTimeSchema),
      text: nullable(Type.String()),
      state: Type.Enum(LAW_ENFORCEMENT_STATES),
      recordedBy: Type.String(),
      recordedAt: DateTimeSchema,
      decision: nullable(
        Type.Object(
          {
            decision: Type.Enum(['approve', 'decline'] as const),
            by: Type.String(),
            at: DateTimeSchema,
            legalBasis: nullable(Type.String()),
            reason: nullable(Type.String()),
          },
          { additionalProperties: false },
        ),
      ),
      packages: Type.Array(PackageSummarySchema),
    },
    { additionalProperties: false },
  ),
);
export type LawEnforcementRequest = Static<typeof LawEnforcementRequestSchema>;

export const LawEnforcementRequestListSchema = named(
  'LawEnforcementRequestList',
  Type.Object({ items: Type.Array(LawEnforcementRequestSchema) }, { additionalProperties: false }),
);
export type LawEnforcementRequestList = Static<typeof LawEnforcementRequestListSchema>;

export const LawEnforcementPackageSchema = named(
  'LawEnforcementPackage',
  Type.Object(
    {
      id: UuidSchema,
      requestId: UuidSchema,
      agency: Type.String(),
      createdAt: DateTimeSchema,
      createdBy: Type.String(),
      incidents: Type.Array(
        Type.Object(
          {
            id: UuidSchema,
            ref: Type.String(),
            tlp: TlpSchema,
            detail: DetailSchema,
            redactions: Type.Array(PolicySectionSchema),
          },
          { additionalProperties: false },
        ),
      ),
      payloadSha256: Type.String({ description: 'SHA-256 of canonicalJson.' }),
      signerFingerprint: Type.String(),
      canonicalJson: Type.String({ description: 'The package document as RFC 8785 canonical JSON: the bytes jsonSignature signs.' }),
      jsonSignature: Type.String({ description: 'Armored detached OpenPGP signature over canonicalJson (UTF-8): gpg --verify.' }),
      text: Type.String({ description: 'The same package as readable text: the bytes textSignature signs.' }),
      textSignature: Type.String({ description: 'Armored detached OpenPGP signature over text (UTF-8).' }),
    },
    { additionalProperties: false },
  ),
);
export type LawEnforcementPackage = Static<typeof LawEnforcementPackageSchema>;

export const LawEnforcementRequestParamsSchema = Type.Object({ id: UuidSchema }, { additionalProperties: false });
export const LawEnforcementPackageParamsSchema = Type.Object({ id: UuidSchema }, { additionalProperties: false });

// ---------------------------------------------------------------------------------------------
// The press

export const PRESS_STATEMENT_STATES = ['draft', 'published', 'withdrawn'] as const;

export const PressStatementCreateSchema = named(
  'PressStatementCreate',
  Type.Object(
    {
      title: text(300),
      text: text(20000),
      incidents: Type.Array(Type.String({ minLength: 1, maxLength: 200 }), {
        maxItems: 50,
        uniqueItems: true,
        description: 'Reference numbers or ids of the incidents the statement speaks about: each must be TLP:CLEAR.',
      }),
    },
    { additionalProperties: false },
  ),
);
export type PressStatementCreate = Static<typeof PressStatementCreateSchema>;

export const PressStatementWithdrawSchema = named(
  'PressStatementWithdraw',
  Type.Object({ reason: text(2000) }, { additionalProperties: false }),
);
export type PressStatementWithdraw = Static<typeof PressStatementWithdrawSchema>;

export const PressStatementSchema = named(
  'PressStatement',
  Type.Object(
    {
      id: UuidSchema,
      title: Type.String(),
      text: Type.String(),
      incidents: Type.Array(IncidentRefSchema),
      state: Type.Enum(PRESS_STATEMENT_STATES),
      draftedBy: Type.String(),
      draftedAt: DateTimeSchema,
      approvedBy: nullable(Type.String()),
      publishedAt: nullable(DateTimeSchema),
      withdrawnBy: nullable(Type.String()),
      withdrawnAt: nullable(DateTimeSchema),
      withdrawalReason: nullable(Type.String()),
    },
    { additionalProperties: false },
  ),
);
export type PressStatement = Static<typeof PressStatementSchema>;

export const PressStatementListSchema = named(
  'PressStatementList',
  Type.Object({ items: Type.Array(PressStatementSchema) }, { additionalProperties: false }),
);

export const PublishedPressStatementSchema = named(
  'PublishedPressStatement',
  Type.Object(
    {
      id: UuidSchema,
      team: Type.String(),
      title: Type.String(),
      text: Type.String(),
      incidents: Type.Array(Type.String(), { description: 'Reference numbers of the (TLP:CLEAR) incidents it speaks about.' }),
      publishedAt: DateTimeSchema,
    },
    { additionalProperties: false },
  ),
);
export type PublishedPressStatement = Static<typeof PublishedPressStatementSchema>;

export const PublishedPressStatementListSchema = named(
  'PublishedPressStatementList',
  Type.Object({ team: Type.String(), items: Type.Array(PublishedPressStatementSchema) }, { additionalProperties: false }),
);
export type PublishedPressStatementList = Static<typeof PublishedPressStatementListSchema>;

export const PressStatementParamsSchema = Type.Object({ id: UuidSchema }, { additionalProperties: false });
