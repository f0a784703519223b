import type { FastifyPluginAsync } from 'fastify';
import { campaignRoutes } from './campaign.routes.js';
import { createCampaignService, type CampaignDeps, type CampaignService } from './campaign.service.js';

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
