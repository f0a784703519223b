import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { main } from '../../src/cli/main.js';
import { buildTestNode, type TestNode } from '../helpers/build-test-app.js';
import { addPeer, api, createIncident, incidentCount, trustPeer } from '../helpers/federation-harness.js';
import { assertMarkers, markedIncident } from '../helpers/marker-scan.js';
import { feedCaughtUp, peerToken, pullAll } from '../helpers/policy-nodes.js';

/**
 * TAXII 2.1 (issue 16 part 2) between two real nodes: alpha serves its incidents collection;
 * bravo, alpha's verified peer at community trust, pulls it with the peer token alpha gave it,
 * first directly (what it gets = what its pull feed gets), then through its own node's client,
 * broken halfway once (an injected fetch that drops one page) and resumed.
 */
const EXT = 'extension-definition--671d50c5-68a9-4b03-8149-eb19cf3b492b';
const COLLECTION = '967bb541-c7cb-4001-aeab-19ff33a1c309';
const TAXII = 'application/taxii+json;version=2.1';

let breakNextPage = false;
const breaking: typeof fetch = async (input, init) => {
  const url = String(input instanceof Request ? input.url : input);
  if (breakNextPage && url.includes('/taxii2/') && url.includes('next=')) {
    breakNextPage = false;
    throw new TypeError('connection reset (injected)');
  }
  return fetch(input, init);
};

const alpha = await buildTestNode(t, { key: 'alpha', listen: true });
const bravo = await buildTestNode(t, { key: 'bravo', listen: true, fetch: breaking });
await addPeer(alpha, bravo);
await trustPeer(alpha, bravo, { trustLevel: 'community' });

const green = [markedIncident('GREEN'), markedIncident('GREEN'), markedIncident('CLEAR')];
const refs: string[] = [];
for (const m of green) refs.push((await createIncident(alpha, m.incident)).ref);
const red = await createIncident(alpha, markedIncident('RED').incident);
const token = await peerToken(bravo, alpha);
// On a shared PostgreSQL server another test file's open transaction can hold the collection back.
await feedCaughtUp(alpha);
const root = `${alpha.url}/taxii2/api/`;

const get = (path: string, headers: Record<string, string> = {}) =>
  fetch(`${alpha.url}/taxii2${path}`, { headers: { accept: TAXII, authorization: `Bearer ${token}`, ...headers } });

t.test('discovery, API root, collections; objects are what the pull feed serves the peer, redacted alike', async (t) => {
  const discovery = await get('/');
  t.equal(discovery.status, 200);
  t.equal(discovery.headers.get('content-type'), TAXII);
  t.same(((await discovery.json()) as any).api_roots, [root]);
  t.same(((await (await get('/api/')).json()) as any).versions, [TAXII]);
  const { collections } = (await (await get('/api/collections/')).json()) as any;
  t.equal(collections[0].id, COLLECTION);
  t.equal(collections[0].can_write, false);

  const res = await get(`/api/collections/${COLLECTION}/objects/`);
  t.equal(res.status, 200);
  const text = await res.text();
  const envelope = JSON.parse(text);
  t.equal(envelope.more, false);
  t.ok(res.headers.get('x-taxii-date-added-first') && res.headers.get('x-taxii-date-added-last'), 'date-added headers');
  const served = envelope.objects.filter((o: any) => o.type === 'incident').map((o: any) => o.extensions[EXT].ref);
  const feed = await pullAll(bravo, alpha, token);
  const fed = feed.items.map((i) => i.report?.ref ?? i.summary?.ref);
  t.same([...served].sort(), [...fed].sort(), 'the collection and the pull feed agree');
  t.notOk(served.includes(red.ref), 'RED never');
  for (const ref of refs) t.ok(served.includes(ref), `${ref} served`);
  for (const m of green)
    assertMarkers(t, text.toLowerCase(), m.markers, ['victims', 'internalHosts', 'reporter', 'evidence'], 'TAXII objects');
  t.equal(new Set(envelope.objects.map((o: any) => `${o.id}|${o.modified ?? ''}`)).size, envelope.objects.length, 'no object twice');

  const manifest = (await (await get(`/api/collections/${COLLECTION}/manifest/`)).json()) as any;
  t.equal(manifest.objects.length, envelope.objects.length);
  t.match(manifest.objects[0], { id: String, date_added: String, version: String, media_type: 'application/stix+json;version=2.1' });

  const onlyIncidents = (await (await get(`/api/collections/${COLLECTION}/objects/?match[type]=incident`)).json()) as any;
  t.ok(onlyIncidents.objects.every((o: any) => o.type === 'incident'));
  const paged = (await (await get(`/api/collections/${COLLECTION}/objects/?limit=5`)).json()) as any;
  t.equal(paged.more, true);
  t.equal(paged.objects.filter((o: any) => o.type === 'incident').length, 1, 'an incident is never split; one a page at limit 5');
  const later = (await (await get(`/api/collections/${COLLECTION}/objects/?added_after=2999-01-01T00:00:00Z`)).json()) as any;
  t.same(later, { more: false }, 'nothing added after');
});

