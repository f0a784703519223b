import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorResponses } from '../../../schemas/common.schema.js';
import { IncidentRefParamsSchema } from '../../../schemas/incident.schema.js';
import {
  ExplainRequestSchema,
  ExplainResponseSchema,
  IncidentPolicyPutSchema,
  IncidentPolicySchema,
  LawEnforcementApprovalCreateSchema,
  LawEnforcementApprovalRecordSchema,
  PeerTrustSchema,
  TeamIdParamsSchema,
} from '../../../schemas/sharing.schema.js';
import { principalOf, requireRole } from '../../http/auth.js';
import type { IncidentPolicyService } from './incident-policy.service.js';
import type { SharingService } from './sharing.service.js';

/**
 * /api/v1/policy (explain, effective trust) and the per-incident policy facts under
 * /api/v1/incidents/{ref}. Explain sends nothing and records nothing: it is the same decision a
 * disclosure would get, shown beforehand.
 */
export const sharingRoutes: FastifyPluginAsyncTypebox<{
  sharing: SharingService;
  incidentPolicy: IncidentPolicyService;
}> = async (app, { sharing, incidentPolicy }) => {
  const actor = (request: Parameters<typeof principalOf>[0]) => principalOf(request).subject;

  app.post(
    '/policy/explain',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags: ['policy'],
        operationId: 'explainPolicy',
        summary: 'What a recipient would receive for a purpose, and why; sends and records nothing',
        description:
          'The decision the sharing service would make now (docs/trust-model.md): allow or deny, detail, redactions with reasons, every denying rule, the trust level used, and a preview of exactly what would be sent. 404 for an unknown incident, peer (unknown-peer) or site.',
        body: ExplainRequestSchema,
        response: { 200: ExplainResponseSchema, ...errorResponses },
      },
    },
    async (request) => {
      const { incident, peer, purpose, kind, explicitlyChosen } = request.body;
      return sharing.explain(incident, peer, purpose, {
        ...(kind ? { kind } : {}),
        ...(explicitlyChosen ? { chosenByHandler: true } : {}),
      });
    },
  );

  app.get(
    '/policy/trust/:teamId',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags: ['policy'],
        operationId: 'getEffectiveTrust',
        summary: "A peer's effective trust level: bilateral level, relationship and group floors, key assurance cap, with reasons",
        params: TeamIdParamsSchema,
        response: { 200: PeerTrustSchema, ...errorResponses },
      },
    },
    async (request) => sharing.peerTrust(request.params.teamId),
  );

  app.get(
    '/incidents/:ref/policy',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags: ['policy'],
        operationId: 'getIncidentPolicy',
        summary: "An incident's sharing facts: RED recipients, chosen recipients, section minimums, provenance, law-enforcement approvals",
        params: IncidentRefParamsSchema,
        response: { 200: IncidentPolicySchema, ...errorResponses },
      },
    },
    async (request) => incidentPolicy.get(request.params.ref),
  );

  app.put(
    '/incidents/:ref/policy',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags: ['policy'],
        operationId: 'setIncidentPolicy',
        summary: 'Name the TLP:RED recipients and set per-incident section minimums (both replaced; audited)',
        params: IncidentRefParamsSchema,
        body: IncidentPolicyPutSchema,
        response: { 200: IncidentPolicySchema, ...errorResponses },
      },
    },
    async (request) => incidentPolicy.put(request.params.ref, request.body, actor(request)),
  );

  app.post(
    '/incidents/:ref/law-enforcement-approvals',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags: ['policy'],
        operationId: 'approveLawEnforcementDisclosure',
        summary: 'Approve disclosing this incident to a law-enforcement recipient, with the legal basis (audited)',
        description: 'Without an approval for that recipient, the law-enforcement purpose is always denied.',
        params: IncidentRefParamsSchema,
        body: LawEnforcementApprovalCreateSchema,
        response: { 201: LawEnforcementApprovalRecordSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const approval = await incidentPolicy.approveLawEnforcement(request.params.ref, request.body, actor(request));
      request.log.info(
        { incidentId: approval.incidentId, recipient: approval.recipient, approval: approval.id },
        'law-enforcement disclosure approved',
      );
      return reply.code(201).send(approval);
    },
  );
};
