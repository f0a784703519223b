import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../../config.js';
import type { NodeSigner } from '../../crypto/index.js';
import type { Db, DbOrTx, Tx } from '../../db/database.js';
import type { AuditAnchorResult, AuditVerifyResult } from '../../../schemas/audit.schema.js';
import type { Exchange } from '../exchange/exchange.module.js';
import { oneByOne } from '../exchange/exchange.module.js';
import type { PeerDirectory } from '../peers/peers.module.js';
import { verifyAuditChain } from './audit-chain.js';
import { checkAtWitnesses, type PullOutcome, type WitnessTarget } from './audit-witness-check.js';
import type { AuditWitness } from './audit-witness.service.js';
import type { AuditLog } from './audit.module.js';
import { ANCHOR_KIND, lastAnchorAt, lockChain, movedSince, readHead } from './audit.repository.js';

/**
 * The anchored audit (issue 13 part 4; docs/federation-protocol.md §5.11). A hash chain shows an
 * edited or removed entry, but not that its newest entries were cut off: nothing outside the
 * node remembered the head. So the node sends its head, signed, to its witnesses (its active
 * coordinators and the teams named in HIKESHI_AUDIT_WITNESSES) as an `audit.head` through the
 * outbox, which gives it delivery, retries and receipts; `verify` asks them for it back.
 *
 * Anchoring is a disclosure to another team, so each one is audited (`audit.anchor`, per
 * witness). That entry moves the head: the head sent is the chain as it was before the
 * anchoring, and the anchoring's own traces (its records, the receipts of audit.head messages)
 * do not count as the chain moving, or every anchoring would cause the next one.
 */
export interface AuditAnchoringDeps {
  db: Db;
  config: Pick<Config, 'teamId' | 'auditAnchorIntervalSeconds' | 'auditWitnesses'>;
  signer: Pick<NodeSigner, 'publicKey' | 'retiredPublicKeys'>;
  audit: AuditLog;
  exchange: Pick<Exchange, 'inbox' | 'outbox'>;
  peers: Pick<PeerDirectory, 'find' | 'listRecords'>;
  /** GET a /federation/v1 path at a peer with a fresh peer token (the feeds module's tryPullFromPeer). */
  pull(target: { teamId: string; url: string }, path: string): Promise<PullOutcome>;
  witness: AuditWitness;
  log: FastifyBaseLogger;
}

export interface AuditAnchoring {
  /** Anchors the head at every witness it moved for since the last anchor there; `actor` is who asked (the node's timer: `node`). */
  anchor(actor: string): Promise<AuditAnchorResult>;
  /** The chain walk of `verify`, then the check against every witness. */
  verifyWithWitnesses(): Promise<AuditVerifyResult>;
  /** Starts the interval timer (HIKESHI_AUDIT_ANCHOR_INTERVAL_SECONDS; 0: none). */
  start(): void;
  /** Stops the timer and waits for an anchoring under way. */
  stop(): Promise<void>;
}

/** The label of an audit.head: it tells how much the sender's audit log holds, nothing of any incident. */
const HEAD_TLP = 'GREEN';

/** Active coordinators and configured witnesses, each once, by team id. */
async function witnessesOf(deps: AuditAnchoringDeps, db: DbOrTx): Promise<WitnessTarget[]> {
  const targets = new Map<string, WitnessTarget>();
  for (const peer of await deps.peers.listRecords(db, { relationship: 'coordinator', status: 'active' })) {
    targets.set(peer.teamId, { team: peer.teamId, sources: ['coordinator'], peer });
  }
  for (const team of deps.config.auditWitnesses) {
    if (team === deps.config.teamId) continue; // a node cannot witness itself
    const known = targets.get(team);
    if (known) known.sources.push('configured');
    else targets.set(team, { team, sources: ['configured'], peer: await deps.peers.find(db, team) });
  }
  return [...targets.values()].sort((a, b) => a.team.localeCompare(b.team));
}

