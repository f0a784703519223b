import type { FastifyPluginAsync } from 'fastify';
import { systemClock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { NodeSigner } from '../../crypto/index.js';
import type { Exchange } from '../exchange/exchange.module.js';
import { oneByOne } from '../exchange/exchange.module.js';
import { eraseCopiesOnErasure } from './erasure-of-copies.js';
import type { IncidentService } from '../incidents/incidents.module.js';
import { documentRoutes } from './documents.routes.js';
import { createIncidentPolicyService } from './incident-policy.service.js';
import { createReportIntake } from './report-intake.js';
import { createCorrectionIntake } from './correction-intake.js';
import { createCorrectionService } from './correction.service.js';
import { correctionRoutes } from './corrections.routes.js';
import { createShareService, type ShareService } from './share.service.js';
import type { PeerDirectory } from '../peers/peers.module.js';
import { createRelayIntake } from './relay-intake.js';
import { createRelayService } from './relay.service.js';
import { relayRoutes } from './relays.routes.js';
import { shareRoutes } from './shares.routes.js';
import { mailReceiptRoutes } from './mail-receipts.routes.js';
import { sharingRoutes } from './sharing.routes.js';
import { createSharingService, type SharingDeps, type SharingService } from './sharing.service.js';

/**
 * Sharing owns both directions of what is told to whom: the policy's decisions (with the pure
 * policy in src/modules/policy), shares and updates out, reports, updates and investigations in,
 * the links to peers' reference numbers, and the report bodies the feeds and coordination reuse.
 * It talks to other nodes only through the exchange (outbox out, inbox handlers in).
 */
export type SharingModuleDeps = Omit<SharingDeps, 'incidents'> & {
  /** disclosureThreads: the worker threads for large feed batches (ADR 0034); absent: none. */
  config: Pick<Config, 'teamId'> & Partial<Pick<Config, 'disclosureThreads'>>;
  exchange: Exchange;
  incidents: IncidentService;
  /** Signs the originator's corrections (ADR 0018), and our provenance hops (ADR 0020). */
  signer: NodeSigner;
  /** Relays route through peers and coordinators and verify hops with their keys (ADR 0020). */
  peers: Pick<PeerDirectory, 'find' | 'listRecords' | 'keyOf' | 'keysPinnedFor'>;
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
  const service = createSharingService({ ...deps, clock, disclosureThreads: deps.config.disclosureThreads ?? 0 });
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
    signer: deps.signer,
  });
  const intake = createReportIntake({ clock, config: deps.config, incidents: deps.incidents, audit: deps.audit });
  // Corrections (ADR 0018): a report just filed takes the corrections kept for it.
  const travel = { outbox: exchange.outbox, audit: deps.audit, onQueued: () => exchange.outbox.kick() };
  const correctionIntake = createCorrectionIntake({ ...travel, clock, config: deps.config, incidents: deps.incidents, peers: deps.peers });
  const corrections = createCorrectionService({
    ...travel,
    db: deps.db,
    clock,
    config: deps.config,
    signer: deps.signer,
    incidents: deps.incidents,
  });
  // Relays and signed provenance (ADR 0020): a report's hops are checked before it is filed, and
  // kept with the copy; a relay request is acted on once its report is filed.
  const relayDeps = {
    ...travel,
    clock,
    config: deps.config,
    signer: deps.signer,
    peers: deps.peers,
    incidents: deps.incidents,
    sharing: service,
  };
  const relayIntake = createRelayIntake({ ...relayDeps, onCopyFiled: correctionIntake.applyPendingFor });
  const relays = createRelayService({ ...relayDeps, db: deps.db });
  exchange.inbox.registerHandler('incident.report', async (tx, docs, received) => {
    const hops = await relayIntake.checkReports(tx, docs);
    const outcomes = await intake.reports(tx, docs);
    await correctionIntake.applyPending(tx, docs, outcomes);
    await relayIntake.afterReports(tx, docs, outcomes, received, hops);
    return outcomes;
  });
  exchange.inbox.registerHandler('relay.forward', oneByOne(relayIntake.forward));
  exchange.inbox.registerHandler('relay.delivered', oneByOne(relayIntake.delivered));
  exchange.inbox.registerHandler('relay.refused', oneByOne(relayIntake.refused));
  exchange.inbox.registerHandler('incident.correction', oneByOne(correctionIntake.receive));
  exchange.inbox.registerHandler('incident.correction-ack', oneByOne(corrections.receiveAck));
  exchange.outbox.onDelivered(corrections.delivered);
  exchange.inbox.registerHandler('incident.update', intake.updates);
  exchange.inbox.registerHandler('investigation.request', intake.investigationRequests);
  exchange.inbox.registerHandler('investigation.result', intake.investigationResults);
  exchange.outbox.onDelivered(intake.delivered);
  exchange.outbox.onDelivered(relayIntake.onDelivered);
  eraseCopiesOnErasure({ incidents: deps.incidents, exchange });
  return {
    service,
    shares,
    apiRoutes: async (api) => {
      await api.register(sharingRoutes, { sharing: service, incidentPolicy });
      await api.register(shareRoutes, { shares, teamId: deps.config.teamId });
      await api.register(documentRoutes, { incidents: deps.incidents, inbox: exchange.inbox });
      await api.register(correctionRoutes, { corrections, teamId: deps.config.teamId });
      await api.register(relayRoutes, { relays, teamId: deps.config.teamId });
      // The receipts outbox of reports people mailed (mail-report-receipt.ts fills it).
      await api.register(mailReceiptRoutes(deps.db));
    },
  };
}

// Reports people write and mail, signed with GnuPG (ADR 0025): the app hands this to the exchange's mail intake.
export { createReportReceipts, type ReportReceipts } from './mail-report-receipt.js';
export { createHumanReportIntake, tlpOfHumanReport } from './human-report-intake.js';
