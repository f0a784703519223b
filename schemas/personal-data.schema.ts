import Type, { type Static } from 'typebox';
import { DateTimeSchema, named } from './common.schema.js';

/**
 * Erasure of personal data and legal hold (ADR 0013): the wire types of
 * `POST /api/v1/incidents/{ref}/erasure` and `GET|PUT /api/v1/incidents/{ref}/legal-hold`.
 */

/** Whose personal data an erasure removes: the reporter, the POC, the victims (target hosts). */
export const ERASURE_SUBJECTS = ['reporter', 'poc', 'victims'] as const;
export type ErasureSubject = (typeof ERASURE_SUBJECTS)[number];
export const ErasureSubjectSchema = Type.Enum(ERASURE_SUBJECTS, {
  description:
    'reporter: every field of the reporter; poc: every field of the POC; victims: the names and addresses of the target hosts (and their ' +
    "organisation's domain). Each is also scrubbed from every other field of the incident, in any spelling.",
});

/**
 * What stands where an erased value was: the reporter's and POC's `name`, and a victim's
 * `hostname` and `description`. Inside free text an erased name or address reads `[redacted]`,
 * the identifier scrubber's mark (the same as in what a peer receives).
 */
export const ERASED_MARKER = '[erased]';

export const ErasureRequestSchema = named(
  'ErasureRequest',
  Type.Object(
    {
      subjects: Type.Array(ErasureSubjectSchema, { minItems: 1, maxItems: ERASURE_SUBJECTS.length, uniqueItems: true }),
      reason: Type.String({
        minLength: 1,
        maxLength: 2000,
        description:
          "Why, e.g. the data subject's request and its date. Kept in the audit log for good: it must not name the data being erased (refused with 400).",
      }),
      legalBasis: Type.String({
        minLength: 1,
        maxLength: 500,
        description: 'The legal basis, e.g. "GDPR Art. 17(1)(a)", "APPI Art. 35". Kept in the audit log and the journal.',
      }),
    },
    { additionalProperties: false },
  ),
);
export type ErasureRequest = Static<typeof ErasureRequestSchema>;

export const ErasureResultSchema = named(
  'ErasureResult',
  Type.Object(
    {
      ref: Type.String(),
      subjects: Type.Array(ErasureSubjectSchema),
      erasedAt: DateTimeSchema,
      version: Type.Integer({
        description: 'The incident version after the erasure (unchanged when nothing was left to erase).',
      }),
      fields: Type.Array(Type.String(), {
        description: 'The incident fields the erasure changed, e.g. reporter, hosts, summary.',
      }),
      journalEntry: Type.Integer({ description: 'Id of the personal-data-erased journal entry.' }),
      earlierJournalEntries: Type.Array(Type.Integer(), {
        description:
          'Ids of earlier journal entries that name an erased name or address. The journal is append-only: they are not rewritten (ADR 0013).',
      }),
    },
    { additionalProperties: false },
  ),
);
export type ErasureResult = Static<typeof ErasureResultSchema>;

export const LegalHoldSchema = named(
  'LegalHold',
  Type.Object(
    {
      hold: Type.Boolean({
        description: 'true while the incident is under legal hold: its personal data cannot be erased.',
      }),
      reason: Type.Union([Type.String(), Type.Null()], { description: 'Why it is held (null when not held).' }),
      setBy: Type.Union([Type.String(), Type.Null()]),
      setAt: Type.Union([DateTimeSchema, Type.Null()]),
    },
    { additionalProperties: false },
  ),
);
export type LegalHold = Static<typeof LegalHoldSchema>;

export const LegalHoldChangeSchema = named(
  'LegalHoldChange',
  Type.Object(
    {
      hold: Type.Boolean({ description: 'true sets (or re-states) the hold, false clears it.' }),
      reason: Type.String({
        minLength: 1,
        maxLength: 2000,
        description: 'Why it is set or cleared (recorded in the audit log).',
      }),
    },
    { additionalProperties: false },
  ),
);
export type LegalHoldChange = Static<typeof LegalHoldChangeSchema>;
