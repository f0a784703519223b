import type { FastifyBaseLogger, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { NodeSigner } from '../../crypto/index.js';
import type { Db } from '../../db/database.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { PeerDirectory, PeerRecord } from '../peers/peers.module.js';
import type { SharingService } from '../sharing/index.js';
import { createFeed, type Feed } from './feed.service.js';
export { decodePosition, encodePosition, selectForPeer, type FeedSelection, type FeedServed } from './feed.service.js';
import { feedFederationRoutes } from './feeds.routes.js';
import { authenticatePeer, createPeerAccess } from './peer-access.service.js';

/**
 * Feeds: what a peer pulls (GET /federation/v1/feed, decided item by item by the sharing policy,
 * purpose pull-feed) and the short-lived peer tokens it pulls with (POST /federation/v1/token).
 */
export interface FeedsModuleDeps {
  config: Config;
  db: Db;
  clock: Clock;
  signer: NodeSigner;
  tokenSecret: string;
  peers: PeerDirectory;
  sharing: Pick<SharingService, 'decideFeed' | 'recordFeedPage'>;
  audit: AuditLog;
  log: FastifyBaseLogger;
}

export interface FeedsModule {
  feed: Feed;
  /**
   * The active peer a request's bearer peer token names (401 without one): for other modules'
   * GET routes under /federation/v1 that serve a peer its own view (the witnessed audit heads).
   */
  authenticatePeer(request: FastifyRequest): Promise<PeerRecord>;
  /** Mounted under /federation/v1. */
  federationRoutes: FastifyPluginAsync;
}

export function createFeedsModule(deps: FeedsModuleDeps): FeedsModule {
  const feed = createFeed({
    db: deps.db,
    clock: deps.clock,
    config: deps.config,
    signer: deps.signer,
    peers: deps.peers,
    sharing: deps.sharing,
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
    feed,
    authenticatePeer: (request) => authenticatePeer(request, deps.config.teamId, access),
    federationRoutes: async (fed) => {
      await fed.register(feedFederationRoutes, {
        access,
        feed,
        teamId: deps.config.teamId,
        bodyLimit: deps.config.bodyLimitBytes,
      });
    },
  };
}

// Public surface for other modules (docs/architecture.md, rule 3): the pulling side.
export {
  PeerPullError,
  pullFromPeer,
  requestPeerToken,
  tryPullFromPeer,
  type PeerPullDeps,
  type PullOutcome,
  type PullTarget,
} from './peer-pull-client.js';
