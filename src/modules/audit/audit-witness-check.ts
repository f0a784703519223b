import { verifyDocumentSignature, type NodeSigner, type PeerKey } from '../../crypto/index.js';
import type { DbOrTx } from '../../db/database.js';
import type { WitnessCheck } from '../../../schemas/audit.schema.js';
import { WitnessedAuditHeadsSchema, type WitnessedAuditHead } from '../../../schemas/federation.schema.js';
import type { Outbox } from '../exchange/exchange.module.js';
import { hashesAt } from './audit.repository.js';
import { compileOnFirstUse } from '../../util/compile-on-first-use.js';

/**
 * `hikeshi audit verify` against the witnesses (docs/federation-protocol.md §15.3): each witness
 * hands back the heads of this node's chain it keeps; each one this node's own key signed (or a
 * key it signed with before a rotation) must still be in the chain, with its hash, and the chain
 * must reach the newest. A chain that verifies alone but fails here lost its newest entries, or
 * was rewritten from the witnessed entry on and re-hashed. A witness that cannot be asked is
 * reported, not fatal; for it, the head this node last delivered to it (the outbox keeps the
 * signed document and the witness's receipt) is checked instead, as a fallback signal.
 */

/** A team the chain's head is anchored at, and how this node knows it. */
export interface WitnessTarget {
  team: string;
  /** Why it witnesses: an active coordinator, named in HIKESHI_AUDIT_WITNESSES, or both. */
  sources: Array<'coordinator' | 'configured'>;
  /** The peer record, or null when the team is not a peer of this node. */
  peer: { teamId: string; url: string | null; status: string } | null;
}

export type PullOutcome = { ok: true; value: unknown } | { ok: false; reason: string };

export interface WitnessCheckDeps {
  db: DbOrTx;
  teamId: string;
  signer: Pick<NodeSigner, 'publicKey' | 'retiredPublicKeys'>;
  outbox: Pick<Outbox, 'lastDelivered'>;
  /** GET a /federation/v1 path at a peer with a fresh peer token (feeds module, tryPullFromPeer). */
  pull(target: { teamId: string; url: string }, path: string): Promise<PullOutcome>;
}

/** Where the chain fails against a witness: the witnessed seq, and why. */
export interface WitnessFailure {
  seq: number;
  reason: 'tail-removed' | 'entry-rewritten';
  detail: string;
}

export interface WitnessesReport {
  checked: number;
  reached: number;
  items: WitnessCheck[];
}

/** The most heads asked of one witness; the highest seq comes first, so the one that matters most is always among them. */
const HEADS_ASKED = 100;
const answerCheck = compileOnFirstUse(WitnessedAuditHeadsSchema);

async function signedByUs(envelope: unknown, keys: readonly PeerKey[]): Promise<boolean> {
  for (const key of keys) if ((await verifyDocumentSignature(envelope, key)).ok) return true;
  return false;
}

/** The first witnessed head the chain contradicts, or null. `chainHead`: the chain's newest entry. */
async function contradiction(
  deps: WitnessCheckDeps,
  heads: Array<{ seq: number; hash: string }>,
  chainHead: { seq: number } | null,
  where: string,
): Promise<WitnessFailure | null> {
  const stored = await hashesAt(
    deps.db,
    heads.map((h) => h.seq),
  );
  for (const head of [...heads].sort((a, b) => b.seq - a.seq)) {
    const hash = stored.get(head.seq);
    if (hash === head.hash) continue;
    if (hash === undefined) {
      const after =
        chainHead === null || head.seq > chainHead.seq
          ? `the chain ends at ${chainHead ? `#${chainHead.seq}` : 'nothing'}: its newest entries were removed`
          : `the chain no longer holds that entry: it was cut there, and went on after`;
      return { seq: head.seq, reason: 'tail-removed', detail: `${where} holds head #${head.seq} signed by this node, but ${after}` };
    }
    return {
      seq: head.seq,
      reason: 'entry-rewritten',
      detail: `${where} holds head #${head.seq} signed by this node, but the chain holds another hash there: it was rewritten from that entry on`,
    };
  }
  return null;
}

