import type { DbOrTx, Tx } from '../../db/database.js';

/** SQL of the witnessed audit heads (witnessed_audit_head, migration 0019): peers' chain heads this node keeps. */

export interface WitnessedHeadRow {
  peerTeam: string;
  messageId: string;
  headSeq: number;
  headHash: string;
  /** The canonical document text the signature covers. */
  document: string;
  signature: string;
  conflict: boolean;
  receivedAt: string;
}

export interface NewWitnessedHead {
  peerTeam: string;
  messageId: string;
  headSeq: number;
  headHash: string;
  headAt: string;
  created: string;
  document: string;
  signature: string;
  conflict: boolean;
  receivedAt: Date;
}

/**
 * A head held from the team that the new one contradicts, if any: the same seq with another
 * hash, a higher seq signed no later than the new one (the chain went backwards after it), or a
 * lower seq signed no earlier (the chain went backwards after the new one, which arrived late).
 */
export async function findContradiction(
  tx: Tx,
  head: { peerTeam: string; headSeq: number; headHash: string; created: string },
): Promise<{ messageId: string; headSeq: number; headHash: string } | null> {
  const row = await tx
    .selectFrom('witnessed_audit_head')
    .select(['message_id', 'head_seq', 'head_hash'])
    .where('peer_team', '=', head.peerTeam)
    .where((eb) =>
      eb.or([
        eb.and([eb('head_seq', '=', head.headSeq), eb('head_hash', '<>', head.headHash)]),
        eb.and([eb('head_seq', '>', head.headSeq), eb('created', '<=', new Date(head.created))]),
        eb.and([eb('head_seq', '<', head.headSeq), eb('created', '>=', new Date(head.created))]),
      ]),
    )
    .orderBy('seq', 'desc')
    .limit(1)
    .executeTakeFirst();
  return row ? { messageId: row.message_id, headSeq: Number(row.head_seq), headHash: row.head_hash } : null;
}

/** Stores a head; a second copy of one message (the inbox de-duplicates already) changes nothing. */
export async function insertWitnessedHead(tx: Tx, head: NewWitnessedHead): Promise<void> {
  await tx
    .insertInto('witnessed_audit_head')
    .values({
      peer_team: head.peerTeam,
      message_id: head.messageId,
      head_seq: head.headSeq,
      head_hash: head.headHash,
      head_at: head.headAt,
      created: head.created,
      document: head.document,
      signature: head.signature,
      conflict: head.conflict,
      received_at: head.receivedAt,
    })
    .onConflict((oc) => oc.columns(['peer_team', 'message_id']).doNothing())
    .execute();
}

/**
 * The heads witnessed for one team, the newest head first (highest seq; of one seq, the last
 * received): the head that matters most to the sender comes first whatever came after it.
 */
export async function listWitnessedHeads(db: DbOrTx, peerTeam: string, limit: number): Promise<WitnessedHeadRow[]> {
  const rows = await db
    .selectFrom('witnessed_audit_head')
    .select(['peer_team', 'message_id', 'head_seq', 'head_hash', 'document', 'signature', 'conflict', 'received_at'])
    .where('peer_team', '=', peerTeam)
    .orderBy('head_seq', 'desc')
    .orderBy('seq', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => ({
    peerTeam: r.peer_team,
    messageId: r.message_id,
    headSeq: Number(r.head_seq),
    headHash: r.head_hash,
    document: r.document,
    signature: r.signature,
    conflict: r.conflict,
    receivedAt: new Date(r.received_at).toISOString(),
  }));
}
