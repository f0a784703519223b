import Type, { type Static, type TSchema } from 'typebox';
import { IncidentSchema } from './incident.schema.js';

/**
 * STIX 2.1 on /api/v1 (docs/federation-protocol.md, docs/stix.md): the export of an incident as a
 * bundle, the import of a bundle, and the JSON schema of our property extension on `incident`.
 * The bundle's objects are described loosely here: the import checks them itself (400
 * import-invalid with a pointer), and the OASIS schemas are what the tests validate exports with.
 */
export const STIX_MEDIA_TYPE = 'application/stix+json;version=2.1';

export const StixObjectSchema = Type.Object(
  {
    type: Type.String({ minLength: 3, maxLength: 250 }),
    id: Type.String({ maxLength: 300 }),
  },
  { additionalProperties: true, description: 'A STIX 2.1 object (SDO, SRO, SCO, marking definition, extension definition).' },
);

export const StixBundleSchema = Type.Object(
  {
    type: Type.Literal('bundle'),
    id: Type.String({ pattern: '^bundle--' }),
    objects: Type.Array(StixObjectSchema),
  },
  { additionalProperties: true, description: 'A STIX 2.1 bundle.' },
);

export const StixExportQuerySchema = Type.Object(
  {
    for: Type.Optional(
      Type.String({
        pattern: '^[a-z0-9][a-z0-9-]{1,62}$',
        description:
          'Team id of the recipient: the bundle is what a share to that team would carry (decided and audited by the sharing policy, 403 policy-denied when refused). Without it: the incident as this node holds it, for our own tools.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const StixImportResultSchema = Type.Object(
  {
    format: Type.Literal('stix'),
    bundle: Type.String({ description: 'The id of the imported bundle.' }),
    items: Type.Array(
      Type.Object(
        {
          objectId: Type.String({ description: 'The STIX id the incident was filed under (the incident object, or the bundle).' }),
          incident: Type.Object({ id: Type.String({ format: 'uuid' }), ref: Type.String() }, { additionalProperties: false }),
          outcome: Type.Enum(['created', 'updated', 'unchanged'], {
            description: 'created: filed now; updated: the same STIX id with new content; unchanged: imported before as it is.',
          }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type StixImportResult = Static<typeof StixImportResultSchema>;

/** Our wire names to STIX's snake_case, in a JSON schema: property names and `required`, recursively. */
function snakeSchema(schema: unknown): unknown {
  const snake = (k: string) => k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  if (Array.isArray(schema)) return schema.map(snakeSchema);
  if (!schema || typeof schema !== 'object') return schema;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'properties' && v && typeof v === 'object') {
      out[k] = Object.fromEntries(Object.entries(v).map(([p, s]) => [snake(p), snakeSchema(s)]));
    } else if (k === 'required' && Array.isArray(v)) {
      out[k] = v.map((p) => (typeof p === 'string' ? snake(p) : p));
    } else out[k] = snakeSchema(v);
  }
  return out;
}

/**
 * The JSON schema of the Hikeshi property extension (`extension-definition--671d50c5-...`): the
 * incident's fields without a STIX home, snake_case, nulls and empty lists left out. With
 * `detail: summary`, the activity summary the policy let go instead (counts, source hosts).
 */
export function stixExtensionJsonSchema(): Record<string, unknown> {
  const {
    id: _i,
    title: _t,
    summary: _s,
    createdBy: _c,
    createdAt: _ca,
    updatedAt: _u,
    retracted: _r,
    ...fields
  } = IncidentSchema.properties;
  const body = snakeSchema({ type: 'object', properties: fields }) as { properties: Record<string, TSchema> };
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: 'Hikeshi incident report: STIX 2.1 property extension on incident',
    type: 'object',
    required: ['extension_type', 'detail'],
    properties: {
      extension_type: { const: 'property-extension' },
      detail: {
        enum: ['full', 'summary'],
        description: 'full: the (possibly redacted) report; summary: only the activity summary the sharing policy let go.',
      },
      ...body.properties,
      counts: { type: 'object', description: 'summary only: how many of each section the report has.' },
    },
  };
}

export const StixExtensionSchemaResponse = Type.Object({}, { additionalProperties: true, description: 'A JSON Schema (draft 2020-12).' });
