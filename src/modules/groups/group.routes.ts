import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ProblemResponse, errorResponses } from '../../../schemas/common.schema.js';
import {
  GroupCreateSchema,
  GroupIdParamsSchema,
  GroupListQuerySchema,
  GroupListSchema,
  GroupMemberInputSchema,
  GroupMemberListSchema,
  GroupMemberParamsSchema,
  GroupMemberSchema,
  GroupPatchSchema,
  GroupSchema,
} from '../../../schemas/group.schema.js';
import { principalOf, requireRole } from '../../http/auth.js';
import type { GroupService } from './group.service.js';

/** /api/v1/groups: trust groups and their members. Readers read; admins change (audited). */
export const groupRoutes: FastifyPluginAsyncTypebox<{ groups: GroupService }> = async (app, { groups }) => {
  const actor = (request: Parameters<typeof principalOf>[0]) => principalOf(request).subject;
  const tags = ['groups'];

  app.get(
    '/groups',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags,
        operationId: 'listGroups',
        summary: 'List trust groups, by id',
        querystring: GroupListQuerySchema,
        response: { 200: GroupListSchema, ...errorResponses },
      },
    },
    async (request) => ({ items: await groups.list(request.query) }),
  );

  app.post(
    '/groups',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags,
        operationId: 'createGroup',
        summary: 'Create a trust group',
        description:
          'ourMembership says whether our team belongs to it: only groups we belong to give their members a trust floor (docs/trust-model.md). Floors may not exceed partner.',
        body: GroupCreateSchema,
        response: { 201: GroupSchema, 409: ProblemResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const group = await groups.create(request.body, actor(request));
      request.log.info({ group: group.id }, 'trust group created');
      return reply.code(201).header('location', `/api/v1/groups/${group.id}`).send(group);
    },
  );

  app.get(
    '/groups/:id',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags,
        operationId: 'getGroup',
        summary: 'Read a trust group',
        params: GroupIdParamsSchema,
        response: { 200: GroupSchema, ...errorResponses },
      },
    },
    async (request) => groups.get(request.params.id),
  );

  app.patch(
    '/groups/:id',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags,
        operationId: 'updateGroup',
        summary: 'Change a trust group: name, kind, description, our membership, floors (null clears)',
        params: GroupIdParamsSchema,
        body: GroupPatchSchema,
        response: { 200: GroupSchema, ...errorResponses },
      },
    },
    async (request) => groups.patch(request.params.id, request.body, actor(request)),
  );

  app.delete(
    '/groups/:id',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags,
        operationId: 'deleteGroup',
        summary: 'Delete a trust group and its memberships (each removal is audited)',
        params: GroupIdParamsSchema,
        response: { 204: { type: 'null', description: 'Deleted.' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      await groups.remove(request.params.id, actor(request));
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/groups/:id/members',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags,
        operationId: 'listGroupMembers',
        summary: 'The members of a trust group, by team id',
        params: GroupIdParamsSchema,
        response: { 200: GroupMemberListSchema, ...errorResponses },
      },
    },
    async (request) => ({ items: await groups.members(request.params.id) }),
  );

  app.post(
    '/groups/:id/members',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags,
        operationId: 'setGroupMember',
        summary: 'Add a team to a trust group, or change its membership level (201 added, 200 changed)',
        params: GroupIdParamsSchema,
        body: GroupMemberInputSchema,
        response: { 200: GroupMemberSchema, 201: GroupMemberSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { member, created } = await groups.putMember(request.params.id, request.body, actor(request));
      request.log.info(
        { group: member.groupId, team: member.teamId, level: member.level },
        created ? 'group member added' : 'group member updated',
      );
      if (created) return reply.code(201).header('location', `/api/v1/groups/${member.groupId}/members/${member.teamId}`).send(member);
      return reply.code(200).send(member);
    },
  );

  app.delete(
    '/groups/:id/members/:teamId',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags,
        operationId: 'removeGroupMember',
        summary: 'Remove a team from a trust group',
        params: GroupMemberParamsSchema,
        response: { 204: { type: 'null', description: 'Removed.' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      await groups.removeMember(request.params.id, request.params.teamId, actor(request));
      return reply.code(204).send(null);
    },
  );
};
