import type { FastifyPluginAsync } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { IncidentService } from '../incidents/incidents.module.js';
import type { SharingService } from '../sharing/index.js';
import { stixRoutes } from './stix.routes.js';
import { createStixService, type StixService } from './stix.service.js';

/**
 * The formats neighbouring tools speak (issue 16): STIX 2.1 export and import on /api/v1.
 * Every export for a team goes through the sharing policy like a share; every import is
 * validated first, idempotent and audited.
 */
export interface FormatsModuleDeps {
  db: Db;
  clock: Clock;
  config: Pick<Config, 'teamId' | 'publicUrl'>;
  incidents: IncidentService;
  sharing: Pick<SharingService, 'evaluate' | 'record'>;
  audit: AuditLog;
}

export interface FormatsModule {
  stix: StixService;
  /** Mounted under /api/v1. */
  apiRoutes: FastifyPluginAsync;
}

export function createFormatsModule(deps: FormatsModuleDeps): FormatsModule {
  const stix = createStixService(deps);
  return {
    stix,
    apiRoutes: async (api) => {
      await api.register(stixRoutes, { stix, teamId: deps.config.teamId });
    },
  };
}
