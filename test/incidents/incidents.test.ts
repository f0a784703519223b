import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import t, { type Test } from 'tap';
import { upsertExternalRef } from '../../src/modules/incidents/incident.repository.js';
import { IncidentCreateSchema, type Incident } from '../../schemas/incident.schema.js';
import { buildTestNode } from '../helpers/build-test-app.js';

/**
 * Incidents through the API on one node (one database) for the whole file: subtests run in
 * order and build on each other (the reference numbers below depend on that order).
 */

const example = JSON.parse(readFileSync(new URL('../../docs/examples/incident.json', import.meta.url), 'utf8')) as Record<string, unknown>;

/** Each reading is one second after the previous one: known, distinct instants for updatedSince and the journal. */
const START = Date.parse('2030-03-01T00:00:00.000Z');
let ticks = 0;
const clock = () => new Date(START + 1000 * ticks++);

const node = await buildTestNode(t, { clock });
const alice = { authorization: `Bearer ${node.mint('handler', 'alice')}` };
const reader = node.auth.reader;
const REF = (n: number) => `ALPHA#2030-${String(n).padStart(6, '0')}`;
const url = (refOrId: string) => `/api/v1/incidents/${encodeURIComponent(refOrId)}`;

function problem(t: Test, res: LightMyRequestResponse, status: number, code: string) {
  t.equal(res.statusCode, status, `${code}: HTTP ${status} (${res.body.slice(0, 300)})`);
  t.match(res.headers['content-type'], /^application\/problem\+json/, `${code}: problem+json`);
  const body = res.json();
  t.equal(body.code, code, `code ${code}`);
  t.equal(body.status, status);
  t.equal(body.type, `urn:hikeshi:problem:${code}`);
  return body;
}

const minimal = (extra: Record<string, unknown> = {}) => ({
  title: 'A minimal report',
  category: 'other',
  type: 'undetermined',
  severity: 'low',
  tlp: 'CLEAR',
  reporter: { name: 'Someone' },
  ...extra,
});

const post = (payload: unknown, headers = alice) =>
  node.app.inject({ method: 'POST', url: '/api/v1/incidents', headers, payload: payload as object });
const get = (path: string, headers: Record<string, string> = reader) => node.app.inject({ method: 'GET', url: path, headers });
const patch = (refOrId: string, payload: unknown, extra: Record<string, string> = {}) =>
  node.app.inject({ method: 'PATCH', url: url(refOrId), headers: { ...alice, ...extra }, payload: payload as object });
const list = async (t: Test, query: string): Promise<string[]> => {
  const res = await get(`/api/v1/incidents?${query}`);
  t.equal(res.statusCode, 200, `?${query}: ${res.body.slice(0, 300)}`);
  return (res.json().items as Incident[]).map((i) => i.ref);
};
async function journalOf(refOrId: string) {
  const res = await get(`${url(refOrId)}/journal?limit=500`);
  if (res.statusCode !== 200) throw new Error(res.body);
  return res.json().items as Array<{
    id: number;
    at: string;
    actor: string;
    team: string;
    kind: string;
    changes: Record<string, unknown> | null;
    note: string | null;
  }>;
}

const SERVER_FIELDS = ['id', 'ref', 'externalRefs', 'version', 'createdBy', 'createdAt', 'updatedAt'] as const;
/** The example as the node must return it: exactly as written, date-times with their offsets (issue 13). */
function expectedContent(input: Record<string, any>): Record<string, unknown> {
  return structuredClone(input);
}

function contentOf(incident: Record<string, unknown>): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...incident };
  for (const key of SERVER_FIELDS) delete copy[key];
  return copy;
}

