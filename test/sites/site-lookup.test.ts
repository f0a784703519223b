import t, { type Test } from 'tap';
import type { LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';

import { networkMatchQuery, sitesByAddressesQuery } from '../../src/modules/sites/site.repository.js';
import { buildTestNode } from '../helpers/build-test-app.js';

function assertProblem(t: Test, res: LightMyRequestResponse, status: number, code: string): Record<string, unknown> {
  t.equal(res.statusCode, status, `status ${status} (${code})`);
  t.match(res.headers['content-type'], /^application\/problem\+json/, 'problem+json');
  const body = res.json() as Record<string, unknown>;
  t.equal(body.code, code, `code ${code}`);
  return body;
}

t.test('lookup: longest prefix, longest domain suffix, exact AS, one family at a time', async (t) => {
  const { app, auth, database } = await buildTestNode(t);
  const ids: Record<string, string> = {};
  const create = async (name: string, scopes: { networks?: string[]; domains?: string[]; asns?: number[] }) => {
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/sites',
      headers: auth.handler,
      payload: { name, ...scopes },
    });
    t.equal(res.statusCode, 201, `created ${name}`);
    ids[name] = res.json().id;
  };
  await create('ISP', { networks: ['10.0.0.0/8'], domains: ['example.jp'] });
  await create('University', { networks: ['10.1.0.0/16'], domains: ['sub.example.jp'] });
  await create('Lab', { networks: ['10.1.2.0/24'], asns: [64500] });
  await create('Carrier v6', { networks: ['2001:db8::/32'] });
  await create('Campus v6', { networks: ['2001:db8:1::/48'] });

  const lookup = (query: string) => app.inject({ method: 'GET', url: `/api/v1/sites/lookup?${query}`, headers: auth.reader });
  const expectSite = async (query: string, site: string, matched: Record<string, unknown>) => {
    const res = await lookup(query);
    t.equal(res.statusCode, 200, query);
    const body = res.json();
    t.equal(body.site.id, ids[site], `${query} -> ${site}`);
    t.equal(body.site.name, site);
    t.same(body.matched, matched, `${query} matched`);
  };

  // IPv4: the most specific network wins, whoever registered first.
  await expectSite('ip=10.1.2.3', 'Lab', { kind: 'ip', value: '10.1.2.0/24', prefixLength: 24 });
  await expectSite('ip=10.1.3.4', 'University', { kind: 'ip', value: '10.1.0.0/16', prefixLength: 16 });
  await expectSite('ip=10.200.0.1', 'ISP', { kind: 'ip', value: '10.0.0.0/8', prefixLength: 8 });
  await expectSite('ip=10.1.2.0', 'Lab', { kind: 'ip', value: '10.1.2.0/24', prefixLength: 24 });
  await expectSite('ip=10.1.2.255', 'Lab', { kind: 'ip', value: '10.1.2.0/24', prefixLength: 24 });
  // An IPv4-mapped IPv6 address is the IPv4 host.
  await expectSite(`ip=${encodeURIComponent('::ffff:10.1.2.3')}`, 'Lab', {
    kind: 'ip',
    value: '10.1.2.0/24',
    prefixLength: 24,
  });
  // IPv6, written in any of its forms.
  await expectSite(`ip=${encodeURIComponent('2001:db8:1::5')}`, 'Campus v6', {
    kind: 'ip',
    value: '2001:db8:1::/48',
    prefixLength: 48,
  });
  await expectSite(`ip=${encodeURIComponent('2001:DB8:0001:0000::5')}`, 'Campus v6', {
    kind: 'ip',
    value: '2001:db8:1::/48',
    prefixLength: 48,
  });
  await expectSite(`ip=${encodeURIComponent('2001:db8:2::1')}`, 'Carrier v6', {
    kind: 'ip',
    value: '2001:db8::/32',
    prefixLength: 32,
  });

  const miss = assertProblem(t, await lookup('ip=11.0.0.1'), 404, 'not-found');
  t.match(miss.detail, /11\.0\.0\.1/);
  assertProblem(t, await lookup(`ip=${encodeURIComponent('2001:db9::1')}`), 404, 'not-found');

  // Families never cross: a default route of one family says nothing about the other.
  await create('Default v6', { networks: ['::/0'] });
  await expectSite(`ip=${encodeURIComponent('2001:db9::1')}`, 'Default v6', {
    kind: 'ip',
    value: '::/0',
    prefixLength: 0,
  });
  assertProblem(t, await lookup('ip=11.0.0.1'), 404, 'not-found');
  await create('Default v4', { networks: ['0.0.0.0/0'] });
  await expectSite('ip=11.0.0.1', 'Default v4', { kind: 'ip', value: '0.0.0.0/0', prefixLength: 0 });
  await expectSite(`ip=${encodeURIComponent('2001:db9::1')}`, 'Default v6', {
    kind: 'ip',
    value: '::/0',
    prefixLength: 0,
  });
  await expectSite('ip=10.1.2.3', 'Lab', { kind: 'ip', value: '10.1.2.0/24', prefixLength: 24 });

  // Domains: the longest registered suffix, on label boundaries only.
  await expectSite('domain=www.sub.example.jp', 'University', { kind: 'domain', value: 'sub.example.jp' });
  await expectSite('domain=sub.example.jp', 'University', { kind: 'domain', value: 'sub.example.jp' });
  await expectSite('domain=other.example.jp', 'ISP', { kind: 'domain', value: 'example.jp' });
  await expectSite('domain=WWW.Example.JP.', 'ISP', { kind: 'domain', value: 'example.jp' });
  assertProblem(t, await lookup('domain=notexample.jp'), 404, 'not-found');
  assertProblem(t, await lookup('domain=example.com'), 404, 'not-found');

  // AS numbers: exact, with or without the AS prefix.
  await expectSite('asn=64500', 'Lab', { kind: 'asn', value: 64500 });
  await expectSite('asn=AS64500', 'Lab', { kind: 'asn', value: 64500 });
  assertProblem(t, await lookup('asn=64501'), 404, 'not-found');

  // Exactly one of ip, domain, asn; each well-formed.
  for (const query of [
    '',
    'ip=10.1.2.3&asn=64500',
    'ip=10.1.2.3&domain=example.jp',
    'ip=10.1.2.3&domain=example.jp&asn=1',
    'ip=10.1.2.3&ip=10.1.2.4',
  ]) {
    assertProblem(t, await lookup(query), 400, 'validation-failed');
  }
  const badIp = assertProblem(t, await lookup('ip=10.1.2.300'), 400, 'validation-failed');
  t.match(badIp.detail, /10\.1\.2\.300/, 'names the value');
  for (const ip of ['10.1.2.0/24', 'not-an-ip', encodeURIComponent('fe80::1%eth0'), '10.1.2', '']) {
    assertProblem(t, await lookup(`ip=${ip}`), 400, 'validation-failed');
  }
  for (const asn of ['abc', '1.5', '0x10', '-1', '4294967296', 'AS'])
    assertProblem(t, await lookup(`asn=${asn}`), 400, 'validation-failed');
  assertProblem(t, await lookup('domain=exa mple.jp'), 400, 'validation-failed');
  assertProblem(t, await lookup('host=10.1.2.3'), 400, 'validation-failed');
  assertProblem(t, await app.inject({ method: 'GET', url: '/api/v1/sites/lookup?ip=10.1.2.3' }), 401, 'unauthenticated');

  // A removed site stops answering; the next most specific network takes over.
  t.equal((await app.inject({ method: 'DELETE', url: `/api/v1/sites/${ids.Lab}`, headers: auth.handler })).statusCode, 204);
  await expectSite('ip=10.1.2.3', 'University', { kind: 'ip', value: '10.1.0.0/16', prefixLength: 16 });
  assertProblem(t, await lookup('asn=64500'), 404, 'not-found');
  // Scopes replaced by a patch stop answering too.
  t.equal(
    (
      await app.inject({
        method: 'PATCH',
        url: `/api/v1/sites/${ids.University}`,
        headers: auth.handler,
        payload: { networks: ['10.2.0.0/16'], domains: [] },
      })
    ).statusCode,
    200,
  );
  await expectSite('ip=10.1.2.3', 'ISP', { kind: 'ip', value: '10.0.0.0/8', prefixLength: 8 });
  await expectSite('domain=www.sub.example.jp', 'ISP', { kind: 'domain', value: 'example.jp' });

  // With a realistic number of prefixes the planner answers >>= from the GiST index, not a scan.
  ids.Filler = '00000000-0000-4000-8000-000000000001';
  await sql`insert into site (id, name) values (${ids.Filler}, 'Filler')`.execute(database.db);
  await sql`
    insert into site_network (site_id, network)
    select ${ids.Filler}::uuid, network(set_masklen('100.64.0.0'::inet + (g * 256), 24))
    from generate_series(0, 19999) g`.execute(database.db);
  await sql`analyze site_network`.execute(database.db);
  const plan = (await networkMatchQuery(database.db, '100.64.7.9').explain()).map((r) => String(Object.values(r)[0])).join('\n');
  t.match(plan, /site_network_spgist/, 'uses the SP-GiST inet_ops index');
  t.notMatch(plan, /Seq Scan on site_network/);
  await expectSite('ip=100.64.7.9', 'Filler', { kind: 'ip', value: '100.64.7.0/24', prefixLength: 24 });
  // Look-ups that arrive together are one statement: each of its addresses probes the same index.
  const groupPlan = (await sitesByAddressesQuery(database.db, ['100.64.7.9', '10.1.2.3', '2001:db8::1']).explain())
    .map((r) => String(Object.values(r)[0]))
    .join('\n');
  t.match(groupPlan, /site_network_spgist/, 'a group of look-ups uses the index too');
  t.notMatch(groupPlan, /Seq Scan on site_network/);
});

