import t from 'tap';
import {
  createScrubber,
  decide,
  emptyIdentifiers,
  hideContact,
  hideHost,
  isInternalHostByAddress,
  organisationalDomain,
  policyItemFromIncident,
  redactIncident,
  scrubberFor,
  summariseWithReport,
} from '../../src/modules/policy/index.js';
import type { Incident } from '../../schemas/incident.schema.js';
import { parseIpv4Octets } from '../../src/modules/policy/identifier-scrub.js';

/** Redaction by identifier (issue 11): every spelling of a hidden name or address, in any text. */
function scrubber() {
  const ids = emptyIdentifiers();
  hideHost(ids, { ip: '2001:db8::150', hostname: 'www.victim.example' }, 'victims', { organisation: true });
  hideHost(ids, { ip: '192.0.2.150' }, 'victims');
  hideHost(ids, { ip: '10.77.0.150', hostname: 'fileserver01' }, 'internalHosts');
  ids.internal = { predicate: isInternalHostByAddress, section: 'internalHosts' };
  hideContact(
    ids,
    { name: 'Taro Yamada', email: 'taro@example-univ.ac.jp', phone: '+81-3-1234-5678', organisation: '山田大学' },
    'reporter',
  );
  return createScrubber(ids);
}

t.test('every spelling of a hidden identifier is scrubbed; look-alikes are not', async (t) => {
  const s = scrubber();
  const cases: Array<[string, string]> = [
    ['url http://victim.example/wp-login.php', 'url http://[redacted]/wp-login.php'],
    ['email admin@victim.example', 'email [redacted]'],
    ['other 192.0.2.150:22', 'other [redacted]:22'],
    ['http://10.77.0.150:8080/c2', 'http://[redacted]:8080/c2'],
    ['implant on victim.example', 'implant on [redacted]'],
    [
      '2001:db8:0:0:0:0:0:150 2001:DB8::150 [2001:db8::150]:443 ::ffff:192.0.2.150 ::ffff:c000:296',
      '[redacted] [redacted] [[redacted]]:443 [redacted] [redacted]',
    ],
    ['\\\\FILESERVER01\\c$ and \\\\10.77.0.150\\share', '\\\\[redacted]\\c$ and \\\\[redacted]\\share'],
    ['VICTIM.EXAMPLE. was hit', '[redacted] was hit'],
    ['mail.Victim.Example', '[redacted]'],
    ['192.000.002.150 and 172.16.5.4 (internal, not listed)', '[redacted] and [redacted] (internal, not listed)'],
    [
      'call taro  YAMADA at +81 3 1234 5678 or TARO@example-univ.ac.jp; 山田大学の件',
      'call [redacted] at [redacted] or [redacted]; [redacted]の件',
    ],
  ];
  for (const [input, expected] of cases) t.equal(s.scrub(input).text, expected, input);
  const untouched = [
    'victim.example.evil.com',
    '192.0.2.1500',
    '192.0.2.15',
    'token kenzo',
    'at 10:30:45 std::vector',
    '2001:db8::151',
    'evil-victim.example',
    'a.b.c',
    '203.0.113.45',
  ];
  for (const input of untouched) t.same(s.scrub(input), { text: input, sections: [] }, `${input} untouched`);
  t.same(s.scrub('www.victim.example and 10.1.2.3').sections.sort(), ['internalHosts', 'victims'], 'the sections that caused it');
});

t.test('organisational domains are approximated without the public suffix list', async (t) => {
  t.equal(organisationalDomain('www.victim.example'), 'victim.example');
  t.equal(organisationalDomain('mail.victim.co.jp'), 'victim.co.jp');
  t.equal(organisationalDomain('victim.co.jp'), null);
  t.equal(organisationalDomain('victim.example'), null);
});

function markedIncident(): Incident {
  return {
    id: '00000000-0000-4000-8000-000000000001',
    ref: 'ALPHA#2026-000001',
    title: 'Intrusion at victim.example',
    summary: 'via http://10.9.8.7:8080/',
    category: 'intrusions',
    type: 'system-compromise',
    severity: 'high',
    tlp: 'GREEN',
    phase: 'triage',
    firstSeen: null,
    lastSeen: null,
    reporter: { name: 'Hanako Suzuki', email: 'hanako@victim.example' },
    poc: { name: 'Ichiro', email: 'ichiro@csirt.example' },
    hosts: [
      { ip: '203.0.113.45', role: 'source', description: 'scanned victim.example' },
      { ip: '192.0.2.150', hostname: 'www.victim.example', role: 'target' },
      { ip: '10.9.8.7', role: 'intermediary' },
    ],
    intruderActivity: 'Hanako Suzuki saw 192.0.2.150 talk to 10.9.8.7',
    vulnerabilities: [{ cve: 'CVE-2026-0001', description: 'on www.victim.example' }],
    systemChanges: [{ description: 'user added', host: 'www.victim.example' }],
    installedSoftware: [{ name: 'implant on victim.example', path: '\\\\10.9.8.7\\x', description: 'x' }],
    evidence: [],
    indicators: [
      { kind: 'url', value: 'http://victim.example/wp-login.php' },
      { kind: 'ipv4', value: '203.0.113.45', description: 'attacker of 192.0.2.150' },
      { kind: 'other', value: '192.0.2.150:22 open' },
      { kind: 'email', value: 'hanako@victim.example' },
    ],
    externalRefs: [],
    version: 1,
    createdBy: 'alice',
    createdAt: '2026-12-01T00:00:00.000Z',
    updatedAt: '2026-12-01T00:00:00.000Z',
  };
}

