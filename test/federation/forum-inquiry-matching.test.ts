import t from 'tap';
import { api, createIncident, waitFor } from '../helpers/federation-harness.js';
import { buildForumNodes, foundForum, receivedInquiries, showInquiry } from '../helpers/forum-harness.js';
import type { TestNode } from '../helpers/build-test-app.js';

/**
 * Matching end to end (issue 14 part 5): alpha posts inquiries to the forum "first"; each member's
 * node matches what it receives against its own data and its handler sees the matches
 * (GET /inquiries/{id}). bravo holds a constituency site (networks, a domain) and an incident
 * (an IPv6 host, a SHA-256 indicator); cc states its constituency in its profile only. Near
 * misses (the adjacent network, a look-alike domain, a hash one digit off) match nothing.
 */
// Four nodes and many round trips; other test files share the two cores: more than the 120 s of .taprc.
t.setTimeout(300_000);
const { cc, alpha, bravo } = await buildForumNodes(t, {
  partners: [
    ['cc', 'alpha'],
    ['cc', 'bravo'],
    ['alpha', 'bravo'],
  ],
});

const HASH = 'a3f1c2d4e5b6a7980112233445566778899aabbccddeeff00112233445566778';
const NEAR_HASH = `${HASH.slice(0, -1)}9`;
let siteId = '';
let incidentRef = '';

interface Match {
  kind: string;
  id: string;
  label: string;
  matchedOn: string;
  value: string;
}

/** alpha posts; answers what each member's handler sees of that inquiry. */
async function ask(subjects: Record<string, unknown>): Promise<{ bravo: Match[]; cc: Match[] }> {
  const before = { bravo: await receivedInquiries(bravo), cc: await receivedInquiries(cc) };
  const posted = await api(alpha, 'POST', '/forums/first/inquiries', 'handler', { question: 'Seen this?', tlp: 'AMBER', ...subjects });
  if (posted.statusCode !== 202) throw new Error(`post: ${posted.statusCode} ${posted.body}`);
  if (posted.json().sentTo.join() !== 'bravo,cc') throw new Error(`sent to ${posted.body}`);
  const arrived = async (node: TestNode, seen: Array<{ id: string }>) => {
    const fresh = await waitFor(`${node.config.teamId} has it`, async () =>
      (await receivedInquiries(node)).find((i) => !seen.some((s) => s.id === i.id)),
    );
    return (await showInquiry(node, fresh.id)).matches as Match[];
  };
  return { bravo: await arrived(bravo, before.bravo), cc: await arrived(cc, before.cc) };
}

t.test('the forum, bravo’s site and incident, cc’s constituency', async (t) => {
  await foundForum(t, { operator: cc, members: [cc, alpha, bravo] });
  const site = await api(bravo, 'POST', '/sites', 'handler', {
    name: 'Bravo University',
    networks: ['192.0.2.0/25', '2001:db8:abcd::/48'],
    asns: [64500],
    domains: ['example.org'],
  });
  t.equal(site.statusCode, 201, site.body);
  siteId = site.json().id;
  incidentRef = (
    await createIncident(bravo, {
      hosts: [{ ip: '2001:db8:ffff::7', role: 'source' }],
      indicators: [{ kind: 'sha256', value: HASH }],
      tlp: 'AMBER',
    })
  ).ref;
  const profile = (await api(cc, 'GET', '/profile', 'reader')).json();
  const { teamId: _t, referencePrefix: _r, publicKey: _k, fingerprint: _f, publicUrl: _u, updatedAt: _d, ...editable } = profile;
  const put = await api(cc, 'PUT', '/profile', 'admin', {
    ...editable,
    constituency: { ...editable.constituency, networks: ['198.18.0.0/16', '2001:db8:cc00::/40'], domains: ['example.net'] },
  });
  t.equal(put.statusCode, 200, put.body);
});

