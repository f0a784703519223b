import type { FastifyPluginAsync } from 'fastify';
import { iodefRoutes } from './iodef.routes.js';
import { createIodefService, type IodefDeps, type IodefService } from './iodef.service.js';

export interface IodefModule {
  service: IodefService;
  /** Mounted under /api/v1: GET /incidents/{ref}/iodef, POST /imports/iodef. */
  apiRoutes: FastifyPluginAsync;
}

/** IODEF v2 (RFC 7970) export and import (issue 16 part 4). */
export function createIodefModule(deps: IodefDeps): IodefModule {
  const service = createIodefService(deps);
  return {
    service,
    apiRoutes: async (api) => {
      await api.register(iodefRoutes, { iodef: service, teamId: deps.config.teamId, bodyLimit: deps.config.bodyLimitBytes });
    },
  };
}

export { type IodefService } from './iodef.service.js';
export { incidentToIodef } from './iodef-export.js';
