import t from 'tap';
import { buildTestNode } from '../helpers/build-test-app.js';
import { api, createIncident } from '../helpers/federation-harness.js';
import { matchInquiry } from '../../src/modules/forum/forum-inquiry-intake.js';
import type { ForumInquiryBody, InquiryMatch } from '../../schemas/forum-inquiry.schema.js';

/**
 * The matching lookups of one received inquiry (forum-inquiry.repository.ts inquiryLookups, one
 * statement with the probes as arrays), at one node, each path the multi-node test
 * (forum-inquiry-matching.test.ts) does not reach: a network asked about that holds an incident's
 * host (IPv4 and IPv6, the address range written out), a subdomain matched by the longest of two
 * registered site domains, an address in nested site networks (the most specific wins), names and
 * indicators in another case, many probes at once, the profile's constituency beside the sites,
 * and the same statement run many times (its cached plan must keep giving the same answers).
 */
t.setTimeout(180_000);
const node = await buildTestNode(t, { key: 'bravo' });
const HASH = 'b4f1c2d4e5b6a7980112233445566778899aabbccddeeff00112233445566778';

async function site(name: string, networks: string[], domains: string[]): Promise<string> {
  const res = await api(node, 'POST', '/sites', 'handler', { name, networks, asns: [], domains });
  if (res.statusCode !== 201) throw new Error(`site: ${res.statusCode} ${res.body}`);
  return res.json().id;
}

async function match(body: Pick<ForumInquiryBody, 'hosts' | 'networks' | 'domains' | 'indicators'>): Promise<InquiryMatch[]> {
  return node.database.db.transaction().execute((tx) => matchInquiry(tx, body));
}

const campus = await site('Campus', ['203.0.113.0/24'], ['example.edu']);
const lab = await site('Campus lab', ['203.0.113.64/26'], ['lab.example.edu']);
const v4 = await createIncident(node, {
  hosts: [{ ip: '198.51.100.77', hostname: 'Mail.Victim-Corp.example', role: 'target' }],
  indicators: [
    { kind: 'sha256', value: HASH.toUpperCase() },
    { kind: 'domain', value: 'C2.Evil.example' },
  ],
});
const v6 = await createIncident(node, { hosts: [{ ip: '2001:db8:77::9', role: 'source' }], indicators: [] });
const profile = (await api(node, 'GET', '/profile', 'reader')).json();
const { teamId: _t, referencePrefix: _r, publicKey: _k, fingerprint: _f, publicUrl: _u, updatedAt: _d, ...editable } = profile;
const put = await api(node, 'PUT', '/profile', 'admin', {
  ...editable,
  constituency: { ...editable.constituency, networks: ['192.0.2.0/24'], domains: ['example.jp'] },
});
if (put.statusCode !== 200) throw new Error(`profile: ${put.statusCode} ${put.body}`);

/** Matches in the order matchInquiry gives them (kind, id, matched on, value): site ids are random. */
const key = (m: InquiryMatch) => [m.kind, m.id, m.matchedOn, m.value].join('\u0000');
const inOrder = (matches: InquiryMatch[]) => [...matches].sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));

const incident = (ref: string, matchedOn: InquiryMatch['matchedOn'], value: string): InquiryMatch => ({
  kind: 'incident',
  id: ref,
  label: ref,
  matchedOn,
  value,
});

t.test('a network asked about that holds an incident host matches it; the neighbouring block does not', async (t) => {
  t.same(await match({ networks: ['198.51.100.0/24', '2001:db8::/32'] }), [
    incident(v4.ref, 'network', '198.51.100.0/24'),
    incident(v6.ref, 'network', '2001:db8::/32'),
  ]);
  t.same(await match({ networks: ['198.51.101.0/24', '198.51.100.0/26', '2001:db8:78::/48'] }), [], 'adjacent blocks, the lower quarter');
  t.same(await match({ networks: ['198.51.100.77/32'] }), [incident(v4.ref, 'network', '198.51.100.77/32')], 'the host as a /32');
});

