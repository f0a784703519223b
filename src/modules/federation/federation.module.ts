import type { FastifyBaseLogger, FastifyPluginAsync } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { NodeSigner } from '../../crypto/index.js';
import type { Db } from '../../db/database.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { IncidentService } from '../incidents/incident.service.js';
import type { ProfileService } from '../profile/profile.service.js';
import type { SharingService } from '../sharing/index.js';
import { documentRoutes } from './documents.routes.js';
import { createExchangeModule } from './exchange/exchange.module.js';
import type { Inbox } from './exchange/inbox.service.js';
import type { ShareService } from './exchange/share.service.js';
import { createPeersModule } from './peers/peers.module.js';
import type { PeerDirectory } from './peers/peer-directory.js';

export interface FederationModuleDeps {
  config: Config;
  db: Db;
  clock: Clock;
  signer: NodeSigner;
  tokenSecret: string;
  incidents: IncidentService;
  profiles: ProfileService;
  audit: AuditLog;
  log: FastifyBaseLogger;
  /** Outgoing HTTP to peers; tests may wrap it (fakes, not flags). */
  fetch: typeof fetch;
  /**
   * The sharing policy: every path of the exchange that sends incident data out (shares,
   * updates, investigations and their answers, the pull feed) asks it and records its decision.
   */
  sharing: SharingService;
}

export interface FederationModule {
  /** Mounted under /api/v1 (peers, shares, quarantine): API tokens. */
  apiRoutes: FastifyPluginAsync;
  /** Mounted under /federation/v1: peer nodes. */
  federationRoutes: FastifyPluginAsync;
  /** Starts background delivery (the outbox worker). */
  start(): void;
  /** Stops background work; waits for in-flight deliveries. */
  stop(): Promise<void>;
  /** Who the peers are (the sharing service reads relationship, trust, assurance, status). */
  peers: PeerDirectory;
  /**
   * For modules that send documents of their own (coordination): `enqueue` signs a message and
   * writes it to the outbox inside the caller's transaction (as shares do); `kick` lets the
   * worker look for it without waiting for its next poll.
   */
  outbox: { enqueue: ShareService['enqueue']; kick(): void };
  /** For modules that receive documents of their own: the inbox hands those types to them. */
  inbox: Pick<Inbox, 'registerHandler'>;
}

/**
 * Federation has two parts: peers (who the other teams are and which key we pinned for each)
 * and exchange (signed messages, receipts, the outbox, quarantine, pull tokens and feeds).
 * The exchange sees peers only through the PeerDirectory contract.
 */
export function createFederationModule(deps: FederationModuleDeps): FederationModule {
  const peers = createPeersModule(deps);
  const exchange = createExchangeModule({ ...deps, peers: peers.directory });
  return {
    apiRoutes: async (api) => {
      await api.register(peers.apiRoutes);
      await api.register(exchange.apiRoutes);
      await api.register(documentRoutes, { db: deps.db, incidents: deps.incidents });
    },
    federationRoutes: async (fed) => {
      await fed.register(peers.federationRoutes);
      await fed.register(exchange.federationRoutes);
    },
    start: () => exchange.start(),
    stop: () => exchange.stop(),
    peers: peers.directory,
    outbox: { enqueue: (tx, message, incidentId) => exchange.shares.enqueue(tx, message, incidentId), kick: () => exchange.worker.kick() },
    inbox: { registerHandler: (type, handler) => exchange.inbox.registerHandler(type, handler) },
  };
}
