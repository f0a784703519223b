import type { FastifyBaseLogger, FastifyPluginAsync } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { NodeSigner } from '../../crypto/index.js';
import type { Db } from '../../db/database.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { IncidentService } from '../incidents/incident.service.js';
import type { ProfileService } from '../profile/profile.service.js';

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
}

// Placeholder until the federation module lands.
export function createFederationModule(_deps: FederationModuleDeps): FederationModule {
  return { apiRoutes: async () => {}, federationRoutes: async () => {}, start() {}, async stop() {} };
}
