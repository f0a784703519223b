import Type, { type Static } from 'typebox';
import { TeamIdSchema, ForumIdSchema, FingerprintSchema } from './forum.schema.js';
import { ContactSchema, DateTimeSchema, named } from './common.schema.js';

/**
 * Joining a forum (issue 14 part 3, docs/federation-protocol.md §5.16, §5.17): a candidate
 * applies to the operator (`forum.application`); members sponsor it with signed
 * `forum.sponsorship` documents naming the key they verified for it; the operator admits it
 * in a new roster version once enough members did. Every object is closed.
 */

const StatementSchema = Type.String({
  minLength: 1,
  maxLength: 4000,
  description: 'Why the team applies: its constituency, its services, who knows it.',
});

/** `forum.application`: a candidate to the forum's operator. */
export const ForumApplicationBodySchema = named(
  'ForumApplicationBody',
  Type.Object(
    { forum: ForumIdSchema, statement: StatementSchema, contact: Type.Optional(ContactSchema) },
    { additionalProperties: false, description: 'forum.application: a team applies to the operator for membership.' },
  ),
);
export type ForumApplicationBody = Static<typeof ForumApplicationBodySchema>;

/** `forum.sponsorship`: a member to the operator, vouching for a candidate's key. */
export const ForumSponsorshipBodySchema = named(
  'ForumSponsorshipBody',
  Type.Object(
    {
      forum: ForumIdSchema,
      candidate: TeamIdSchema,
      fingerprint: FingerprintSchema,
      withdrawn: Type.Optional(Type.Boolean({ description: 'true: the member takes its sponsorship back.' })),
    },
    {
      additionalProperties: false,
      description: 'forum.sponsorship: a member sponsors a candidate, naming the key it verified for it (or withdraws that).',
    },
  ),
);
export type ForumSponsorshipBody = Static<typeof ForumSponsorshipBodySchema>;

// ---------------------------------------------------------------------------------------------
// /api/v1

export const ForumApplyInputSchema = named(
  'ForumApplyInput',
  Type.Object({ statement: StatementSchema, contact: Type.Optional(ContactSchema) }, { additionalProperties: false }),
);
export const ForumSponsorInputSchema = named(
  'ForumSponsorInput',
  Type.Object({ candidate: TeamIdSchema, withdrawn: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
);
export const ForumMessageQueuedSchema = named(
  'ForumMessageQueued',
  Type.Object(
    { messageId: Type.String({ format: 'uuid' }), to: TeamIdSchema },
    { additionalProperties: false, description: 'The message queued for the operator (delivered by the outbox).' },
  ),
);

const SponsorshipViewSchema = Type.Object(
  {
    sponsor: TeamIdSchema,
    fingerprint: FingerprintSchema,
    withdrawn: Type.Boolean(),
    receivedAt: DateTimeSchema,
    counts: Type.Boolean({
      description: 'Counts towards admission: not withdrawn, by an active member, for the key pinned here for the candidate.',
    }),
  },
  { additionalProperties: false },
);
export const ForumApplicationViewSchema = named(
  'ForumApplicationView',
  Type.Object(
    {
      team: TeamIdSchema,
      statement: Type.Union([Type.String(), Type.Null()], { description: 'null: sponsored, but no application received.' }),
      contact: Type.Union([ContactSchema, Type.Null()]),
      appliedAt: Type.Union([DateTimeSchema, Type.Null()]),
      pinnedFingerprint: Type.Union([FingerprintSchema, Type.Null()], {
        description: 'The key this node pins for the team; null: not a peer.',
      }),
      verified: Type.Boolean(),
      sponsorships: Type.Array(SponsorshipViewSchema),
    },
    { additionalProperties: false },
  ),
);
export type ForumApplicationView = Static<typeof ForumApplicationViewSchema>;
export const ForumApplicationListSchema = named(
  'ForumApplicationList',
  Type.Object({ items: Type.Array(ForumApplicationViewSchema) }, { additionalProperties: false }),
);
