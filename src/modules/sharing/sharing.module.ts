import type { FastifyPluginAsync } from 'fastify';
import type { Clock } from '../../clock.js';
import { systemClock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { TrustLevel } from '../../../schemas/policy.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { PeerDirectory } from '../federation/peers/peer-directory.js';
import type { IncidentService } from '../incidents/incident.service.js';
import type { PolicyConfig } from '../policy/index.js';
import { createIncidentPolicyService } from './incident-policy.service.js';
import { sharingRoutes } from './sharing.routes.js';
import { createSharingService, type SharingService } from './sharing.service.js';

export interface SharingModuleDeps {
  db: Db;
  config: Pick<Config, 'teamId'>;
  peers: Pick<PeerDirectory, 'find'>;
  audit: AuditLog;
  incidents: Pick<IncidentService, 'get'>;
  clock?: Clock;
  /** Node policy settings; absent: the documented defaults (docs/trust-model.md §8). */
  policy?: PolicyConfig;
  /** Trust of our own constituency's sites (default partner). */
  siteTrust?: TrustLevel;
}

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
