import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ProblemResponse, errorResponses } from '../../../schemas/common.schema.js';
import { IncidentRefParamsSchema } from '../../../schemas/incident.schema.js';
import {
  CounterMeasureListSchema,
  CounterMeasureParamsSchema,
  CounterMeasurePutSchema,
  CounterMeasureSchema,
  NotificationAcknowledgeSchema,
  NotificationParamsSchema,
  NotificationPatchSchema,
  SiteContactKeySchema,
  SiteContactListQuerySchema,
  SiteContactListSchema,
  SiteNodeContactListSchema,
  SiteContactParamsSchema,
  SiteContactSchema,
  SiteNotificationListSchema,
  SiteNotificationSchema,
} from '../../../schemas/notification.schema.js';
import { principalOf, requireRole } from '../../http/auth.js';
import type { CounterMeasureService } from './counter-measure.service.js';
import type { SiteContactService } from './site-contact.service.js';
import type { SiteNotificationService } from './site-notification.service.js';

export interface NotificationRoutesOptions {
  notifications: SiteNotificationService;
  counterMeasures: CounterMeasureService;
  contacts: SiteContactService;
}

/**
 * Site notifications (ADR 0026): /incidents/{ref}/notifications[/propose], /notifications/{id}
 * [/approve|/acknowledge], /counter-measures[/{id}], /site-contacts[/{email}/key], /site-node-contacts.
 */
export const notificationRoutes: FastifyPluginAsyncTypebox<NotificationRoutesOptions> = async (app, opts) => {
  const { notifications, counterMeasures, contacts } = opts;
  const actor = (request: Parameters<typeof principalOf>[0]) => principalOf(request).subject;
  const tags = ['notifications'];
  const conflict = { 409: ProblemResponse };
  const byId = { params: NotificationParamsSchema };

  app.post(
    '/incidents/:ref/notifications/propose',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags,
        operationId: 'proposeSiteNotifications',
        summary: 'Find the sites the incident involves and propose one notification per site (each decision audited)',
        description:
          'Looks every host, address, domain, URL host, e-mail domain and AS number of the incident up in the constituency directory (longest match). Each site gets a notification: drafted, refused (deniedBy) or unreachable (reason). Proposing again refreshes what was not sent and leaves an approved one alone; a site whose last notification went out (sent, delivered, bounced, acknowledged, answered) gets a follow-up draft whose `follows` names it. Never two not yet sent for one site.',
        params: IncidentRefParamsSchema,
        response: { 200: SiteNotificationListSchema, ...errorResponses },
      },
    },
    async (request) => ({ items: await notifications.propose(request.params.ref, actor(request)) }),
  );

  app.get(
    '/incidents/:ref/notifications',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags,
        operationId: 'listSiteNotifications',
        summary: "The incident's site notifications and their states",
        params: IncidentRefParamsSchema,
        response: { 200: SiteNotificationListSchema, ...errorResponses },
      },
    },
    async (request) => ({ items: await notifications.list(request.params.ref) }),
  );

  app.get(
    '/notifications/:id',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags,
        operationId: 'getSiteNotification',
        summary: 'One site notification with its rendered text',
        ...byId,
        response: { 200: SiteNotificationSchema, ...errorResponses },
      },
    },
    async (request) => notifications.get(request.params.id),
  );

  app.patch(
    '/notifications/:id',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags,
        operationId: 'updateSiteNotification',
        summary: 'Pick a counter-measure template, edit the advice or change the language of a draft',
        ...byId,
        body: NotificationPatchSchema,
        response: { 200: SiteNotificationSchema, ...errorResponses, ...conflict },
      },
    },
    async (request) => notifications.edit(request.params.id, request.body, actor(request)),
  );

  app.post(
    '/notifications/:id/approve',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags,
        operationId: 'approveSiteNotification',
        summary:
          "Approve a draft: the policy decides again, then a signed site.notification to the site's own node, or the signed (and where needed encrypted) mail is queued",
        description:
          'A site that names the peer team running its node (Site.teamId) is told through the exchange (channel node) while that peer is active; a removed, suspended or key-changed peer falls back to the POC mail (the journal and audit say why), and 409 when the POC has no usable address either.',
        ...byId,
        response: { 200: SiteNotificationSchema, ...errorResponses, ...conflict },
      },
    },
    async (request) => notifications.approve(request.params.id, actor(request)),
  );

  app.post(
    '/notifications/:id/acknowledge',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags,
        operationId: 'acknowledgeSiteNotification',
        summary: 'Record that the site acknowledged the notification (by phone, fax, in person)',
        ...byId,
        body: NotificationAcknowledgeSchema,
        response: { 200: SiteNotificationSchema, ...errorResponses, ...conflict },
      },
    },
    async (request) => notifications.acknowledge(request.params.id, request.body.via, actor(request)),
  );

  await app.register(counterMeasureRoutes, { counterMeasures });
  await app.register(siteContactRoutes, { contacts });
};

