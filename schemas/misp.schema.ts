import { named } from './common.schema.js';
import Type, { type Static } from 'typebox';

/**
 * MISP core format (https://www.misp-project.org/datamodels/, the "MISP core format" RFC
 * draft), the fields this node writes and reads. What we export is closed (every field named
 * here, nothing else); what we import is open (a MISP instance sends many more fields: Org,
 * Orgc, Galaxy, ShadowAttribute...) and we read only these.
 */

/** MISP sends numbers as strings in most versions and as numbers in some: both are taken. */
const NumberLike = (description: string) =>
  Type.Union([Type.String({ pattern: '^[0-9]+$' }), Type.Integer({ minimum: 0 })], { description });
const BoolLike = Type.Union([Type.Boolean(), Type.Literal('0'), Type.Literal('1'), Type.Literal(0), Type.Literal(1)]);
const Uuid = Type.String({ pattern: '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$' });

export const MispTagSchema = Type.Object(
  { name: Type.String({ minLength: 1, maxLength: 255 }), colour: Type.Optional(Type.String({ maxLength: 7 })) },
  { additionalProperties: false },
);

export const MispAttributeSchema = Type.Object(
  {
    uuid: Uuid,
    type: Type.String({ minLength: 1, maxLength: 100 }),
    category: Type.String({ minLength: 1, maxLength: 255 }),
    value: Type.String({ minLength: 1, maxLength: 262144 }),
    to_ids: Type.Boolean(),
    distribution: Type.String({ pattern: '^[0-5]$' }),
    comment: Type.String({ maxLength: 65535 }),
    disable_correlation: Type.Boolean(),
    Tag: Type.Optional(Type.Array(MispTagSchema)),
  },
  { additionalProperties: false },
);
export type MispAttribute = Static<typeof MispAttributeSchema>;

/** An event as this node exports it: MISP's required fields (uuid, info, date, threat level, analysis, distribution) and ours. */
export const MispEventSchema = Type.Object(
  {
    uuid: Uuid,
    info: Type.String({ minLength: 1, maxLength: 65535 }),
    date: Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' }),
    threat_level_id: Type.String({ pattern: '^[1-4]$', description: '1 high, 2 medium, 3 low, 4 undefined.' }),
    analysis: Type.String({ pattern: '^[0-2]$', description: '0 initial, 1 ongoing, 2 completed.' }),
    distribution: Type.String({
      pattern: '^[0-4]$',
      description: '0 your organisation only, 1 this community only, 2 connected communities, 3 all communities.',
    }),
    published: Type.Boolean(),
    timestamp: Type.String({ pattern: '^[0-9]+$', description: 'Seconds since the epoch of the last change.' }),
    Orgc: Type.Object({ name: Type.String({ minLength: 1 }), uuid: Uuid }, { additionalProperties: false }),
    Attribute: Type.Array(MispAttributeSchema),
    Tag: Type.Array(MispTagSchema),
  },
  { additionalProperties: false },
);
export type MispEvent = Static<typeof MispEventSchema>;

export const MispEventDocumentSchema = named('MispEventDocument', Type.Object({ Event: MispEventSchema }, { additionalProperties: false }));
export type MispEventDocument = Static<typeof MispEventDocumentSchema>;

/** An event as an import takes it: what we read, checked; everything else MISP sends, tolerated. */
export const MispEventInputSchema = named(
  'MispEventInput',
  Type.Object(
    {
      uuid: Uuid,
      info: Type.String({ minLength: 1, maxLength: 65535 }),
      date: Type.Optional(Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$' })),
      threat_level_id: Type.Optional(NumberLike('1 high, 2 medium, 3 low, 4 undefined')),
      analysis: Type.Optional(NumberLike('0 initial, 1 ongoing, 2 completed')),
      distribution: Type.Optional(NumberLike('0..4')),
      timestamp: Type.Optional(NumberLike('seconds since the epoch')),
      Orgc: Type.Optional(Type.Object({ name: Type.Optional(Type.String({ maxLength: 255 })) })),
      Attribute: Type.Optional(
        Type.Array(
          Type.Object({
            type: Type.String({ minLength: 1, maxLength: 100 }),
            category: Type.Optional(Type.String({ maxLength: 255 })),
            value: Type.String({ minLength: 1, maxLength: 262144 }),
            to_ids: Type.Optional(BoolLike),
            comment: Type.Optional(Type.String({ maxLength: 65535 })),
          }),
          { maxItems: 10000 },
        ),
      ),
      Object: Type.Optional(Type.Array(Type.Object({}), { maxItems: 10000 })),
      Tag: Type.Optional(Type.Array(Type.Object({ name: Type.String({ minLength: 1, maxLength: 255 }) }), { maxItems: 1000 })),
    },
    { description: 'A MISP event (core format). Fields other than these are accepted and ignored.' },
  ),
);
export type MispEventInput = Static<typeof MispEventInputSchema>;

export const MispExportQuerySchema = Type.Object(
  {
    for: Type.Optional(
      Type.String({
        pattern: '^[a-z0-9][a-z0-9-]{1,62}$',
        description:
          'A peer team id: export what a share to that team would carry (sharing policy, redaction, audited). Without it: the incident as held, for our own tools.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const MispImportResultSchema = named(
  'MispImportResult',
  Type.Object(
    {
      status: Type.Enum(['created', 'updated', 'unchanged']),
      eventUuid: Type.String(),
      incident: Type.Object({ id: Type.String({ format: 'uuid' }), ref: Type.String() }, { additionalProperties: false }),
    },
    { additionalProperties: false },
  ),
);
export type MispImportResult = Static<typeof MispImportResultSchema>;

export const MispPushResultSchema = named(
  'MispPushResult',
  Type.Object(
    {
      eventUuid: Type.String(),
      action: Type.Enum(['added', 'edited']),
      server: Type.String({ description: 'The MISP instance (origin only).' }),
    },
    { additionalProperties: false },
  ),
);

export const MispPullResultSchema = named(
  'MispPullResult',
  Type.Object(
    {
      pages: Type.Integer({ minimum: 0 }),
      created: Type.Integer({ minimum: 0 }),
      updated: Type.Integer({ minimum: 0 }),
      unchanged: Type.Integer({ minimum: 0 }),
      invalid: Type.Integer({ minimum: 0, description: 'Events that did not validate: skipped, nothing filed for them.' }),
      since: Type.Integer({ minimum: 0, description: 'The event timestamp the next pull starts from.' }),
    },
    { additionalProperties: false },
  ),
);
export type MispPullResult = Static<typeof MispPullResultSchema>;

export const MispPushQuerySchema = MispExportQuerySchema;
