import Type, { type Static } from 'typebox';
import { ContactSchema, DateTimeSchema, named } from './common.schema.js';

/**
 * Forums (issue 14, docs/federation-protocol.md §5.13): a FIRST-like forum has an operator, its
 * secretariat, which signs the roster: who the members are, with the node URL and key fingerprint
 * of each, their kind of membership and who sponsored them. Members verify each version against
 * the operator's pinned key and keep them all; the roster then sets the forum's trust group and
 * vouches for the keys it lists (assurance `introduced`). Every object is closed.
 */

const SLUG = '^[a-z0-9][a-z0-9-]{1,62}$';
export const ForumIdSchema = Type.String({
  pattern: SLUG,
  description: 'A forum id: lower-case letters, digits and hyphens, 2-63 characters (e.g. first). Also the id of its trust group.',
});
export const TeamIdSchema = Type.String({ pattern: SLUG, description: 'A team id.' });
export const FingerprintSchema = Type.String({ pattern: '^[0-9A-F]{40}$', description: 'A v4 key fingerprint, 40 upper-case hex digits.' });
const UtcSchema = Type.String({
  format: 'date-time',
  pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d{1,9})?Z$',
  description: 'RFC 3339 date-time in UTC.',
});

export const FORUM_MEMBER_KINDS = ['full', 'liaison'] as const;
export type ForumMemberKind = (typeof FORUM_MEMBER_KINDS)[number];
const KindSchema = Type.Enum(FORUM_MEMBER_KINDS, {
  description: 'full: a vetted member (the group floor for full members); liaison: a contact, not a vetted member.',
});
export const FORUM_MEMBER_STATUSES = ['active', 'suspended'] as const;
const StatusSchema = Type.Enum(FORUM_MEMBER_STATUSES, {
  description: 'active; suspended: listed, but no floor and no vouch while suspended.',
});

/** A roster holds at most this many members. */
export const MAX_ROSTER_MEMBERS = 5000;

/** A member that runs a node: other members add it from its URL (its signed profile carries the key). */
export const RosterNodeMemberSchema = named(
  'RosterNodeMember',
  Type.Object(
    {
      team: TeamIdSchema,
      url: Type.String({ format: 'uri', pattern: '^https?://', maxLength: 2048, description: "The member's node URL." }),
      fingerprint: FingerprintSchema,
      kind: KindSchema,
      status: StatusSchema,
      sponsors: Type.Array(TeamIdSchema, { maxItems: 20, uniqueItems: true, description: 'Members who sponsored its admission.' }),
      admitted: UtcSchema,
      contact: Type.Optional(ContactSchema),
    },
    { additionalProperties: false },
  ),
);
export type RosterNodeMember = Static<typeof RosterNodeMemberSchema>;

/** The largest armored public key a roster carries for a member without a node. */
export const MAX_ROSTER_KEY_LENGTH = 64 * 1024;

/**
 * A member without a node (ADR 0028): it reads signed e-mail. It has no URL and no signed
 * profile, so the roster carries what a member needs to reach it: its address and its whole
 * armored public key (the fingerprint alone could not encrypt). Tagged `channel: mail`; only a
 * version-2 roster lists one.
 */
export const RosterMailMemberSchema = named(
  'RosterMailMember',
  Type.Object(
    {
      team: TeamIdSchema,
      channel: Type.Literal('mail', { description: 'The member takes signed (and encrypted) e-mail only: it runs no node.' }),
      name: Type.String({ minLength: 1, maxLength: 200, description: "The team's name, as the operator pinned it." }),
      email: Type.String({
        minLength: 3,
        maxLength: 254,
        pattern: '^[^\\s@<>]+@[^\\s@<>]+$',
        description: 'Where the team reads signed e-mail (PGP/MIME, RFC 3156).',
      }),
      publicKey: Type.String({
        minLength: 1,
        maxLength: MAX_ROSTER_KEY_LENGTH,
        description: "The team's armored OpenPGP public key as the operator pinned it; its fingerprint is `fingerprint`.",
      }),
      fingerprint: FingerprintSchema,
      kind: KindSchema,
      status: StatusSchema,
      sponsors: Type.Array(TeamIdSchema, { maxItems: 20, uniqueItems: true, description: 'Members who sponsored its admission.' }),
      admitted: UtcSchema,
      contact: Type.Optional(ContactSchema),
    },
    { additionalProperties: false },
  ),
);
export type RosterMailMember = Static<typeof RosterMailMemberSchema>;

