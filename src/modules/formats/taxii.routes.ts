import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  TaxiiApiRootSchema,
  TaxiiCollectionParamsSchema,
  TaxiiCollectionSchema,
  TaxiiCollectionsSchema,
  TaxiiDiscoverySchema,
  TaxiiEnvelopeSchema,
  TaxiiErrorSchema,
  TaxiiManifestSchema,
  TaxiiObjectsQuerySchema,
} from '../../../schemas/taxii.schema.js';
import { STIX_MEDIA_TYPE } from '../../../schemas/stix.schema.js';
import { sendProblem } from '../../http/error-handler.js';
import { PROBLEM_MEDIA_TYPE, ProblemError } from '../../http/problem.js';
import type { PeerRecord } from '../peers/peers.module.js';
import { TAXII_COLLECTION_ID, TAXII_MAX_LIMIT, TAXII_MEDIA_TYPE, type TaxiiPage, type TaxiiService } from './taxii.service.js';

/**
 * /taxii2: a TAXII 2.1 server (discovery, one API root, one read-only collection of incidents)
 * for peers, authenticated with their peer token like the pull feed. Answers and errors are
 * `application/taxii+json;version=2.1`: our problem details become TAXII error messages (title,
 * description, http_status), the problem code kept in `hikeshi_code`.
 */
const taxii = (description: string, schema: unknown) => ({ description, content: { [TAXII_MEDIA_TYPE]: { schema } } });
const taxiiError = taxii('A TAXII 2.1 error message.', TaxiiErrorSchema);
const taxiiErrors = {
  400: taxiiError,
  401: taxiiError,
  403: taxiiError,
  404: taxiiError,
  406: taxiiError,
  409: taxiiError,
  500: taxiiError,
};

/** Whether an Accept header allows TAXII 2.1 (absent or a wildcard does; application/json does not). */
export function acceptsTaxii(accept: string | undefined): boolean {
  if (!accept) return true;
  return accept.split(',').some((range) => {
    const [type, ...params] = range.split(';').map((p) => p.trim().toLowerCase());
    if (type === '*/*' || type === 'application/*') return true;
    if (type !== 'application/taxii+json') return false;
    const version = params.find((p) => p.startsWith('version='));
    return !version || version === 'version=2.1';
  });
}

function send(reply: FastifyReply, body: unknown, page?: TaxiiPage): FastifyReply {
  return sendText(reply, JSON.stringify(body), page);
}

function sendText(reply: FastifyReply, text: string, page?: TaxiiPage): FastifyReply {
  if (page && page.objects.length > 0) {
    // ISO times in UTC (stixTime) order as text: the earliest and the latest, without a sort.
    let first = page.objects[0]!.dateAdded;
    let last = first;
    for (const { dateAdded } of page.objects) {
      if (dateAdded < first) first = dateAdded;
      if (dateAdded > last) last = dateAdded;
    }
    reply.header('x-taxii-date-added-first', first).header('x-taxii-date-added-last', last);
  }
  return reply
    .code(200)
    .type(TAXII_MEDIA_TYPE)
    .serializer((p: unknown) => p as string)
    .send(text as never);
}

