import type { FastifyBaseLogger, FastifyPluginAsync, FastifyRequest } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Db, DbOrTx } from '../../db/database.js';
import { auditAnchorApiRoutes, auditWitnessFederationRoutes } from './audit-anchor.routes.js';
import { createAuditAnchoring, type AuditAnchoring, type AuditAnchoringDeps } from './audit-anchor.service.js';
import { createAuditWitness } from './audit-witness.service.js';
import { auditRoutes } from './audit.routes.js';
import { createAuditService, type AuditService } from './audit.service.js';
import { readHead } from './audit.repository.js';

/** What every disclosure decision, receipt, quarantine decision and trust change records. */
export interface AuditEntryInput {
  /** What happened, e.g. `disclosure`, `receipt`, `quarantine`, `trust-change` (1..100 characters). */
  kind: string;
  /** Who acted: a token subject, a peer team id, or the node itself. */
  actor: string;
  /** An incident id (uuid), not a reference number. No foreign key: the entry outlives the incident. */
  incidentId?: string | null;
  /** The other team concerned, by team id. */
  peer?: string | null;
  decision?: 'allow' | 'deny' | null;
  /**
   * A JSON object: ids, reference numbers, reasons, the policy version, redacted section names,
   * digests of what was sent (`contentDigest` in audit-chain.ts). NEVER tokens, keys,
   * passphrases or incident content: the log is append-only, so nothing put here can be taken
   * out again, and every admin who reads the log sees it. The audit module stores what it is
   * given (after a JSON round trip); it does not filter.
   */
  details: Record<string, unknown>;
}

export interface AuditLog {
  /**
   * Appends inside the caller's transaction when given one, so the record commits with the act.
   * Holds a chain-wide lock until that transaction ends: append as the last step of it.
   * On the embedded engine, inside a transaction pass the Tx, never the Db (one connection).
   */
  append(db: DbOrTx, entry: AuditEntryInput): Promise<void>;
}

/** What anchoring the chain at witnesses, and witnessing peers' chains, needs; given once the exchange and peers exist. */
export interface AuditAnchoringAttachment extends Omit<AuditAnchoringDeps, 'db' | 'audit' | 'witness' | 'log'> {
  log: FastifyBaseLogger;
  /** The active peer a /federation/v1 request's bearer peer token names (the feeds module). */
  authenticatePeer(request: FastifyRequest): Promise<{ teamId: string }>;
}

export interface AuditModule {
  log: AuditLog;
  /** The log plus listing and verification, for the CLI and tests. */
  service: AuditService;
  /** Mounted under /api/v1 (after attach: with the anchoring routes). */
  apiRoutes: FastifyPluginAsync;
  /** Mounted under /federation/v1 (after attach): GET /audit-heads. */
  federationRoutes: FastifyPluginAsync;
  /**
   * The anchored audit (issue 13 part 4): sends the chain's head to its witnesses, keeps the heads
   * peers send (the audit.head handler of the exchange's inbox) and verifies against witnesses.
   * Called once, after the exchange and the peers module are built.
   */
  attach(deps: AuditAnchoringAttachment): AuditAnchoring;
  /**
   * The newest entry's seq, 0 when the log is empty: how far the chain has grown (metrics). Seqs
   * come from a sequence, so a rolled-back append can skip one: it is the chain's position, which
   * only grows, not a count of rows. One indexed read.
   */
  headSeq(): Promise<number>;
}

export function createAuditModule(deps: { db: Db; clock: Clock }): AuditModule {
  const service = createAuditService(deps);
  let anchoring: AuditAnchoring | null = null;
  let federationRoutes: FastifyPluginAsync = async () => {};
  return {
    log: service,
    service,
    apiRoutes: async (api) => {
      await api.register(auditRoutes, { audit: service, anchoring });
      if (anchoring) await api.register(auditAnchorApiRoutes, { anchoring });
    },
    federationRoutes: (fed, options) => federationRoutes(fed, options),
    headSeq: async () => (await readHead(deps.db))?.seq ?? 0,
    attach(attachment) {
      const { authenticatePeer, ...rest } = attachment;
      const witness = createAuditWitness({ db: deps.db, clock: deps.clock, audit: service, log: attachment.log });
      anchoring = createAuditAnchoring({ ...rest, db: deps.db, audit: service, witness });
      federationRoutes = async (fed) => {
        await fed.register(auditWitnessFederationRoutes, { witness, authenticatePeer });
      };
      return anchoring;
    },
  };
}

// Public surface for other modules (docs/architecture.md, rule 3).
export { lockChain } from './audit.repository.js';
