import type { FastifyPluginAsync } from 'fastify';
import { lawEnforcementRoutes } from './law-enforcement.routes.js';
import { createLawEnforcementService, type LawEnforcementDeps, type LawEnforcementService } from './law-enforcement.service.js';
import { pressApiRoutes, pressPublicRoutes } from './press.routes.js';
import { createPressService, type PressDeps, type PressService } from './press.service.js';

export type OutsideModuleDeps = LawEnforcementDeps & Pick<PressDeps, 'incidents'>;

export interface OutsideModule {
  lawEnforcement: LawEnforcementService;
  press: PressService;
  /** Mounted under /api/v1: /law-enforcement/*, /press/statements/*. */
  apiRoutes: FastifyPluginAsync;
  /** Mounted at the root, without a token: /press (the published statements). */
  publicRoutes: FastifyPluginAsync;
}

/**
 * Outside recipients (issue 17 parts 3 and 4, ADR 0023): law enforcement and the press. Both
 * disclose only through the sharing service's decisions (purposes `law-enforcement` and `press`),
 * like every other path out of the node; this module adds the requests, approvals, signed
 * packages and statements around them.
 */
export function createOutsideModule(deps: OutsideModuleDeps): OutsideModule {
  const lawEnforcement = createLawEnforcementService(deps);
  const press = createPressService(deps);
  return {
    lawEnforcement,
    press,
    apiRoutes: async (api) => {
      await api.register(lawEnforcementRoutes, { service: lawEnforcement });
      await api.register(pressApiRoutes, { service: press });
    },
    publicRoutes: async (open) => {
      await open.register(pressPublicRoutes, { service: press, teamId: deps.config.teamId });
    },
  };
}
