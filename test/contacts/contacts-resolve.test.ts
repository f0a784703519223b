import t from 'tap';
import type { Config } from '../../src/config.js';
import { buildTestNode, type Teardown, type TestNode } from '../helpers/build-test-app.js';
import { api, auditKinds } from '../helpers/federation-harness.js';
import {
  abuseEntity,
  endless,
  hang,
  json,
  startDnsServer,
  startWebServer,
  text,
  type DnsServer,
  type WebServer,
} from '../helpers/contact-servers.js';

/**
 * GET /api/v1/contacts/resolve on one node against real servers on loopback: security.txt and
 * RDAP over HTTP, SOA over UDP DNS. The route plan ranks our own site's POC, then security.txt,
 * RDAP abuse, the SOA mailbox and RFC 2142; a source that hangs, answers too much or answers
 * garbage is a step marked unreachable in a 200; answers are cached until they expire.
 */

const SECURITY_TXT = `-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA256

# Our security contacts
Contact: mailto:security@example.org
Contact: https://example.org/report
Contact: tel:+81-3-0000-0000
Encryption: https://example.org/pgp-key.txt
Preferred-Languages: en, ja
Canonical: https://example.org/.well-known/security.txt
Expires: 2031-01-01T00:00:00.000Z
- -----not a header, dash-escaped
-----BEGIN PGP SIGNATURE-----

iHUEARYIAB0WIQQ=
-----END PGP SIGNATURE-----
`;

function bootstrapFiles(web: WebServer): void {
  const rdap = `${web.url}/rdap/`;
  web.routes.set(
    '/bootstrap/ipv4.json',
    json({ version: '1.0', services: [[['192.0.2.0/24', '203.0.0.0/8'], [rdap]]] }, 'application/json'),
  );
  web.routes.set('/bootstrap/ipv6.json', json({ version: '1.0', services: [[['2001:db8::/32'], [rdap]]] }, 'application/json'));
  web.routes.set('/bootstrap/asn.json', json({ version: '1.0', services: [[['64496-64511'], [rdap]]] }, 'application/json'));
  web.routes.set('/bootstrap/dns.json', json({ version: '1.0', services: [[['org', 'test'], [rdap]]] }, 'application/json'));
}

interface World {
  web: WebServer;
  dns: DnsServer;
  node: TestNode;
  clock: { now: Date };
}

async function world(t: Teardown, contacts: Partial<Config['contacts']> = {}): Promise<World> {
  const web = await startWebServer(t);
  const dns = await startDnsServer(t);
  bootstrapFiles(web);
  const clock = { now: new Date('2030-06-01T00:00:00.000Z') };
  const node = await buildTestNode(t, {
    clock: () => new Date(clock.now),
    config: {
      contacts: {
        dnsServers: [dns.address],
        rdapBootstrapUrl: `${web.url}/bootstrap/`,
        securityTxtBase: `${web.url}/{domain}`,
        // Generous: a busy machine must not turn a served answer into a timeout. The hang test shortens it.
        timeoutMs: 5000,
        maxResponseBytes: 64 * 1024,
        cacheTtlSeconds: 3600,
        failureTtlSeconds: 60,
        planTtlSeconds: 0,
        ...contacts,
      },
    },
  });
  return { web, dns, node, clock };
}

const resolve = (node: TestNode, query: string, role: 'reader' | null = 'reader') => api(node, 'GET', `/contacts/resolve?${query}`, role);
type Step = { rank: number; kind: string; address: string | null; via: string; status: string; reason: string | null } & Record<
  string,
  any
>;

