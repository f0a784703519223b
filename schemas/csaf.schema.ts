import Type, { type Static } from 'typebox';
import { DateTimeSchema, named } from './common.schema.js';

/**
 * CSAF 2.0 advisories drafted from a vulnerability case and published as a CSAF trusted provider
 * (issue 17 part 2, ADR 0024). The CSAF document itself is checked by the CSAF validator
 * (schema and mandatory tests), not by these schemas: it is open here.
 */

export const CsafNoteSchema = named(
  'CsafNote',
  Type.Object(
    {
      category: Type.Enum(['description', 'details', 'faq', 'general', 'legal_disclaimer', 'other', 'summary']),
      title: Type.Optional(Type.String({ minLength: 1, maxLength: 300 })),
      text: Type.String({ minLength: 1, maxLength: 20_000 }),
    },
    { additionalProperties: false, description: 'A CSAF document note the handler adds.' },
  ),
);

export const AdvisoryEditsSchema = named(
  'AdvisoryEdits',
  Type.Object(
    {
      notes: Type.Optional(Type.Array(CsafNoteSchema, { maxItems: 20 })),
      remediations: Type.Optional(
        Type.Array(
          Type.Object(
            {
              vendor: Type.String({ minLength: 1, maxLength: 63 }),
              product: Type.String({ minLength: 1, maxLength: 200 }),
              details: Type.String({ minLength: 1, maxLength: 5000 }),
              url: Type.Optional(Type.String({ format: 'uri', maxLength: 2000, pattern: '^https?://' })),
            },
            { additionalProperties: false },
          ),
          { maxItems: 100, description: "Replaces the vendor_fix text drafted from a vendor's fixed versions, per product." },
        ),
      ),
    },
    { additionalProperties: false, description: "The handler's edits, kept over every rebuild of the draft from the case." },
  ),
);
export type AdvisoryEdits = Static<typeof AdvisoryEditsSchema>;

export const CsafAdvisorySchema = named(
  'CsafAdvisory',
  Type.Object(
    {
      caseId: Type.String(),
      trackingId: Type.String(),
      publishedVersion: Type.Integer({ description: '0: never published.' }),
      publishedAt: Type.Union([DateTimeSchema, Type.Null()]),
      location: Type.Union([Type.String(), Type.Null()], {
        description:
          'Where the published document is served: the public white folder for TLP:CLEAR, null for any other label (handlers only).',
      }),
      edits: AdvisoryEditsSchema,
      document: Type.Object({}, { additionalProperties: true, description: 'The CSAF 2.0 document: the draft, or as published.' }),
    },
    { additionalProperties: false },
  ),
);
export type CsafAdvisory = Static<typeof CsafAdvisorySchema>;

export const CsafPublishedSchema = named(
  'CsafPublished',
  Type.Object(
    {
      caseId: Type.String(),
      trackingId: Type.String(),
      version: Type.Integer(),
      location: Type.Union([Type.String(), Type.Null()]),
      document: Type.String({ description: 'The exact bytes published.' }),
      signature: Type.String({ description: 'Detached armored OpenPGP signature over `document` by the node key (the .asc file).' }),
      sha256: Type.String(),
      sha512: Type.String(),
    },
    { additionalProperties: false },
  ),
);
export type CsafPublished = Static<typeof CsafPublishedSchema>;

export const CsafPublishInputSchema = named(
  'CsafPublishInput',
  Type.Object(
    { summary: Type.Optional(Type.String({ minLength: 1, maxLength: 500, description: "The revision history entry's summary." })) },
    { additionalProperties: false },
  ),
);
export type CsafPublishInput = Static<typeof CsafPublishInputSchema>;
