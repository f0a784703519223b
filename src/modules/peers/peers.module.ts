import type { FastifyPluginAsync } from 'fastify';
import type { Clock } from '../../clock.js';
import type { NodeSigner } from '../../crypto/index.js';
import type { Db } from '../../db/database.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { Exchange } from '../exchange/exchange.module.js';
import { oneByOne } from '../exchange/exchange.module.js';
import type { PeerClient } from '../exchange/exchange.module.js';
import type { ProfileService } from '../profile/profile.module.js';
import type { PeerDirectory } from './peer-directory.js';
import { peerApiRoutes, peerFederationRoutes } from './peer.routes.js';
import { createPeerService } from './peer.service.js';
import { createProfilePublisher } from './signed-profile.js';

export interface PeersModuleDeps {
  config: { teamId: string };
  db: Db;
  clock: Clock;
  signer: NodeSigner;
  profiles: ProfileService;
  audit: AuditLog;
  client: PeerClient;
}

export interface PeersModule {
  /** Who the other teams are: every other module asks this (the exchange through its PeerKeyring port). */
  directory: PeerDirectory;
  /** Mounted under /api/v1: /peers. */
  apiRoutes: FastifyPluginAsync;
  /** Mounted under /federation/v1: GET /profile. */
  federationRoutes: FastifyPluginAsync;
  /** Takes key.rotation documents from the exchange's inbox (after the exchange is built). */
  attach(exchange: Pick<Exchange, 'inbox'>): void;
}

/**
 * Peers: the node's own signed profile (GET /federation/v1/profile), the other teams it pinned
 * keys for (/api/v1/peers), key rotation and re-verification.
 */
export function createPeersModule(deps: PeersModuleDeps): PeersModule {
  const service = createPeerService({
    db: deps.db,
    clock: deps.clock,
    teamId: deps.config.teamId,
    ownFingerprint: deps.signer.fingerprint,
    audit: deps.audit,
    client: deps.client,
  });
  const publisher = createProfilePublisher({ profiles: deps.profiles, signer: deps.signer, clock: deps.clock });
  return {
    directory: service,
    apiRoutes: peerApiRoutes(service),
    federationRoutes: peerFederationRoutes(publisher),
    attach(exchange) {
      // Verified against the pinned (old) key by the inbox: the old key vouches for the new one.
      exchange.inbox.registerHandler(
        'key.rotation',
        oneByOne(async (tx, doc) => {
          await service.applyKeyRotation(tx, doc.from, {
            newPublicKey: doc.body.newPublicKey,
            newFingerprint: doc.body.newFingerprint,
          });
          return { status: 'applied', incidentId: null, ref: null };
        }),
      );
    },
  };
}

// Public surface for other modules (docs/architecture.md, rule 3).
export { type PeerDirectory, type PeerRecord, type PeerStatus } from './peer-directory.js';