export const RosterMemberSchema = named(
  'RosterMember',
  Type.Union([RosterNodeMemberSchema, RosterMailMemberSchema], {
    description: 'A member with a node (no `channel`), or, in a version-2 roster, a member that reads signed e-mail (`channel: mail`).',
  }),
);
export type RosterMember = Static<typeof RosterMemberSchema>;

export function isMailMember(member: RosterMember): member is RosterMailMember {
  return 'channel' in member && member.channel === 'mail';
}

/** The roster as the operator signs it: `signature` covers the RFC 8785 bytes of this object. */
export const RosterDocumentSchema = named(
  'RosterDocument',
  Type.Object(
    {
      v: Type.Union([Type.Literal(1), Type.Literal(2)], {
        description:
          '1: every member runs a node; 2: a member may read signed e-mail instead (RosterMailMember). The operator signs 1 while no member is a mail team, so members that know only version 1 keep taking its rosters.',
      }),
      type: Type.Literal('forum.roster'),
      forum: ForumIdSchema,
      name: Type.String({ minLength: 1, maxLength: 200 }),
      operator: TeamIdSchema,
      version: Type.Integer({ minimum: 1, maximum: 2 ** 53 - 1, description: 'Grows by one with every version the operator signs.' }),
      issued: UtcSchema,
      sponsorsNeeded: Type.Integer({ minimum: 0, maximum: 10, description: 'Sponsors a new member needs (FIRST asks for two).' }),
      members: Type.Array(RosterMemberSchema, { maxItems: MAX_ROSTER_MEMBERS }),
    },
    { additionalProperties: false },
  ),
);
export type RosterDocument = Static<typeof RosterDocumentSchema>;

export const SignedRosterSchema = named(
  'SignedRoster',
  Type.Object(
    {
      document: RosterDocumentSchema,
      signature: Type.String({ minLength: 1, maxLength: 64 * 1024, description: "The operator's armored detached signature." }),
    },
    { additionalProperties: false },
  ),
);
export type SignedRoster = Static<typeof SignedRosterSchema>;

/** `forum.roster` message body: the operator pushes each new version to every member. */
export const ForumRosterBodySchema = named(
  'ForumRosterBody',
  Type.Object(
    { roster: SignedRosterSchema },
    { additionalProperties: false, description: 'forum.roster: a roster version signed by the forum operator.' },
  ),
);
export type ForumRosterBody = Static<typeof ForumRosterBodySchema>;

// ---------------------------------------------------------------------------------------------
// /api/v1/forums

export const ForumCreateSchema = named(
  'ForumCreate',
  Type.Union([
    Type.Object(
      {
        id: ForumIdSchema,
        name: Type.String({ minLength: 1, maxLength: 200 }),
        role: Type.Literal('operator'),
        sponsorsNeeded: Type.Optional(Type.Integer({ minimum: 0, maximum: 10 })),
      },
      { additionalProperties: false, description: 'This node runs the forum (its secretariat).' },
    ),
    Type.Object(
      {
        id: ForumIdSchema,
        role: Type.Literal('member'),
        operator: TeamIdSchema,
      },
      {
        additionalProperties: false,
        description: 'This node belongs to a forum that a peer operates: rosters from that peer are accepted for it.',
      },
    ),
  ]),
);
export type ForumCreate = Static<typeof ForumCreateSchema>;

export const ForumSchema = named(
  'Forum',
  Type.Object(
    {
      id: ForumIdSchema,
      name: Type.String(),
      operator: TeamIdSchema,
      role: Type.Enum(['operator', 'member'] as const),
      sponsorsNeeded: Type.Integer(),
      rosterVersion: Type.Integer({ minimum: 0, description: '0: no roster yet.' }),
      ourMembership: Type.Enum(['full', 'liaison', 'none'] as const, { description: 'Our kind of membership in the newest roster.' }),
      memberCount: Type.Integer({ minimum: 0 }),
      createdAt: DateTimeSchema,
      updatedAt: DateTimeSchema,
    },
    { additionalProperties: false },
  ),
);
export type Forum = Static<typeof ForumSchema>;

export const ForumMemberInputSchema = named(
  'ForumMemberInput',
  Type.Object(
    {
      kind: KindSchema,
      status: Type.Optional(StatusSchema),
      sponsors: Type.Optional(Type.Array(TeamIdSchema, { maxItems: 20, uniqueItems: true })),
      contact: Type.Optional(ContactSchema),
    },
    { additionalProperties: false },
  ),
);
export type ForumMemberInput = Static<typeof ForumMemberInputSchema>;

