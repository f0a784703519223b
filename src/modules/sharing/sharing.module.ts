import type { FastifyPluginAsync } from 'fastify';
import { systemClock } from '../../clock.js';
import { createIncidentPolicyService } from './incident-policy.service.js';
import { sharingRoutes } from './sharing.routes.js';
import { createSharingService, type SharingDeps, type SharingService } from './sharing.service.js';

/** The module needs exactly what its service needs. */
export type SharingModuleDeps = SharingDeps;

export interface SharingModule {
  /** What every outgoing path calls: evaluate / decideAndRecord / explain (sharing.service.ts). */
  service: SharingService;
  /** Mounted under /api/v1: /policy/explain, /policy/trust/{teamId}, /incidents/{ref}/policy, /incidents/{ref}/law-enforcement-approvals. */
  apiRoutes: FastifyPluginAsync;
}

export function createSharingModule(deps: SharingModuleDeps): SharingModule {
  const clock = deps.clock ?? systemClock;
  const service = createSharingService({ ...deps, clock });
  const incidentPolicy = createIncidentPolicyService({ db: deps.db, clock, audit: deps.audit });
  return {
    service,
    apiRoutes: async (api) => {
      await api.register(sharingRoutes, { sharing: service, incidentPolicy });
    },
  };
}
