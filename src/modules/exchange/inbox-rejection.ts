import type { FastifyBaseLogger } from 'fastify';
import type { Db } from '../../db/database.js';
import { ProblemError, type ProblemCode } from '../../http/problem.js';
import type { AuditLog } from '../audit/audit.module.js';

/** What is known about a message while it is checked: all of it unverified until the signature is. */
export interface Claim {
  from: string | null;
  messageId: string | null;
  type: string | null;
  sealed: boolean;
}

/** Audits a refusal and throws it as problem+json: every stage of the inbox refuses this way. */
export type Reject = (claim: Claim, code: ProblemCode, detail: string, extensions?: Record<string, unknown>) => Promise<never>;

export function createRejector(deps: { db: Db; audit: AuditLog; log: FastifyBaseLogger }): Reject {
  const { db, audit, log } = deps;
  return async (claim, code, detail, extensions = {}) => {
    try {
      await audit.append(db, {
        kind: 'inbox-rejection',
        actor: claim.from ?? 'unknown',
        peer: claim.from,
        decision: 'deny',
        details: { code, detail, messageId: claim.messageId, type: claim.type, sealed: claim.sealed },
      });
    } catch (err) {
      // The refusal stands even if it could not be recorded; the operator sees why in the log.
      log.error({ err, code, from: claim.from }, 'could not audit a refused message');
    }
    log.info({ code, from: claim.from, messageId: claim.messageId, type: claim.type }, 'message refused');
    throw new ProblemError(code, detail, extensions);
  };
}

export const short = (value: unknown, max = 200): string | null =>
  typeof value === 'string' && value.length > 0 ? value.slice(0, max) : null;