/** A member as the operator's working list has it (not yet signed until the next version). */
export const ForumDraftMemberSchema = named(
  'ForumDraftMember',
  Type.Object(
    {
      team: TeamIdSchema,
      kind: KindSchema,
      status: StatusSchema,
      sponsors: Type.Array(TeamIdSchema),
      contact: Type.Union([ContactSchema, Type.Null()]),
      admitted: DateTimeSchema,
      updatedAt: DateTimeSchema,
      updatedBy: Type.String(),
    },
    { additionalProperties: false },
  ),
);
export type ForumDraftMember = Static<typeof ForumDraftMemberSchema>;

/** A member of the newest signed roster, as this node sees it. */
export const ForumRosterMemberViewSchema = named(
  'ForumRosterMemberView',
  Type.Object(
    {
      team: TeamIdSchema,
      channel: Type.Enum(['node', 'mail'] as const, { description: 'node: it runs a node (url); mail: it reads signed e-mail (email).' }),
      url: Type.Union([Type.String(), Type.Null()], { description: "The member's node URL; null for a member without a node." }),
      email: Type.Union([Type.String(), Type.Null()], { description: 'The address of a member without a node; null for a node.' }),
      name: Type.Union([Type.String(), Type.Null()], {
        description: 'The name the roster gives a member without a node; null for a node.',
      }),
      fingerprint: FingerprintSchema,
      kind: KindSchema,
      status: StatusSchema,
      sponsors: Type.Array(TeamIdSchema),
      admitted: UtcSchema,
      contact: Type.Optional(ContactSchema),
      peer: Type.Enum(['none', 'pinned', 'other-key', 'self'] as const, {
        description:
          'none: not our peer yet (add it with POST .../members/{team}/peer); pinned: our peer with this key; other-key: our peer with another key; self: our team.',
      }),
      assurance: Type.Union([Type.Enum(['unverified', 'introduced', 'verified'] as const), Type.Null()]),
    },
    { additionalProperties: false },
  ),
);
export type ForumRosterMemberView = Static<typeof ForumRosterMemberViewSchema>;

export const ForumRosterVersionSchema = named(
  'ForumRosterVersion',
  Type.Object(
    {
      version: Type.Integer(),
      memberCount: Type.Integer(),
      receivedFrom: TeamIdSchema,
      receivedAt: DateTimeSchema,
    },
    { additionalProperties: false },
  ),
);

export const ForumIdParamsSchema = Type.Object({ id: ForumIdSchema }, { additionalProperties: false });
export const ForumTeamParamsSchema = Type.Object({ id: ForumIdSchema, teamId: TeamIdSchema }, { additionalProperties: false });
export const ForumListSchema = named('ForumList', Type.Object({ items: Type.Array(ForumSchema) }, { additionalProperties: false }));
export const ForumDraftListSchema = named(
  'ForumDraftList',
  Type.Object({ items: Type.Array(ForumDraftMemberSchema) }, { additionalProperties: false }),
);
export const ForumRosterMemberListSchema = named(
  'ForumRosterMemberList',
  Type.Object({ items: Type.Array(ForumRosterMemberViewSchema) }, { additionalProperties: false }),
);
export const ForumRosterVersionListSchema = named(
  'ForumRosterVersionList',
  Type.Object({ items: Type.Array(ForumRosterVersionSchema) }, { additionalProperties: false }),
);
export const ForumPublishedSchema = named(
  'ForumPublished',
  Type.Object(
    {
      version: Type.Integer({ minimum: 1 }),
      sentTo: Type.Array(TeamIdSchema, { description: 'Members (and members just dropped) a forum.roster was queued for.' }),
    },
    { additionalProperties: false },
  ),
);
export const ForumRefreshedSchema = named(
  'ForumRefreshed',
  Type.Object(
    {
      version: Type.Integer({ minimum: 0 }),
      applied: Type.Boolean({ description: 'false: the operator serves the version held here already.' }),
    },
    { additionalProperties: false },
  ),
);
export const ForumPeerAddedSchema = named(
  'ForumPeerAdded',
  Type.Object(
    {
      teamId: TeamIdSchema,
      fingerprint: FingerprintSchema,
      assurance: Type.Enum(['unverified', 'introduced', 'verified'] as const),
    },
    { additionalProperties: false },
  ),
);
