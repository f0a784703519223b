import type { FastifyBaseLogger, FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config.js';
import { oneByOne, type Exchange, type MailIntake } from '../exchange/exchange.module.js';
import type { PeerDirectory } from '../peers/peers.module.js';
import { createCounterMeasureService, type CounterMeasureService } from './counter-measure.service.js';
import { createNotificationMailHandler } from './notification-intake.js';
import { createNotificationMailer, type NotificationMailer } from './notification-mailer.js';
import { notificationRoutes } from './notification.routes.js';
import { createSiteContactService, type SiteContactService } from './site-contact.service.js';
import { createSiteNotificationService, type SiteNotificationDeps, type SiteNotificationService } from './site-notification.service.js';
import { createReceivedNotificationService, type ReceivedNotificationService } from './received-notification.service.js';
import { receivedNotificationRoutes } from './received-notification.routes.js';

export type { SiteNotificationService } from './site-notification.service.js';

export type NotificationsModuleDeps = Omit<SiteNotificationDeps, 'counterMeasures' | 'kick' | 'config' | 'siteNodes'> & {
  config: Pick<Config, 'teamId' | 'teamName' | 'teamEmail' | 'delivery'>;
  log: FastifyBaseLogger;
  /** Where DSNs and replies come in: the exchange's mail intake. */
  intake: Pick<MailIntake, 'onUnclaimedMail'>;
  /**
   * Sites that run their own node (ADR 0026): site.notification out through the outbox (its
   * receipts through onDelivered, its failures for good through onFailed), site.notification and site.notification-answer in through
   * the inbox.
   */
  exchange: {
    inbox: Pick<Exchange['inbox'], 'registerHandler'>;
    outbox: Pick<Exchange['outbox'], 'enqueue' | 'kick' | 'find' | 'onDelivered' | 'onFailed'>;
  };
  peers: Pick<PeerDirectory, 'find'>;
};

export interface NotificationsModule {
  /** propose(incidentRef), approve(id), ...: what campaigns (issue 19 part 4) build on. */
  notifications: SiteNotificationService;
  counterMeasures: CounterMeasureService;
  contacts: SiteContactService;
  mailer: NotificationMailer;
  /** What our coordinator's node told us as a site, and our answers. */
  received: ReceivedNotificationService;
  /** Mounted under /api/v1. */
  apiRoutes: FastifyPluginAsync;
}

/**
 * Telling the constituency's sites (issue 19 parts 1, 2, 3 and 5; ADR 0026): notifications per
 * site decided by the sharing policy, the counter-measure library, the POC addresses' keys and
 * bounces, a mail worker with its own outbox, and the intake of bounces and replies.
 */
export function createNotificationsModule(deps: NotificationsModuleDeps): NotificationsModule {
  const counterMeasures = createCounterMeasureService(deps);
  const contacts = createSiteContactService(deps);
  // The mailer is built next; an approval kicks it only after both exist.
  const { exchange, peers } = deps;
  const notifications = createSiteNotificationService({
    ...deps,
    counterMeasures,
    kick: () => mailer.kick(),
    siteNodes: { peers, outbox: exchange.outbox },
  });
  const mailer = createNotificationMailer({ ...deps, settings: deps.config.delivery, notifications });
  deps.intake.onUnclaimedMail(createNotificationMailHandler(notifications));
  const received = createReceivedNotificationService({ ...deps, outbox: exchange.outbox });
  exchange.outbox.onDelivered((tx, delivered) => notifications.nodeDelivered(tx, delivered));
  exchange.outbox.onFailed((tx, failed) => notifications.nodeFailed(tx, failed));
  exchange.inbox.registerHandler(
    'site.notification',
    oneByOne((tx, doc) => received.receive(tx, doc)),
  );
  exchange.inbox.registerHandler(
    'site.notification-answer',
    oneByOne((tx, doc) => notifications.nodeAnswered(tx, doc)),
  );
  return {
    notifications,
    counterMeasures,
    contacts,
    mailer,
    received,
    apiRoutes: async (api) => {
      await api.register(notificationRoutes, { notifications, counterMeasures, contacts });
      await api.register(receivedNotificationRoutes, { received });
    },
  };
}
