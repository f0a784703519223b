import Type, { type Static } from 'typebox';
import { TeamIdSchema, ForumIdSchema } from './forum.schema.js';
import { DateTimeSchema, TlpSchema, named } from './common.schema.js';
import { HostSchema, IndicatorSchema } from './incident.schema.js';

/**
 * Inquiries to all members of a forum (issue 14 part 5, docs/federation-protocol.md §5.14,
 * §5.15): a question with hosts, networks, domains and indicators, fanned out to the members of
 * the forum's newest roster; each member's node matches it against its own data, and a handler
 * there answers the poster alone. Every object is closed.
 */

const InquiryIdSchema = Type.String({ format: 'uuid', description: 'The inquiry id the poster chose (a UUID).' });
const RefSchema = Type.String({ minLength: 1, maxLength: 200, description: 'A reference number of the team that gives it.' });

export const INQUIRY_ANSWERS = ['seen', 'not-seen', 'affected'] as const;
export type InquiryAnswerKind = (typeof INQUIRY_ANSWERS)[number];
const AnswerKindSchema = Type.Enum(INQUIRY_ANSWERS, {
  description: 'seen: we see this activity too; not-seen: nothing of it here; affected: our constituency is affected.',
});

export const InquiryHostSchema = named(
  'InquiryHost',
  Type.Object(
    { ip: HostSchema.properties.ip, hostname: HostSchema.properties.hostname },
    { additionalProperties: false, description: 'A host asked about: an address, a name, or both (at least one).' },
  ),
);
export type InquiryHost = Static<typeof InquiryHostSchema>;

/** What an inquiry asks about, as it travels and as it is stored. */
const subjectFields = {
  question: Type.String({ minLength: 1, maxLength: 4000, description: 'What the poster asks the members.' }),
  indicators: Type.Optional(Type.Array(IndicatorSchema, { maxItems: 500 })),
  hosts: Type.Optional(Type.Array(InquiryHostSchema, { maxItems: 500 })),
  networks: Type.Optional(
    Type.Array(Type.String({ minLength: 2, maxLength: 50, description: 'A CIDR block.' }), { maxItems: 100, uniqueItems: true }),
  ),
  domains: Type.Optional(
    Type.Array(Type.String({ minLength: 1, maxLength: 253, pattern: '^[A-Za-z0-9_.-]+$', description: 'A domain name.' }), {
      maxItems: 100,
      uniqueItems: true,
    }),
  ),
};

export const InquiryCreateSchema = named(
  'InquiryCreate',
  Type.Object(
    {
      ...subjectFields,
      tlp: TlpSchema,
      incident: Type.Optional(RefSchema),
    },
    { additionalProperties: false },
  ),
);
export type InquiryCreate = Static<typeof InquiryCreateSchema>;

/** `forum.inquiry` message body: an inquiry to one member (the envelope's tlp is its label for that member). */
export const ForumInquiryBodySchema = named(
  'ForumInquiryBody',
  Type.Object(
    {
      forum: ForumIdSchema,
      inquiry: InquiryIdSchema,
      ...subjectFields,
      ref: Type.Optional(RefSchema),
    },
    { additionalProperties: false, description: 'forum.inquiry: a question to every member of a forum.' },
  ),
);
export type ForumInquiryBody = Static<typeof ForumInquiryBodySchema>;

/** `forum.inquiry-answer` message body: a member's answer, to the poster only. */
export const ForumInquiryAnswerBodySchema = named(
  'ForumInquiryAnswerBody',
  Type.Object(
    {
      forum: ForumIdSchema,
      inquiry: InquiryIdSchema,
      answer: AnswerKindSchema,
      ref: Type.Optional(RefSchema),
      note: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
      automatic: Type.Optional(
        Type.Literal(true, { description: 'The node answered on its own: nothing matched and it is set to answer not-seen.' }),
      ),
    },
    { additionalProperties: false, description: 'forum.inquiry-answer: a member answers the poster of an inquiry.' },
  ),
);
export type ForumInquiryAnswerBody = Static<typeof ForumInquiryAnswerBodySchema>;

// ---------------------------------------------------------------------------------------------
// /api/v1

export const InquiryPostedSchema = named(
  'InquiryPosted',
  Type.Object(
    {
      id: InquiryIdSchema,
      sentTo: Type.Array(TeamIdSchema),
      skipped: Type.Array(
        Type.Object(
          { team: TeamIdSchema, reason: Type.String({ description: 'not-a-peer, peer-not-active, or the policy rules that refused it.' }) },
          { additionalProperties: false },
        ),
      ),
    },
    { additionalProperties: false },
  ),
);
export type InquiryPosted = Static<typeof InquiryPostedSchema>;