const counterMeasureRoutes: FastifyPluginAsyncTypebox<{ counterMeasures: CounterMeasureService }> = async (app, { counterMeasures }) => {
  const tags = ['notifications'];
  const byId = { params: CounterMeasureParamsSchema };
  app.get(
    '/counter-measures',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags,
        operationId: 'listCounterMeasures',
        summary: "The counter-measure templates: the team's and the built-in ones",
        response: { 200: CounterMeasureListSchema, ...errorResponses },
      },
    },
    async () => ({ items: await counterMeasures.list() }),
  );
  app.get(
    '/counter-measures/:id',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags,
        operationId: 'getCounterMeasure',
        summary: 'One counter-measure template',
        ...byId,
        response: { 200: CounterMeasureSchema, ...errorResponses },
      },
    },
    async (request) => counterMeasures.get(request.params.id),
  );
  app.put(
    '/counter-measures/:id',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags,
        operationId: 'saveCounterMeasure',
        summary: 'Save a team template (overrides a built-in one of the same id)',
        ...byId,
        body: CounterMeasurePutSchema,
        response: { 200: CounterMeasureSchema, ...errorResponses },
      },
    },
    async (request) => counterMeasures.put(request.params.id, request.body, principalOf(request).subject),
  );
  app.delete(
    '/counter-measures/:id',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags,
        operationId: 'deleteCounterMeasure',
        summary: 'Remove a team template (a built-in one of the same id shows again)',
        ...byId,
        response: { 204: { type: 'null', description: 'Removed' }, ...errorResponses },
      },
    },
    async (request, reply) => {
      await counterMeasures.remove(request.params.id, principalOf(request).subject);
      return reply.code(204).send(null);
    },
  );
};

const siteContactRoutes: FastifyPluginAsyncTypebox<{ contacts: SiteContactService }> = async (app, { contacts }) => {
  const tags = ['notifications'];
  app.get(
    '/site-contacts',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags,
        operationId: 'listSiteContacts',
        summary: 'POC e-mail addresses the node notifies: pinned key, failing flag, last bounce',
        querystring: SiteContactListQuerySchema,
        response: { 200: SiteContactListSchema, ...errorResponses },
      },
    },
    async (request) => ({ items: await contacts.list(request.query.failing === 'true') }),
  );
  app.get(
    '/site-node-contacts',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags,
        operationId: 'listSiteNodeContacts',
        summary: 'Site nodes the node notifies through the exchange: failing flag and last failure, as for POC addresses',
        querystring: SiteContactListQuerySchema,
        response: { 200: SiteNodeContactListSchema, ...errorResponses },
      },
    },
    async (request) => ({ items: await contacts.listNodes(request.query.failing === 'true') }),
  );
  app.put(
    '/site-contacts/:email/key',
    {
      preHandler: requireRole('admin'),
      schema: {
        tags,
        operationId: 'setSiteContactKey',
        summary: "Pin a POC address's OpenPGP public key (notifications AMBER and up are encrypted to it)",
        params: SiteContactParamsSchema,
        body: SiteContactKeySchema,
        response: { 200: SiteContactSchema, ...errorResponses },
      },
    },
    async (request) => contacts.setKey(request.params.email, request.body.publicKey, principalOf(request).subject),
  );
};
