import { named } from './common.schema.js';
import Type, { type Static } from 'typebox';

/** IODEF v2 (RFC 7970) export and import: /api/v1/incidents/{ref}/iodef and /api/v1/imports/iodef. */
export const IodefExportQuerySchema = Type.Object(
  {
    for: Type.Optional(
      Type.String({
        pattern: '^[a-z0-9][a-z0-9-]{1,62}$',
        description:
          'A peer team id: the export is what a share to that team would carry, decided and audited by the sharing policy (403 policy-denied when refused). Without it: the incident as this node holds it, for our own tools.',
      }),
    ),
  },
  { additionalProperties: false },
);

export const IodefDocumentSchema = Type.String({
  description: 'An IODEF-Document (urn:ietf:params:xml:ns:iodef-2.0, version 2.00) as XML.',
});

export const IodefImportResultSchema = named(
  'IodefImportResult',
  Type.Object(
    {
      status: Type.Enum(['created', 'updated', 'unchanged'], {
        description: 'created: a new incident; updated: the same IncidentID with new content; unchanged: filed before, nothing done.',
      }),
      ref: Type.String({ description: 'Our reference number for the incident.' }),
      id: Type.String({ format: 'uuid' }),
      objectId: Type.String({ description: 'The IncidentID name and value, "name:value".' }),
    },
    { additionalProperties: false },
  ),
);
export type IodefImportResult = Static<typeof IodefImportResultSchema>;