export const InquiryAnswerInputSchema = named(
  'InquiryAnswerInput',
  Type.Object(
    {
      answer: AnswerKindSchema,
      ref: Type.Optional(RefSchema),
      note: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })),
      share: Type.Optional(
        Type.Boolean({
          description:
            'Also share the incident named by ref with the poster, before the answer goes: an ordinary incident.report that the sharing policy decides (purpose direct), redacts and audits like any share. A refusal is 403 policy-denied and no answer is sent. Needs ref.',
        }),
      ),
    },
    { additionalProperties: false },
  ),
);
export type InquiryAnswerInput = Static<typeof InquiryAnswerInputSchema>;

export const InquiryAnswerSchema = named(
  'InquiryAnswer',
  Type.Object(
    {
      team: TeamIdSchema,
      answer: AnswerKindSchema,
      ref: Type.Union([RefSchema, Type.Null()]),
      note: Type.Union([Type.String(), Type.Null()]),
      automatic: Type.Boolean({ description: 'Given by the node itself: nothing matched and the node answers not-seen on its own.' }),
      at: DateTimeSchema,
      incident: Type.Union([RefSchema, Type.Null()], {
        description:
          "sent: our reference number of the copy of the answering team's incident (ref) that it shared with us, once it arrived; otherwise null.",
      }),
    },
    { additionalProperties: false },
  ),
);
export type InquiryAnswer = Static<typeof InquiryAnswerSchema>;

export const InquiryMatchSchema = named(
  'InquiryMatch',
  Type.Object(
    {
      kind: Type.Enum(['incident', 'site', 'constituency'] as const),
      id: Type.String({ description: 'Our reference number, a site id, or the constituency entry.' }),
      label: Type.String(),
      matchedOn: Type.Enum(['ip', 'network', 'hostname', 'domain', 'indicator'] as const),
      value: Type.String({ description: 'What of the inquiry matched.' }),
    },
    { additionalProperties: false },
  ),
);
export type InquiryMatch = Static<typeof InquiryMatchSchema>;

const MemberStateSchema = Type.Object(
  {
    team: TeamIdSchema,
    outcome: Type.Enum(['sent', 'skipped'] as const),
    reason: Type.Union([Type.String(), Type.Null()]),
    delivery: Type.Union([Type.String(), Type.Null()], { description: "The outbox's state of the message (sent members)." }),
    answer: Type.Union([InquiryAnswerSchema, Type.Null()], { description: 'The newest answer; null: none yet.' }),
  },
  { additionalProperties: false },
);

const summaryFields = {
  id: InquiryIdSchema,
  direction: Type.Enum(['sent', 'received'] as const),
  forum: ForumIdSchema,
  poster: TeamIdSchema,
  tlp: TlpSchema,
  createdAt: DateTimeSchema,
  matchCount: Type.Integer({ minimum: 0, description: 'received: what matched here.' }),
  answerCount: Type.Integer({ minimum: 0, description: 'sent: members that answered; received: answers we gave.' }),
};

export const InquirySummarySchema = named('InquirySummary', Type.Object(summaryFields, { additionalProperties: false }));
export type InquirySummary = Static<typeof InquirySummarySchema>;
export const InquiryListSchema = named(
  'InquiryList',
  Type.Object({ items: Type.Array(InquirySummarySchema) }, { additionalProperties: false }),
);

export const InquirySchema = named(
  'Inquiry',
  Type.Object(
    {
      ...summaryFields,
      ...subjectFields,
      incident: Type.Union([RefSchema, Type.Null()], { description: "sent: our incident's reference number; received: the poster's." }),
      matches: Type.Array(InquiryMatchSchema),
      members: Type.Array(MemberStateSchema, { description: 'sent: per member, what was sent and its answer.' }),
      answers: Type.Array(InquiryAnswerSchema, { description: 'Every answer, oldest first (sent: theirs; received: ours).' }),
    },
    { additionalProperties: false },
  ),
);
export type Inquiry = Static<typeof InquirySchema>;

export const InquiryIdParamsSchema = Type.Object({ id: Type.String({ format: 'uuid' }) }, { additionalProperties: false });
export const InquiryForumParamsSchema = Type.Object({ id: ForumIdSchema }, { additionalProperties: false });
export const InquiryListQuerySchema = Type.Object(
  { direction: Type.Optional(Type.Enum(['sent', 'received'] as const)) },
  { additionalProperties: false },
);
