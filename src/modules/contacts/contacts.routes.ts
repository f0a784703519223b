import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorResponses } from '../../../schemas/common.schema.js';
import { ContactResolveQuerySchema, RoutePlanSchema } from '../../../schemas/contacts.schema.js';
import { principalOf, requireRole } from '../../http/auth.js';
import type { ContactResolutionService } from './contact-resolution.service.js';

export const contactRoutes: FastifyPluginAsyncTypebox<{ contacts: ContactResolutionService }> = async (app, { contacts }) => {
  app.get(
    '/contacts/resolve',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags: ['contacts'],
        operationId: 'resolveContacts',
        summary: 'Whom to contact about an address, a host, a domain or an AS number: a ranked route plan',
        description:
          "Exactly one of ip, host, domain, asn. Steps, first to try first: our own site's POCs; teams whose signed profile declares the scope in its constituency (most specific first; forum-member when a forum roster we hold lists the team); our coordinators; then direct contacts: the domain's security.txt (RFC 9116), the RDAP abuse contact (RFC 9083), the DNS SOA mailbox, RFC 2142 role addresses (unverified). Each step has its source and freshness; an outside source that did not answer is a step with status unreachable and a reason, never an error. Answers are cached until they expire (docs/adr/0019-contact-determination.md).",
        querystring: ContactResolveQuerySchema,
        response: { 200: RoutePlanSchema, ...errorResponses },
      },
    },
    async (request) => {
      const plan = await contacts.resolve(request.query, principalOf(request).subject);
      request.log.info({ query: plan.query.kind, steps: plan.steps.length }, 'contacts resolved');
      return plan;
    },
  );
};