/** One witness in an anchoring: queue the head, or say why not. */
async function anchorAt(
  deps: AuditAnchoringDeps,
  tx: Tx,
  target: WitnessTarget,
  head: { seq: number; hash: string; at: string } | null,
  actor: string,
): Promise<AuditAnchorResult['witnesses'][number]> {
  const result = { team: target.team, messageId: null };
  if (!target.peer) return { ...result, status: 'skipped', detail: 'not a peer of this node' };
  if (target.peer.status !== 'active') return { ...result, status: 'skipped', detail: `the peer is ${target.peer.status} here` };
  if (!head) return { ...result, status: 'skipped', detail: 'the audit log is empty' };
  const last = await lastAnchorAt(tx, target.team);
  if (last && !(await movedSince(tx, last.seq))) {
    return { ...result, status: 'unchanged', detail: `head #${last.seq} was sent already; only the anchoring's own records came after it` };
  }
  const body = { seq: head.seq, hash: head.hash, at: head.at };
  const signed = await deps.exchange.outbox.enqueue(tx, { type: 'audit.head', to: target.team, tlp: HEAD_TLP, body }, null);
  await deps.audit.append(tx, {
    kind: ANCHOR_KIND,
    actor,
    peer: target.team,
    decision: 'allow',
    details: { messageId: signed.id, head: { seq: head.seq, hash: head.hash }, witness: target.sources },
  });
  return { team: target.team, status: 'queued', messageId: signed.id, detail: `head #${head.seq} queued` };
}

export function createAuditAnchoring(deps: AuditAnchoringDeps): AuditAnchoring {
  const { db, log } = deps;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<unknown> | null = null;

  // The witness's side: heads peers send us.
  deps.exchange.inbox.registerHandler(
    'audit.head',
    oneByOne((tx, document, received) => deps.witness.witness(tx, document, received)),
  );

  async function anchor(actor: string): Promise<AuditAnchorResult> {
    const result = await db.transaction().execute(async (tx) => {
      // Under the chain's lock, the head read is the head when our own records follow it; two
      // node processes anchoring at once take turns, and the second finds nothing moved.
      await lockChain(tx);
      const head = await readHead(tx);
      const witnesses: AuditAnchorResult['witnesses'] = [];
      for (const target of await witnessesOf(deps, tx)) witnesses.push(await anchorAt(deps, tx, target, head, actor));
      return { head, witnesses };
    });
    const queued = result.witnesses.filter((w) => w.status === 'queued').length;
    if (queued > 0) {
      deps.exchange.outbox.kick();
      log.info({ headSeq: result.head?.seq, witnesses: queued }, 'audit head anchored at witnesses');
    }
    return result;
  }

  function tick(): void {
    if (running) return; // the previous one is still under way (a slow database): skip this beat
    running = anchor('node')
      .catch((err: unknown) => log.error({ err }, 'anchoring the audit head failed; the next interval tries again'))
      .finally(() => {
        running = null;
      });
  }

  return {
    anchor,

    async verifyWithWitnesses() {
      const chain = await verifyAuditChain(db);
      const chainHead = chain.ok ? chain.head : await readHead(db);
      const { report, failure } = await checkAtWitnesses(
        { db, teamId: deps.config.teamId, signer: deps.signer, outbox: deps.exchange.outbox, pull: deps.pull },
        await witnessesOf(deps, db),
        chainHead,
      );
      if (!chain.ok || !failure) return { ...chain, witnesses: report };
      return {
        ok: false,
        brokenAt: failure.seq,
        reason: failure.reason,
        detail: failure.detail,
        entries: chain.entries,
        head: chain.head,
        witnesses: report,
      };
    },

    start() {
      const seconds = deps.config.auditAnchorIntervalSeconds;
      if (seconds <= 0 || timer) return;
      // The first anchoring one interval after start; tests anchor explicitly, never by the clock.
      timer = setInterval(tick, seconds * 1000);
      timer.unref();
    },

    async stop() {
      if (timer) clearInterval(timer);
      timer = null;
      await running;
    },
  };
}
