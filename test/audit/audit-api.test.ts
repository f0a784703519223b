import { createHash } from 'node:crypto';
import t from 'tap';
import { sql } from 'kysely';
import { createAuditModule, type AuditEntryInput } from '../../src/modules/audit/audit.module.js';
import { buildTestNode, type Teardown } from '../helpers/build-test-app.js';

const INCIDENT_A = '11111111-1111-4111-8111-111111111111';
const INCIDENT_B = '22222222-2222-4222-8222-222222222222';
const START = Date.parse('2026-03-01T00:00:00.000Z');

/**
 * Seven entries, one second apart from START (entry i at START + i s):
 *   0 disclosure A bravo allow | 1 disclosure A cc deny | 2 receipt A bravo
 *   3 disclosure B bravo allow | 4 trust-change - bravo | 5 quarantine - mallory deny
 *   6 disclosure B cc allow
 */
const ENTRIES: AuditEntryInput[] = [
  {
    kind: 'disclosure',
    actor: 'handler-user',
    incidentId: INCIDENT_A,
    peer: 'bravo',
    decision: 'allow',
    details: { purpose: 'direct', policyVersion: 1 },
  },
  {
    kind: 'disclosure',
    actor: 'handler-user',
    incidentId: INCIDENT_A,
    peer: 'cc',
    decision: 'deny',
    details: { purpose: 'relay', reasons: ['RED: not a named recipient'] },
  },
  {
    kind: 'receipt',
    actor: 'bravo',
    incidentId: INCIDENT_A,
    peer: 'bravo',
    details: { theirRef: 'BRAVO#2026-000007' },
  },
  {
    kind: 'disclosure',
    actor: 'node',
    incidentId: INCIDENT_B,
    peer: 'bravo',
    decision: 'allow',
    details: { purpose: 'pull-feed', redacted: ['evidence'] },
  },
  { kind: 'trust-change', actor: 'admin-user', peer: 'bravo', details: { from: 'community', to: 'partner' } },
  { kind: 'quarantine', actor: 'node', peer: 'mallory', decision: 'deny', details: { reason: 'unknown sender' } },
  {
    kind: 'disclosure',
    actor: 'handler-user',
    incidentId: INCIDENT_B,
    peer: 'cc',
    decision: 'allow',
    details: { purpose: 'coordinator-feed' },
  },
];

async function seeded(t: Teardown) {
  const node = await buildTestNode(t);
  let n = 0;
  const audit = createAuditModule({ db: node.database.db, clock: () => new Date(START + 1000 * n++) });
  for (const e of ENTRIES) await audit.log.append(node.database.db, e);
  const get = (query: string, headers: Record<string, string> = node.auth.admin) =>
    node.app.inject({ method: 'GET', url: `/api/v1/audit${query}`, headers });
  return { node, get };
}