t.test('a domain: security.txt, RDAP abuse, SOA mailbox and RFC 2142, in that order, each with its source and freshness', async (t) => {
  const { web, dns, node } = await world(t);
  web.routes.set('/www.example.org/.well-known/security.txt', text(SECURITY_TXT));
  web.routes.set(
    '/rdap/domain/example.org',
    json({
      objectClassName: 'domain',
      ldhName: 'example.org',
      entities: [
        {
          objectClassName: 'entity',
          roles: ['registrar'],
          entities: [abuseEntity('R-ABUSE', 'Registrar Abuse', 'abuse@registrar.test', '+1.5555550100')],
        },
      ],
    }),
  );
  dns.zones.set('example.org', ['ns1.example.org', 'host\\.master.example.org']);

  const res = await resolve(node, 'host=WWW.Example.org.');
  t.equal(res.statusCode, 200, res.body);
  const plan = res.json() as { query: unknown; steps: Step[] };
  t.same(plan.query, { kind: 'host', value: 'www.example.org' });
  t.same(
    plan.steps.map((s) => [s.rank, s.kind, s.via, s.address]),
    [
      [1, 'security-txt', 'email', 'security@example.org'],
      [2, 'security-txt', 'web', 'https://example.org/report'],
      [3, 'security-txt', 'tel', 'tel:+81-3-0000-0000'],
      [4, 'rdap-abuse', 'email', 'abuse@registrar.test'],
      [5, 'rdap-abuse', 'tel', 'tel:+1.5555550100'],
      [6, 'soa-mailbox', 'email', 'host.master@example.org'],
      [7, 'rfc2142', 'email', 'abuse@example.org'],
      [8, 'rfc2142', 'email', 'security@example.org'],
      [9, 'rfc2142', 'email', 'postmaster@example.org'],
    ],
  );
  const first = plan.steps[0]!;
  t.match(first, {
    source: `${web.url}/www.example.org/.well-known/security.txt`,
    verified: true,
    status: 'reachable',
    fetchedAt: '2030-06-01T00:00:00.000Z',
    expiresAt: '2030-06-01T01:00:00.000Z',
    details: {
      signed: true,
      encryption: ['https://example.org/pgp-key.txt'],
      preferredLanguages: ['en', 'ja'],
      expires: '2031-01-01T00:00:00.000Z',
    },
  });
  t.match(first.reason, /clear-signed \(signature not checked\)/);
  t.match(first.reason, /Canonical fields do not list/, 'served from the loopback URL, not the canonical one');
  t.match(plan.steps[3], { source: `${web.url}/rdap/domain/example.org`, name: 'Registrar Abuse', matched: 'example.org' });
  t.match(plan.steps[5], { source: 'the SOA of example.org (RNAME)', matched: 'example.org' });
  t.ok(
    plan.steps.filter((s) => s.kind === 'rfc2142').every((s) => s.verified === false && /unverified/.test(s.reason ?? '')),
    'role addresses are marked unverified',
  );
  t.ok(dns.queries.get('www.example.org'), 'the SOA walk asked the host first, then its parent');

  const audited = await auditKinds(node, { kind: 'contacts.resolved' });
  t.equal(audited.length, 1);
  t.match(audited[0]!.details, { query: 'host', steps: 9, reachable: 9, contacted: ['rdap', 'rdap-bootstrap', 'security-txt', 'soa'] });
  t.notOk(JSON.stringify(audited[0]!.details).includes('example.org'), 'the value itself is not in the audit log, only its digest');
});