t.test('look-ups that arrive together are answered as each would be alone', async (t) => {
  const { app, auth } = await buildTestNode(t);
  for (const [name, networks] of [
    ['ISP', ['10.0.0.0/8']],
    ['Lab', ['10.1.2.0/24']],
    ['Twin', ['10.1.2.0/25']],
    ['Carrier v6', ['2001:db8::/32']],
  ] as const) {
    const res = await app.inject({ method: 'POST', url: '/api/v1/sites', headers: auth.handler, payload: { name, networks } });
    t.equal(res.statusCode, 201, `created ${name}`);
  }
  // Found, not found, the same address twice, IPv6, an IPv4-mapped address, a bad address.
  const queries = [
    'ip=10.1.2.3',
    'ip=10.1.2.200',
    'ip=192.0.2.1',
    'ip=10.1.2.3',
    `ip=${encodeURIComponent('2001:db8:5::1')}`,
    `ip=${encodeURIComponent('::ffff:10.9.9.9')}`,
    'ip=not-an-address',
    `ip=${encodeURIComponent('2001:db9::1')}`,
    'ip=10.200.1.1',
  ];
  const lookup = (q: string) => app.inject({ method: 'GET', url: `/api/v1/sites/lookup?${q}`, headers: auth.reader });
  const alone: Array<{ status: number; body: unknown }> = [];
  for (const q of queries) {
    const res = await lookup(q);
    alone.push({ status: res.statusCode, body: res.json() });
  }
  t.same(
    alone.map((a) => a.status),
    [200, 200, 404, 200, 200, 200, 400, 404, 200],
    'one by one: found, not found and refused as expected',
  );
  // Three rounds of every query at once, so groups of several form.
  const together = await Promise.all([...queries, ...queries, ...queries].map((q) => lookup(q)));
  together.forEach((res, i) => {
    const expected = alone[i % queries.length]!;
    t.equal(res.statusCode, expected.status, `${queries[i % queries.length]}: the same status`);
    const body = res.json() as Record<string, unknown>;
    if (expected.status === 200) t.same(body, expected.body, `${queries[i % queries.length]}: the same answer`);
    else t.equal(body.code, (expected.body as Record<string, unknown>).code, 'the same problem');
  });
});