/** An auditor's own check, sharing no code with the node: sorted-keys compact JSON, SHA-256. */
function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${sortedJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

t.test('admins list the log, and every item re-hashes without the node', async (t) => {
  const { get } = await seeded(t);
  const res = await get('');
  t.equal(res.statusCode, 200, res.body);
  const { items, nextCursor } = res.json();
  t.equal(items.length, 7);
  t.equal(nextCursor, null);
  t.same(Object.keys(items[0]).sort(), ['actor', 'at', 'decision', 'details', 'hash', 'incidentId', 'kind', 'peer', 'prevHash', 'seq']);
  t.match(items[2], {
    kind: 'receipt',
    actor: 'bravo',
    incidentId: INCIDENT_A,
    peer: 'bravo',
    decision: null,
    at: '2026-03-01T00:00:02.000Z',
    details: { theirRef: 'BRAVO#2026-000007' },
  });
  t.equal(items[4].incidentId, null);
  let previous = '0'.repeat(64);
  for (const item of items) {
    const { hash, ...covered } = item;
    t.equal(createHash('sha256').update(sortedJson(covered)).digest('hex'), hash, `entry ${item.seq} re-hashes`);
    t.equal(item.prevHash, previous, `entry ${item.seq} links to the one before`);
    previous = hash;
  }
});

t.test('filters: incident, peer, kind, decision, time', async (t) => {
  const { get } = await seeded(t);
  const kinds = async (query: string) => {
    const res = await get(query);
    t.equal(res.statusCode, 200, `${query}: ${res.body}`);
    return res.json().items.map((i: { details: Record<string, unknown>; at: string }) => (Date.parse(i.at) - START) / 1000);
  };
  t.same(await kinds(`?incident=${INCIDENT_A}`), [0, 1, 2]);
  t.same(await kinds(`?incident=${INCIDENT_B.toUpperCase()}`), [3, 6], 'an upper-case id finds the same entries');
  t.same(await kinds('?peer=bravo'), [0, 2, 3, 4]);
  t.same(await kinds('?kind=disclosure'), [0, 1, 3, 6]);
  t.same(await kinds('?kind=disclosure&decision=deny'), [1]);
  t.same(await kinds('?peer=cc&kind=disclosure&incident=' + INCIDENT_B), [6]);
  t.same(await kinds('?since=2026-03-01T00:00:02Z&until=2026-03-01T00:00:05Z'), [2, 3, 4], 'since inclusive, until exclusive');
  t.same(await kinds('?since=2026-03-01T09:00:05%2B09:00'), [5, 6], 'any RFC 3339 offset');
  t.same(await kinds('?until=2026-03-01T00:00:00Z'), []);
  t.same(await kinds('?peer=nobody'), []);
  t.same(await kinds('?order=desc&kind=disclosure'), [6, 3, 1, 0]);
});

t.test('keyset pagination walks every entry once, in both orders', async (t) => {
  const { get } = await seeded(t);
  const walk = async (base: string) => {
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const res = await get(`${base}&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      t.equal(res.statusCode, 200, res.body);
      const page = res.json();
      t.ok(page.items.length <= 2);
      seen.push(...page.items.map((i: { seq: number }) => i.seq));
      cursor = page.nextCursor;
      pages++;
    } while (cursor && pages < 20);
    return { seen, pages };
  };
  const all = (await get('?limit=500')).json().items.map((i: { seq: number }) => i.seq) as number[];
  const asc = await walk('?order=asc');
  t.same(asc.seen, all);
  t.equal(asc.pages, 4);
  const desc = await walk('?order=desc');
  t.same(desc.seen, [...all].reverse());
  const filtered = await walk('?peer=bravo');
  t.same(filtered.seen, [all[0], all[2], all[3], all[4]]);
  t.equal(filtered.pages, 2, 'no empty trailing page when the last page is full and nothing follows');
});

t.test('cursors: opaque, bound to their order, and checked', async (t) => {
  const { get } = await seeded(t);
  const first = (await get('?limit=3')).json();
  t.type(first.nextCursor, 'string');
  const wrongOrder = await get(`?order=desc&cursor=${encodeURIComponent(first.nextCursor)}`);
  t.equal(wrongOrder.statusCode, 400);
  t.equal(wrongOrder.json().code, 'validation-failed');
  for (const cursor of ['garbage', Buffer.from('{"s":"1","o":"asc"}').toString('base64url'), Buffer.from('[1]').toString('base64url')]) {
    const res = await get(`?cursor=${cursor}`);
    t.equal(res.statusCode, 400, cursor);
    t.equal(res.json().code, 'validation-failed');
  }
});

t.test('only admins: readers and handlers get 403, no token 401', async (t) => {
  const { node, get } = await seeded(t);
  for (const url of ['', '/verify']) {
    for (const role of ['reader', 'handler'] as const) {
      const res = await get(url, node.auth[role]);
      t.equal(res.statusCode, 403, `${role} ${url}`);
      t.match(res.headers['content-type'], /^application\/problem\+json/);
      t.equal(res.json().code, 'forbidden');
    }
    const anonymous = await get(url, {});
    t.equal(anonymous.statusCode, 401);
    t.equal(anonymous.json().code, 'unauthenticated');
  }
});

t.test('bad queries are 400 validation-failed', async (t) => {
  const { get } = await seeded(t);
  for (const query of [
    '?since=yesterday',
    '?until=2026-03-01',
    '?limit=0',
    '?limit=501',
    '?limit=ten',
    '?incident=ALPHA%232026-000001',
    '?decision=maybe',
    '?order=sideways',
    '?unknown=1',
    '?since=2026-03-02T00:00:00Z&until=2026-03-01T00:00:00Z',
    `?cursor=${'x'.repeat(201)}`,
  ]) {
    const res = await get(query);
    t.equal(res.statusCode, 400, `${query}: ${res.body}`);
    t.equal(res.json().code, 'validation-failed', query);
  }
});

t.test('GET /audit/verify reports the chain, and the first broken entry after tampering', async (t) => {
  const { node, get } = await seeded(t);
  const ok = await get('/verify');
  t.equal(ok.statusCode, 200, ok.body);
  const items = (await get('')).json().items;
  t.same(ok.json(), { ok: true, entries: 7, head: { seq: items[6].seq, hash: items[6].hash } });

  const db = node.database.db;
  await sql`ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only`.execute(db);
  await sql`UPDATE audit_entry SET peer = 'bravo' WHERE seq = ${items[1].seq}`.execute(db);
  await sql`ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only`.execute(db);
  const broken = await get('/verify');
  t.equal(broken.statusCode, 200);
  t.match(broken.json(), {
    ok: false,
    brokenAt: items[1].seq,
    reason: 'entry-altered',
    entries: 1,
    head: { seq: items[0].seq },
  });
});

t.test('the OpenAPI document describes both routes under the audit tag', async (t) => {
  const { node } = await seeded(t);
  const doc = (await node.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  for (const path of ['/api/v1/audit', '/api/v1/audit/verify']) {
    const op = doc.paths[path]?.get;
    t.ok(op, path);
    t.same(op.tags, ['audit']);
    t.ok(op.responses['200'] && op.responses['403'] && op.responses['401'] && op.responses['400'], `${path} documents its statuses`);
  }
});
