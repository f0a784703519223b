import type { FastifyPluginAsync } from 'fastify';
import type { FederationModuleDeps } from '../federation.module.js';
import type { PeerDirectory } from './peer-directory.js';
import { peerApiRoutes, peerFederationRoutes } from './peer.routes.js';
import { createPeerService } from './peer.service.js';
import { createProfilePublisher } from './signed-profile.js';

export interface PeersModule {
  directory: PeerDirectory;
  apiRoutes: FastifyPluginAsync;
  federationRoutes: FastifyPluginAsync;
}

/**
 * The peers part of federation: the node's own signed profile (GET /federation/v1/profile),
 * the peers it pinned keys for (/api/v1/peers), and the PeerDirectory the exchange reads.
 */
export function createPeersModule(deps: FederationModuleDeps): PeersModule {
  const service = createPeerService({
    db: deps.db,
    clock: deps.clock,
    teamId: deps.config.teamId,
    ownFingerprint: deps.signer.fingerprint,
    audit: deps.audit,
    fetch: deps.fetch,
  });
  const publisher = createProfilePublisher({ profiles: deps.profiles, signer: deps.signer, clock: deps.clock });
  return {
    directory: service,
    apiRoutes: peerApiRoutes(service),
    federationRoutes: peerFederationRoutes(publisher),
  };
}