t.test("an address: our own site's POCs first, then the RDAP abuse contact", async (t) => {
  const { web, node } = await world(t);
  const site = await api(node, 'POST', '/sites', 'handler', {
    name: 'Head office',
    pocs: [
      {
        name: 'NOC',
        role: 'network operations',
        channels: [
          { kind: 'email', value: 'noc@head.example' },
          { kind: 'hotline', value: '+81 3 0000 0001' },
        ],
        languages: ['ja'],
      },
    ],
    networks: ['192.0.2.0/25'],
  });
  t.equal(site.statusCode, 201, site.body);
  web.routes.set(
    '/rdap/ip/192.0.2.10',
    json({ objectClassName: 'ip network', entities: [abuseEntity('ABUSE-1', 'Example Abuse', 'abuse@rir.test')] }),
  );

  const plan = (await resolve(node, 'ip=192.0.2.10')).json() as { steps: Step[] };
  t.same(
    plan.steps.map((s) => [s.kind, s.via, s.address, s.matched]),
    [
      ['site-poc', 'email', 'noc@head.example', '192.0.2.0/25'],
      ['site-poc', 'tel', 'tel:+81300000001', '192.0.2.0/25'],
      ['rdap-abuse', 'email', 'abuse@rir.test', '192.0.2.10'],
    ],
  );
  t.match(plan.steps[0], { name: 'NOC (network operations)', fetchedAt: null, details: { preferredLanguages: ['ja'] } });

  const none = (await resolve(node, 'ip=2001:db8::1')).json() as { steps: Step[] };
  t.match(none.steps, [{ kind: 'rdap-abuse', status: 'unreachable', reason: /no RDAP record/ }], 'a 404 from RDAP is a step, not an error');
  const unlisted = (await resolve(node, 'asn=AS1')).json() as { steps: Step[] };
  t.match(unlisted.steps, [{ kind: 'rdap-abuse', status: 'unreachable', reason: /bootstrap names no RDAP server/ }]);
});

t.test('a source that hangs, answers too much or does not answer is an unreachable step', async (t) => {
  const { web, dns, node } = await world(t, { timeoutMs: 1000 });
  web.routes.set('/slow.test/.well-known/security.txt', hang);
  web.routes.set('/rdap/domain/slow.test', endless);
  dns.silent = true;
  const slow = await resolve(node, 'domain=slow.test');
  t.equal(slow.statusCode, 200, slow.body);
  const steps = slow.json().steps as Step[];
  t.match(
    steps.find((s) => s.kind === 'security-txt'),
    { status: 'unreachable', address: null, reason: /no answer from .* within 1000 ms/ },
  );
  t.match(
    steps.find((s) => s.kind === 'rdap-abuse'),
    { status: 'unreachable', reason: /answered more than 65536 bytes/ },
  );
  t.match(
    steps.find((s) => s.kind === 'soa-mailbox'),
    { status: 'unreachable', reason: /DNS/ },
  );
  t.same(
    steps.filter((s) => s.status === 'reachable').map((s) => s.kind),
    ['rfc2142', 'rfc2142', 'rfc2142'],
    'the guesses still stand, and rank before what failed',
  );
  t.ok(steps.findIndex((s) => s.status === 'unreachable') > 2);
});

t.test('garbage, an error status and an expired security.txt are unreachable steps too', async (t) => {
  const { web, node } = await world(t);
  web.routes.set('/garbage.test/.well-known/security.txt', text('<html><body>Contact us!</body></html>', 'text/html'));
  web.routes.set('/garbage.test/security.txt', text('hello'));
  web.routes.set('/rdap/domain/garbage.test', text('{"not":"rdap"', 'application/rdap+json'));
  const garbage = (await resolve(node, 'domain=garbage.test')).json().steps as Step[];
  t.match(
    garbage.find((s) => s.kind === 'security-txt'),
    { status: 'unreachable', reason: /not text\/plain/ },
  );
  t.match(
    garbage.find((s) => s.kind === 'rdap-abuse'),
    { status: 'unreachable', reason: /not RDAP JSON/ },
  );
  t.match(
    garbage.find((s) => s.kind === 'soa-mailbox'),
    { status: 'unreachable', reason: /no SOA record/ },
  );

  web.routes.set('/broken.test/.well-known/security.txt', text('oops', 'text/plain', 500));
  const broken = (await resolve(node, 'domain=broken.test')).json().steps as Step[];
  t.match(
    broken.find((s) => s.kind === 'security-txt'),
    { status: 'unreachable', reason: /answered HTTP 500/ },
  );

  web.routes.set('/legacy.test/security.txt', text('Contact: mailto:sec@legacy.test\nExpires: 2020-01-01T00:00:00Z\n'));
  const legacy = (await resolve(node, 'domain=legacy.test')).json().steps as Step[];
  t.match(
    legacy.find((s) => s.kind === 'security-txt'),
    { status: 'unreachable', reason: /expired at 2020-01-01/ },
    'Expires is honoured',
  );
  t.equal(web.count('/legacy.test/security.txt'), 1, 'the legacy location is read when the well-known one is missing');
});

