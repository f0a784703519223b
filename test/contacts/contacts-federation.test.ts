import t from 'tap';
import { buildTestNode, type TestNode } from '../helpers/build-test-app.js';
import { addPeer, api, trustPeer } from '../helpers/federation-harness.js';
import { abuseEntity, json, startWebServer } from '../helpers/contact-servers.js';

/**
 * Contact resolution across nodes on loopback, with real signed profiles: alpha asks; bravo's
 * signed profile declares 198.51.100.0/24 and bravo.example; mallory's declares the more specific
 * 198.51.100.128/25 and AS64500, and mallory is a member of the forum alpha operates; cc is
 * alpha's coordinator and declares nothing that matches. Before this, an address in a peer's
 * declared networks gave 404 at /sites/lookup.
 */
const web = await startWebServer(t);
web.routes.set('/bootstrap/ipv4.json', json({ services: [[['198.51.100.0/24'], [`${web.url}/rdap/`]]] }, 'application/json'));
web.routes.set(
  '/rdap/ip/198.51.100.200',
  json({ objectClassName: 'ip network', entities: [abuseEntity('A', 'RIR Abuse', 'abuse@rir.test')] }),
);
const contacts = {
  dnsServers: ['127.0.0.1:9'],
  rdapBootstrapUrl: `${web.url}/bootstrap/`,
  securityTxtBase: `${web.url}/{domain}`,
  timeoutMs: 1000,
  maxResponseBytes: 65536,
  cacheTtlSeconds: 3600,
  failureTtlSeconds: 60,
  planTtlSeconds: 0,
};
const node = (key: 'alpha' | 'bravo' | 'cc' | 'mallory') => buildTestNode(t, { key, listen: true, config: { contacts } });
// One after another: four nodes starting at once on a busy two-core machine can miss the plugin start timeout.
const alpha = await node('alpha');
const bravo = await node('bravo');
const cc = await node('cc');
const mallory = await node('mallory');

async function declare(n: TestNode, constituency: { networks: string[]; asns: number[]; domains: string[] }): Promise<void> {
  const current = (await api(n, 'GET', '/profile', 'reader')).json();
  const { teamId: _t, referencePrefix: _r, publicKey: _k, fingerprint: _f, publicUrl: _u, updatedAt: _d, ...input } = current;
  const res = await api(n, 'PUT', '/profile', 'admin', { ...input, constituency: { ...input.constituency, ...constituency } });
  if (res.statusCode !== 200) throw new Error(`${n.config.teamId}: profile not stored: ${res.body}`);
}

await declare(bravo, { networks: ['198.51.100.0/24'], asns: [], domains: ['bravo.example'] });
await declare(mallory, { networks: ['198.51.100.128/25'], asns: [64500], domains: [] });
await declare(cc, { networks: ['203.0.113.0/24'], asns: [], domains: [] });
for (const peer of [bravo, cc, mallory]) await addPeer(alpha, peer);
await trustPeer(alpha, cc, { relationship: 'coordinator' });
await trustPeer(alpha, mallory, {});

type Step = { kind: string; team: string | null; address: string | null; matched: string | null; via: string } & Record<string, any>;
const resolve = async (query: string): Promise<Step[]> => {
  const res = await api(alpha, 'GET', `/contacts/resolve?${query}`, 'reader');
  if (res.statusCode !== 200) throw new Error(`${query}: ${res.statusCode} ${res.body}`);
  return res.json().steps as Step[];
};

t.test("an address in a peer's signed constituency resolves to that peer, the most specific first, then the coordinator", async (t) => {
  t.equal((await api(alpha, 'GET', '/sites/lookup?ip=198.51.100.200', 'reader')).statusCode, 404, 'no site of ours holds it');
  const steps = await resolve('ip=198.51.100.200');
  t.same(
    steps.map((s) => [s.kind, s.team, s.matched, s.via]),
    [
      ['peer', 'mallory', '198.51.100.128/25', 'node'],
      ['peer', 'bravo', '198.51.100.0/24', 'node'],
      ['coordinator', 'cc', null, 'node'],
      ['rdap-abuse', null, '198.51.100.200', 'email'],
    ],
  );
  t.match(steps[0], { address: mallory.url, source: 'the signed profile of mallory (constituency)', status: 'reachable' });
  t.ok(steps[0]!.fetchedAt, 'freshness: when the signed profile was fetched');

  const low = await resolve('ip=198.51.100.7');
  t.same(
    low.filter((s) => s.via === 'node').map((s) => s.team),
    ['bravo', 'cc'],
    'outside the /25 only bravo declares it',
  );
});

t.test('a domain and an AS number match the declared domains (by suffix) and ASNs', async (t) => {
  const byDomain = await resolve('host=www.bravo.example');
  t.match(
    byDomain.filter((s) => s.via === 'node'),
    [
      { kind: 'peer', team: 'bravo', matched: 'bravo.example' },
      { kind: 'coordinator', team: 'cc' },
    ],
  );
  const byAsn = await resolve('asn=AS64500');
  t.match(
    byAsn.filter((s) => s.via === 'node'),
    [{ team: 'mallory', matched: 'AS64500' }, { team: 'cc' }],
  );
});

t.test('a forum member: a team the newest roster of a forum we hold lists with the key we pinned', async (t) => {
  t.equal(
    (await api(alpha, 'POST', '/forums', 'admin', { id: 'first', name: 'A forum', role: 'operator', sponsorsNeeded: 0 })).statusCode,
    201,
  );
  t.equal((await api(alpha, 'PUT', '/forums/first/draft/alpha', 'admin', { kind: 'full' })).statusCode, 201);
  const drafted = await api(alpha, 'PUT', '/forums/first/draft/mallory', 'admin', { kind: 'full' });
  t.equal(drafted.statusCode, 201, drafted.body);
  t.equal((await api(alpha, 'POST', '/forums/first/roster', 'admin')).statusCode, 201);
  const steps = await resolve('ip=198.51.100.200');
  t.match(steps[0], { kind: 'forum-member', team: 'mallory', details: { forums: ['first'] } });
  t.match(steps[1], { kind: 'peer', team: 'bravo' });
});

t.test('our own site comes before every team, and a suspended peer drops out', async (t) => {
  const site = await api(alpha, 'POST', '/sites', 'handler', {
    name: 'Lab',
    pocs: [{ name: 'Lab admin', channels: [{ kind: 'email', value: 'admin@lab.example' }], languages: ['en'] }],
    networks: ['198.51.100.192/26'],
  });
  t.equal(site.statusCode, 201, site.body);
  t.equal((await api(alpha, 'POST', '/peers/bravo/suspend', 'admin')).statusCode, 200);
  const steps = await resolve('ip=198.51.100.200');
  t.same(
    steps.map((s) => [s.kind, s.team ?? s.address]),
    [
      ['site-poc', 'admin@lab.example'],
      ['forum-member', 'mallory'],
      ['coordinator', 'cc'],
      ['rdap-abuse', 'abuse@rir.test'],
    ],
  );
  t.equal(web.count('/rdap/ip/198.51.100.200'), 1, 'the RDAP answer came from the cache every time after the first');
});
