import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorResponses } from '../../../schemas/common.schema.js';
import { TokenCreateSchema, TokenIdParamsSchema, TokenSchema } from '../../../schemas/token.schema.js';
import type { Clock } from '../../clock.js';
import type { Db } from '../../db/database.js';
import { principalOf, requireRole } from '../../http/auth.js';
import { ProblemError } from '../../http/problem.js';
import { mintApiToken, parseDuration } from './token-codec.js';
import { insertRevocation } from './token.repository.js';

export const tokenRoutes: FastifyPluginAsyncTypebox<{
  db: Db;
  tokenSecret: string;
  teamId: string;
  clock: Clock;
}> = async (app, deps) => {
  app.post(
    '/tokens',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['tokens'],
        operationId: 'createToken',
        summary: 'Mint an API token',
        body: TokenCreateSchema,
        response: { 201: TokenSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const ttlSeconds = request.body.ttl === undefined ? undefined : parseDuration(request.body.ttl);
      if (ttlSeconds === null) throw new ProblemError('validation-failed', 'ttl must be between 1s and 366d');
      const minted = mintApiToken(deps.tokenSecret, {
        role: request.body.role,
        subject: request.body.subject,
        issuer: deps.teamId,
        now: deps.clock(),
        ...(ttlSeconds ? { ttlSeconds } : {}),
      });
      request.log.info({ tokenId: minted.id, role: minted.role, by: principalOf(request).subject }, 'token minted');
      return reply.code(201).send(minted);
    },
  );
  app.delete(
    '/tokens/:id',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['tokens'],
        operationId: 'revokeToken',
        summary: 'Revoke a token by its id (idempotent)',
        params: TokenIdParamsSchema,
        response: { 204: { type: 'null', description: 'Revoked.' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      await insertRevocation(deps.db, request.params.id, principalOf(request).subject, deps.clock());
      request.log.info({ tokenId: request.params.id }, 'token revoked');
      return reply.code(204).send(null);
    },
  );
};
