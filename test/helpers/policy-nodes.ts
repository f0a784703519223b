import { sql } from 'kysely';
import { openSealed, verifyDocumentSignature } from '../../src/crypto/index.js';
import { buildTestNode, type Teardown, type TestNode } from './build-test-app.js';
import { addPeer, api, fastDelivery, messageDocument, sign, trustPeer, waitFor } from './federation-harness.js';

/**
 * Three real nodes for the sharing-policy tests (test/federation/policy-*.test.ts), peered over
 * loopback and trusted as their handlers would set it up:
 *
 *   cc     the coordinator: alpha and bravo are its members
 *   alpha  on cc: a member, bilateral partner, key verified       -> partner
 *   bravo  on cc: a member, no bilateral level, key verified      -> community (the member floor)
 *
 * On alpha and bravo, cc is their coordinator (verified: partner by the relationship floor),
 * and alpha and bravo trust each other as verified partners (so that only the originator's
 * limits stop a re-share between them).
 */
export interface PolicyNodes {
  cc: TestNode;
  alpha: TestNode;
  bravo: TestNode;
}

export async function buildPolicyNodes(t: Teardown): Promise<PolicyNodes> {
  fastDelivery();
  const cc = await buildTestNode(t, { key: 'cc', listen: true, startWorker: true });
  const alpha = await buildTestNode(t, { key: 'alpha', listen: true, startWorker: true });
  const bravo = await buildTestNode(t, { key: 'bravo', listen: true, startWorker: true });
  for (const [a, b] of [
    [cc, alpha],
    [cc, bravo],
    [alpha, bravo],
  ] as const) {
    await addPeer(a, b);
    await addPeer(b, a);
  }
  await trustPeer(cc, alpha, { relationship: 'member', trustLevel: 'partner' });
  await trustPeer(cc, bravo, { relationship: 'member' });
  await trustPeer(alpha, cc, { relationship: 'coordinator' });
  await trustPeer(bravo, cc, { relationship: 'coordinator' });
  await trustPeer(alpha, bravo);
  await trustPeer(bravo, alpha);
  return { cc, alpha, bravo };
}

/** A peer token `from` gets from `to` with a signed auth.token-request. */
export async function peerToken(from: TestNode, to: TestNode): Promise<string> {
  const request = await sign(
    messageDocument(from.config.teamId, to.config.teamId, 'auth.token-request', {}, { tlp: 'CLEAR' }),
    from.signer,
  );
  const res = await fetch(`${to.url}/federation/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(request),
  });
  const body = (await res.json()) as { token?: string };
  if (res.status !== 200 || !body.token) throw new Error(`token from ${to.config.teamId}: ${res.status} ${JSON.stringify(body)}`);
  return body.token;
}

export interface FeedItemView {
  position: string;
  version: number;
  updatedAt: string;
  tlp: string;
  detail: 'full' | 'summary';
  report?: {
    ref: string;
    phase: string;
    incident: Record<string, any>;
    provenance?: Array<{ team: string; tlp: string }>;
    redactions?: Array<{ section: string; requiredLevel: string; reason: string }>;
  };
  summary?: Record<string, any>;
}

export interface FeedPageView {
  status: number;
  /** Whether the page came sealed. */
  sealed: boolean;
  /** The signed envelope (opened when sealed); its signature verified against the serving node. */
  envelope: {
    document: {
      id: string;
      type: string;
      from: string;
      to: string;
      tlp: string;
      body: { items: FeedItemView[]; nextCursor: string; hasMore: boolean };
    };
    signature: string;
  };
  items: FeedItemView[];
  nextCursor: string;
  hasMore: boolean;
  problem: { code: string } | null;
}

/** One page of `to`'s feed as `from` pulls it: opened when sealed, its signature checked. */
export async function pullPage(
  from: TestNode,
  to: TestNode,
  token: string,
  query: { cursor?: string; limit?: number } = {},
): Promise<FeedPageView> {
  const params = new URLSearchParams();
  if (query.cursor) params.set('cursor', query.cursor);
  if (query.limit) params.set('limit', String(query.limit));
  const res = await fetch(`${to.url}/federation/v1/feed${params.toString() ? `?${params.toString()}` : ''}`, {
    headers: { authorization: `Bearer ${token}` },
  });
  const json = (await res.json()) as any;
  if (res.status !== 200)
    return {
      status: res.status,
      sealed: false,
      envelope: json,
      items: [],
      nextCursor: '',
      hasMore: false,
      problem: json,
    };
  const sealed = typeof json.sealed === 'string';
  const envelope = sealed ? JSON.parse(await openSealed(json.sealed, from.signer)) : json;
  const verified = await verifyDocumentSignature(envelope, to.signer.publicKey);
  if (!verified.ok) throw new Error(`feed page of ${to.config.teamId} does not verify: ${verified.reason}`);
  const body = envelope.document.body;
  return {
    status: 200,
    sealed,
    envelope,
    items: body.items,
    nextCursor: body.nextCursor,
    hasMore: body.hasMore,
    problem: null,
  };
}

/** The whole feed from `cursor` on, page by page; returns the items and the last cursor. */
export async function pullAll(
  from: TestNode,
  to: TestNode,
  token: string,
  options: { cursor?: string; limit?: number } = {},
): Promise<{ items: FeedItemView[]; cursor: string; pages: number }> {
  const items: FeedItemView[] = [];
  let cursor = options.cursor;
  let pages = 0;
  for (;;) {
    const page = await pullPage(from, to, token, {
      ...(cursor ? { cursor } : {}),
      ...(options.limit ? { limit: options.limit } : {}),
    });
    if (page.status !== 200) throw new Error(`feed: ${page.status} ${JSON.stringify(page.problem)}`);
    items.push(...page.items);
    cursor = page.nextCursor;
    pages++;
    if (!page.hasMore) return { items, cursor, pages };
  }
}

/**
 * Waits until every change to `node`'s incidents shows in its feeds. On a PostgreSQL server a
 * change shows once every transaction older than it has finished, anywhere in the database
 * (docs/federation-protocol.md §15.2); test files share one server, so another file's open
 * transaction can hold a feed back for a while. Reading a feed twice alike does not prove it
 * caught up (it may read empty twice); this asks the horizon itself.
 */
export async function feedCaughtUp(node: TestNode): Promise<void> {
  await waitFor(
    `${node.config.teamId}'s feed caught up`,
    async () => {
      const row = await node.database.db
        .selectFrom('incident')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where(sql<boolean>`change_xid >= pg_snapshot_xmin(pg_current_snapshot())`)
        .executeTakeFirstOrThrow();
      return Number(row.n) === 0;
    },
    60_000,
    50,
  );
}

