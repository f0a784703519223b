import type { FastifyPluginAsync } from 'fastify';
import { systemClock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { Exchange } from '../exchange/exchange.module.js';
import { eraseCopiesOnErasure } from './erasure-of-copies.js';
import type { IncidentService } from '../incidents/incidents.module.js';
import { documentRoutes } from './documents.routes.js';
import { createIncidentPolicyService } from './incident-policy.service.js';
import { createReportIntake } from './report-intake.js';
import { createShareService, type ShareService } from './share.service.js';
import { shareRoutes } from './shares.routes.js';
import { sharingRoutes } from './sharing.routes.js';
import { createSharingService, type SharingDeps, type SharingService } from './sharing.service.js';

/**
 * Sharing owns both directions of what is told to whom: the policy's decisions (with the pure
 * policy in src/modules/policy), shares and updates out, reports, updates and investigations in,
 * the links to peers' reference numbers, and the report bodies the feeds and coordination reuse.
 * It talks to other nodes only through the exchange (outbox out, inbox handlers in).
 */
export type SharingModuleDeps = Omit<SharingDeps, 'incidents'> & {
  config: Pick<Config, 'teamId'>;
  exchange: Exchange;
  incidents: IncidentService;
};

export interface SharingModule {
  /** What every outgoing path calls: evaluate / decideAndRecord / explain (sharing.service.ts). */
  service: SharingService;
  /** Shares, updates and investigations out. */
  shares: ShareService;
  /** Mounted under /api/v1: /policy/*, /incidents/{ref}/policy, law-enforcement approvals, shares, investigations, received documents. */
  apiRoutes: FastifyPluginAsync;
}

export function createSharingModule(deps: SharingModuleDeps): SharingModule {
  const clock = deps.clock ?? systemClock;
  const { exchange } = deps;
  const service = createSharingService({ ...deps, clock });
  const incidentPolicy = createIncidentPolicyService({ db: deps.db, clock, audit: deps.audit });
  const shares = createShareService({
    db: deps.db,
    clock,
    config: deps.config,
    peers: deps.peers,
    outbox: exchange.outbox,
    incidents: deps.incidents,
    sharing: service,
    audit: deps.audit,
    onQueued: () => exchange.outbox.kick(),
  });
  const intake = createReportIntake({ clock, config: deps.config, incidents: deps.incidents, audit: deps.audit });
  exchange.inbox.registerHandler('incident.report', intake.reports);
  exchange.inbox.registerHandler('incident.update', intake.updates);
  exchange.inbox.registerHandler('investigation.request', intake.investigationRequests);
  exchange.inbox.registerHandler('investigation.result', intake.investigationResults);
  exchange.outbox.onDelivered(intake.delivered);
  eraseCopiesOnErasure({ incidents: deps.incidents, exchange });
  return {
    service,
    shares,
    apiRoutes: async (api) => {
      await api.register(sharingRoutes, { sharing: service, incidentPolicy });
      await api.register(shareRoutes, { shares, teamId: deps.config.teamId });
      await api.register(documentRoutes, { incidents: deps.incidents, inbox: exchange.inbox });
    },
  };
}
