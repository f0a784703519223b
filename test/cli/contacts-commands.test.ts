import t from 'tap';
import { runCli } from '../helpers/cli-runner.js';
import { buildTestNode } from '../helpers/build-test-app.js';
import { api, auditKinds } from '../helpers/federation-harness.js';
import { abuseEntity, json, startDnsServer, startWebServer, text } from '../helpers/contact-servers.js';

/**
 * `hikeshi contacts resolve --ip|--host|--domain|--asn` (issue 15 part 1) against a running node
 * whose outside sources (security.txt, RDAP, DNS) are servers on loopback: the route plan one
 * step a line, first to try first. Usage errors exit 2 with the usage; a query the node refuses
 * exits 1 with its problem code.
 */
const web = await startWebServer(t);
const dns = await startDnsServer(t);
const rdap = `${web.url}/rdap/`;
web.routes.set('/bootstrap/ipv4.json', json({ version: '1.0', services: [[['192.0.2.0/24'], [rdap]]] }, 'application/json'));
web.routes.set('/bootstrap/ipv6.json', json({ version: '1.0', services: [] }, 'application/json'));
web.routes.set('/bootstrap/asn.json', json({ version: '1.0', services: [[['64496-64511'], [rdap]]] }, 'application/json'));
web.routes.set('/bootstrap/dns.json', json({ version: '1.0', services: [[['org'], [rdap]]] }, 'application/json'));

const node = await buildTestNode(t, {
  key: 'alpha',
  listen: true,
  config: {
    contacts: {
      dnsServers: [dns.address],
      rdapBootstrapUrl: `${web.url}/bootstrap/`,
      securityTxtBase: `${web.url}/{domain}`,
      timeoutMs: 5000,
      maxResponseBytes: 64 * 1024,
      cacheTtlSeconds: 3600,
      failureTtlSeconds: 60,
      planTtlSeconds: 0,
    },
  },
});

const hikeshi = runCli;

t.test("--ip: our site's POC first, then the RDAP abuse contact, each with its source", async (t) => {
  const site = await api(node, 'POST', '/sites', 'handler', {
    name: 'Head office',
    pocs: [{ name: 'NOC', role: 'network operations', channels: [{ kind: 'email', value: 'noc@head.example' }], languages: ['en'] }],
    networks: ['192.0.2.0/25'],
  });
  t.equal(site.statusCode, 201, site.body);
  web.routes.set(
    '/rdap/ip/192.0.2.10',
    json({ objectClassName: 'ip network', entities: [abuseEntity('ABUSE-1', 'Example Abuse', 'abuse@rir.test')] }),
  );
  const res = await hikeshi(node, 'contacts', 'resolve', '--ip', '192.0.2.10');
  t.equal(res.code, 0, res.stderr);
  t.equal(res.stderr, '');
  const lines = res.stdout.trimEnd().split('\n');
  t.equal(lines[0], 'route plan for ip 192.0.2.10:');
  t.match(lines[1], /^ 1\. site-poc +email noc@head\.example {2}\(NOC \(network operations\)\)$/);
  t.match(lines[2], /^ {6}from .*Head office.*, matched 192\.0\.2\.0\/25$/);
  t.match(lines[3], /^ 2\. rdap-abuse +email abuse@rir\.test {2}\(Example Abuse\)$/);
  t.match(lines[4], new RegExp(`^ {6}from ${web.url}/rdap/ip/192\\.0\\.2\\.10, matched 192\\.0\\.2\\.10  fetched \\S+Z, until \\S+Z$`));
  t.equal(lines.length, 5, res.stdout);
  t.equal((await auditKinds(node, { kind: 'contacts.resolved' })).length, 1, 'the node audited the query');
});

t.test('--domain and --host: security.txt, then RFC 2142 guesses marked unverified', async (t) => {
  web.routes.set(
    '/example.org/.well-known/security.txt',
    text('Contact: mailto:security@example.org\nExpires: 2099-01-01T00:00:00.000Z\n'),
  );
  dns.zones.set('example.org', ['ns1.example.org', 'hostmaster.example.org']);
  const res = await hikeshi(node, 'contacts', 'resolve', '--domain', 'example.org');
  t.equal(res.code, 0, res.stderr);
  t.match(res.stdout, /^route plan for domain example\.org:\n 1\. security-txt email security@example\.org\n/);
  t.match(res.stdout, /soa-mailbox +email hostmaster@example\.org/);
  t.match(res.stdout, /rfc2142 +email abuse@example\.org {2}\[unverified\]/, 'a guess says so');

  const host = await hikeshi(node, 'contacts', 'resolve', '--host', 'www.example.org');
  t.equal(host.code, 0, host.stderr);
  t.match(host.stdout, /^route plan for host www\.example\.org:/);
});

t.test('--asn: a source that names no server is an UNREACHABLE step, with the reason', async (t) => {
  const res = await hikeshi(node, 'contacts', 'resolve', '--asn', 'AS1');
  t.equal(res.code, 0, res.stderr);
  t.match(res.stdout, /^route plan for asn \S*1:\n 1\. rdap-abuse +UNREACHABLE/);
  t.match(res.stdout, /bootstrap names no RDAP server/);
});

t.test('usage errors exit 2 with a message and the usage; nothing is asked of the node', async (t) => {
  const before = (await auditKinds(node, { kind: 'contacts.resolved' })).length;
  const cases: Array<[string[], RegExp]> = [
    [['contacts'], /hikeshi contacts: contacts needs a subcommand: resolve/],
    [['contacts', 'lookup', '--ip', '192.0.2.1'], /contacts needs a subcommand: resolve/],
    [['contacts', 'resolve'], /hikeshi contacts: contacts resolve needs exactly one of --ip, --host, --domain, --asn/],
    [['contacts', 'resolve', '--ip', '192.0.2.1', '--asn', '64500'], /needs exactly one of --ip, --host, --domain, --asn/],
    [['contacts', 'resolve', '--ip'], /--ip/],
    [['contacts', 'resolve', '--colour', 'blue'], /colour/],
    [['contacts', 'resolve', '192.0.2.1'], /unexpected argument "192\.0\.2\.1"/],
  ];
  for (const [args, message] of cases) {
    const res = await hikeshi(node, ...args);
    t.equal(res.code, 2, `${args.join(' ')}: exit 2`);
    t.match(res.stderr, message, args.join(' '));
    t.match(res.stderr, /Usage:\n {2}hikeshi contacts resolve --ip <address>/, 'followed by the usage');
    t.equal(res.stdout, '');
  }
  t.equal((await auditKinds(node, { kind: 'contacts.resolved' })).length, before, 'no query reached the node');
  const help = await hikeshi(node, 'contacts', '--help');
  t.equal(help.code, 0);
  t.match(help.stdout, /hikeshi contacts resolve --ip <address> \| --host <name> \| --domain <name> \| --asn <number>/);
});

t.test('a query the node refuses exits 1 with its problem code', async (t) => {
  for (const args of [
    ['--asn', '0x10'],
    ['--domain', 'not a domain'],
    ['--ip', 'not-an-address'],
  ]) {
    const res = await hikeshi(node, 'contacts', 'resolve', ...args);
    t.equal(res.code, 1, `${args.join(' ')}: exit 1`);
    t.match(res.stderr, /^hikeshi contacts: (validation-failed|invalid-query|[a-z-]+): \S/, res.stderr);
    t.equal(res.stdout, '');
  }
});
