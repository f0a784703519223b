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
import type { PeerDetails } from './peer.repository.js';
import { peerApiRoutes, peerFederationRoutes } from './peer.routes.js';
import { createPeerService } from './peer.service.js';
import { createProfilePublisher } from './signed-profile.js';
import { rotateOwnKey, type OwnKeyRotation } from './own-key-rotation.js';
import { introductionApiRoutes } from './introduction.routes.js';
import { createIntroductionService } from './introduction.service.js';

export interface PeersModuleDeps {
  /** introductionsNeeded: HIKESHI_INTRODUCTIONS_NEEDED (1 when absent). */
  config: { teamId: string; introductionsNeeded?: number };
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
  /** Active peers with the signed profiles their keys were pinned from (whose constituency contact determination reads). */
  activeWithProfiles(): Promise<PeerDetails[]>;
  /** Mounted under /api/v1: /peers. */
  apiRoutes: FastifyPluginAsync;
  /** Mounted under /federation/v1: GET /profile. */
  federationRoutes: FastifyPluginAsync;
  /** Takes key.rotation and peer.introduction documents from the exchange's inbox (after the exchange is built). */
  attach(exchange: Pick<Exchange, 'inbox' | 'outbox'>): void;
  /** This node changes its key: announces it to every peer and re-signs the outbox (own-key-rotation.ts). */
  rotateOwnKey(newSigner: NodeSigner, actor: string): Promise<OwnKeyRotation>;
}

/**
 * Peers: the node's own signed profile (GET /federation/v1/profile), the other teams it pinned
 * keys for (/api/v1/peers), key rotation and re-verification, and the vouches (introductions,
 * forum rosters) a key's assurance `introduced` is derived from.
 */
export function createPeersModule(deps: PeersModuleDeps): PeersModule {
  const service = createPeerService({
    db: deps.db,
    clock: deps.clock,
    teamId: deps.config.teamId,
    ownFingerprint: deps.signer.fingerprint,
    audit: deps.audit,
    client: deps.client,
    introductionsNeeded: deps.config.introductionsNeeded ?? 1,
  });
  const publisher = createProfilePublisher({ profiles: deps.profiles, signer: deps.signer, clock: deps.clock });
  let attached: Pick<Exchange, 'outbox'> | null = null;
  const outbox = () => {
    if (!attached) throw new Error('the peers module is not attached to the exchange');
    return attached.outbox;
  };
  const introductionsNeeded = deps.config.introductionsNeeded ?? 1;
  const introductions = createIntroductionService({
    db: deps.db,
    clock: deps.clock,
    audit: deps.audit,
    teamId: deps.config.teamId,
    ownFingerprint: deps.signer.fingerprint,
    introductionsNeeded,
    outbox,
  });
  return {
    directory: service,
    // A team without a node has no signed profile to read contacts from.
    activeWithProfiles: async () => (await service.list({ status: 'active' })).filter((p) => p.kind === 'node'),
    apiRoutes: async (api) => {
      await api.register(peerApiRoutes(service));
      await api.register(introductionApiRoutes({ introductions, report: (teamId) => service.vouches(teamId), introductionsNeeded }));
    },
    federationRoutes: peerFederationRoutes(publisher),
    attach(exchange) {
      attached = exchange;
      // Verified against the pinned (old) key by the inbox: the old key vouches for the new one.
      exchange.inbox.registerHandler(
        'key.rotation',
        oneByOne(async (tx, doc) => {
          await service.applyKeyRotation(tx, doc.from, doc.body);
          return { status: 'applied', incidentId: null, ref: null };
        }),
      );
      // A team vouches for another team's key (issue 14 part 4): kept as a vouch, answered `noted`.
      exchange.inbox.registerHandler('peer.introduction', oneByOne(introductions.receive));
    },
    rotateOwnKey(newSigner, actor) {
      if (!attached) throw new Error('the peers module is not attached to the exchange');
      const { db, signer, audit } = deps;
      return rotateOwnKey({ db, teamId: deps.config.teamId, signer, audit, peers: service, exchange: attached }, newSigner, actor);
    },
  };
}

// Public surface for other modules (docs/architecture.md, rule 3).
export { type ExpectedPeer, type PeerDirectory, type PeerRecord, type PeerStatus } from './peer-directory.js';
export { type PeerDetails } from './peer.repository.js';
export { type OwnKeyRotation } from './own-key-rotation.js';