/**
 * Waits until nothing is left to deliver on any of `nodes` and, with `feed`, until that feed
 * reads the same twice in a row. On a PostgreSQL server a change shows in a feed once every
 * write transaction older than it has finished (docs/federation-protocol.md §15.2), and a
 * delivery moves an incident to the end of the order: tests that compare whole feeds settle first.
 */
export async function settle(nodes: TestNode[], feed?: { from: TestNode; to: TestNode; token: string }): Promise<FeedItemView[]> {
  await waitFor(
    'outboxes empty',
    async () => {
      for (const node of nodes) {
        const row = await node.database.db
          .selectFrom('outbound_message')
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .where('state', '=', 'pending')
          .executeTakeFirstOrThrow();
        if (Number(row.n) > 0) return false;
      }
      return true;
    },
    60_000,
  );
  for (const node of nodes) await feedCaughtUp(node);
  if (!feed) return [];
  let last: string | null = null;
  return waitFor(
    'the feed stable',
    async () => {
      const { items } = await pullAll(feed.from, feed.to, feed.token);
      const key = items.map((i) => i.position).join(',');
      const stable = key === last;
      last = key;
      return stable ? items : null;
    },
    60_000,
    250,
  );
}

/** Outbox rows of `node` to `peer` (optionally of one type and about one incident). */
export async function outbound(
  node: TestNode,
  peer: string,
  filter: { type?: string; incidentId?: string } = {},
): Promise<Array<{ id: string; type: string; tlp: string; document: string }>> {
  let q = node.database.db
    .selectFrom('outbound_message')
    .select(['id', 'type', 'tlp', 'document'])
    .where('peer_team', '=', peer)
    .orderBy('seq');
  if (filter.type) q = q.where('type', '=', filter.type);
  if (filter.incidentId) q = q.where('incident_id', '=', filter.incidentId);
  return q.execute();
}

/** `disclosure.decision` entries of `node`, oldest first. */
export async function decisions(
  node: TestNode,
  filter: { peer?: string; incidentId?: string } = {},
): Promise<Array<{ decision: string; peer: string | null; incident_id: string | null; details: any }>> {
  let q = node.database.db
    .selectFrom('audit_entry')
    .select(['decision', 'peer', 'incident_id', 'details'])
    .where('kind', '=', 'disclosure.decision')
    .orderBy('seq');
  if (filter.peer) q = q.where('peer', '=', filter.peer);
  if (filter.incidentId) q = q.where('incident_id', '=', filter.incidentId);
  return (await q.execute()) as Array<{
    decision: string;
    peer: string | null;
    incident_id: string | null;
    details: any;
  }>;
}

/** POST /api/v1/policy/explain on `node`. */
export async function explain(
  node: TestNode,
  incident: string,
  peer: string,
  purpose: string,
  extra: Record<string, unknown> = {},
): Promise<any> {
  const res = await api(node, 'POST', '/policy/explain', 'reader', { incident, peer, purpose, ...extra });
  if (res.statusCode !== 200) throw new Error(`explain: ${res.statusCode} ${res.body}`);
  return res.json();
}
