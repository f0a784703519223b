import type { FastifyPluginAsyncTypebox, TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ProblemResponse, errorResponses } from '../../../schemas/common.schema.js';
import {
  OwnTotpEnrolSchema,
  OwnTotpRemovalSchema,
  PasswordChangeSchema,
  SessionCreateSchema,
  SessionPatchSchema,
  SessionSchema,
  TotpEnrolmentSchema,
} from '../../../schemas/account.schema.js';
import { authenticateSessionOnly, SESSION_COOKIE } from '../../http/auth.js';
import { ProblemError } from '../../http/problem.js';
import type { AuthenticatedSession, SessionService } from './session.service.js';

/**
 * The cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's page sends it),
 * Path=/ and Secure when the request came over https, as fastify sees it: directly, or through a
 * proxy the node trusts (HIKESHI_TRUST_PROXY).
 */
function setCookie(request: FastifyRequest, reply: FastifyReply, value: string, maxAgeSeconds: number) {
  const secure = request.protocol === 'https' ? '; Secure' : '';
  reply.header('set-cookie', `${SESSION_COOKIE}=${value}; Path=/; Max-Age=${maxAgeSeconds}; HttpOnly; SameSite=Strict${secure}`);
}

const sessionOf = (request: FastifyRequest): AuthenticatedSession => {
  const session = request.principal?.session as AuthenticatedSession | undefined;
  if (!session) throw new ProblemError('unauthenticated');
  return session;
};

/**
 * /api/v1/session: signing in and out (issue 20 item 2). POST is open (limited per address and
 * per account); the others take only the cookie, never a bearer token. No answer is cached: it
 * carries the CSRF token.
 */
export const sessionRoutes: FastifyPluginAsyncTypebox<{ sessions: SessionService; maxAgeSeconds: number }> = async (app, deps) => {
  const { sessions } = deps;
  const tags = ['session'];
  app.addHook('onSend', async (_request, reply) => {
    reply.header('cache-control', 'no-store');
  });

  app.post(
    '/session',
    {
      schema: {
        tags,
        operationId: 'signIn',
        summary: 'Sign in with account name, password and, when the account has one, a TOTP code',
        description:
          'Sets the HttpOnly, SameSite=Strict session cookie `hikeshi_session` (Secure over https). Whichever of name, password or code is wrong, or when the account is disabled, the answer is the same 401 sign-in-failed. Limited per address and per account name: 429 rate-limited with Retry-After.',
        security: [],
        body: SessionCreateSchema,
        response: { 200: SessionSchema, 429: ProblemResponse, ...errorResponses },
      },
    },
    async (request, reply) => {
      const { sessionId, session } = await sessions.signIn(request.body, request.ip);
      setCookie(request, reply, sessionId, deps.maxAgeSeconds);
      return session;
    },
  );

  await app.register(async (untyped) => {
    const scope = untyped.withTypeProvider<TypeBoxTypeProvider>();
    scope.addHook('onRoute', (route) => {
      route.schema = { ...route.schema, security: [{ session: [] }] };
    });
    scope.addHook('onRequest', authenticateSessionOnly(sessions));

    scope.get(
      '/session',
      {
        schema: {
          tags,
          operationId: 'getSession',
          summary: 'The signed-in account, read now, and the CSRF token again (after a page reload)',
          response: { 200: SessionSchema, ...errorResponses },
        },
      },
      async (request) => sessions.view(sessionOf(request)),
    );

    scope.patch(
      '/session',
      {
        schema: {
          tags,
          operationId: 'updateSession',
          summary: "The signed-in person's own settings: the console's language",
          body: SessionPatchSchema,
          response: { 200: SessionSchema, ...errorResponses },
        },
      },
      async (request) => sessions.setLanguage(sessionOf(request), request.body.language),
    );

    // Self-service (ADR 0029): each needs the current password; a wrong one is 403
    // current-password-wrong and counts against the account's sign-in failure limit.
    const noContent = (description: string) => ({ type: 'null', description }) as const;
    const refusals = { 429: ProblemResponse, ...errorResponses };

    scope.put(
      '/session/password',
      {
        schema: {
          tags,
          operationId: 'changeOwnPassword',
          summary: "Change the signed-in person's own password; their other sessions end",
          description: 'Needs the current password. This session stays signed in; every other session of the account ends at once.',
          body: PasswordChangeSchema,
          response: { 204: noContent('Changed.'), ...refusals },
        },
      },
      async (request, reply) => {
        await sessions.changePassword(sessionOf(request), request.body, request.ip);
        return reply.code(204).send(null);
      },
    );

    scope.post(
      '/session/totp-secret',
      {
        schema: {
          tags,
          operationId: 'proposeOwnTotpSecret',
          summary: 'A fresh TOTP secret for the signed-in person to set up in an authenticator app',
          description:
            'Nothing is stored: PUT /session/totp with the secret, a code from the app and the current password enrols it. Until then sign-in is unchanged.',
          response: { 200: TotpEnrolmentSchema, ...errorResponses },
        },
      },
      async (request) => sessions.proposeTotp(sessionOf(request)),
    );

    scope.put(
      '/session/totp',
      {
        schema: {
          tags,
          operationId: 'enrolOwnTotp',
          summary: 'Enrol the secret the app was set up with (replacing any): sign-in asks for its code from now',
          description:
            "Needs the current password and the app's current code for the secret (422 totp-code-wrong otherwise), so nobody locks themselves out with a secret their app does not hold.",
          body: OwnTotpEnrolSchema,
          response: { 204: noContent('Enrolled.'), 422: ProblemResponse, ...refusals },
        },
      },
      async (request, reply) => {
        await sessions.enrolOwnTotp(sessionOf(request), request.body, request.ip);
        return reply.code(204).send(null);
      },
    );

    scope.post(
      '/session/totp/removal',
      {
        schema: {
          tags,
          operationId: 'removeOwnTotp',
          summary: "Remove the signed-in person's own TOTP: sign-in asks for the password only",
          description: 'A POST with the current password in its body (a DELETE body is not carried by every client).',
          body: OwnTotpRemovalSchema,
          response: { 204: noContent('Removed.'), ...refusals },
        },
      },
      async (request, reply) => {
        await sessions.removeOwnTotp(sessionOf(request), request.body.currentPassword, request.ip);
        return reply.code(204).send(null);
      },
    );

    scope.delete(
      '/session',
      {
        schema: {
          tags,
          operationId: 'signOut',
          summary: 'Sign out: the session ends on the node and the cookie is cleared',
          response: { 204: { type: 'null', description: 'Signed out.' }, ...errorResponses },
        },
      },
      async (request, reply) => {
        await sessions.signOut(sessionOf(request), request.ip);
        setCookie(request, reply, '', 0);
        return reply.code(204).send(null);
      },
    );
  });
};
