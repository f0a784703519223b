import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ProblemResponse, errorResponses } from '../../../schemas/common.schema.js';
import { IncidentRefParamsSchema } from '../../../schemas/incident.schema.js';
import {
  ErasureRequestSchema,
  ErasureResultSchema,
  LegalHoldChangeSchema,
  LegalHoldSchema,
} from '../../../schemas/personal-data.schema.js';
import { principalOf, requireRole } from '../../http/auth.js';
import type { IncidentService } from './incident.service.js';

/**
 * Erasure of personal data and legal hold (ADR 0013). Erasing is an admin's act: it cannot be
 * undone. Handlers set and clear holds, since they are the ones a court or the police talk to.
 */
export const personalDataRoutes: FastifyPluginAsyncTypebox<{ incidents: IncidentService; teamId: string }> = async (
  app,
  { incidents, teamId },
) => {
  app.post(
    '/incidents/:ref/erasure',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['incidents'],
        operationId: 'erasePersonalData',
        summary: 'Erase the personal data of the reporter, the POC or the victims from an incident (admin)',
        description:
          'Keeps the incident, its reference number, phase, category and everything else. The subjects\' contacts become { "name": "[erased]" }; ' +
          'each target host keeps role, ports and protocol, loses its address, and its name becomes [erased]; their names, addresses, domains, ' +
          'e-mail addresses and phone numbers are scrubbed from every other field, and the incident can no longer be found by them. ' +
          'Journalled (updated, without values, then personal-data-erased) and audited; earlier journal entries are not rewritten (they are listed). ' +
          'Refused with 409 legal-hold while the incident is under legal hold.',
        params: IncidentRefParamsSchema,
        body: ErasureRequestSchema,
        response: { 200: ErasureResultSchema, 409: ProblemResponse, ...errorResponses },
      },
    },
    async (request) =>
      incidents.erasePersonalData(request.params.ref, request.body, {
        subject: principalOf(request).subject,
        team: teamId,
      }),
  );

  app.get(
    '/incidents/:ref/legal-hold',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags: ['incidents'],
        operationId: 'getLegalHold',
        summary: 'Whether the incident is under legal hold, since when, by whom and why',
        params: IncidentRefParamsSchema,
        response: { 200: LegalHoldSchema, ...errorResponses },
      },
    },
    async (request) => incidents.legalHold(request.params.ref),
  );

  app.put(
    '/incidents/:ref/legal-hold',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags: ['incidents'],
        operationId: 'setLegalHold',
        summary: "Set or clear the legal hold, with a reason (audited); a held incident's personal data cannot be erased",
        params: IncidentRefParamsSchema,
        body: LegalHoldChangeSchema,
        response: { 200: LegalHoldSchema, ...errorResponses },
      },
    },
    async (request) => incidents.setLegalHold(request.params.ref, request.body, { subject: principalOf(request).subject, team: teamId }),
  );
};
