import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { ProblemResponse, errorResponses } from '../../../schemas/common.schema.js';
import {
  AccountCreatedSchema,
  AccountCreateSchema,
  AccountListSchema,
  AccountNameParamsSchema,
  AccountPatchSchema,
  AccountSchema,
  TotpEnrolmentSchema,
} from '../../../schemas/account.schema.js';
import { principalOf, requireRole } from '../../http/auth.js';
import type { AccountService } from './account.service.js';
import type { AuthenticatedSession } from './session.service.js';

/** /api/v1/accounts: handler accounts, admins only. Answers are never cached: some carry a password or TOTP secret once. */
export const accountRoutes: FastifyPluginAsyncTypebox<{ accounts: AccountService }> = async (app, { accounts }) => {
  const tags = ['accounts'];
  const actor = (request: FastifyRequest) => principalOf(request).subject;
  const admin = requireRole('admin');
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
  });

  app.get(
    '/accounts',
    {
      preHandler: admin,
      schema: {
        tags,
        operationId: 'listAccounts',
        summary: 'List handler accounts, by name',
        response: { 200: AccountListSchema, ...errorResponses },
      },
    },
    async () => ({ items: await accounts.list() }),
  );

  app.post(
    '/accounts',
    {
      preHandler: admin,
      schema: {
        tags,
        operationId: 'createAccount',
        summary: 'Create a handler account',
        description: 'Without a password the node generates one and answers it once. Audited, without the password.',
        body: AccountCreateSchema,
        response: { 201: AccountCreatedSchema, 409: ProblemResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const created = await accounts.create(request.body, actor(request));
      return reply.code(201).header('location', `/api/v1/accounts/${created.account.name}`).send(created);
    },
  );

  app.patch(
    '/accounts/:name',
    {
      preHandler: admin,
      schema: {
        tags,
        operationId: 'updateAccount',
        summary: 'Change an account: display name, role, language, disabled, password',
        description:
          "Disabling ends the account's sessions at once; a new password ends all its sessions but the caller's own. A role change applies to live sessions from their next request. Disabling or demoting the last enabled admin is refused: 409 last-active-admin.",
        params: AccountNameParamsSchema,
        body: AccountPatchSchema,
        response: { 200: AccountSchema, 409: ProblemResponse, ...errorResponses },
      },
    },
    async (request) => {
      const session = request.principal?.session as AuthenticatedSession | undefined;
      return accounts.patch(request.params.name, request.body, actor(request), session?.live.idHash ?? null);
    },
  );

  app.delete(
    '/accounts/:name',
    {
      preHandler: admin,
      schema: {
        tags,
        operationId: 'removeAccount',
        summary: 'Remove an account; its sessions end at once',
        description: 'Removing the last enabled admin is refused: 409 last-active-admin.',
        params: AccountNameParamsSchema,
        response: { 204: { type: 'null', description: 'Removed.' }, 409: ProblemResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      await accounts.remove(request.params.name, actor(request));
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/accounts/:name/totp',
    {
      preHandler: admin,
      schema: {
        tags,
        operationId: 'enrolAccountTotp',
        summary: 'Give the account a new TOTP secret (replacing any): sign-in asks for its code from now',
        description: 'The otpauth:// URI is answered once; hand it to the person over a channel you trust.',
        params: AccountNameParamsSchema,
        response: { 201: TotpEnrolmentSchema, ...errorResponses },
      },
    },
    async (request, reply) => reply.code(201).send(await accounts.enrolTotp(request.params.name, actor(request))),
  );

  app.delete(
    '/accounts/:name/totp',
    {
      preHandler: admin,
      schema: {
        tags,
        operationId: 'removeAccountTotp',
        summary: "Remove the account's TOTP: sign-in asks for the password only",
        params: AccountNameParamsSchema,
        response: { 204: { type: 'null', description: 'Removed.' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      await accounts.removeTotp(request.params.name, actor(request));
      return reply.code(204).send(null);
    },
  );
};