t.test('a host address in a site network matches the site; the adjacent address does not', async (t) => {
  const seen = await ask({ hosts: [{ ip: '192.0.2.10' }, { ip: '192.0.2.130' }] });
  t.same(seen.bravo, [{ kind: 'site', id: siteId, label: 'Bravo University', matchedOn: 'ip', value: '192.0.2.10' }]);
  t.same(seen.cc, []);
});

t.test('a hostname under a site domain matches the site; a look-alike domain does not', async (t) => {
  const seen = await ask({
    hosts: [{ hostname: 'WWW.Mail.Example.ORG' }, { hostname: 'evil-example.org' }],
    domains: ['example.org.evil.com'],
  });
  t.same(seen.bravo, [{ kind: 'site', id: siteId, label: 'Bravo University', matchedOn: 'domain', value: 'www.mail.example.org' }]);
  t.same(seen.cc, []);
});

t.test('a network that overlaps the declared constituency matches at cc; the adjacent one does not', async (t) => {
  const seen = await ask({ networks: ['198.18.4.0/24', '198.0.0.0/8', '198.19.0.0/16', '192.0.2.128/25'] });
  t.same(seen.cc, [
    { kind: 'constituency', id: '198.18.0.0/16', label: 'our constituency (198.18.0.0/16)', matchedOn: 'network', value: '198.0.0.0/8' },
    { kind: 'constituency', id: '198.18.0.0/16', label: 'our constituency (198.18.0.0/16)', matchedOn: 'network', value: '198.18.4.0/24' },
  ]);
  t.same(seen.bravo, [], 'the other half of bravo’s /24 is not its site');
});

t.test('a subdomain of a constituency domain matches at cc; a look-alike does not', async (t) => {
  const seen = await ask({ domains: ['a.b.example.net', 'evil-example.net', 'example.network'] });
  t.same(seen.cc, [
    { kind: 'constituency', id: 'example.net', label: 'our constituency (example.net)', matchedOn: 'domain', value: 'a.b.example.net' },
  ]);
  t.same(seen.bravo, []);
});

t.test('an indicator equal to an incident’s indicator matches the incident; one digit off does not', async (t) => {
  const seen = await ask({
    indicators: [
      { kind: 'sha256', value: HASH.toUpperCase() },
      { kind: 'sha256', value: NEAR_HASH },
    ],
  });
  t.same(seen.bravo, [{ kind: 'incident', id: incidentRef, label: incidentRef, matchedOn: 'indicator', value: HASH }]);
  t.same(seen.cc, []);
});

t.test('IPv6 in non-canonical spelling matches the incident host, the site and the constituency', async (t) => {
  const seen = await ask({
    hosts: [{ ip: '2001:DB8:FFFF:0:0:0:0:0007' }, { ip: '2001:0db8:abcd:0000::1' }, { ip: '2001:db8:abce::1' }],
    indicators: [{ kind: 'ipv6', value: '2001:DB8:CC00:0::5' }],
  });
  t.same(seen.bravo, [
    { kind: 'incident', id: incidentRef, label: incidentRef, matchedOn: 'ip', value: '2001:db8:ffff::7' },
    { kind: 'site', id: siteId, label: 'Bravo University', matchedOn: 'ip', value: '2001:db8:abcd::1' },
  ]);
  t.same(seen.cc, [
    {
      kind: 'constituency',
      id: '2001:db8:cc00::/40',
      label: 'our constituency (2001:db8:cc00::/40)',
      matchedOn: 'ip',
      value: '2001:db8:cc00::5',
    },
  ]);
});

t.test('near misses only: nothing matches at any member', async (t) => {
  const seen = await ask({
    hosts: [{ ip: '192.0.2.128' }, { ip: '198.17.255.255' }, { hostname: 'example.org.attacker.test' }],
    networks: ['192.0.3.0/24', '198.16.0.0/15'],
    domains: ['evil-example.org', 'evil-example.net', 'xexample.net'],
    indicators: [{ kind: 'sha256', value: NEAR_HASH }],
  });
  t.same(seen, { bravo: [], cc: [] });
});
