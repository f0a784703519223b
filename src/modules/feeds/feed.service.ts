import { createHash } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import { canonicalizeWithKnown, sealForRecipient, type NodeSigner } from '../../crypto/index.js';
import type { Db } from '../../db/database.js';
import { decodeCursor, encodeCursor } from '../../http/cursor.js';
import { ProblemError } from '../../http/problem.js';
import type { Tlp } from '../../../schemas/common.schema.js';
import type { FeedItem, FeedPageBody } from '../../../schemas/federation.schema.js';
import type { Incident } from '../../../schemas/incident.schema.js';
import type { ActivitySummary } from '../../../schemas/policy.schema.js';
import { listIncidentsByChange, type ChangePosition } from '../incidents/incidents.module.js';
import { stricterTlp } from '../policy/index.js';
import type { FeedOutcome, FeedRenderer, SharingService } from '../sharing/index.js';
import type { PeerDirectory, PeerRecord } from '../peers/peers.module.js';
import { envelopeText, newDocument, tlpRequiresSealing } from '../exchange/exchange.module.js';
import { FEED_ITEM_RENDERER, type KeptFeedItem } from './feed-item.renderer.js';

/**
 * The pull feed (GET /federation/v1/feed; docs/federation-protocol.md §15.2): every incident the
 * sharing policy lets the pulling peer see for the `pull-feed` purpose, each at its latest change,
 * in the node's order of changes (incident.change_xid, change_seq; migration 0007), shaped as
 * `explain` would show it: the incident with the sections redacted as decided, or its activity
 * summary. RED never appears (the policy never lets it into a feed).
 *
 * A page is one `feed.page` document signed by the node (sealed to the peer when an item is
 * AMBER+STRICT or the peer asks for sealing): one signature per page, not per item, because the
 * items are made for this peer at the time it pulls. Each page served is one audit entry listing
 * every item served with its payload digest, and the refusals counted by rule.
 */
export interface FeedDeps {
  db: Db;
  clock: Clock;
  config: Pick<Config, 'teamId'>;
  signer: NodeSigner;
  peers: Pick<PeerDirectory, 'keyOf'>;
  sharing: Pick<SharingService, 'decideFeed' | 'recordFeedPage'>;
}

export interface Feed {
  /** The JSON text of one page for `peer`: a signed feed.page envelope, or that envelope sealed. */
  page(peer: PeerRecord, cursor: string | undefined, limit: number): Promise<string>;
}

/** At most this many incidents are read per query. */
const BATCH = 500;
/**
 * A page reads at most this many times `limit` incidents (and at least MIN_SCAN) before it
 * answers, fewer items than asked if it must: a peer the policy refuses most incidents to does
 * not make one request read the whole database. hasMore tells it to go on.
 */
const SCAN_FACTOR = 10;
const MIN_SCAN = 1000;

const DIGITS = /^[0-9]{1,20}$/;

export function decodePosition(cursor: string): ChangePosition {
  const { x, s } = decodeCursor(cursor, { x: 'string', s: 'string' }) as { x: string; s: string };
  if (!DIGITS.test(x) || !DIGITS.test(s)) {
    throw new ProblemError('validation-failed', 'cursor is not valid', {
      errors: [{ location: 'querystring', pointer: '/cursor', message: 'not a cursor this node issued' }],
    });
  }
  return { xid: x, seq: s };
}

export const encodePosition = (p: ChangePosition | null): string => encodeCursor(p ? { x: p.xid, s: p.seq } : { x: '0', s: '0' });
const positionText = (p: ChangePosition): string => `${p.xid}.${p.seq}`;

/**
 * One incident the policy let go to the peer, as `render` made it: only what the page and its
 * audit entry need of the incident and the outcome. The incident read, its redacted copy and the
 * policy's facts are left behind as soon as the item is rendered, so a page of thousands of items
 * does not keep several copies of each alive until it is served (ADR 0031: the garbage collector
 * had become the largest single cost).
 */
export interface FeedServed<T> {
  incident: Pick<Incident, 'id' | 'ref' | 'version' | 'updatedAt'>;
  outcome: FeedOutcome;
  content: T;
  position: ChangePosition;
}

export interface FeedSelection<T> {
  served: Array<FeedServed<T>>;
  /** The refusals met on the way (counted by rule in the audit, never listed). */
  denied: FeedOutcome[];
  /** Where the next page starts (the last incident read), null when nothing was read. */
  position: ChangePosition | null;
  /** Nothing after `position` to read now. */
  exhausted: boolean;
}

export interface FeedSelectOptions<K> {
  /**
   * What each allowed item becomes, and what the page keeps of it (the feed: the report body's or
   * summary's canonical text; TAXII: each STIX object's canonical text and the fields it pages by).
   * A module named by URL, not a function: large batches are decided in the disclosure threads.
   */
  renderer: FeedRenderer;
  /** How much of `limit` an item uses (default 1): TAXII counts objects. At least one item is served. */
  weigh?: (content: K) => number;
  /** What an item weighs before any was weighed: sizes the first read (default 1). */
  expectedWeight?: number;
  /** Incidents passed over without a decision (TAXII's added_after). */
  skip?: (incident: Incident) => boolean;
}

/**
 * THE selection of what a peer may pull (purpose pull-feed), shared by the pull feed and the
 * TAXII collection so the two cannot disagree: incidents in the node's order of changes from
 * `start`, each decided by the sharing policy, until `limit` is used or the scan budget is spent.
 * Records nothing: the caller records what it serves (sharing.recordFeedPage) before serving it.
 */
