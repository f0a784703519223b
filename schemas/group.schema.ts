import Type, { type Static } from 'typebox';
import { DateTimeSchema, named } from './common.schema.js';
import { MembershipLevelSchema } from './policy.schema.js';

/**
 * Trust groups on the wire (/api/v1/groups; docs/trust-model.md "Where the policy runs"): a
 * FIRST-like forum, a national or sector community, whether we belong to it, what its
 * membership is worth to us, and which teams are in it. The sharing policy turns these into
 * group floors (effectiveTrust); nothing here decides on its own.
 */

const SLUG = '^[a-z0-9][a-z0-9-]{1,62}$';

export const GroupIdSchema = Type.String({
  pattern: SLUG,
  description: 'A trust group id: lower-case letters, digits and hyphens, 2-63 characters (e.g. first, nisc-jp).',
});
const GroupTeamIdSchema = Type.String({ pattern: SLUG, description: 'A team id (as in /api/v1/peers).' });

export const GROUP_KINDS = ['forum', 'national', 'sector', 'other'] as const;
export type GroupKind = (typeof GROUP_KINDS)[number];
export const GroupKindSchema = Type.Enum(GROUP_KINDS, {
  description: 'forum: a FIRST-like forum of teams; national: a national community; sector: a sector community (ISAC); other.',
});

export const OUR_MEMBERSHIPS = ['full', 'liaison', 'none'] as const;
export type OurMembership = (typeof OUR_MEMBERSHIPS)[number];
export const OurMembershipSchema = Type.Enum(OUR_MEMBERSHIPS, {
  description: 'Whether our team belongs to the group. Only groups we belong to (full or liaison) give their members a floor.',
});

/** A group may state a floor for its members, never above partner: close is a bilateral decision. */
export const GROUP_FLOORS = ['unknown', 'community', 'partner'] as const;
export type GroupFloor = (typeof GROUP_FLOORS)[number];
const floor = (description: string) => Type.Enum(GROUP_FLOORS, { description });
const FLOOR_FULL = 'Least trust for its full members; absent/null: the policy default (community).';
const FLOOR_LIAISON = 'Least trust for its liaison members; absent/null: the policy default (unknown, i.e. none).';

const NameSchema = Type.String({ minLength: 1, maxLength: 200 });
const DescriptionSchema = Type.String({ minLength: 1, maxLength: 2000 });
/** `manual` (a handler entered it), `roster` (from the group's published member list), ... */
const SourceSchema = Type.String({
  pattern: '^[a-z][a-z0-9-]{0,39}$',
  description: 'Where the membership is known from: manual (default), roster, ...',
});

export const GroupSchema = named(
  'Group',
  Type.Object(
    {
      id: GroupIdSchema,
      name: Type.String(),
      kind: GroupKindSchema,
      description: Type.Union([Type.String(), Type.Null()]),
      ourMembership: OurMembershipSchema,
      floorFull: Type.Union([floor(FLOOR_FULL), Type.Null()]),
      floorLiaison: Type.Union([floor(FLOOR_LIAISON), Type.Null()]),
      memberCount: Type.Integer({ minimum: 0 }),
      version: Type.Integer({ minimum: 1 }),
      createdAt: DateTimeSchema,
      createdBy: Type.String(),
      updatedAt: DateTimeSchema,
      rosterForum: Type.Union([Type.String(), Type.Null()], {
        description: 'The forum whose signed roster sets the members (/api/v1/forums); null: members are kept by hand.',
      }),
    },
    { additionalProperties: false },
  ),
);
export type Group = Static<typeof GroupSchema>;

export const GroupCreateSchema = named(
  'GroupCreate',
  Type.Object(
    {
      id: GroupIdSchema,
      name: NameSchema,
      kind: GroupKindSchema,
      description: Type.Optional(DescriptionSchema),
      ourMembership: Type.Optional(OurMembershipSchema),
      floorFull: Type.Optional(floor(FLOOR_FULL)),
      floorLiaison: Type.Optional(floor(FLOOR_LIAISON)),
    },
    { additionalProperties: false },
  ),
);
export type GroupCreate = Static<typeof GroupCreateSchema>;

export const GroupPatchSchema = named(
  'GroupPatch',
  Type.Object(
    {
      name: Type.Optional(NameSchema),
      kind: Type.Optional(GroupKindSchema),
      description: Type.Optional(Type.Union([DescriptionSchema, Type.Null()])),
      ourMembership: Type.Optional(OurMembershipSchema),
      floorFull: Type.Optional(Type.Union([floor(FLOOR_FULL), Type.Null()])),
      floorLiaison: Type.Optional(Type.Union([floor(FLOOR_LIAISON), Type.Null()])),
    },
    {
      additionalProperties: false,
      minProperties: 1,
      description: 'Fields to change; null clears description or a floor.',
    },
  ),
);
export type GroupPatch = Static<typeof GroupPatchSchema>;

export const GroupListQuerySchema = Type.Object(
  {
    kind: Type.Optional(GroupKindSchema),
    ourMembership: Type.Optional(OurMembershipSchema),
    team: Type.Optional(Type.String({ pattern: SLUG, description: 'Only groups this team is a member of.' })),
  },
  { additionalProperties: false },
);
export type GroupListQuery = Static<typeof GroupListQuerySchema>;

export const GroupListSchema = named('GroupList', Type.Object({ items: Type.Array(GroupSchema) }, { additionalProperties: false }));

export const GroupIdParamsSchema = Type.Object({ id: GroupIdSchema }, { additionalProperties: false });
export const GroupMemberParamsSchema = Type.Object({ id: GroupIdSchema, teamId: GroupTeamIdSchema }, { additionalProperties: false });

export const GroupMemberSchema = named(
  'GroupMember',
  Type.Object(
    {
      groupId: GroupIdSchema,
      teamId: GroupTeamIdSchema,
      level: MembershipLevelSchema,
      since: DateTimeSchema,
      source: Type.String(),
      addedBy: Type.String(),
      updatedAt: DateTimeSchema,
    },
    { additionalProperties: false },
  ),
);
export type GroupMember = Static<typeof GroupMemberSchema>;

export const GroupMemberInputSchema = named(
  'GroupMemberInput',
  Type.Object(
    {
      teamId: GroupTeamIdSchema,
      level: MembershipLevelSchema,
      since: Type.Optional(Type.String({ format: 'date-time', description: 'When the membership began; default now.' })),
      source: Type.Optional(SourceSchema),
    },
    { additionalProperties: false },
  ),
);
export type GroupMemberInput = Static<typeof GroupMemberInputSchema>;

export const GroupMemberListSchema = named(
  'GroupMemberList',
  Type.Object({ items: Type.Array(GroupMemberSchema) }, { additionalProperties: false }),
);
