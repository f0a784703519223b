import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ProblemResponse, errorResponses } from '../../../schemas/common.schema.js';
import {
  NotificationParamsSchema,
  ReceivedSiteNotificationAnswerSchema,
  ReceivedSiteNotificationListSchema,
  ReceivedSiteNotificationSchema,
} from '../../../schemas/notification.schema.js';
import { principalOf, requireRole } from '../../http/auth.js';
import type { ReceivedNotificationService } from './received-notification.service.js';

/**
 * The notifications our coordinator's node sent this node as a site (ADR 0026):
 * /received-site-notifications[/{id}[/acknowledge|/answer]].
 */
export const receivedNotificationRoutes: FastifyPluginAsyncTypebox<{ received: ReceivedNotificationService }> = async (
  app,
  { received },
) => {
  const tags = ['notifications'];
  const byId = { params: NotificationParamsSchema };
  const actor = (request: Parameters<typeof principalOf>[0]) => principalOf(request).subject;

  app.get(
    '/received-site-notifications',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags,
        operationId: 'listReceivedSiteNotifications',
        summary: "Site notifications our coordinator's node sent us about our own hosts, newest first (at most 500)",
        response: { 200: ReceivedSiteNotificationListSchema, ...errorResponses },
      },
    },
    async () => ({ items: await received.list() }),
  );

  app.get(
    '/received-site-notifications/:id',
    {
      preHandler: requireRole('reader'),
      schema: {
        tags,
        operationId: 'getReceivedSiteNotification',
        summary: 'One received site notification with the text the sender wrote for us',
        ...byId,
        response: { 200: ReceivedSiteNotificationSchema, ...errorResponses },
      },
    },
    async (request) => received.get(request.params.id),
  );

  app.post(
    '/received-site-notifications/:id/acknowledge',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags,
        operationId: 'acknowledgeReceivedSiteNotification',
        summary: 'Tell the sender we took note: a signed site.notification-answer (acknowledged), audited',
        ...byId,
        response: { 200: ReceivedSiteNotificationSchema, ...errorResponses, 409: ProblemResponse },
      },
    },
    async (request) => received.acknowledge(request.params.id, actor(request)),
  );

  app.post(
    '/received-site-notifications/:id/answer',
    {
      preHandler: requireRole('handler'),
      schema: {
        tags,
        operationId: 'answerReceivedSiteNotification',
        summary:
          "Answer the sender: a signed site.notification-answer (answered) with the text, which lands in the sender incident's journal; audited",
        ...byId,
        body: ReceivedSiteNotificationAnswerSchema,
        response: { 200: ReceivedSiteNotificationSchema, ...errorResponses, 409: ProblemResponse },
      },
    },
    async (request) => received.answer(request.params.id, request.body.text, actor(request)),
  );
};