/** Every property of the create schema (nested objects and array items too) that no sample carries. */
function fieldsMissing(schema: any, samples: unknown[], at: string, out: string[]): string[] {
  if (schema.anyOf) {
    for (const s of schema.anyOf) fieldsMissing(s, samples, at, out);
  } else if (schema.type === 'array') {
    fieldsMissing(
      schema.items,
      samples.flatMap((s) => (Array.isArray(s) ? s : [])),
      `${at}[]`,
      out,
    );
  } else if (schema.type === 'object' && schema.properties) {
    const objects = samples.filter((s): s is Record<string, unknown> => !!s && typeof s === 'object' && !Array.isArray(s));
    if (objects.length === 0) return out;
    for (const [key, sub] of Object.entries(schema.properties)) {
      const present = objects.filter((o) => o[key] !== undefined).map((o) => o[key]);
      if (present.length === 0) out.push(`${at}/${key}`);
      else fieldsMissing(sub, present, `${at}/${key}`, out);
    }
  }
  return out;
}

let A: Incident; // the example
let B: Incident;
let C: Incident;

t.test('the README example carries every field of an incident report', async (t) => {
  t.strictSame(fieldsMissing(IncidentCreateSchema, [example], '', []), [], 'docs/examples/incident.json leaves no field out');
});

