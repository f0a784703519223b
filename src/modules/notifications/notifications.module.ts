import type { FastifyBaseLogger, FastifyPluginAsync } from 'fastify';
import type { Config } from '../../config.js';
import type { MailIntake } from '../exchange/exchange.module.js';
import { createCounterMeasureService, type CounterMeasureService } from './counter-measure.service.js';
import { createNotificationMailHandler } from './notification-intake.js';
import { createNotificationMailer, type NotificationMailer } from './notification-mailer.js';
import { notificationRoutes } from './notification.routes.js';
import { createSiteContactService, type SiteContactService } from './site-contact.service.js';
import { createSiteNotificationService, type SiteNotificationDeps, type SiteNotificationService } from './site-notification.service.js';

export type { SiteNotificationService } from './site-notification.service.js';

export type NotificationsModuleDeps = Omit<SiteNotificationDeps, 'counterMeasures' | 'kick' | 'config'> & {
  config: Pick<Config, 'teamId' | 'teamName' | 'teamEmail' | 'delivery'>;
  log: FastifyBaseLogger;
  /** Where DSNs and replies come in: the exchange's mail intake. */
  intake: Pick<MailIntake, 'onUnclaimedMail'>;
};

export interface NotificationsModule {
  /** propose(incidentRef), approve(id), ...: what campaigns (issue 19 part 4) build on. */
  notifications: SiteNotificationService;
  counterMeasures: CounterMeasureService;
  contacts: SiteContactService;
  mailer: NotificationMailer;
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
  const notifications = createSiteNotificationService({ ...deps, counterMeasures, kick: () => mailer.kick() });
  const mailer = createNotificationMailer({ ...deps, settings: deps.config.delivery, notifications });
  deps.intake.onUnclaimedMail(createNotificationMailHandler(notifications));
  return {
    notifications,
    counterMeasures,
    contacts,
    mailer,
    apiRoutes: async (api) => {
      await api.register(notificationRoutes, { notifications, counterMeasures, contacts });
    },
  };
}