export const taxiiRoutes: FastifyPluginAsyncTypebox<{
  service: TaxiiService;
  authenticatePeer: (request: FastifyRequest) => Promise<PeerRecord>;
  publicUrl: string;
  teamId: string;
}> = async (app, { service, authenticatePeer, publicUrl, teamId }) => {
  const root = `${publicUrl.replace(/\/+$/, '')}/taxii2/api/`;
  const collection = {
    id: TAXII_COLLECTION_ID,
    title: `${teamId} incidents`,
    description: 'Incidents this node shares with the calling peer (its pull feed), as STIX 2.1: redacted as the sharing policy decides.',
    can_read: true,
    can_write: false,
    media_types: [STIX_MEDIA_TYPE],
  };

  app.addHook('onRequest', async (request) => {
    if (!acceptsTaxii(request.headers.accept)) throw new ProblemError('not-acceptable', 'send Accept: application/taxii+json;version=2.1');
  });
  // Every refusal in this scope as a TAXII error message (TAXII 2.1 §3.6.1).
  app.addHook('onSend', async (_request, reply, payload) => {
    if (!String(reply.getHeader('content-type') ?? '').startsWith(PROBLEM_MEDIA_TYPE) || typeof payload !== 'string') return payload;
    const problem = JSON.parse(payload) as {
      title: string;
      detail?: string;
      status: number;
      code: string;
      pointer?: string;
      errors?: unknown;
    };
    reply.type(TAXII_MEDIA_TYPE);
    return JSON.stringify({
      title: problem.title,
      ...(problem.detail ? { description: problem.detail } : {}),
      error_code: problem.code,
      http_status: String(problem.status),
      ...(problem.errors ? { details: { errors: problem.errors } } : {}),
      hikeshi_code: problem.code,
    });
  });
  app.setNotFoundHandler((request, reply) => sendProblem(reply, 'route-not-found', `${request.method} ${request.url.split('?')[0]}`));

  const common = { tags: ['taxii'], security: [{ bearer: [] }] };

  app.get(
    '/',
    {
      schema: {
        ...common,
        operationId: 'taxiiDiscovery',
        summary: 'TAXII 2.1 discovery',
        response: { 200: taxii('Discovery.', TaxiiDiscoverySchema), ...taxiiErrors },
      },
    },
    async (request, reply) => {
      await authenticatePeer(request);
      return send(reply, {
        title: `Hikeshi node ${teamId}`,
        description: 'Incidents shared with peers, as STIX 2.1.',
        default: root,
        api_roots: [root],
      });
    },
  );

  app.get(
    '/api/',
    {
      schema: {
        ...common,
        operationId: 'taxiiApiRoot',
        summary: 'The TAXII 2.1 API root',
        response: { 200: taxii('API root.', TaxiiApiRootSchema), ...taxiiErrors },
      },
    },
    async (request, reply) => {
      await authenticatePeer(request);
      return send(reply, { title: `${teamId} incidents`, versions: [TAXII_MEDIA_TYPE], max_content_length: 0 });
    },
  );

  app.get(
    '/api/collections/',
    {
      schema: {
        ...common,
        operationId: 'taxiiCollections',
        summary: 'The collections of the API root (one: incidents)',
        response: { 200: taxii('Collections.', TaxiiCollectionsSchema), ...taxiiErrors },
      },
    },
    async (request, reply) => {
      await authenticatePeer(request);
      return send(reply, { collections: [collection] });
    },
  );

  app.get(
    '/api/collections/:id/',
    {
      schema: {
        ...common,
        operationId: 'taxiiCollection',
        summary: 'One collection',
        params: TaxiiCollectionParamsSchema,
        response: { 200: taxii('A collection.', TaxiiCollectionSchema), ...taxiiErrors },
      },
    },
    async (request, reply) => {
      await authenticatePeer(request);
      service.collectionOr404(request.params.id);
      return send(reply, collection);
    },
  );

  app.get(
    '/api/collections/:id/objects/',
    {
      schema: {
        ...common,
        operationId: 'taxiiGetObjects',
        summary: 'The STIX objects the sharing policy lets the calling peer pull (purpose pull-feed), a page at a time',
        description: `Exactly what GET /federation/v1/feed serves this peer, each incident as the STIX objects of its export for it; audited (disclosure.feed-page) before it is served. Headers X-TAXII-Date-Added-First/-Last. limit at most ${TAXII_MAX_LIMIT} objects; an incident's objects are never split, so the first incident of a page may exceed it.`,
        params: TaxiiCollectionParamsSchema,
        querystring: TaxiiObjectsQuerySchema,
        response: { 200: taxii('An envelope.', TaxiiEnvelopeSchema), ...taxiiErrors },
      },
    },
    async (request, reply) => {
      const peer = await authenticatePeer(request);
      service.collectionOr404(request.params.id);
      const page = await service.page(peer, request.query, 'objects');
      // The envelope written around each object's canonical text (made for its audit digest):
      // thousands of objects are not serialised a second time.
      const head = `{"more":${page.more}${page.next ? `,"next":${JSON.stringify(page.next)}` : ''}`;
      const objects = page.objects.length > 0 ? `,"objects":[${page.objects.map((o) => o.text).join(',')}]` : '';
      return sendText(reply, `${head}${objects}}`, page);
    },
  );

  app.get(
    '/api/collections/:id/manifest/',
    {
      schema: {
        ...common,
        operationId: 'taxiiGetManifest',
        summary: 'The manifest of the objects the calling peer may pull (ids, versions, date_added)',
        params: TaxiiCollectionParamsSchema,
        querystring: TaxiiObjectsQuerySchema,
        response: { 200: taxii('A manifest.', TaxiiManifestSchema), ...taxiiErrors },
      },
    },
    async (request, reply) => {
      const peer = await authenticatePeer(request);
      service.collectionOr404(request.params.id);
      const page = await service.page(peer, request.query, 'manifest');
      const objects = page.objects.map(({ id, version, dateAdded }) => ({
        id,
        date_added: dateAdded,
        version: version ?? dateAdded,
        media_type: STIX_MEDIA_TYPE,
      }));
      return send(reply, { more: page.more, ...(page.next ? { next: page.next } : {}), ...(objects.length ? { objects } : {}) }, page);
    },
  );
};
