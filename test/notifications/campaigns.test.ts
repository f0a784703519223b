import { mkdtemp, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { buildTestNode } from '../helpers/build-test-app.js';
import { api } from '../helpers/federation-harness.js';
import { runCli } from '../helpers/cli-runner.js';

/**
 * Campaigns (issue 19 part 4, ADR 0027) on one node with a constituency of four sites: a feed of
 * events as CSV, JSON and JSON lines becomes one incident per site and period holding only that
 * site's events; malformed rows are reported and the rest filed; rows no site holds are listed;
 * a dry run writes nothing; a second run files only what is new.
 */
const node = await buildTestNode(t, { key: 'alpha', listen: true });

const poc = (email: string) => ({ name: 'NOC', channels: [{ kind: 'email', value: email }], languages: ['ja', 'en'] });
async function site(body: Record<string, unknown>): Promise<string> {
  const res = await api(node, 'POST', '/sites', 'admin', body);
  if (res.statusCode !== 201) throw new Error(`site: ${res.statusCode} ${res.body}`);
  return res.json().id;
}
const uni = await site({ name: 'Example University', pocs: [poc('noc@uni.example')], networks: ['192.0.2.0/24', '2001:db8:1::/48'] });
// A more specific network inside the university's: its lab is its own site (longest match).
const lab = await site({ name: 'Lab', pocs: [poc('lab@uni.example')], networks: ['192.0.2.128/25'] });
const isp = await site({ name: 'Example ISP', pocs: [poc('abuse@isp.example')], asns: [64500], domains: ['isp.example'] });
const quiet = await site({ name: 'No contact', pocs: [], networks: ['198.51.100.0/24'] });

function run(campaign: string, body: string, type: string, query: Record<string, string>) {
  const qs = new URLSearchParams({ category: 'vulnerable', type: 'ddos-amplifier', ...query }).toString();
  return node.app.inject({
    method: 'POST',
    url: `/api/v1/campaigns/${campaign}/events?${qs}`,
    headers: { ...node.auth.handler, 'content-type': type },
    payload: body,
  });
}

async function incidentsOfSite(refs: string[]): Promise<Array<{ ref: string; hosts: Array<{ ip?: string; hostname?: string }> }>> {
  const out = [];
  for (const ref of refs) out.push((await api(node, 'GET', `/incidents/${encodeURIComponent(ref)}`, 'reader')).json());
  return out;
}

const CSV = [
  'time.source,source.ip,source.port,protocol.transport,source.fqdn,source.asn,malware.name',
  '2026-12-01T10:00:00Z,192.0.2.10,53,udp,,,open-resolver',
  '2026-12-01T11:00:00Z,192.0.2.10,53,udp,,,open-resolver', // the same event again: a duplicate
  '2026-12-01T12:00:00Z,192.0.2.200,53,udp,,,open-resolver', // the lab's, not the university's
  '2026-12-01T12:00:00Z,2001:db8:1::5,53,udp,,,open-resolver',
  '2026-12-01T13:00:00Z,,,,dns1.isp.example,,open-resolver', // by host name
  '2026-12-01T13:00:00Z,,,,,AS64500,open-resolver', // by AS number only
  '2026-12-01T14:00:00Z,198.51.100.7,53,udp,,,open-resolver', // a site without a POC
  '2026-12-01T14:00:00Z,203.0.113.9,53,udp,,,open-resolver', // no site of ours
  '2026-12-01T14:00:00Z,not-an-ip,53,udp,,,x',
  '2026-12-01T14:00:00Z,192.0.2.11,99999,udp,,,x',
  '2026-12-01T14:00:00Z,192.0.2.12,53,udp',
  'yesterday,192.0.2.13,53,udp,,,x',
  '"2026-12-02T09:00:00Z","192.0.2.10","53","udp","","","open-resolver, next day"',
].join('\r\n');

t.test('a dry run shows what would go to whom and writes nothing', async (t) => {
  const before = (await api(node, 'GET', '/incidents?limit=500', 'reader')).json().items.length;
  const res = await run('resolvers', CSV, 'text/csv', { dryRun: 'true' });
  t.equal(res.statusCode, 200, res.body);
  const report = res.json();
  t.equal(report.dryRun, true);
  t.match(report.counts, {
    rows: 13,
    events: 9,
    rejected: 4,
    unmatched: 1,
    duplicates: 1,
    alreadyFiled: 0,
    incidents: 0,
    notifications: 0,
  });
  t.same(
    report.rejected.map((r: { row: number }) => r.row),
    [9, 10, 11, 12],
    'each malformed row by number',
  );
  t.match(report.rejected[0].reason, /not an IP address/);
  t.match(report.rejected[1].reason, /port 99999 is out of range/);
  t.match(report.rejected[2].reason, /4 fields where the header has 7/);
  t.match(report.rejected[3].reason, /not a date and time/);
  t.same(report.unmatched, [{ row: 8, value: '203.0.113.9' }]);
  const plan = (id: string, period: string) =>
    report.sites.find((s: { siteId: string; period: string }) => s.siteId === id && s.period === period);
  t.match(plan(uni, '2026-12-01'), {
    siteName: 'Example University',
    events: 2,
    newEvents: 2,
    recipients: ['noc@uni.example'],
    incidents: [],
  });
  t.match(plan(uni, '2026-12-02'), { events: 1 }, 'another day, another notification');
  t.match(plan(lab, '2026-12-01'), { events: 1, recipients: ['lab@uni.example'] });
  t.match(plan(isp, '2026-12-01'), { events: 2, recipients: ['abuse@isp.example'] });
  t.match(plan(quiet, '2026-12-01'), { events: 1, recipients: [] }, 'a site without a POC is listed, with no one to tell');
  t.equal((await api(node, 'GET', '/incidents?limit=500', 'reader')).json().items.length, before, 'nothing filed');
  t.same((await api(node, 'GET', '/campaigns', 'reader')).json().items, [], 'no run recorded');
});

t.test('a run files one incident per site and period, each with only its own events; a second run files only what is new', async (t) => {
  const res = await run('resolvers', CSV, 'text/csv', { source: 'Scanner Project X' });
  t.equal(res.statusCode, 200, res.body);
  const report = res.json();
  t.match(report.counts, { events: 9, incidents: 5, alreadyFiled: 0, notifications: 5 });
  const planOf = (id: string) => report.sites.find((s: { siteId: string }) => s.siteId === id);
  t.match(planOf(uni).notifications, [{ state: 'drafted', reason: null }], 'a draft per site, for a handler to approve');
  t.match(planOf(quiet).notifications, [{ state: 'unreachable', reason: 'no-poc-email' }], 'no one to tell: listed, not skipped');
  const text = (await api(node, 'GET', `/notifications/${planOf(lab).notifications[0].id}`, 'reader')).json().text as string;
  t.match(text, /192\.0\.2\.200/, "the lab's notification names its host");
  t.notMatch(
    text,
    /192\.0\.2\.10\b|2001:db8:1::5|dns1\.isp\.example|Scanner Project X/,
    "and no other site's host, nor the feed's provider",
  );
  const bySite = new Map<string, string[]>();
  for (const s of report.sites) bySite.set(s.siteId, [...(bySite.get(s.siteId) ?? []), ...s.incidents]);
  const [uniDay1, uniDay2] = await incidentsOfSite(bySite.get(uni)!);
  t.same(uniDay1!.hosts.map((h) => h.ip).sort(), ['192.0.2.10', '2001:db8:1::5'], "the university's own hosts, not the lab's");
  t.same(
    uniDay2!.hosts.map((h) => h.ip),
    ['192.0.2.10'],
  );
  const [labIncident] = await incidentsOfSite(bySite.get(lab)!);
  t.same(
    labIncident!.hosts.map((h) => h.ip),
    ['192.0.2.200'],
  );
  const [ispIncident] = await incidentsOfSite(bySite.get(isp)!);
  const ispFull = ispIncident as unknown as {
    hosts: Array<{ hostname?: string }>;
    indicators: Array<{ kind: string; value: string }>;
    reporter: { name: string };
  };
  t.same(
    ispFull.hosts.map((h) => h.hostname),
    ['dns1.isp.example'],
  );
  t.same(ispFull.indicators, [{ kind: 'asn', value: 'AS64500' }]);
  t.equal(ispFull.reporter.name, 'Scanner Project X');
  const all = JSON.stringify(await incidentsOfSite([...bySite.values()].flat()));
  t.notMatch(all, /203\.0\.113\.9/, 'an address no site holds is filed nowhere');

  const again = (await run('resolvers', CSV, 'text/csv', {})).json();
  t.match(again.counts, { events: 9, alreadyFiled: 7, duplicates: 1, incidents: 0 }, 'the same feed again files nothing');
  const more = (
    await run('resolvers', `source.ip,time\n192.0.2.10,2026-12-01T20:00:00Z\n192.0.2.44,2026-12-01T20:00:00Z`, 'text/csv', {})
  ).json();
  t.match(more.counts, { alreadyFiled: 0, incidents: 1 }, 'without port and protocol it is another event; one incident for the new ones');
  const [newer] = await incidentsOfSite(more.sites[0].incidents);
  t.same(newer!.hosts.map((h) => h.ip).sort(), ['192.0.2.10', '192.0.2.44']);

  const approved = (await run('resolvers', 'source.ip\n192.0.2.45', 'text/csv', { approve: 'true', period: 'once' })).json();
  t.match(
    approved.sites[0].notifications,
    [{ state: 'drafted', reason: 'mail-not-configured' }],
    'approve=true without a mail channel: the draft stays, and says why',
  );
  const campaigns = (await api(node, 'GET', '/campaigns', 'reader')).json().items;
  t.match(campaigns, [{ campaign: 'resolvers', runs: 4, events: 10, incidents: 7 }]);
  const audit = (await api(node, 'GET', '/audit?kind=campaign.filed', 'admin')).json();
  const entries = (audit.items ?? audit.entries ?? []) as Array<{ kind: string; details: Record<string, unknown> }>;
  t.equal(entries.filter((e) => e.kind === 'campaign.filed').length, 4, 'each run audited');
  t.notMatch(JSON.stringify(entries), /192\.0\.2\./, 'the audit holds counts and a digest, never an address');
});

t.test('JSON, nested IntelMQ events and JSON lines', async (t) => {
  const json = JSON.stringify([
    { source: { ip: '192.0.2.77', port: 23 }, time: { source: '2026-12-03T00:00:00Z' }, classification: { identifier: 'mirai' } },
    { ip: '192.0.2.78', timestamp: '2026-12-03T01:00:00Z' },
    'not an object',
  ]);
  const res = await run('bots', json, 'application/json', { category: 'malicious-code', type: 'infected-system', period: 'week' });
  t.equal(res.statusCode, 200, res.body);
  t.match(res.json().counts, { events: 2, rejected: 1, incidents: 1 });
  t.equal(res.json().sites[0].period, '2026-W49');
  const [incident] = await incidentsOfSite(res.json().sites[0].incidents);
  t.match((incident as unknown as { hosts: Array<{ description: string }> }).hosts[0]!.description, /mirai/);
  const lines = '{"ip":"192.0.2.90"}\n\n{not json\n{"ip":"192.0.2.91","port":"x"}\n';
  const hostile = [
    JSON.stringify({ ip: '192.0.2.92', detail: 'nul\u0000inside' }),
    '{"ip":"192.0.2.93","detail":"lone \\ud800 surrogate"}',
    JSON.stringify({ ip: '192.0.2.94', time: '+010000-01-01T00:00:00Z' }),
    JSON.stringify({ ip: '192.0.2.95', time: '1969-12-31T23:59:59Z' }),
    JSON.stringify({ ip: '192.0.2.96', detail: 'x'.repeat(100_000) }),
  ].join('\n');
  const bad = await run('bots-hostile', hostile, 'application/x-ndjson', { category: 'malicious-code', type: 'infected-system' });
  t.equal(bad.statusCode, 200, bad.body);
  t.match(bad.json().counts, { events: 1, rejected: 4, incidents: 1 }, 'hostile values refuse their rows, never the run (no 5xx)');
  t.match(
    bad.json().rejected.map((r: { reason: string }) => r.reason),
    [/NUL/, /lone surrogate/, /out of range/, /out of range/],
  );
  const nd = await run('bots-nd', lines, 'application/x-ndjson', { category: 'malicious-code', type: 'infected-system', period: 'once' });
  t.equal(nd.statusCode, 200, nd.body);
  t.match(nd.json().counts, { events: 1, rejected: 2 });
  t.same(
    nd.json().rejected.map((r: { row: number }) => r.row),
    [2, 3],
  );
});

t.test('bad input is a problem+json 4xx and files nothing', async (t) => {
  const cases: Array<[string, string, string, Record<string, string>, number, string]> = [
    ['x', '{"a":', 'application/json', {}, 400, 'campaign-file-unreadable'],
    ['x', '{"events": 3}', 'application/json', {}, 400, 'campaign-file-unreadable'],
    ['x', 'name,comment\na,b', 'text/csv', {}, 400, 'campaign-file-unreadable'],
    ['x', 'ip\n192.0.2.1', 'text/plain', {}, 415, 'unsupported-media-type'],
    ['Bad Name', 'ip\n192.0.2.1', 'text/csv', {}, 400, 'validation-failed'],
    ['x', 'ip\n192.0.2.1', 'text/csv', { category: 'nonsense' }, 400, 'validation-failed'],
    ['x', 'ip\n192.0.2.1', 'text/csv', { dryRun: 'yes' }, 400, 'validation-failed'],
  ];
  for (const [name, body, type, query, status, code] of cases) {
    const res = await run(name, body, type, query);
    t.equal(res.statusCode, status, `${name} ${type} ${body.slice(0, 20)}: ${res.body}`);
    t.match(res.headers['content-type'], /application\/problem\+json/);
    t.equal(res.json().code, code);
  }
  const reader = await node.app.inject({
    method: 'POST',
    url: '/api/v1/campaigns/x/events?category=vulnerable&type=ddos-amplifier',
    headers: { ...node.auth.reader, 'content-type': 'text/csv' },
    payload: 'ip\n192.0.2.1',
  });
  t.equal(reader.statusCode, 403, 'a reader cannot file a campaign');
  const anonymous = await node.app.inject({ method: 'GET', url: '/api/v1/campaigns' });
  t.equal(anonymous.statusCode, 401);
  t.notOk(
    (await api(node, 'GET', '/campaigns', 'reader')).json().items.some((c: { campaign: string }) => c.campaign === 'x'),
    'nothing filed',
  );
});

t.test('the CLI: campaign run (dry run, then filed) and campaign list', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hikeshi-campaign-'));
  const file = path.join(dir, 'feed.csv');
  await writeFile(
    file,
    'ip,port,protocol,time\n192.0.2.160,123,udp,2026-12-04T00:00:00Z\n203.0.113.50,123,udp,2026-12-04T00:00:00Z\nbad,1,udp,\n',
  );
  const args = ['campaign', 'run', 'ntp', file, '--category', 'vulnerable', '--type', 'ddos-amplifier'];
  const dry = await runCli(node, ...args, '--dry-run');
  t.equal(dry.code, 0, dry.stderr);
  t.match(dry.stdout, /^dry run: nothing filed\. 3 row\(s\): 2 event\(s\), 1 malformed, 1 in no site/);
  t.match(dry.stdout, /2026-12-04 {2}Lab: 1\/1 new -> lab@uni\.example/);
  t.match(dry.stdout, /row 3: "bad" is not an IP address/);
  t.match(dry.stdout, /row 2: 203\.0\.113\.50 is in no site of the constituency/);
  const filed = await runCli(node, ...args, '--source', 'NTP scan');
  t.equal(filed.code, 0, filed.stderr);
  t.match(filed.stdout, /1 incident\(s\) filed/);
  t.match(filed.stdout, /Lab: 1\/1 new -> lab@uni\.example {2}ALPHA#\d{4}-\d{6}/);
  const listed = await runCli(node, 'campaign', 'list');
  t.match(listed.stdout, /^ntp +1 run\(s\), 1 event\(s\), 1 incident\(s\)/m);
  t.equal((await runCli(node, 'campaign', 'run', 'ntp', file)).code, 2, 'usage: no category and type');
  const refused = await runCli(node, 'campaign', 'run', 'ntp', file, '--category', 'nonsense', '--type', 'x');
  t.not(refused.code, 0);
  t.match(refused.stderr, /validation-failed/);
});