t.test('redactIncident scrubs every field and reports where', async (t) => {
  const incident = markedIncident();
  const decision = decide(
    policyItemFromIncident(incident, { ourTeamId: 'alpha' }),
    { id: 'bravo', kind: 'team', trust: 'community' },
    'direct',
  );
  t.same(
    decision.redactions.map((r) => r.section),
    ['reporter', 'victims', 'internalHosts'],
  );
  const { incident: out, scrubbed } = redactIncident(incident, decision);
  const text = JSON.stringify(out).toLowerCase();
  for (const marker of ['victim.example', '192.0.2.150', '10.9.8.7', 'hanako', 'suzuki'])
    t.notOk(text.includes(marker), `${marker} is gone`);
  t.equal(out.installedSoftware[0]!.name, 'implant on [redacted]');
  t.same(
    out.indicators.map((i) => i.kind),
    ['ipv4', 'other'],
    'the URL and e-mail indicators are dropped, `other` is rewritten',
  );
  t.equal(out.indicators[1]!.value, '[redacted]:22 open');
  t.equal(out.poc?.email, 'ichiro@csirt.example', 'what is not hidden stays');
  const paths = scrubbed.map((s) => `${s.action} ${s.path}`);
  for (const p of [
    'rewritten /title',
    'rewritten /summary',
    'rewritten /installedSoftware/0/name',
    'rewritten /installedSoftware/0/path',
    'dropped /indicators/0',
    'dropped /indicators/3',
    'rewritten /indicators/2/value',
    'rewritten /indicators/1/description',
  ]) {
    t.ok(paths.includes(p), `the report lists ${p}`);
  }
  t.notOk(/victim\.example|192\.0\.2|hanako/i.test(JSON.stringify(scrubbed)), 'the report names places, never values');
});

t.test('a summary names no target, internal host or person in any field', async (t) => {
  const incident = markedIncident();
  const { summary, scrubbed } = summariseWithReport(incident);
  const text = JSON.stringify(summary).toLowerCase();
  for (const marker of ['victim.example', '192.0.2.150', '10.9.8.7', 'hanako'])
    t.notOk(text.includes(marker), `${marker} is not in the summary`);
  t.same(summary.indicators, [{ kind: 'ipv4', value: '203.0.113.45' }]);
  t.same(
    scrubbed.map((s) => s.path),
    ['/indicators/0', '/indicators/2', '/indicators/3'],
  );
});

t.test('an internal address in text alone makes the internalHosts section present', async (t) => {
  const incident = { ...markedIncident(), hosts: [{ ip: '203.0.113.45', role: 'source' as const }] };
  const item = policyItemFromIncident(incident, { ourTeamId: 'alpha' });
  t.ok(item.sections.includes('internalHosts'));
  const decision = decide(item, { id: 'bravo', kind: 'team', trust: 'partner' }, 'direct');
  t.equal(scrubberFor(incident, decision).scrub('see 10.9.8.7').text, 'see [redacted]');
});

t.test('an IPv4 address is four decimal octets of one to three digits, leading zeros allowed', async (t) => {
  const cases: Array<[string, number[] | null]> = [
    ['192.0.2.150', [192, 0, 2, 150]],
    ['192.000.002.010', [192, 0, 2, 10]],
    ['0.0.0.0', [0, 0, 0, 0]],
    ['255.255.255.255', [255, 255, 255, 255]],
    ['256.1.1.1', null],
    ['1.2.3.999', null],
    ['0192.0.2.1', null],
    ['1.2.3', null],
    ['1.2.3.4.5', null],
    ['1.2.3.4.', null],
    ['.1.2.3.4', null],
    ['1..2.3', null],
    ['', null],
    ['1.2.3.a', null],
    [' 1.2.3.4', null],
    ['1.2.3.4 ', null],
    ['+1.2.3.4', null],
    ['１.2.3.4', null],
    ['1.2.3.٤', null],
  ];
  for (const [text, octets] of cases) t.same(parseIpv4Octets(text), octets, JSON.stringify(text));
});
