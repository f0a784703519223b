import type { Tx } from '../../db/database.js';

/** SQL of the erasure of stored messages (stored-erasure.ts). */

export async function inboundToErase(
  tx: Tx,
  incidentId: string,
): Promise<Array<{ seq: number; envelope: string; documentSha256: string | null }>> {
  const rows = await tx
    .selectFrom('inbound_message')
    .select(['seq', 'envelope', 'document_sha256'])
    .where('incident_id', '=', incidentId)
    .orderBy('seq')
    .forUpdate()
    .execute();
  return rows.map((r) => ({ seq: Number(r.seq), envelope: r.envelope, documentSha256: r.document_sha256 }));
}

export async function recordErasedInbound(
  tx: Tx,
  seq: number,
  erased: { envelope: string; documentSha256: string; at: Date },
): Promise<void> {
  await tx
    .updateTable('inbound_message')
    .set((eb) => ({
      envelope: erased.envelope,
      document_sha256: erased.documentSha256,
      erased_at: eb.fn.coalesce('erased_at', eb.val(erased.at)),
    }))
    .where('seq', '=', seq)
    .execute();
}

export async function outboundToErase(
  tx: Tx,
  incidentId: string,
): Promise<Array<{ id: string; peerTeam: string; document: string; signature: string; state: string; documentSha256: string | null }>> {
  const rows = await tx
    .selectFrom('outbound_message')
    .select(['id', 'peer_team', 'document', 'signature', 'state', 'document_sha256'])
    .where('incident_id', '=', incidentId)
    .orderBy('seq')
    .forUpdate()
    .execute();
  return rows.map((r) => ({
    id: r.id,
    peerTeam: r.peer_team,
    document: r.document,
    signature: r.signature,
    state: r.state,
    documentSha256: r.document_sha256,
  }));
}

/**
 * `documentSha256` null: a waiting message signed again, whose stored signature covers its stored
 * document. `withdrawn`: a waiting message that will not be sent (failed, with this as its error).
 */
export async function recordErasedOutbound(
  tx: Tx,
  id: string,
  erased: { document: string; signature: string; documentSha256: string | null; at: Date; withdrawn?: string },
): Promise<void> {
  await tx
    .updateTable('outbound_message')
    .set((eb) => ({
      document: erased.document,
      signature: erased.signature,
      document_sha256: erased.documentSha256,
      erased_at: eb.fn.coalesce('erased_at', eb.val(erased.at)),
      ...(erased.withdrawn ? { state: 'failed', last_error: erased.withdrawn, failed_at: erased.at } : {}),
    }))
    .where('id', '=', id)
    .execute();
}
