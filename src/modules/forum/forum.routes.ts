import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { ProblemResponse, errorResponses } from '../../../schemas/common.schema.js';
import {
  ForumCreateSchema,
  ForumDraftListSchema,
  ForumDraftMemberSchema,
  ForumIdParamsSchema,
  ForumListSchema,
  ForumMemberInputSchema,
  ForumPeerAddedSchema,
  ForumPublishedSchema,
  ForumRefreshedSchema,
  ForumRosterMemberListSchema,
  ForumRosterVersionListSchema,
  ForumSchema,
  ForumTeamParamsSchema,
  SignedRosterSchema,
} from '../../../schemas/forum.schema.js';
import { principalOf, requireRole } from '../../http/auth.js';
import { ProblemError } from '../../http/problem.js';
import { federationErrors } from '../exchange/exchange.module.js';
import type { PeerRecord } from '../peers/peers.module.js';
import type { ForumService } from './forum.service.js';

/**
 * /api/v1/forums: the forums this node operates or belongs to (docs/federation-protocol.md
 * §5.11). Readers read; admins join, admit, publish and add members as peers (all audited).
 */
export const forumApiRoutes: FastifyPluginAsyncTypebox<{
  forums: ForumService;
  refresh: (id: string, actor: string) => Promise<{ version: number; applied: boolean }>;
}> = async (app, { forums, refresh }) => {
  const actor = (request: Parameters<typeof principalOf>[0]) => principalOf(request).subject;
  const tags = ['forums'];
  const reader = requireRole('reader');
  const admin = requireRole('admin');

  app.get(
    '/forums',
    {
      preHandler: reader,
      schema: {
        tags,
        operationId: 'listForums',
        summary: 'Forums this node operates or belongs to',
        response: { 200: ForumListSchema, ...errorResponses },
      },
    },
    async () => ({ items: await forums.list() }),
  );
  app.post(
    '/forums',
    {
      preHandler: admin,
      schema: {
        tags,
        operationId: 'createForum',
        summary: 'Operate a new forum, or join one a peer operates',
        description:
          'role operator: this node keeps the member list and signs the roster. role member: rosters of this forum are accepted from the operator peer (pinned key) and set the forum trust group.',
        body: ForumCreateSchema,
        response: { 201: ForumSchema, 409: ProblemResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const forum = await forums.create(request.body, actor(request));
      return reply.code(201).header('location', `/api/v1/forums/${forum.id}`).send(forum);
    },
  );
  app.get(
    '/forums/:id',
    {
      preHandler: reader,
      schema: {
        tags,
        operationId: 'getForum',
        summary: 'Read a forum',
        params: ForumIdParamsSchema,
        response: { 200: ForumSchema, ...errorResponses },
      },
    },
    async (request) => forums.get(request.params.id),
  );
  app.get(
    '/forums/:id/roster',
    {
      preHandler: reader,
      schema: {
        tags,
        operationId: 'getForumRoster',
        summary: 'The newest roster version, exactly as the operator signed it',
        params: ForumIdParamsSchema,
        response: { 200: SignedRosterSchema, ...errorResponses },
      },
    },
    async (request) => {
      const roster = await forums.signedRoster(forums.db, request.params.id);
      if (!roster) throw new ProblemError('not-found', `forum "${request.params.id}" has no roster yet`);
      return roster;
    },
  );
  app.get(
    '/forums/:id/rosters',
    {
      preHandler: reader,
      schema: {
        tags,
        operationId: 'listForumRosters',
        summary: 'Every roster version held, newest first',
        params: ForumIdParamsSchema,
        response: { 200: ForumRosterVersionListSchema, ...errorResponses },
      },
    },
    async (request) => ({ items: await forums.versions(request.params.id) }),
  );
  app.get(
    '/forums/:id/members',
    {
      preHandler: reader,
      schema: {
        tags,
        operationId: 'listForumMembers',
        summary: "The newest roster's members, with the key this node pins for each",
        params: ForumIdParamsSchema,
        response: { 200: ForumRosterMemberListSchema, ...errorResponses },
      },
    },
    async (request) => ({ items: await forums.members(request.params.id) }),
  );
  app.post(
    '/forums/:id/members/:teamId/peer',
    {
      preHandler: admin,
      schema: {
        tags,
        operationId: 'addForumMemberAsPeer',
        summary: 'Add a roster member as a peer, pinning the key the roster states',
        description:
          "Fetches the member's signed profile from the roster's URL; refused (409 fingerprint-mismatch, 422 peer-profile-invalid) unless it is that team with that key. The roster vouches for the key: assurance introduced when this node verified the operator.",
        params: ForumTeamParamsSchema,
        response: { 201: ForumPeerAddedSchema, 409: ProblemResponse, 502: ProblemResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const peer: PeerRecord = await forums.addMemberAsPeer(request.params.id, request.params.teamId, actor(request));
      return reply.code(201).send({ teamId: peer.teamId, fingerprint: peer.fingerprint, assurance: peer.assurance });
    },
  );
  app.post(
    '/forums/:id/refresh',
    {
      preHandler: admin,
      schema: {
        tags,
        operationId: 'refreshForumRoster',
        summary: "Fetch the newest roster from the forum's operator and apply it (member side)",
        params: ForumIdParamsSchema,
        response: { 200: ForumRefreshedSchema, 409: ProblemResponse, 502: ProblemResponse, ...errorResponses },
      },
    },
    async (request) => refresh(request.params.id, actor(request)),
  );
};

/** /api/v1/forums/{id}/draft and the publishing of versions: the operator's side (admins). */
export const forumOperatorRoutes: FastifyPluginAsyncTypebox<{ forums: ForumService }> = async (app, { forums }) => {
  const actor = (request: Parameters<typeof principalOf>[0]) => principalOf(request).subject;
  const tags = ['forums'];
  const admin = requireRole('admin');

  // The operator's working list: signed into the roster at the next publish.
  app.get(
    '/forums/:id/draft',
    {
      preHandler: admin,
      schema: {
        tags,
        operationId: 'listForumDraftMembers',
        summary: "The operator's member list, as the next roster version will carry it",
        params: ForumIdParamsSchema,
        response: { 200: ForumDraftListSchema, ...errorResponses },
      },
    },
    async (request) => ({ items: await forums.drafts(request.params.id) }),
  );
  app.put(
    '/forums/:id/draft/:teamId',
    {
      preHandler: admin,
      schema: {
        tags,
        operationId: 'setForumDraftMember',
        summary: 'Admit a team, or change (suspend) a member: in effect at the next published version',
        description:
          "The team must be a peer whose key this node verified. A new member needs the forum's number of sponsors, active members; a forum with fewer members admits its founders without.",
        params: ForumTeamParamsSchema,
        body: ForumMemberInputSchema,
        response: { 200: ForumDraftMemberSchema, 201: ForumDraftMemberSchema, 409: ProblemResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { member, created } = await forums.putMember(request.params.id, request.params.teamId, request.body, actor(request));
      return reply.code(created ? 201 : 200).send(member);
    },
  );
  app.delete(
    '/forums/:id/draft/:teamId',
    {
      preHandler: admin,
      schema: {
        tags,
        operationId: 'removeForumDraftMember',
        summary: 'Remove a member: gone from the next published version',
        params: ForumTeamParamsSchema,
        response: { 204: { type: 'null', description: 'Removed.' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      await forums.removeMember(request.params.id, request.params.teamId, actor(request));
      return reply.code(204).send(null);
    },
  );
  app.post(
    '/forums/:id/roster',
    {
      preHandler: admin,
      schema: {
        tags,
        operationId: 'publishForumRoster',
        summary: 'Sign the next roster version, apply it here and send it to every member',
        params: ForumIdParamsSchema,
        response: { 201: ForumPublishedSchema, 409: ProblemResponse, ...errorResponses },
      },
    },
    async (request, reply) => reply.code(201).send(await forums.publish(request.params.id, actor(request))),
  );
};

/** /federation/v1/forums/{id}/roster: a member fetches the newest roster with its peer token. */
export const forumFederationRoutes: FastifyPluginAsyncTypebox<{
  forums: ForumService;
  authenticatePeer: (request: FastifyRequest) => Promise<PeerRecord>;
}> = async (app, { forums, authenticatePeer }) => {
  app.get(
    '/forums/:id/roster',
    {
      schema: {
        tags: ['federation'],
        operationId: 'getSignedForumRoster',
        summary: 'The newest signed roster of a forum this node operates, for a team it lists',
        security: [{ bearer: [] }],
        params: ForumIdParamsSchema,
        response: { 200: SignedRosterSchema, ...federationErrors },
      },
    },
    async (request) => {
      const peer = await authenticatePeer(request);
      const roster = await forums.signedRoster(forums.db, request.params.id).catch(() => null);
      // Teams the roster does not list learn nothing, not even that the forum exists.
      if (!roster || !roster.document.members.some((m) => m.team === peer.teamId))
        throw new ProblemError('not-found', `no roster of forum "${request.params.id}" for "${peer.teamId}"`);
      return roster;
    },
  );
};