t.test('host names and indicators match whatever their case', async (t) => {
  t.same(
    await match({
      hosts: [{ hostname: 'MAIL.victim-corp.EXAMPLE' }],
      indicators: [
        { kind: 'sha256', value: HASH },
        { kind: 'domain', value: 'c2.EVIL.example' },
      ],
    }),
    [
      incident(v4.ref, 'hostname', 'mail.victim-corp.example'),
      incident(v4.ref, 'indicator', HASH),
      incident(v4.ref, 'indicator', 'c2.evil.example'),
    ],
  );
});

t.test('the longest registered domain owns a subdomain; the most specific network owns an address', async (t) => {
  t.same(
    await match({ domains: ['a.b.Lab.Example.EDU', 'www.example.edu', 'example.edu.evil.test'] }),
    inOrder([
      { kind: 'site', id: campus, label: 'Campus', matchedOn: 'domain', value: 'www.example.edu' },
      { kind: 'site', id: lab, label: 'Campus lab', matchedOn: 'domain', value: 'a.b.lab.example.edu' },
    ]),
  );
  t.same(
    await match({ hosts: [{ ip: '203.0.113.70' }, { ip: '203.0.113.5' }] }),
    inOrder([
      { kind: 'site', id: campus, label: 'Campus', matchedOn: 'ip', value: '203.0.113.5' },
      { kind: 'site', id: lab, label: 'Campus lab', matchedOn: 'ip', value: '203.0.113.70' },
    ]),
  );
  t.same(
    await match({ networks: ['203.0.0.0/16'] }),
    inOrder([
      { kind: 'site', id: campus, label: 'Campus', matchedOn: 'network', value: '203.0.0.0/16' },
      { kind: 'site', id: lab, label: 'Campus lab', matchedOn: 'network', value: '203.0.0.0/16' },
    ]),
    'a network over both sites finds each once',
  );
});

t.test('the constituency our profile states matches in the same lookup as the sites', async (t) => {
  t.same(await match({ hosts: [{ ip: '192.0.2.9', hostname: 'ns.Example.JP' }], networks: ['192.0.0.0/16'] }), [
    { kind: 'constituency', id: '192.0.2.0/24', label: 'our constituency (192.0.2.0/24)', matchedOn: 'ip', value: '192.0.2.9' },
    { kind: 'constituency', id: '192.0.2.0/24', label: 'our constituency (192.0.2.0/24)', matchedOn: 'network', value: '192.0.0.0/16' },
    { kind: 'constituency', id: 'example.jp', label: 'our constituency (example.jp)', matchedOn: 'domain', value: 'ns.example.jp' },
  ]);
});

t.test('an inquiry about a thousand names and two hundred networks is one lookup and still finds its match', async (t) => {
  const names = Array.from({ length: 999 }, (_, i) => `h${i}.${'x.'.repeat(40)}nowhere.example`);
  const networks = Array.from({ length: 200 }, (_, i) => `10.${i}.0.0/16`);
  const found = await match({ domains: [...names, 'deep.lab.example.edu'], networks: [...networks, '198.51.100.64/27'] });
  t.same(found, [
    incident(v4.ref, 'network', '198.51.100.64/27'),
    { kind: 'site', id: lab, label: 'Campus lab', matchedOn: 'domain', value: 'deep.lab.example.edu' },
  ]);
});

t.test('the statement run past the point where its plan is cached gives the same answers', async (t) => {
  const asked = { hosts: [{ ip: '198.51.100.77' }], networks: ['2001:db8:77::/48'] };
  const first = await match(asked);
  t.same(first, [incident(v4.ref, 'ip', '198.51.100.77'), incident(v6.ref, 'network', '2001:db8:77::/48')]);
  for (let i = 0; i < 12; i++)
    t.same(
      await match(i % 2 ? asked : { hosts: [{ ip: '203.0.113.1' }] }),
      i % 2 ? first : [{ kind: 'site', id: campus, label: 'Campus', matchedOn: 'ip', value: '203.0.113.1' }],
    );
});