t.test('answers are cached in the database until they expire; the servers are asked again only then', async (t) => {
  const { web, dns, node, clock } = await world(t);
  web.routes.set('/cached.test/.well-known/security.txt', text('Contact: mailto:sec@cached.test\nExpires: 2031-01-01T00:00:00Z\n'));
  web.routes.set('/rdap/domain/cached.test', json({ objectClassName: 'domain', entities: [abuseEntity('A', 'Abuse', 'abuse@reg.test')] }));
  dns.zones.set('cached.test', ['ns.cached.test', 'hostmaster.cached.test']);
  const counts = () => [
    web.count('/cached.test/.well-known/security.txt'),
    web.count('/rdap/domain/cached.test'),
    web.count('/bootstrap/dns.json'),
    dns.queries.get('cached.test') ?? 0,
  ];
  const first = (await resolve(node, 'domain=cached.test')).json();
  t.same(counts(), [1, 1, 1, 1]);
  clock.now = new Date(clock.now.getTime() + 30 * 60_000);
  const second = (await resolve(node, 'domain=cached.test')).json();
  t.same(counts(), [1, 1, 1, 1], 'half an hour later: nothing is asked again');
  t.same(second.steps, first.steps, 'the same steps with the same freshness');
  t.equal(
    (await auditKinds(node, { kind: 'contacts.resolved' }))[1]!.details.contacted.length,
    0,
    'the audit says nobody outside was asked',
  );

  clock.now = new Date(clock.now.getTime() + 31 * 60_000);
  const third = (await resolve(node, 'domain=cached.test')).json();
  t.same(counts(), [2, 2, 2, 2], 'past the TTL every source is asked again');
  t.equal(third.steps[0].fetchedAt, clock.now.toISOString());
});

t.test('a whole plan is reused in memory within the plan TTL', async (t) => {
  const { web, node } = await world(t, { planTtlSeconds: 60 });
  web.routes.set('/rdap/ip/203.0.113.5', json({ objectClassName: 'ip network', entities: [abuseEntity('A', 'Abuse', 'abuse@rir.test')] }));
  await resolve(node, 'ip=203.0.113.5');
  await resolve(node, 'ip=203.0.113.5');
  t.equal(web.count('/rdap/ip/203.0.113.5'), 1);
  t.equal(
    (await auditKinds(node, { kind: 'contacts.resolved' })).length,
    1,
    'a plan served from memory contacted nobody: not audited again',
  );
});

t.test('bad input is a 400 problem; the route needs a token', async (t) => {
  const { node } = await world(t);
  const bad = [
    '',
    'ip=192.0.2.1&domain=example.org',
    'ip=192.0.2.300',
    'ip=fe80::1%25eth0',
    'asn=AS4294967296',
    'asn=0x10',
    'domain=exa_mple..org',
    'host=192.0.2.1',
    'domain=localhost',
    'domain=example.org&extra=1',
  ];
  for (const query of bad) {
    const res = await resolve(node, query);
    t.equal(res.statusCode, 400, `${query}: ${res.body}`);
    t.equal(res.headers['content-type'], 'application/problem+json; charset=utf-8');
    t.equal(res.json().code, 'validation-failed', query);
  }
  t.equal((await resolve(node, 'ip=192.0.2.1', null)).statusCode, 401);
  t.equal((await auditKinds(node, { kind: 'contacts.resolved' })).length, 0);
});
