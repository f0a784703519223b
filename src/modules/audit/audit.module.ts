import type { FastifyPluginAsync } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Db, DbOrTx } from '../../db/database.js';

/** What every disclosure decision, receipt, quarantine decision and trust change records. */
export interface AuditEntryInput {
  kind: string;
  actor: string;
  incidentId?: string | null;
  peer?: string | null;
  decision?: 'allow' | 'deny' | null;
  details: Record<string, unknown>;
}

export interface AuditLog {
  /** Appends inside the caller's transaction when given one, so the record commits with the act. */
  append(db: DbOrTx, entry: AuditEntryInput): Promise<void>;
}

export interface AuditModule {
  log: AuditLog;
  /** Mounted under /api/v1. */
  apiRoutes: FastifyPluginAsync;
}

// Placeholder until the audit module lands: records nothing.
export function createAuditModule(_deps: { db: Db; clock: Clock }): AuditModule {
  return { log: { append: async () => {} }, apiRoutes: async () => {} };
}