export async function selectForPeer<K>(
  deps: { db: Db; sharing: Pick<SharingService, 'decideFeed'> },
  peer: PeerRecord,
  start: ChangePosition | null,
  limit: number,
  options: FeedSelectOptions<K>,
): Promise<FeedSelection<K>> {
  const weigh = options.weigh ?? (() => 1);
  let position = start;
  const served: Array<FeedServed<K>> = [];
  const denied: FeedOutcome[] = [];
  const budget = Math.max(MIN_SCAN, limit * SCAN_FACTOR);
  let used = 0;
  let scanned = 0;
  let exhausted = false;
  let full = false;

  while (!full && used < limit && scanned < budget) {
    // Read about what should fill the page at the share allowed so far (plus a little): every
    // incident read is decided and rendered, so reading far past the page is wasted work.
    // With weights (TAXII: objects), an item uses about the average weight so far of the limit.
    const need = limit - used;
    const allowedShare = scanned > 0 ? Math.max(served.length / scanned, 0.05) : 1;
    const perItem = served.length > 0 ? used / served.length : (options.expectedWeight ?? 1);
    const want = Math.min(BATCH, budget - scanned, Math.ceil(need / perItem / allowedShare) + 8);
    const batch = await listIncidentsByChange(deps.db, position, want);
    const incidents = batch.items.map((i) => i.incident).filter((i) => !options.skip?.(i));
    const decided = await deps.sharing.decideFeed(deps.db, incidents, { teamId: peer.teamId }, 'pull-feed', options.renderer);
    const outcomeOf = new Map(incidents.map((i, n) => [i.id, decided[n]!]));
    let consumed = 0;
    for (let i = 0; i < batch.items.length && used < limit; i++) {
      const { incident, position: at } = batch.items[i]!;
      const item = outcomeOf.get(incident.id);
      const outcome = item?.outcome;
      if (outcome?.allow) {
        const content = item!.content as K;
        const weight = weigh(content);
        // Past the limit: left for the next page (position stays before it), unless the page is empty.
        if (served.length > 0 && used + weight > limit) {
          full = true;
          break;
        }
        used += weight;
        const { id, ref, version, updatedAt } = incident;
        served.push({ incident: { id, ref, version, updatedAt }, outcome, content, position: at });
      } else if (outcome) denied.push(outcome);
      position = at;
      consumed++;
      scanned++;
    }
    if (consumed === batch.items.length && !batch.more) {
      exhausted = true;
      break;
    }
  }
  return { served, denied, position, exhausted };
}

export function createFeed(deps: FeedDeps): Feed {
  const { db, clock, config, signer, peers, sharing } = deps;

  return {
    async page(peer, cursor, limit) {
      const start = cursor ? decodePosition(cursor) : null;
      // Each item as explain previews it: the redacted incident (as a report body) or the summary,
      // kept as the canonical text its audit digest covered.
      const selection = await selectForPeer<KeptFeedItem>(deps, peer, start, limit, { renderer: FEED_ITEM_RENDERER });
      // Where each item's content goes in the page: a stand-in the canonical text is written in
      // place of (canonicalizeWithKnown), so the signed bytes hold exactly what the audit entry hashed.
      const known = new Map<object, string>();
      const { denied, position, exhausted } = selection;
      const served = selection.served.map(({ incident, outcome, content: kept, position: at }) => {
        const { decision } = outcome;
        const content = {};
        known.set(content, kept.text);
        const item: FeedItem = {
          position: positionText(at),
          version: incident.version,
          updatedAt: incident.updatedAt,
          tlp: decision.tlp,
          detail: decision.detail === 'summary' ? 'summary' : 'full',
          ...(decision.detail === 'summary' ? { summary: content as ActivitySummary } : { report: content as FeedItem['report'] }),
        } as FeedItem;
        return { item, incident: { id: incident.id, ref: incident.ref }, outcome, position: positionText(at) };
      });

      const items = served.map((s) => s.item);
      const body: FeedPageBody = { items, nextCursor: encodePosition(position), hasMore: !exhausted };
      const tlp = items.reduce<Tlp>((label, item) => stricterTlp(label, item.tlp), 'CLEAR');
      const document = newDocument(config.teamId, clock(), {
        type: 'feed.page',
        to: peer.teamId,
        tlp,
        body: body as unknown as Record<string, unknown>,
      });
      // Signed over its canonical text once (a page can be megabytes: no second canonicalisation).
      const documentText = canonicalizeWithKnown(document, known);
      const signed = { id: document.id, documentText, signature: await signer.signDetached(documentText) };
      const seal = peer.requiresSealed || tlpRequiresSealing(tlp);
      if (served.length > 0 || denied.length > 0) {
        // Recorded before anything is served: a page that cannot be recorded is not served.
        await sharing.recordFeedPage(db, {
          recipient: peer.teamId,
          served: served.map((s) => ({ incident: s.incident, outcome: s.outcome, position: s.position })),
          denied,
          details: {
            pageId: signed.id,
            pageSha256: createHash('sha256').update(signed.documentText).digest('hex'),
            sealed: seal,
            from: start ? positionText(start) : null,
            to: position ? positionText(position) : null,
          },
        });
      }
      const envelope = envelopeText(signed.documentText, signed.signature);
      // Pulled documents follow the push rule (§10): what would travel sealed is served sealed.
      if (seal) return JSON.stringify({ sealed: await sealForRecipient(envelope, await peers.keyOf(peer)) });
      return envelope;
    },
  };
}
