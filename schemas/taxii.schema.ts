import Type from 'typebox';
import { StixObjectSchema } from './stix.schema.js';

/**
 * TAXII 2.1 resources (OASIS TAXII 2.1 §4, §5) as served under /taxii2 (docs/stix.md): discovery,
 * the API root, the collection, the objects envelope, the manifest, and error messages. All of
 * them under `application/taxii+json;version=2.1`.
 */
export const TaxiiDiscoverySchema = Type.Object(
  {
    title: Type.String(),
    description: Type.Optional(Type.String()),
    default: Type.Optional(Type.String()),
    api_roots: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);

export const TaxiiApiRootSchema = Type.Object(
  {
    title: Type.String(),
    description: Type.Optional(Type.String()),
    versions: Type.Array(Type.String()),
    max_content_length: Type.Integer(),
  },
  { additionalProperties: false },
);

export const TaxiiCollectionSchema = Type.Object(
  {
    id: Type.String(),
    title: Type.String(),
    description: Type.Optional(Type.String()),
    can_read: Type.Boolean(),
    can_write: Type.Boolean(),
    media_types: Type.Array(Type.String()),
  },
  { additionalProperties: false },
);

export const TaxiiCollectionsSchema = Type.Object({ collections: Type.Array(TaxiiCollectionSchema) }, { additionalProperties: false });

export const TaxiiEnvelopeSchema = Type.Object(
  {
    more: Type.Boolean(),
    next: Type.Optional(Type.String()),
    objects: Type.Optional(Type.Array(StixObjectSchema)),
  },
  { additionalProperties: false },
);

export const TaxiiManifestSchema = Type.Object(
  {
    more: Type.Boolean(),
    next: Type.Optional(Type.String()),
    objects: Type.Optional(
      Type.Array(
        Type.Object(
          { id: Type.String(), date_added: Type.String(), version: Type.String(), media_type: Type.String() },
          { additionalProperties: false },
        ),
      ),
    ),
  },
  { additionalProperties: false },
);

export const TaxiiCollectionParamsSchema = Type.Object(
  { id: Type.String({ minLength: 1, maxLength: 100 }) },
  { additionalProperties: false },
);

export const TaxiiObjectsQuerySchema = Type.Object(
  {
    added_after: Type.Optional(
      Type.String({ format: 'date-time', description: 'Only objects added (their incident changed) after this time.' }),
    ),
    limit: Type.Optional(
      Type.Integer({ minimum: 1, maximum: 10000, description: 'At most this many objects (default 1000); a page may hold fewer.' }),
    ),
    next: Type.Optional(
      Type.String({ maxLength: 200, description: 'The `next` of the previous page: resumes exactly there (it does not expire).' }),
    ),
    'match[type]': Type.Optional(Type.String({ maxLength: 1000, description: 'Comma-separated STIX types.' })),
    'match[id]': Type.Optional(Type.String({ maxLength: 10000, description: 'Comma-separated STIX ids.' })),
  },
  { additionalProperties: false },
);

export const TaxiiErrorSchema = Type.Object(
  {
    title: Type.String(),
    description: Type.Optional(Type.String()),
    error_code: Type.Optional(Type.String()),
    http_status: Type.Optional(Type.String()),
    details: Type.Optional(Type.Object({}, { additionalProperties: true })),
    hikeshi_code: Type.Optional(Type.String({ description: 'The problem code (docs/errors.md) this error is.' })),
  },
  { additionalProperties: true, description: 'A TAXII 2.1 error message.' },
);

export const TaxiiPullRequestSchema = Type.Object(
  {
    apiRoot: Type.String({ pattern: '^https?://', maxLength: 300, description: 'The API root URL, e.g. https://node.example/taxii2/api/' }),
    collectionId: Type.String({ minLength: 1, maxLength: 100 }),
    token: Type.String({
      minLength: 1,
      maxLength: 8192,
      description: 'The bearer token the server takes (a Hikeshi node: our peer token there). Never stored or logged.',
    }),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 10000 })),
  },
  { additionalProperties: false },
);

export const TaxiiPullResultSchema = Type.Object(
  {
    source: Type.String({ description: 'The collection URL: where the pull resumes is kept under it.' }),
    pages: Type.Integer(),
    objects: Type.Integer(),
    items: Type.Array(
      Type.Object(
        {
          objectId: Type.String(),
          incident: Type.Object({ id: Type.String(), ref: Type.String() }, { additionalProperties: false }),
          outcome: Type.Enum(['created', 'updated', 'unchanged']),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
