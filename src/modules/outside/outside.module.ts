import type { FastifyPluginAsync } from 'fastify';
import { lawEnforcementRoutes } from './law-enforcement.routes.js';
import { createLawEnforcementService, type LawEnforcementDeps, type LawEnforcementService } from './law-enforcement.service.js';

export type OutsideModuleDeps = LawEnforcementDeps;

export interface OutsideModule {
  lawEnforcement: LawEnforcementService;
  /** Mounted under /api/v1: /law-enforcement/*. */
  apiRoutes: FastifyPluginAsync;
}

/**
 * Outside recipients (issue 17 parts 3 and 4, ADR 0023): law enforcement and the press. Both
 * disclose only through the sharing service's decisions (purposes `law-enforcement` and `press`),
 * like every other path out of the node; this module adds the requests, approvals, signed
 * packages and statements around them.
 */
export function createOutsideModule(deps: OutsideModuleDeps): OutsideModule {
  const lawEnforcement = createLawEnforcementService(deps);
  return {
    lawEnforcement,
    apiRoutes: async (api) => {
      await api.register(lawEnforcementRoutes, { service: lawEnforcement });
    },
  };
}
