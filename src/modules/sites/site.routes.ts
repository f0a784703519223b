import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { ProblemResponse, errorResponses } from '../../../schemas/common.schema.js';
import {
  IfMatchHeadersSchema,
  SiteCreateSchema,
  SiteIdParamsSchema,
  SiteListQuerySchema,
  SiteLookupQuerySchema,
  SiteLookupResultSchema,
  SitePageSchema,
  SitePatchSchema,
  SiteSchema,
  type Site,
} from '../../../schemas/site.schema.js';
import { requireRole } from '../../http/auth.js';
import { ProblemError } from '../../http/problem.js';
import type { SiteService, WriteOptions } from './site.service.js';

/**
 * If-Match carries the version a client read, as the strong entity tag the node sends in ETag.
 * `*` asks only that the site exists, which every write checks anyway.
 */
function writeOptionsFrom(ifMatch: string | undefined): WriteOptions {
  if (ifMatch === undefined) return {};
  const value = ifMatch.trim();
  if (value === '*') return {};
  const m = /^"(\d{1,9})"$/.exec(value);
  if (!m) {
    throw new ProblemError('validation-failed', 'If-Match must be one strong entity tag with the site version, e.g. "3"', {
      errors: [{ location: 'headers', pointer: '/if-match', message: 'not a version entity tag' }],
    });
  }
  return { expectedVersion: Number(m[1]) };
}

function withEtag(reply: FastifyReply, site: Site): FastifyReply {
  return reply.header('etag', `"${site.version}"`);
}

export const siteRoutes: FastifyPluginAsyncTypebox<{ sites: SiteService }> = async (app, { sites }) => {
  const tags = ['sites'];

  app.post(
    '/sites',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags,
        operationId: 'createSite',
        summary: 'Register a site with its POCs and network scopes',
        description:
          'Answers 201 with Location and ETag. Networks are stored in canonical form, domains lower-case without a trailing dot, duplicates dropped. Each network, AS number and domain belongs to at most one site: 409 conflict otherwise.',
        body: SiteCreateSchema,
        response: { 201: SiteSchema, ...errorResponses, 409: ProblemResponse },
      },
    },
    async (request, reply) => {
      const site = await sites.create(request.body);
      request.log.info({ siteId: site.id }, 'site created');
      return withEtag(reply, site).code(201).header('location', `${app.prefix}/sites/${site.id}`).send(site);
    },
  );

  app.get(
    '/sites',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags,
        operationId: 'listSites',
        summary: 'List sites by name',
        description: 'Ordered by name, then id. Follow nextCursor until it is null.',
        querystring: SiteListQuerySchema,
        response: { 200: SitePageSchema, ...errorResponses },
      },
    },
    async (request) => sites.list(request.query),
  );

  // A static segment: find-my-way prefers it to /sites/:id whatever the registration order.
  app.get(
    '/sites/lookup',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags,
        operationId: 'lookupSite',
        summary: 'Find the site responsible for an IP address, a domain or an AS number',
        description:
          'Exactly one of ip, domain, asn. ip: the most specific network containing the address (same address family only). domain: the longest registered suffix (sub.example.jp finds example.jp). asn: exact. 404 not-found when no site is responsible.',
        querystring: SiteLookupQuerySchema,
        response: { 200: SiteLookupResultSchema, ...errorResponses },
      },
    },
    async (request) => sites.lookup(request.query),
  );

  app.get(
    '/sites/:id',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags,
        operationId: 'getSite',
        summary: 'One site',
        params: SiteIdParamsSchema,
        response: { 200: SiteSchema, ...errorResponses },
      },
    },
    async (request, reply) => {
      const site = await sites.get(request.params.id);
      return withEtag(reply, site).send(site);
    },
  );

  app.patch(
    '/sites/:id',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags,
        operationId: 'updateSite',
        summary: 'Change a site',
        description:
          'Each field given replaces the stored one; pocs, networks, asns and domains are replaced as whole lists; description null clears it. With If-Match: "<version>", a site changed since is 412 version-mismatch.',
        params: SiteIdParamsSchema,
        headers: IfMatchHeadersSchema,
        body: SitePatchSchema,
        response: { 200: SiteSchema, ...errorResponses, 409: ProblemResponse, 412: ProblemResponse },
      },
    },
    async (request, reply) => {
      const site = await sites.update(request.params.id, request.body, writeOptionsFrom(request.headers['if-match']));
      request.log.info({ siteId: site.id, version: site.version }, 'site updated');
      return withEtag(reply, site).send(site);
    },
  );

  app.delete(
    '/sites/:id',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags,
        operationId: 'deleteSite',
        summary: 'Remove a site and its scopes',
        description: 'With If-Match: "<version>", a site changed since is 412 version-mismatch.',
        params: SiteIdParamsSchema,
        headers: IfMatchHeadersSchema,
        response: { 204: { type: 'null', description: 'Removed.' }, ...errorResponses, 412: ProblemResponse },
      },
    },
    async (request, reply) => {
      await sites.remove(request.params.id, writeOptionsFrom(request.headers['if-match']));
      request.log.info({ siteId: request.params.id }, 'site removed');
      return reply.code(204).send(null);
    },
  );
};