/** The head last delivered to a witness that could not be asked, and whether the chain still holds it. */
async function localCopy(deps: WitnessCheckDeps, team: string, keys: readonly PeerKey[]): Promise<WitnessCheck['localCopy']> {
  const row = await deps.outbox.lastDelivered(deps.db, team, 'audit.head');
  if (!row || !row.deliveredAt) return null;
  const document = JSON.parse(row.document) as { body?: { seq?: unknown; hash?: unknown } };
  const { seq, hash } = document.body ?? {};
  if (typeof seq !== 'number' || typeof hash !== 'string') return null;
  // Our own outbox row, but in the same database as the chain: believe only what our key signed.
  if (!(await signedByUs({ document, signature: row.signature }, keys))) return null;
  const stored = await hashesAt(deps.db, [seq]);
  return { seq, hash, messageId: row.id, deliveredAt: row.deliveredAt, inChain: stored.get(seq) === hash };
}

function newestOf(items: WitnessedAuditHead[]): WitnessCheck['head'] {
  const top = [...items].sort((a, b) => b.envelope.document.body.seq - a.envelope.document.body.seq)[0];
  if (!top) return null;
  const { seq, hash, at } = top.envelope.document.body;
  return { seq, hash, at, receivedAt: top.receivedAt, conflict: top.conflict };
}

/** One witness: ask it, check what it returns, or fall back to the local copy. */
async function checkOne(
  deps: WitnessCheckDeps,
  target: WitnessTarget,
  chainHead: { seq: number } | null,
  keys: readonly PeerKey[],
): Promise<{ check: WitnessCheck; failure: WitnessFailure | null; reached: boolean }> {
  const base = { team: target.team, head: null, localCopy: null };
  const unreachable = async (detail: string) => {
    const copy = await localCopy(deps, target.team, keys);
    const failure = copy
      ? await contradiction(deps, [copy], chainHead, `the head last delivered to ${target.team} (our outbox's copy)`)
      : null;
    return { check: { ...base, status: 'unreachable' as const, detail, localCopy: copy }, failure, reached: false };
  };
  if (!target.peer) return unreachable('not a peer of this node');
  if (target.peer.status !== 'active') return unreachable(`the peer is ${target.peer.status} here`);
  if (target.peer.url === null) return unreachable('a team without a node keeps no audit heads to pull');
  const answer = await deps.pull({ teamId: target.peer.teamId, url: target.peer.url }, `federation/v1/audit-heads?limit=${HEADS_ASKED}`);
  if (!answer.ok) return unreachable(answer.reason);
  if (!answerCheck.Check(answer.value)) {
    return {
      check: { ...base, status: 'invalid', detail: 'the answer does not match the audit-heads schema' },
      failure: null,
      reached: true,
    };
  }
  const items = (answer.value as { items: WitnessedAuditHead[] }).items;
  const ours: WitnessedAuditHead[] = [];
  for (const item of items) {
    const { from, to } = item.envelope.document;
    if (from === deps.teamId && to === target.team && (await signedByUs(item.envelope, keys))) ours.push(item);
  }
  if (ours.length === 0) {
    const detail = items.length
      ? `none of the ${items.length} heads it returned verifies against this node's keys`
      : 'it holds no head of this chain yet';
    return { check: { ...base, status: items.length ? 'invalid' : 'none-witnessed', detail }, failure: null, reached: true };
  }
  const head = newestOf(ours);
  const heads = ours.map((i) => ({ seq: i.envelope.document.body.seq, hash: i.envelope.document.body.hash }));
  const failure = await contradiction(deps, heads, chainHead, `witness ${target.team}`);
  const flagged = ours.filter((i) => i.conflict).length;
  const detail = failure
    ? failure.detail
    : `the chain holds all ${ours.length} heads it witnessed, the newest #${head!.seq}` +
      (flagged ? ` (it flagged ${flagged} as contradicting an earlier one)` : '');
  return { check: { ...base, status: failure ? 'contradicted' : 'confirmed', detail, head }, failure, reached: true };
}

/**
 * Asks every witness (in parallel) and checks the chain against what they return. `failure` is
 * the first contradiction, by witness order: a witness's own heads first, the local copy of an
 * unreachable witness's last.
 */
export async function checkAtWitnesses(
  deps: WitnessCheckDeps,
  targets: WitnessTarget[],
  chainHead: { seq: number } | null,
): Promise<{ report: WitnessesReport; failure: WitnessFailure | null }> {
  const keys = [deps.signer.publicKey, ...deps.signer.retiredPublicKeys];
  const results = await Promise.all(targets.map((target) => checkOne(deps, target, chainHead, keys)));
  const failure = results.find((r) => r.failure && r.reached)?.failure ?? results.find((r) => r.failure)?.failure ?? null;
  return {
    report: { checked: targets.length, reached: results.filter((r) => r.reached).length, items: results.map((r) => r.check) },
    failure,
  };
}
