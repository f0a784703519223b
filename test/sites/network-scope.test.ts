import t from 'tap';

import {
  canonicalDomain,
  canonicalNetwork,
  domainSuffixes,
  isIpAddress,
  longestDomainSuffix,
  mostSpecificNetwork,
  networkCovers,
  networkMatcher,
  parseAddress,
} from '../../src/modules/sites/network-scope.js';

t.test('canonicalNetwork writes networks the way PostgreSQL prints them', async (t) => {
  // Expected values are what `SELECT '<input>'::cidr::text` prints on PostgreSQL 15.
  const cases: Array<[string, string]> = [
    ['10.0.0.0/8', '10.0.0.0/8'],
    [' 192.0.2.0/24 ', '192.0.2.0/24'],
    ['192.0.2.1', '192.0.2.1/32'],
    ['2001:DB8::/32', '2001:db8::/32'],
    ['2001:0db8:0000:0000::/64', '2001:db8::/64'],
    ['::/0', '::/0'],
    ['::1', '::1/128'],
    ['1:0:0:1::/64', '1:0:0:1::/64'],
    ['1:0:1:0:0:1::/96', '1:0:1::1:0:0/96'],
    ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7/128'],
    ['::ffff:10.0.0.0/104', '::ffff:10.0.0.0/104'],
    ['::ffff:0:0/96', '::ffff:0.0.0.0/96'],
    ['::10.0.0.0/104', '::10.0.0.0/104'],
    ['0:0:0:0:0:1::/96', '::1:0:0/96'],
  ];
  for (const [input, expected] of cases) t.equal(canonicalNetwork(input), expected, input);
});

t.test('canonicalNetwork refuses what cidr would refuse', async (t) => {
  for (const bad of [
    '10.1.2.3/8',
    '2001:db8::1/32',
    '10.0.0.0/33',
    '::/129',
    '300.0.0.0/8',
    '10.0.0/8',
    '010.0.0.0/8',
    'fe80::/10%eth0',
    'fe80::1%eth0/128',
    'example.jp',
    '',
    '/8',
    '10.0.0.0/',
    '10.0.0.0/8/8',
  ]) {
    t.equal(canonicalNetwork(bad), null, bad);
  }
});

t.test('parseAddress: canonical text and family; IPv4-mapped addresses are IPv4', async (t) => {
  t.same(parseAddress('192.0.2.7'), { address: '192.0.2.7', family: 4 });
  t.same(parseAddress('2001:DB8:0::1'), { address: '2001:db8::1', family: 6 });
  t.same(parseAddress('::ffff:192.0.2.7'), { address: '192.0.2.7', family: 4 });
  t.same(parseAddress('::ffff:c000:0207'), { address: '192.0.2.7', family: 4 });
  t.same(parseAddress('::192.0.2.7'), { address: '::192.0.2.7', family: 6 });
  for (const bad of ['192.0.2.0/24', 'fe80::1%eth0', '1.2.3', 'localhost', '']) t.equal(parseAddress(bad), null, bad);
});

t.test('isIpAddress refuses zone ids, which inet cannot store', async (t) => {
  t.ok(isIpAddress('fe80::1'));
  t.notOk(isIpAddress('fe80::1%eth0'));
  t.ok(isIpAddress('192.0.2.1'));
  t.notOk(isIpAddress('192.0.2.256'));
});

t.test('domains: lower case, no trailing dot; suffixes longest first', async (t) => {
  t.equal(canonicalDomain('WWW.Example.JP.'), 'www.example.jp');
  t.same(domainSuffixes('a.Sub.example.jp.'), ['a.sub.example.jp', 'sub.example.jp', 'example.jp', 'jp']);
  t.same(domainSuffixes('jp'), ['jp']);
});

t.test('in-memory containment: an address in a network, overlapping networks, the most specific, domain suffixes', async (t) => {
  t.ok(networkCovers('192.0.2.0/24', '192.0.2.77'));
  t.notOk(networkCovers('192.0.2.0/24', '192.0.3.1'));
  t.ok(networkCovers('192.0.2.0/24', '192.0.2.128/25'), 'a network inside');
  t.ok(networkCovers('192.0.2.128/25', '192.0.2.0/24'), 'a network around it overlaps too');
  t.notOk(networkCovers('192.0.2.0/24', '2001:db8::1'), 'families do not mix');
  t.notOk(networkCovers('not a network', '192.0.2.1'));
  t.ok(networkCovers('2001:db8::/32', '2001:DB8:0:0:0:0:0:1'));
  const nets = ['10.0.0.0/8', '10.1.0.0/16', '2001:db8::/32'].map((n) => networkMatcher(n)!);
  t.equal(mostSpecificNetwork(nets, '10.1.2.3', 4)?.cidr, '10.1.0.0/16');
  t.equal(mostSpecificNetwork(nets, '10.9.2.3', 4)?.cidr, '10.0.0.0/8');
  t.equal(mostSpecificNetwork(nets, '192.0.2.1', 4), null);
  t.equal(networkMatcher('10.0.0.0/33'), null);
  t.equal(longestDomainSuffix(['example.jp', 'Sub.Example.JP.'], 'a.sub.example.jp'), 'sub.example.jp');
  t.equal(longestDomainSuffix(['example.jp'], 'badexample.jp'), null, 'on label boundaries only');
});
