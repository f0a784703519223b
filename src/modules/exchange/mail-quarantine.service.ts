import type { DbOrTx } from '../../db/database.js';
import { decodeCursor, encodeCursor } from '../../http/cursor.js';
import { ProblemError } from '../../http/problem.js';
import type { QuarantinedMail, QuarantinedMailListQuery } from '../../../schemas/mail.schema.js';
import { findQuarantinedMail, listQuarantinedMail, type QuarantinedMailRow } from './mail-quarantine.repository.js';

/** Reading the mail quarantine (ADR 0025): incoming mail that was not filed, newest first. */
export interface MailQuarantine {
  list(query: QuarantinedMailListQuery): Promise<{ items: QuarantinedMail[]; nextCursor: string | null }>;
  get(id: string): Promise<QuarantinedMail>;
}

function toWire(row: QuarantinedMailRow, withRaw: boolean): QuarantinedMail {
  return {
    id: row.id,
    envelopeFrom: row.envelopeFrom,
    headerFrom: row.headerFrom,
    messageId: row.messageId,
    reason: row.reason,
    detail: row.detail,
    issuerFingerprint: row.issuerFingerprint,
    sizeBytes: row.sizeBytes,
    sourceAddress: row.sourceAddress,
    state: row.state,
    receivedAt: row.receivedAt,
    ...(withRaw ? { raw: row.raw } : {}),
  };
}

export function createMailQuarantine(db: DbOrTx): MailQuarantine {
  return {
    async list(query) {
      const limit = query.limit ?? 50;
      const before = query.cursor ? (decodeCursor(query.cursor, { q: 'number' }).q as number) : undefined;
      const rows = await listQuarantinedMail(db, {
        ...(query.state ? { state: query.state } : {}),
        ...(before !== undefined ? { before } : {}),
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return { items: page.map((r) => toWire(r, false)), nextCursor: rows.length > limit && last ? encodeCursor({ q: last.seq }) : null };
    },
    async get(id) {
      const row = await findQuarantinedMail(db, id);
      if (!row) throw new ProblemError('not-found', `no quarantined mail ${id}`);
      return toWire(row, true);
    },
  };
}
