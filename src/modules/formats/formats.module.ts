import type { FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { IncidentService } from '../incidents/incidents.module.js';
import type { PeerRecord } from '../peers/peers.module.js';
import type { SharingService } from '../sharing/index.js';
import { createTaxiiService } from './taxii.service.js';
import { pullTaxii } from './taxii-client.js';
import { taxiiRoutes } from './taxii.routes.js';
import { stixRoutes } from './stix.routes.js';
import { createStixService, type StixService } from './stix.service.js';

/**
 * The formats neighbouring tools speak (issue 16): STIX 2.1 export and import on /api/v1, and
 * a TAXII 2.1 server on /taxii2 that serves peers what their pull feed would.
 * Every export for a team goes through the sharing policy like a share; every import is
 * validated first, idempotent and audited.
 */
export interface FormatsModuleDeps {
  db: Db;
  clock: Clock;
  config: Pick<Config, 'teamId' | 'publicUrl' | 'bodyLimitBytes'>;
  incidents: IncidentService;
  sharing: Pick<SharingService, 'evaluate' | 'record' | 'decideFeed' | 'recordFeedPage'>;
  audit: AuditLog;
  /** The peer a request's peer token names (feeds): TAXII authenticates peers as the pull feed does. */
  authenticatePeer: (request: FastifyRequest) => Promise<PeerRecord>;
  /** How TAXII pulls reach other servers (tests inject one that breaks). */
  fetch?: typeof fetch;
}

export interface FormatsModule {
  stix: StixService;
  /** Mounted under /api/v1. */
  apiRoutes: FastifyPluginAsync;
  /** Mounted under /taxii2: the TAXII 2.1 server for peers. */
  taxiiRoutes: FastifyPluginAsync;
}

export function createFormatsModule(deps: FormatsModuleDeps): FormatsModule {
  const stix = createStixService(deps);
  const taxii = createTaxiiService(deps);
  return {
    stix,
    taxiiRoutes: async (scope) => {
      await scope.register(taxiiRoutes, {
        service: taxii,
        authenticatePeer: deps.authenticatePeer,
        publicUrl: deps.config.publicUrl,
        teamId: deps.config.teamId,
      });
    },
    apiRoutes: async (api) => {
      await api.register(stixRoutes, {
        stix,
        teamId: deps.config.teamId,
        pullTaxii: (target, actor) =>
          pullTaxii(
            { db: deps.db, clock: deps.clock, stix, fetch: deps.fetch ?? globalThis.fetch, maxResponseBytes: 64 * 1024 * 1024 },
            target,
            actor,
          ),
      });
    },
  };
}