t.test('bad input is a TAXII error: bad token 401, unknown collection 404, bad added_after 400, application/json 406', async (t) => {
  const cases: Array<[string, Record<string, string>, number]> = [
    [`/api/collections/${COLLECTION}/objects/`, { authorization: 'Bearer not-a-token' }, 401],
    [`/api/collections/${COLLECTION}/objects/`, { authorization: '' }, 401],
    ['/api/collections/00000000-0000-4000-8000-000000000000/objects/', {}, 404],
    [`/api/collections/${COLLECTION}/objects/?added_after=yesterday`, {}, 400],
    [`/api/collections/${COLLECTION}/objects/?next=garbage`, {}, 400],
    [`/api/collections/${COLLECTION}/objects/?limit=0`, {}, 400],
    [`/api/collections/${COLLECTION}/objects/`, { accept: 'application/json' }, 406],
    ['/api/nowhere/', {}, 404],
  ];
  for (const [path, headers, status] of cases) {
    const res = await get(path, headers);
    t.equal(res.status, status, `${path} ${JSON.stringify(headers)}`);
    t.equal(res.headers.get('content-type'), TAXII, 'TAXII error media type');
    const error = (await res.json()) as any;
    t.equal(error.http_status, String(status));
    t.type(error.title, 'string');
    t.type(error.hikeshi_code, 'string');
  }
  const apiToken = await get('/', { authorization: alpha.auth.admin.authorization });
  t.equal(apiToken.status, 401, 'an API token is not a peer token');
});

t.test("bravo's node pulls the collection, broken halfway once, and resumes without duplicates", async (t) => {
  const before = await incidentCount(bravo);
  const pull = () => api(bravo, 'POST', '/imports/taxii', 'handler', { apiRoot: root, collectionId: COLLECTION, token, limit: 5 });
  breakNextPage = true;
  const broken = await pull();
  t.equal(broken.statusCode, 502, broken.body);
  t.equal(broken.json().code, 'peer-unreachable');
  const filedBeforeBreak = (await incidentCount(bravo)) - before;
  t.equal(filedBeforeBreak, 1, 'the first page was filed before the break');

  const resumed = await pull();
  t.equal(resumed.statusCode, 200, resumed.body);
  t.ok(resumed.json().pages >= 2, 'paged');
  t.ok(
    resumed.json().items.every((i: any) => i.outcome === 'created'),
    'the resumed pull starts after the page filed before',
  );
  t.equal(await incidentCount(bravo), before + refs.length, 'every allowed incident once; RED never');

  const again = await pull();
  t.equal(again.statusCode, 200, again.body);
  t.same(again.json().items, [], 'the next pull asks only for what was added after');
  t.equal(await incidentCount(bravo), before + refs.length);

  const bad = await api(bravo, 'POST', '/imports/taxii', 'handler', { apiRoot: root, collectionId: COLLECTION, token: 'nope' });
  t.equal(bad.statusCode, 502);
  t.match(bad.json().detail, /401 unauthenticated/);
  t.equal((await api(bravo, 'POST', '/imports/taxii', 'handler', { apiRoot: 'ftp://x', collectionId: COLLECTION, token })).statusCode, 400);
  t.equal((await api(bravo, 'POST', '/imports/taxii', 'reader', { apiRoot: root, collectionId: COLLECTION, token })).statusCode, 403);
});

/** `hikeshi <args>` in this process against `on`: the exit code and what it printed. */
async function hikeshi(on: TestNode, ...args: string[]): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = (() => true) as typeof process.stderr.write;
  try {
    const code = await main([...args, '--data-dir', on.config.dataDir, '--team-id', on.config.teamId, '--url', on.url], (s) => {
      stdout += s + '\n';
    });
    return { code, stdout };
  } finally {
    process.stderr.write = write;
  }
}

t.test('the CLI: export stix, import stix, taxii pull', async (t) => {
  const created = await createIncident(alpha, { ...markedIncident('GREEN').incident, title: 'Made for the CLI' });
  const exported = await hikeshi(alpha, 'export', 'stix', created.ref, '--for', 'bravo');
  t.equal(exported.code, 0);
  const bundle = JSON.parse(exported.stdout);
  t.equal(bundle.type, 'bundle');
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'hikeshi-stix-')), 'bundle.json');
  await writeFile(file, exported.stdout);
  const imported = await hikeshi(bravo, 'import', 'stix', file);
  t.equal(imported.code, 0);
  t.match(imported.stdout, /^created +BRAVO#\d{4}-\d+ +incident--/);
  // New on alpha since bravo's last pull: the next pull brings it, under the STIX id imported above.
  await feedCaughtUp(alpha);
  const pulled = await hikeshi(bravo, 'taxii', 'pull', root, COLLECTION, '--token', token);
  t.equal(pulled.code, 0);
  t.match(pulled.stdout, /^(unchanged|updated) +BRAVO#/m, 'the same STIX incident: filed once');
  t.match(pulled.stdout, /1 page\(s\), \d+ object\(s\)/);
  t.equal((await hikeshi(alpha, 'export', 'stix')).code, 2, 'usage');
  t.equal((await hikeshi(bravo, 'taxii', 'pull', root, COLLECTION)).code, 2, 'no token');
});
