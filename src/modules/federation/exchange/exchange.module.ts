import type { FastifyPluginAsync } from 'fastify';
import type { FederationModuleDeps } from '../federation.module.js';
import type { PeerDirectory } from '../peers/peer-directory.js';
import { createDeliveryWorker, type DeliveryWorker } from './delivery-worker.js';
import { deliverySettingsFromEnv, type DeliverySettings } from './delivery-settings.js';
import { exchangeApiRoutes, exchangeFederationRoutes } from './exchange.routes.js';
import { createFeed, type Feed } from './feed.service.js';
import { createInbox, type Inbox } from './inbox.service.js';
import { createPeerAccess } from './peer-access.service.js';
import { createShareService, type ShareService } from './share.service.js';

export interface ExchangeModule {
  apiRoutes: FastifyPluginAsync;
  federationRoutes: FastifyPluginAsync;
  start(): void;
  stop(): Promise<void>;
  /** For tests and the bench: the services behind the routes. */
  inbox: Inbox;
  shares: ShareService;
  feed: Feed;
  worker: DeliveryWorker;
  settings: DeliverySettings;
}

/**
 * The exchange part of federation: signed messages out (sharing, the outbox and its delivery
 * worker, the pull feed) and in (the inbox, receipts, the quarantine, peer tokens). It knows
 * peers only through the PeerDirectory contract.
 */
export function createExchangeModule(deps: FederationModuleDeps & { peers: PeerDirectory; settings?: DeliverySettings }): ExchangeModule {
  const settings = deps.settings ?? deliverySettingsFromEnv();
  const worker = createDeliveryWorker({
    db: deps.db,
    clock: deps.clock,
    config: deps.config,
    peers: deps.peers,
    incidents: deps.incidents,
    audit: deps.audit,
    log: deps.log,
    fetch: deps.fetch,
    settings,
  });
  const shares = createShareService({
    db: deps.db,
    clock: deps.clock,
    config: deps.config,
    signer: deps.signer,
    peers: deps.peers,
    incidents: deps.incidents,
    sharing: deps.sharing,
    audit: deps.audit,
    onQueued: () => worker.kick(),
  });
  const feed = createFeed({ db: deps.db, clock: deps.clock, config: deps.config, signer: deps.signer, peers: deps.peers, sharing: deps.sharing });
  const inbox = createInbox({
    db: deps.db,
    clock: deps.clock,
    config: deps.config,
    signer: deps.signer,
    peers: deps.peers,
    incidents: deps.incidents,
    audit: deps.audit,
    log: deps.log,
    fetch: deps.fetch,
  });
  const access = createPeerAccess({
    db: deps.db,
    clock: deps.clock,
    config: deps.config,
    tokenSecret: deps.tokenSecret,
    peers: deps.peers,
    audit: deps.audit,
    log: deps.log,
  });

  return {
    apiRoutes: async (api) => {
      await api.register(exchangeApiRoutes, { shares, inbox, teamId: deps.config.teamId });
    },
    federationRoutes: async (fed) => {
      await fed.register(exchangeFederationRoutes, { inbox, access, feed, teamId: deps.config.teamId, bodyLimit: deps.config.bodyLimitBytes });
    },
    start: () => worker.start(),
    stop: () => worker.stop(),
    inbox,
    shares,
    feed,
    worker,
    settings,
  };
}
