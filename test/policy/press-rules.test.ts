import t from 'tap';
import { findNonClearInPressText } from '../../src/modules/policy/index.js';
import type { Incident } from '../../schemas/incident.schema.js';

/** What a press statement may say (ADR 0023, docs/trust-model.md §4.10.1): pure, table-tested. */
const incident = (id: string, ref: string, tlp: Incident['tlp']): Incident =>
  ({
    id,
    ref,
    title: 'Botnet',
    summary: '',
    category: 'intrusions',
    type: 'system-compromise',
    severity: 'high',
    tlp,
    phase: 'triage',
    reporter: { name: 'Hanako Yamada', email: 'hanako@example-univ.ac.jp', phone: '+81-3-5555-0100' },
    poc: { name: 'Taro Suzuki', email: 't.suzuki@example-univ.ac.jp' },
    hosts: [
      { role: 'source', ip: '203.0.113.45', hostname: 'dialup-45.example-isp.net' },
      { role: 'target', ip: '192.0.2.10', hostname: 'www.example-univ.ac.jp' },
      { role: 'intermediary', ip: '10.1.2.3', hostname: 'fileserver01' },
    ],
    vulnerabilities: [],
    systemChanges: [],
    installedSoftware: [],
    evidence: [],
    indicators: [
      { kind: 'url', value: 'http://c2.evil.example/gate.php' },
      { kind: 'email', value: 'phish@bad.example' },
    ],
    externalRefs: [],
    version: 1,
    createdBy: 'h',
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
  }) as unknown as Incident;

const clear = incident('00000000-0000-4000-8000-000000000001', 'US#2026-000001', 'CLEAR');
const green = incident('00000000-0000-4000-8000-000000000002', 'US#2026-000002', 'GREEN');
const clearSource = { incident: clear, hidden: ['reporter', 'poc', 'victims', 'evidence', 'internalHosts'] as const };
const greenSource = { incident: green, hidden: 'all' as const };

const rows: Array<[string, string, Array<[string, string[]]>]> = [
  ['nothing hidden', 'A botnet from 203.0.113.45 is contained.', []],
  ['a CLEAR incident named: its victim', 'WWW.EXAMPLE-UNIV.AC.JP was hit', [[clear.ref, ['victims']]]],
  ["a CLEAR incident named: its victim's address, zero-padded", 'host 192.000.002.010', [[clear.ref, ['victims']]]],
  ['a CLEAR incident named: its reporter, any case and spacing', 'thanks to hanako   YAMADA', [[clear.ref, ['reporter']]]],
  ['a CLEAR incident named: the POC e-mail', 'mail t.suzuki@example-univ.ac.jp', [[clear.ref, ['poc']]]],
  ['a CLEAR incident named: an internal address', 'pivot through 10.9.9.9', [[clear.ref, ['internalHosts']]]],
  ['a GREEN incident: its reference number', 'see us#2026-000002.', [[green.ref, ['reference']]]],
  ['a GREEN incident: its source host', 'from dialup-45.example-isp.net', [[green.ref, ['victims']]]],
  ['a GREEN incident: a URL indicator host', 'c2 at c2.evil.example', [[green.ref, ['evidence']]]],
  ['a GREEN incident: an e-mail indicator', 'from phish@bad.example', [[green.ref, ['evidence']]]],
  ['a longer reference is another one', 'see US#2026-0000021', []],
];

for (const [name, text, expected] of rows) {
  t.test(name, async (t) => {
    const sources = name.startsWith('a GREEN') || name.startsWith('a longer') ? [greenSource] : [clearSource];
    const findings = findNonClearInPressText([text], sources);
    t.same(
      findings.map((f) => [f.ref, f.found]),
      expected,
    );
  });
}

t.test('a source host of a CLEAR incident named is CLEAR: the press may hear of the attacker', async (t) => {
  t.same(findNonClearInPressText(['attacks from dialup-45.example-isp.net'], [clearSource]), []);
});
