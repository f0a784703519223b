import type { Config } from '../../config.js';
import type { FastifyPluginAsync } from 'fastify';
import { mispRoutes } from './misp.routes.js';
import { createMispService, type MispService, type MispServiceDeps } from './misp.service.js';

export interface MispModule {
  service: MispService;
  /** Mounted under /api/v1. */
  apiRoutes: FastifyPluginAsync;
}

/** MISP export, import, push and pull (issue 16 part 3; README "Formats"). */
export function createMispModule(deps: MispServiceDeps & { config: Pick<Config, 'bodyLimitBytes'> }): MispModule {
  const service = createMispService(deps);
  return {
    service,
    apiRoutes: async (app) => {
      await app.register(mispRoutes, { misp: service, teamId: deps.config.teamId, bodyLimit: deps.config.bodyLimitBytes });
    },
  };
}
