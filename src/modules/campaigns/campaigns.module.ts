import type { FastifyPluginAsync } from 'fastify';
import { ProblemError } from '../../http/problem.js';
import type { SiteNotificationService } from '../notifications/notifications.module.js';
import { campaignRoutes } from './campaign.routes.js';
import { createCampaignService, type CampaignDeps, type CampaignNotifier, type CampaignService } from './campaign.service.js';

/**
 * Campaigns (issue 19 part 4, ADR 0027): a feed of many events filed as one incident and one
 * notification per constituency site and period.
 */
export { parseCampaignEvents, type CampaignEvent, type CampaignFormat } from './campaign-events.js';
export type { CampaignNotifier, CampaignReport, CampaignRequest, CampaignService } from './campaign.service.js';

export interface CampaignsModule {
  service: CampaignService;
  /** Mounted under /api/v1. */
  apiRoutes: FastifyPluginAsync;
}

export function createCampaignsModule(deps: CampaignDeps & { teamId: string }): CampaignsModule {
  const service = createCampaignService(deps);
  const apiRoutes: FastifyPluginAsync = async (app) => {
    await app.register(campaignRoutes, { campaigns: service, teamId: deps.teamId });
  };
  return { service, apiRoutes };
}

/**
 * The notifications service as a campaign's notifier: proposes each incident's notification (a
 * campaign incident concerns one site), applies the campaign's counter-measure to a draft, and
 * approves it when asked. An approval the service refuses (no mail channel configured, a label
 * that changed) leaves the draft for a handler, with the refusal's code as the reason.
 */
export function notifierOf(notifications: Pick<SiteNotificationService, 'proposeMany' | 'edit' | 'approve'>): CampaignNotifier {
  return {
    async proposeForIncidents(incidentIds, { counterMeasure, approve, actor, lookups }) {
      const out: Awaited<ReturnType<CampaignNotifier['proposeForIncidents']>> = [];
      // No follow-ups: an incident proposed again is one a crashed run filed, whose site may
      // have been told already; it is not told twice.
      const proposedByIncident = await notifications.proposeMany(incidentIds, actor.subject, {
        followUps: false,
        ...(lookups ? { lookups } : {}),
      });
      for (const incidentId of incidentIds) {
        for (let n of proposedByIncident.get(incidentId) ?? []) {
          let reason = n.reason;
          if (n.state === 'drafted' && counterMeasure) n = await notifications.edit(n.id, { counterMeasure }, actor.subject);
          if (n.state === 'drafted' && approve) {
            try {
              n = await notifications.approve(n.id, actor.subject);
            } catch (err) {
              if (!(err instanceof ProblemError)) throw err;
              reason = err.code;
            }
          }
          out.push({ incidentId, notificationId: n.id, state: n.state, reason: n.reason ?? reason });
        }
      }
      return out;
    },
  };
}
