import t from 'tap';
import { TLP_LABELS } from '../../schemas/common.schema.js';
import { TRUST_LEVELS } from '../../schemas/policy.schema.js';
import {
  isoWeek,
  networkOf,
  observablesOf,
  periodOf,
  relatedPair,
  relatedTo,
  sameIncident,
  type CorrelatedReport,
} from '../../src/modules/coordination/observables.js';
import { mayNameMemberReport } from '../../src/modules/coordination/related-disclosure.js';

/** The pure parts of coordination: what reports are correlated on, when they are related, who may be told. */

t.test('networkOf: the /24 or /48 around an address, canonical', async (t) => {
  t.equal(networkOf('203.0.113.45'), '203.0.113.0/24');
  t.equal(networkOf('2001:db8:1234:5678::1'), '2001:db8:1234::/48');
  t.equal(networkOf('2001:DB8:0:1::1'), '2001:db8::/48', 'zero groups compress');
  t.equal(networkOf('::ffff:198.51.100.7'), '198.51.100.0/24', 'an IPv4-mapped address is the IPv4 host');
  t.equal(networkOf('not an address'), null);
  t.equal(networkOf('203.0.113.0/24'), null, 'a network is not an address');
});

t.test('observablesOf: addresses, networks, names, indicators; never internal, redacted or ASN', async (t) => {
  const observables = observablesOf({
    hosts: [
      { ip: '203.0.113.45', hostname: 'Dialup-45.Example-ISP.net.', role: 'source' },
      { ip: '10.1.2.3', hostname: 'fileserver', role: 'target' },
      { hostname: '[redacted]', role: 'target' },
      { hostname: 'printer.corp', role: 'target' },
      { ip: '2001:db8::5', role: 'intermediary' },
    ],
    indicators: [
      { kind: 'ipv4', value: '203.0.113.45' },
      { kind: 'ipv4', value: '192.168.1.1' },
      { kind: 'domain', value: 'C2.Example.org' },
      { kind: 'sha256', value: '9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08' },
      { kind: 'url', value: 'http://c2.example.org/Gate.php' },
      { kind: 'asn', value: '64500' },
      { kind: 'other', value: 'x'.repeat(700) },
    ],
  });
  t.same(observables, [
    { kind: 'domain', value: 'c2.example.org' },
    { kind: 'domain', value: 'dialup-45.example-isp.net' },
    { kind: 'indicator', value: 'sha256:9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08' },
    { kind: 'indicator', value: 'url:http://c2.example.org/Gate.php' },
    { kind: 'ip', value: '2001:db8::5' },
    { kind: 'ip', value: '203.0.113.45' },
    { kind: 'network', value: '2001:db8::/48' },
    { kind: 'network', value: '203.0.113.0/24' },
  ]);
  t.same(observablesOf({ hosts: [], indicators: [] }), []);
});

const report = (team: string, ref: string, ips: string[] = [], links: Array<{ team: string; ref: string }> = []): CorrelatedReport => ({
  team,
  ref,
  ips,
  links,
});

t.test('relatedPair: across teams, never one incident with itself, networks only without a common address', async (t) => {
  const a = report('alpha', 'A1', ['203.0.113.45']);
  const b = report('bravo', 'B1', ['203.0.113.45']);
  const b2 = report('bravo', 'B2', ['203.0.113.46']);
  const a2 = report('alpha', 'A2', ['203.0.113.9']);
  const copy = report('bravo', 'B3', ['203.0.113.45'], [{ team: 'alpha', ref: 'A1' }]);

  t.ok(relatedPair('ip', '203.0.113.45', a, b), 'the same address at two teams');
  t.notOk(relatedPair('ip', '203.0.113.9', a, a2), 'the same team');
  t.ok(sameIncident(a, copy) && sameIncident(copy, a), 'a link in either direction');
  t.notOk(relatedPair('ip', '203.0.113.45', a, copy), "bravo's copy of alpha's incident");
  t.notOk(relatedPair('network', '203.0.113.0/24', a, b), 'the address match says it');
  t.ok(relatedPair('network', '203.0.113.0/24', a, b2), 'neighbouring addresses');
  t.ok(relatedPair('network', '203.0.113.0/24', a2, b), 'neighbouring addresses');

  const related = relatedTo('network', '203.0.113.0/24', [a, a2, b, b2]);
  t.same(
    related.get(a)?.map((r) => r.ref),
    ['B2'],
  );
  t.same(
    related.get(a2)?.map((r) => r.ref),
    ['B1', 'B2'],
  );
  t.same(
    related.get(b)?.map((r) => r.ref),
    ['A2'],
  );
  t.same(relatedTo('ip', '203.0.113.45', [a, copy]).size, 0);
});

t.test('isoWeek and periodOf: ISO 8601 weeks in UTC, and UTC days', async (t) => {
  t.equal(isoWeek(new Date('2026-11-19T17:13:00Z')), '2026-W47');
  t.equal(isoWeek(new Date('2021-01-01T12:00:00Z')), '2020-W53', 'a Friday in the last week of the year before');
  t.equal(isoWeek(new Date('2024-12-30T00:00:00Z')), '2025-W01', 'a Monday in the first week of the next year');
  t.equal(isoWeek(new Date('2026-01-05T00:00:00Z')), '2026-W02');
  t.equal(periodOf(new Date('2026-11-19T23:59:59+09:00'), 'day'), '2026-11-19');
  t.equal(periodOf(new Date('2026-11-20T02:13:00+09:00'), 'week'), '2026-W47');
});

t.test("mayNameMemberReport: every label x the recipient's trust", async (t) => {
  const expected: Record<string, string> = {
    //         unknown community partner close
    CLEAR: 'NNNN',
    GREEN: '.NNN',
    AMBER: '..NN',
    'AMBER+STRICT': '....',
    RED: '....',
  };
  for (const label of TLP_LABELS) {
    TRUST_LEVELS.forEach((trust, i) => {
      const decision = mayNameMemberReport(label, trust);
      t.equal(decision.named, expected[label]![i] === 'N', `${label} to ${trust}: ${decision.reason}`);
      t.ok(decision.reason.length > 0);
    });
  }
});