t.test('create the example: 201, Location, ETag', async (t) => {
  ticks = 0; // whatever read the clock while the node was built, this creation happens at START
  const res = await post(example);
  t.equal(res.statusCode, 201, res.body.slice(0, 500));
  A = res.json();
  t.equal(A.ref, REF(1), 'first reference number of the year');
  t.equal(res.headers.location, `/api/v1/incidents/ALPHA%232030-000001`, 'Location is the URL-encoded reference number');
  t.equal(res.headers.etag, '"1"');
  t.equal(A.version, 1);
  t.equal(A.createdBy, 'alice');
  t.equal(A.createdAt, '2030-03-01T00:00:00.000Z', 'createdAt comes from the node clock');
  t.equal(A.updatedAt, A.createdAt);
  t.strictSame(A.externalRefs, []);
  t.match(A.id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

t.test('read back by URL-encoded reference number and by id: every field', async (t) => {
  const expected = expectedContent(example);
  const byLocation = await get(`/api/v1/incidents/ALPHA%232030-000001`);
  t.equal(byLocation.statusCode, 200, byLocation.body.slice(0, 300));
  t.equal(byLocation.headers.etag, '"1"');
  const byId = await get(url(A.id));
  t.equal(byId.statusCode, 200);
  const byUpperId = await get(url(A.id.toUpperCase()));
  t.equal(byUpperId.statusCode, 200, 'ids are case-insensitive');
  for (const [how, res] of [
    ['ref', byLocation],
    ['id', byId],
  ] as const) {
    const got = res.json();
    t.strictSame(
      Object.keys(got).sort(),
      [...Object.keys(example), ...SERVER_FIELDS].sort(),
      `by ${how}: the same fields, no more, no less`,
    );
    t.strictSame(contentOf(got), expected, `by ${how}: content equals the example (date-times as written, offsets kept)`);
    t.strictSame(got, A, `by ${how}: the same as the create response`);
  }
});

t.test('refused creations: 400 with a pointer, and no reference number used up', async (t) => {
  const cases: Array<[string, unknown, string | null]> = [
    ['type not in the category', minimal({ category: 'fraud', type: 'ddos' }), '/type'],
    ['host without ip or hostname', minimal({ hosts: [{ role: 'source', ports: [22] }] }), '/hosts/0'],
    ['host with a bad IPv4 address', minimal({ hosts: [{ ip: '203.0.113.300', role: 'source' }] }), '/hosts/0/ip'],
    [
      'host with an IPv6 zone id',
      minimal({
        hosts: [
          { hostname: 'ok.example', role: 'target' },
          { ip: 'fe80::1%eth0', role: 'source' },
        ],
      }),
      '/hosts/1/ip',
    ],
    ['ipv4 indicator that is not an address', minimal({ indicators: [{ kind: 'ipv4', value: 'example.com' }] }), '/indicators/0/value'],
    ['firstSeen after lastSeen', minimal({ firstSeen: '2030-01-02T00:00:00Z', lastSeen: '2030-01-02T08:59:59+09:00' }), '/lastSeen'],
    ['unknown host role', minimal({ hosts: [{ ip: '192.0.2.1', role: 'victim' }] }), '/hosts/0/role'],
    ['no reporter', { ...minimal(), reporter: undefined }, null],
    ['unknown field in the reporter', minimal({ reporter: { name: 'X', twitter: '@x' } }), '/reporter'],
    ['bad TLP', minimal({ tlp: 'WHITE' }), '/tlp'],
    ['bad CVE id', minimal({ vulnerabilities: [{ cve: 'CVE-16-1' }] }), '/vulnerabilities/0/cve'],
    ['bad date-time', minimal({ firstSeen: '20 Nov 2030' }), '/firstSeen'],
  ];
  for (const [name, payload, pointer] of cases) {
    const body = problem(t, await post(payload), 400, 'validation-failed');
    t.ok(Array.isArray(body.errors) && body.errors.length > 0, `${name}: errors[]`);
    if (pointer)
      t.ok(
        body.errors?.some((e: { pointer: string }) => e.pointer === pointer),
        `${name}: points at ${pointer} (${JSON.stringify(body.errors)})`,
      );
  }
  problem(t, await post(minimal(), reader), 403, 'forbidden');
  // The next creation (next subtest) gets number 2: none of these took one.
});

t.test('list filters', async (t) => {
  let res = await post({
    title: 'Phishing wave against webmail',
    category: 'fraud',
    type: 'phishing',
    severity: 'low',
    tlp: 'GREEN',
    phase: 'analysis',
    reporter: { name: 'B reporter' },
    hosts: [{ ip: '2001:db8::5', hostname: 'Mail.Example.org', role: 'target' }],
    indicators: [{ kind: 'domain', value: 'login-example.test' }],
  });
  t.equal(res.statusCode, 201, res.body);
  B = res.json();
  t.equal(B.ref, REF(2), 'refused creations left no gap');
  res = await post({
    title: 'Reflection DDoS',
    category: 'availability',
    type: 'ddos',
    severity: 'critical',
    tlp: 'RED',
    reporter: { name: 'C reporter' },
    hosts: [
      { ip: '10.1.2.3', role: 'target' },
      { hostname: 'amp.example.net', role: 'intermediary', spoofedSource: true },
    ],
    indicators: [{ kind: 'url', value: 'http://c2.example.net/x' }],
  });
  t.equal(res.statusCode, 201, res.body);
  C = res.json();
  t.equal(C.phase, 'triage', 'phase defaults to triage');

  const [a, b, c] = [A.ref, B.ref, C.ref];
  t.strictSame(await list(t, ''), [c, b, a], 'no filter: all, newest first');
  t.strictSame(await list(t, 'phase=analysis'), [b]);
  t.strictSame(await list(t, 'phase=triage'), [c, a]);
  t.strictSame(await list(t, 'phase=closed'), []);
  t.strictSame(await list(t, 'category=fraud'), [b]);
  t.strictSame(await list(t, 'category=intrusions'), [a]);
  t.strictSame(await list(t, 'tlp=AMBER'), [a]);
  t.strictSame(await list(t, 'tlp=RED'), [c]);
  t.strictSame(await list(t, 'tlp=AMBER%2BSTRICT'), [], 'AMBER+STRICT is a distinct label');
  t.strictSame(await list(t, 'severity=critical'), [c]);
  t.strictSame(await list(t, 'severity=high'), [a]);
  t.strictSame(await list(t, 'category=fraud&severity=high'), [], 'filters combine');
  t.strictSame(await list(t, `updatedSince=${encodeURIComponent(B.updatedAt)}`), [c, b], 'updatedSince is inclusive');
  const inTokyo = new Date(Date.parse(B.updatedAt) + 9 * 3600_000).toISOString().replace('Z', '+09:00');
  t.strictSame(await list(t, `updatedSince=${encodeURIComponent(inTokyo)}`), [c, b], `updatedSince with an offset (${inTokyo})`);
  t.strictSame(await list(t, `updatedSince=${encodeURIComponent(C.updatedAt.replace('.000Z', '.001Z'))}`), []);
  // hosts: an address, a CIDR block containing hosts, a host name (case-insensitive)
  t.strictSame(await list(t, 'host=192.0.2.10'), [a], 'host by IP');
  t.strictSame(await list(t, 'host=192.0.2.11'), [], 'another IP');
  t.strictSame(await list(t, `host=${encodeURIComponent('192.0.2.0/24')}`), [a], 'host by IPv4 CIDR');
  t.strictSame(await list(t, `host=${encodeURIComponent('10.0.0.0/8')}`), [c]);
  t.strictSame(await list(t, `host=${encodeURIComponent('0.0.0.0/0')}`), [c, a], 'every IPv4 host');
  t.strictSame(await list(t, `host=${encodeURIComponent('2001:db8::/32')}`), [b], 'host by IPv6 CIDR');
  t.strictSame(await list(t, `host=${encodeURIComponent('2001:db8::5')}`), [b], 'host by IPv6 address');
  t.strictSame(await list(t, 'host=WWW.Example-Univ.ac.jp'), [a], 'host by name, any case');
  t.strictSame(await list(t, 'host=mail.example.org'), [b], 'stored in mixed case, found in lower case');
  t.strictSame(await list(t, 'host=amp.example.net'), [c], 'a host with a name only');
  t.strictSame(await list(t, 'host=example.org'), [], 'names match exactly, not by suffix');
  // An IPv4-mapped IPv6 spelling names the IPv4 host, in the query and in the incident (issue 13).
  t.strictSame(await list(t, `host=${encodeURIComponent('::ffff:192.0.2.10')}`), [a], 'a mapped address finds the IPv4 host');
  t.strictSame(await list(t, `host=${encodeURIComponent('::FFFF:c000:020a')}`), [a], 'in hex too');
  t.strictSame(await list(t, `host=${encodeURIComponent('::ffff:192.0.2.0/120')}`), [a], 'a mapped network finds the IPv4 network');
  // indicators
  t.strictSame(await list(t, 'indicator=198.51.100.7'), [a]);
  t.strictSame(await list(t, 'indicator=9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08'), [a], 'indicator, any case');
  t.strictSame(await list(t, 'indicator=login-example.test'), [b]);
  t.strictSame(await list(t, `indicator=${encodeURIComponent('http://c2.example.net/x')}`), [c]);
  t.strictSame(await list(t, 'indicator=203.0.113.46'), []);
  // another team's reference number for the same incident
  t.strictSame(await list(t, `externalRef=${encodeURIComponent('BRAVO#2030-000077')}`), [], 'before it is recorded');
  await upsertExternalRef(node.database.db, B.id, 'bravo', 'BRAVO#2030-000077');
  t.strictSame(await list(t, `externalRef=${encodeURIComponent('BRAVO#2030-000077')}`), [b], 'by external ref');
  t.strictSame((await get(url(B.ref))).json().externalRefs, [{ team: 'bravo', ref: 'BRAVO#2030-000077' }], 'shown on the incident');
  t.strictSame(await list(t, `externalRef=${encodeURIComponent('BRAVO#2030-000078')}`), []);

  // A network with host bits set, or a prefix longer than the address, is a mistake, not a name.
  for (const network of ['192.0.2.1/24', '10.0.0.0/33', '2001:db8::1/32']) {
    const body = problem(t, await get(`/api/v1/incidents?host=${encodeURIComponent(network)}`), 400, 'validation-failed');
    t.match(body.errors?.[0], { location: 'querystring', pointer: '/host' }, `${network}: refused`);
  }
  for (const bad of [
    'phase=bogus',
    'tlp=WHITE',
    'severity=urgent',
    'category=Fraud',
    'updatedSince=yesterday',
    'limit=0',
    'limit=501',
    'limit=three',
    'colour=red',
  ]) {
    const body = problem(t, await get(`/api/v1/incidents?${bad}`), 400, 'validation-failed');
    t.equal(body.errors?.[0]?.location, 'querystring', `${bad}: in the query string`);
  }
});

t.test('keyset pagination', async (t) => {
  const created: string[] = [];
  for (let i = 1; i <= 7; i++) {
    const res = await post(minimal({ title: `page item ${i}`, category: 'test', type: 'test' }));
    t.equal(res.statusCode, 201);
    created.push(res.json().ref);
  }
  const pages: string[][] = [];
  let cursor: string | null = null;
  do {
    const res = await get(`/api/v1/incidents?category=test&limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    t.equal(res.statusCode, 200, res.body.slice(0, 300));
    const page = res.json();
    pages.push((page.items as Incident[]).map((i) => i.ref));
    cursor = page.nextCursor;
    if (pages.length > 5) break;
  } while (cursor);
  t.strictSame(
    pages.map((p) => p.length),
    [3, 3, 1],
    'three pages: 3, 3, 1',
  );
  const all = pages.flat();
  t.equal(new Set(all).size, all.length, 'no duplicates');
  t.strictSame(all, [...created].reverse(), 'every incident once, newest first');
  t.equal(cursor, null, 'nextCursor is null on the last page');

  const exact = await get('/api/v1/incidents?category=test&limit=7');
  t.equal(exact.json().items.length, 7);
  t.equal(exact.json().nextCursor, null, 'a page that ends exactly at the last item has no next cursor');

  for (const bad of [
    'not-a-cursor',
    Buffer.from('{"s":"x"}').toString('base64url'),
    Buffer.from('[1]').toString('base64url'),
    Buffer.from('{"s":1.5}').toString('base64url'),
  ]) {
    const body = problem(t, await get(`/api/v1/incidents?cursor=${encodeURIComponent(bad)}`), 400, 'validation-failed');
    t.match(body.errors, [{ location: 'querystring', pointer: '/cursor' }], 'points at the cursor');
  }
});

t.test('PATCH: fields, journal, If-Match, phase transitions', async (t) => {
  const before = await journalOf(A.ref);
  t.equal(before.length, 1, 'one entry after creation');
  t.match(
    before[0],
    { kind: 'created', actor: 'alice', team: 'alpha', at: A.createdAt, changes: { ref: A.ref, phase: 'triage' } },
    'created: who, when, what',
  );

  // fields, with the version read
  let res = await patch(A.ref, { severity: 'critical', title: 'Web server compromised via SSH' }, { 'if-match': '"1"' });
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  t.equal(res.headers.etag, '"2"');
  const got = res.json();
  t.match(got, {
    version: 2,
    severity: 'critical',
    title: 'Web server compromised via SSH',
    ref: A.ref,
    createdAt: A.createdAt,
  });
  t.not(got.updatedAt, A.updatedAt, 'updatedAt moves');
  t.strictSame(
    contentOf(got),
    { ...expectedContent(example), severity: 'critical', title: 'Web server compromised via SSH' },
    'nothing else changed',
  );
  let journal = await journalOf(A.ref);
  t.equal(journal.length, 2);
  t.match(journal[1], {
    kind: 'updated',
    actor: 'alice',
    team: 'alpha',
    at: got.updatedAt,
    changes: {
      severity: { from: 'high', to: 'critical' },
      title: { from: example.title, to: 'Web server compromised via SSH' },
    },
  });
  t.strictSame(Object.keys(journal[1]!.changes!).sort(), ['severity', 'title'], 'only what changed');

  // a stale or malformed If-Match
  let body = problem(t, await patch(A.ref, { severity: 'low' }, { 'if-match': '"1"' }), 412, 'version-mismatch');
  t.equal(body.currentVersion, 2, 'tells the current version');
  problem(t, await patch(A.ref, { severity: 'low' }, { 'if-match': 'yesterday' }), 400, 'bad-request');
  problem(t, await patch(A.ref, { severity: 'low' }, { 'if-match': '"2", "3"' }), 400, 'bad-request');
  t.equal((await get(url(A.ref))).json().severity, 'critical', 'refused patches change nothing');

  // W/"2" and a bare 2 are accepted; lists and personal data are journalled without their content
  res = await patch(
    A.ref,
    {
      hosts: [{ ip: '192.0.2.10', role: 'target' }],
      reporter: { name: 'Hanako Yamada', email: 'h.yamada@example-univ.ac.jp' },
    },
    { 'if-match': 'W/"2"' },
  );
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  t.equal(res.json().version, 3);
  journal = await journalOf(A.ref);
  t.strictSame(journal.at(-1)!.changes, { hosts: { from: 3, to: 1, unit: 'items' }, reporter: { replaced: true } });
  t.notMatch(JSON.stringify(journal), /h\.yamada/, 'no personal data in the journal');
  t.strictSame(await list(t, 'host=203.0.113.45'), [], 'host search follows the new hosts');
  t.strictSame(await list(t, 'host=192.0.2.10'), [A.ref]);

  // If-Match: * matches any version (RFC 9110)
  res = await patch(A.ref, { intruderActivity: 'Brute force, then a kernel exploit.' }, { 'if-match': '*' });
  t.equal(res.statusCode, 200, `If-Match: * (${res.body.slice(0, 200)})`);
  t.equal(res.json().version, 4);

  // no change: no new version, no journal entry
  res = await patch(A.ref, { severity: 'critical' });
  t.equal(res.statusCode, 200);
  t.equal(res.json().version, 4, 'a patch that changes nothing is not a new version');
  t.equal((await journalOf(A.ref)).length, 4, 'and not journalled');

  // application/merge-patch+json is accepted like application/json
  res = await node.app.inject({
    method: 'PATCH',
    url: url(A.ref),
    headers: { ...alice, 'content-type': 'application/merge-patch+json' },
    payload: JSON.stringify({ summary: null }),
  });
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  t.equal(res.json().summary, null, 'null clears a field');
  t.equal(res.json().version, 5);

  // phases: forward, skipping, refused, reopened
  res = await patch(A.ref, { phase: 'analysis', tlp: 'AMBER+STRICT' });
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  journal = await journalOf(A.ref);
  t.match(
    journal.slice(-2),
    [
      { kind: 'updated', actor: 'alice', changes: { tlp: { from: 'AMBER', to: 'AMBER+STRICT' } } },
      { kind: 'phase-changed', actor: 'alice', changes: { from: 'triage', to: 'analysis' } },
    ],
    'a field and a phase in one patch: two entries',
  );
  res = await patch(A.ref, { phase: 'closed' });
  t.equal(res.statusCode, 200, 'analysis -> closed: steps may be skipped');
  body = problem(t, await patch(A.ref, { phase: 'containment' }), 409, 'phase-transition-not-allowed');
  t.strictSame(body.allowed, ['analysis'], 'the refusal lists where it may go');
  body = problem(t, await patch(A.ref, { phase: 'triage', severity: 'low' }), 409, 'phase-transition-not-allowed');
  t.equal((await get(url(A.ref))).json().severity, 'critical', 'a refused phase change takes the other fields with it');
  res = await patch(A.ref, { phase: 'analysis' });
  t.equal(res.statusCode, 200, 'closed -> analysis: reopened');
  body = problem(t, await patch(A.ref, { phase: 'triage' }), 409, 'phase-transition-not-allowed');
  t.strictSame(body.allowed, ['notification', 'evidence', 'containment', 'eradication', 'recovery', 'lessons-learned', 'closed']);
  const phases = (await journalOf(A.ref)).filter((e) => e.kind === 'phase-changed').map((e) => e.changes);
  t.strictSame(phases, [
    { from: 'triage', to: 'analysis' },
    { from: 'analysis', to: 'closed' },
    { from: 'closed', to: 'analysis' },
  ]);

  // content rules on PATCH
  body = problem(t, await patch(A.ref, { type: 'phishing' }), 400, 'validation-failed');
  t.equal(body.errors?.[0]?.pointer, '/type');
  problem(t, await patch(A.ref, { firstSeen: '2030-02-01T00:00:00Z', lastSeen: '2030-01-01T00:00:00Z' }), 400, 'validation-failed');
  problem(t, await patch(A.ref, { lastSeen: '2026-11-19T00:00:00Z' }), 400, 'validation-failed');
  problem(t, await patch(A.ref, { hosts: [{ role: 'source' }] }), 400, 'validation-failed');
  problem(t, await patch(A.ref, { hosts: [{ ip: '192.0.2.256', role: 'source' }] }), 400, 'validation-failed');
  problem(t, await patch(A.ref, {}), 400, 'validation-failed');
  problem(t, await patch(A.ref, { ref: 'ALPHA#2030-000042' }), 400, 'validation-failed');
  problem(t, await patch(A.ref, { version: 99 }), 400, 'validation-failed');
  problem(t, await node.app.inject({ method: 'PATCH', url: url(A.ref), headers: reader, payload: { severity: 'low' } }), 403, 'forbidden');

  // a new category without a type drops the type that no longer fits, and says so
  const versionBefore = (await get(url(A.ref))).json().version;
  res = await patch(A.ref, { category: 'availability' });
  t.equal(res.statusCode, 200, res.body.slice(0, 300));
  t.match(res.json(), { category: 'availability', type: null, version: versionBefore + 1 });
  t.match((await journalOf(A.ref)).at(-1), {
    kind: 'updated',
    changes: { category: { from: 'intrusions', to: 'availability' }, type: { from: 'system-compromise', to: null } },
  });
  res = await patch(A.ref, { category: 'intrusions', type: 'system-compromise' });
  t.equal(res.statusCode, 200);
  t.match(res.json(), { category: 'intrusions', type: 'system-compromise' });
});

t.test('journal: notes and pagination', async (t) => {
  for (let i = 1; i <= 4; i++) {
    const res = await node.app.inject({
      method: 'POST',
      url: `${url(B.ref)}/journal`,
      headers: alice,
      payload: { note: `note ${i}` },
    });
    t.equal(res.statusCode, 201, res.body);
    t.match(res.json(), { kind: 'note', note: `note ${i}`, actor: 'alice', team: 'alpha', changes: null });
  }
  problem(
    t,
    await node.app.inject({ method: 'POST', url: `${url(B.ref)}/journal`, headers: reader, payload: { note: 'x' } }),
    403,
    'forbidden',
  );
  problem(
    t,
    await node.app.inject({ method: 'POST', url: `${url(B.ref)}/journal`, headers: alice, payload: { note: '' } }),
    400,
    'validation-failed',
  );
  problem(
    t,
    await node.app.inject({
      method: 'POST',
      url: `${url(B.ref)}/journal`,
      headers: alice,
      payload: { note: 'x', actor: 'mallory' },
    }),
    400,
    'validation-failed',
  );

  const pages: Array<Array<{ id: number; kind: string; note: string | null }>> = [];
  let cursor: string | null = null;
  do {
    const res = await get(`${url(B.id)}/journal?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    t.equal(res.statusCode, 200, res.body.slice(0, 300));
    pages.push(res.json().items);
    cursor = res.json().nextCursor;
    if (pages.length > 5) break;
  } while (cursor);
  t.strictSame(
    pages.map((p) => p.map((e) => e.note ?? e.kind)),
    [['created', 'note 1'], ['note 2', 'note 3'], ['note 4']],
    'oldest first, 2 per page',
  );
  const ids = pages.flat().map((e) => e.id);
  t.ok(
    ids.every((id, i) => i === 0 || id > ids[i - 1]!),
    'ids increase',
  );
  t.equal(new Set(ids).size, 5, 'no duplicates');
  t.match(problem(t, await get(`${url(B.ref)}/journal?cursor=nonsense`), 400, 'validation-failed').errors, [{ pointer: '/cursor' }]);
  t.match(
    problem(t, await get(`${url(B.ref)}/journal?cursor=${Buffer.from('{"s":3}').toString('base64url')}`), 400, 'validation-failed').errors,
    [{ pointer: '/cursor' }],
    'an incident list cursor is not a journal cursor',
  );
  problem(t, await get(`${url(B.ref)}/journal?limit=0`), 400, 'validation-failed');
  t.equal((await get(url(B.ref))).json().version, 1, 'notes do not change the incident');
});

t.test('the journal is append-only in the database', async (t) => {
  const before = await journalOf(B.ref);
  await t.rejects(
    node.database.db.updateTable('journal_entry').set({ note: 'rewritten' }).where('incident_id', '=', B.id).execute(),
    /append-only/,
    'UPDATE refused',
  );
  await t.rejects(node.database.db.deleteFrom('journal_entry').where('incident_id', '=', B.id).execute(), /append-only/, 'DELETE refused');
  t.strictSame(await journalOf(B.ref), before, 'entries unchanged');
});

t.test('unknown reference numbers and ids: 404 not-found', async (t) => {
  for (const ref of ['ALPHA#2030-999999', randomUUID(), 'nonsense']) {
    problem(t, await get(url(ref)), 404, 'not-found');
    problem(t, await patch(ref, { severity: 'low' }), 404, 'not-found');
    problem(t, await get(`${url(ref)}/journal`), 404, 'not-found');
    problem(
      t,
      await node.app.inject({ method: 'POST', url: `${url(ref)}/journal`, headers: alice, payload: { note: 'x' } }),
      404,
      'not-found',
    );
  }
  problem(t, await get('/api/v1/incidents/ALPHA#2030-000001'), 404, 'not-found'); // an unencoded # starts the fragment
});

t.test('an incident that wrote an IPv4-mapped address is found by the IPv4 form, and keeps what it wrote', async (t) => {
  const mapped = await post(minimal({ title: 'mapped', hosts: [{ role: 'source', ip: '::ffff:203.0.113.99' }] }));
  t.equal(mapped.statusCode, 201, mapped.body);
  const m = mapped.json().ref as string;
  t.strictSame(await list(t, 'host=203.0.113.99'), [m], 'an incident that wrote the mapped form is found by the IPv4 address');
  t.strictSame(await list(t, `host=${encodeURIComponent('203.0.113.0/24')}`), [m]);
  t.strictSame(await list(t, `host=${encodeURIComponent('::ffff:203.0.113.99')}`), [m]);
  t.equal((await get(url(m))).json().hosts[0].ip, '::ffff:203.0.113.99', 'the incident keeps the address as written');
  const ind = await post(minimal({ title: 'mapped indicator', indicators: [{ kind: 'ipv6', value: '::ffff:198.51.100.77' }] }));
  t.equal(ind.statusCode, 201, ind.body);
  t.strictSame(await list(t, 'indicator=198.51.100.77'), [ind.json().ref], 'an indicator written mapped is found by the IPv4 form');
  t.strictSame(await list(t, `indicator=${encodeURIComponent('::FFFF:c633:644d')}`), [ind.json().ref], 'and by another spelling');
});

t.test('time as written: offsets and fractions of a second are kept; order and search use the instant', async (t) => {
  const written = {
    firstSeen: '2026-11-20T02:13:00.123456+09:00',
    lastSeen: '2026-11-20T00:00:00.5-05:00',
    systemChanges: [{ description: 'cron entry', at: '2026-11-20T02:52:00+09:00' }],
    evidence: [{ kind: 'log', description: 'auth.log', collectedAt: '2026-11-21T10:00:00.000001+09:00', timeZone: 'Asia/Tokyo' }],
  };
  const res = await post(minimal({ title: 'times', ...written }));
  t.equal(res.statusCode, 201, res.body);
  const got = (await get(url(res.json().ref))).json();
  t.equal(got.firstSeen, written.firstSeen, 'firstSeen with its offset and microseconds');
  t.equal(got.lastSeen, written.lastSeen);
  t.same(got.systemChanges, written.systemChanges);
  t.same(got.evidence, written.evidence);
  // The instant beside it: 02:13+09:00 is 17:13Z the day before.
  const row = await node.database.db
    .selectFrom('incident')
    .select(['first_seen', 'first_seen_text'])
    .where('id', '=', got.id)
    .executeTakeFirstOrThrow();
  t.equal(new Date(row.first_seen as unknown as string).toISOString(), '2026-11-19T17:13:00.123Z', 'the normalised instant');
  t.equal(row.first_seen_text, written.firstSeen);
  // Order of firstSeen and lastSeen is checked on the instants, not the texts.
  const inOrder = await post(minimal({ firstSeen: '2026-11-20T09:00:00+09:00', lastSeen: '2026-11-20T00:30:00Z' }));
  t.equal(inOrder.statusCode, 201, '09:00+09:00 is 00:00Z: before 00:30Z, though its text sorts after');
  const backwards = await post(minimal({ firstSeen: '2026-11-20T01:00:00Z', lastSeen: '2026-11-20T09:30:00+09:00' }));
  t.equal(backwards.statusCode, 400, '09:30+09:00 is 00:30Z: before 01:00Z, though its text sorts after');
});
