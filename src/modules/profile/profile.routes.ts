import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ProblemResponse, errorResponses } from '../../../schemas/common.schema.js';
import { ProfilePreviewSchema, TeamProfileInputSchema, TeamProfileSchema } from '../../../schemas/profile.schema.js';
import { principalOf, requireRole } from '../../http/auth.js';
import type { ProfileService } from './profile.service.js';
import type { Clock } from '../../clock.js';
import type { NodeSigner } from '../../crypto/index.js';
import { renderRfc2350, renderSecurityTxt } from './rfc2350-renderer.js';

export const profileApiRoutes: FastifyPluginAsyncTypebox<{ profiles: ProfileService; clock: Clock }> = async (app, { profiles, clock }) => {
  app.get(
    '/profile',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags: ['profile'],
        operationId: 'getProfile',
        summary: 'The team profile (RFC 2350)',
        response: { 200: TeamProfileSchema, ...errorResponses },
      },
    },
    async () => profiles.get(),
  );
  app.put(
    '/profile',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['profile'],
        operationId: 'replaceProfile',
        summary: 'Replace the editable part of the team profile',
        body: TeamProfileInputSchema,
        response: { 200: TeamProfileSchema, ...errorResponses },
      },
    },
    async (request) => profiles.replace(request.body, principalOf(request).subject),
  );
  app.post(
    '/profile/preview',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags: ['profile'],
        operationId: 'previewProfile',
        summary: 'rfc2350.txt and security.txt as a draft profile would read them, nothing saved',
        description:
          'Takes the body PUT /profile takes and checks it the same way (400 validation-failed with the same pointers), so the console shows both documents before the admin saves. Saves nothing and so is not audited.',
        body: TeamProfileInputSchema,
        response: { 200: ProfilePreviewSchema, ...errorResponses },
      },
    },
    async (request) => {
      const draft = await profiles.draft(request.body);
      return { rfc2350: renderRfc2350(draft), securityTxt: renderSecurityTxt(draft, clock()) };
    },
  );
};

/** Documents anyone may read: the team's public face (RFC 2350, RFC 9116, its key). */
export const profilePublicRoutes: FastifyPluginAsyncTypebox<{
  profiles: ProfileService;
  signer: Pick<NodeSigner, 'clearSign'>;
  clock: Clock;
}> = async (app, { profiles, signer, clock }) => {
  // The clear-signed security.txt, signed again only when its text changes (a new day's
  // default Expires, a profile change): signing on every request would be work for an open route.
  let signed: { text: string; signed: string } | null = null;
  async function securityTxt(): Promise<string> {
    const text = renderSecurityTxt(await profiles.get(), clock());
    if (signed?.text !== text) signed = { text, signed: await signer.clearSign(text) };
    return signed.signed;
  }
  // Documented with the media types actually served, so the OpenAPI document does not claim JSON.
  // 429: these open routes take a limited number of requests per source address (app.ts).
  const document = (mediaType: string, description: string) =>
    ({
      200: { description, content: { [mediaType]: { schema: { type: 'string' } } } },
      429: ProblemResponse,
      503: ProblemResponse,
    }) as const;
  app.get(
    '/rfc2350.txt',
    {
      schema: {
        tags: ['public'],
        operationId: 'getRfc2350Description',
        summary: 'RFC 2350 team description',
        response: document('text/plain', 'The RFC 2350 template, filled in'),
      },
    },
    async (_req, reply) => reply.type('text/plain; charset=utf-8').send(renderRfc2350(await profiles.get())),
  );
  app.get(
    '/.well-known/security.txt',
    {
      schema: {
        tags: ['public'],
        operationId: 'getSecurityTxt',
        summary: 'RFC 9116 security.txt, OpenPGP clear-signed with the node key',
        response: document('text/plain', 'security.txt (RFC 9116), clear-signed: verify with gpg --verify'),
      },
    },
    async (_req, reply) => reply.type('text/plain; charset=utf-8').send(await securityTxt()),
  );
  app.get(
    '/pgp-key.asc',
    {
      schema: {
        tags: ['public'],
        operationId: 'getPublicKey',
        summary: "The team's OpenPGP public key",
        response: document('application/pgp-keys', 'The armored public key'),
      },
    },
    async (_req, reply) => reply.type('application/pgp-keys').send((await profiles.get()).publicKey),
  );
};
