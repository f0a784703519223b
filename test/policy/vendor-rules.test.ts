import t from 'tap';
import {
  csafTlpOf,
  decideAdvisoryPublication,
  decideVendorQuestion,
  decideVendorStatement,
  vendorQuestionContent,
  type VendorCaseFacts,
} from '../../src/modules/policy/index.js';

/** The vendor rules (policy/vendor-rules.ts, ADR 0024), as a table. */
const kase = (over: Partial<VendorCaseFacts> = {}): VendorCaseFacts => ({
  id: 'vc-1',
  title: 'T',
  description: 'D',
  tlp: 'AMBER',
  products: [
    { vendor: 'acme', product: 'Widget', versions: ['1'] },
    { vendor: 'globex', product: 'Gadget', versions: ['2'] },
  ],
  cveIds: ['CVE-2026-0001'],
  embargoUntil: new Date('2026-12-10T00:00:00Z'),
  parties: ['acme', 'globex'],
  ...over,
});

t.test('decideVendorQuestion', async (t) => {
  const rows: Array<[string, VendorCaseFacts, Parameters<typeof decideVendorQuestion>[1], string | null]> = [
    ['party, active node', kase(), { vendorId: 'acme', channel: 'federation', peerActive: true }, null],
    ['party, e-mail', kase(), { vendorId: 'acme', channel: 'email', peerActive: null }, null],
    ['not a party', kase({ parties: ['globex'] }), { vendorId: 'acme', channel: 'email', peerActive: null }, 'not-a-party'],
    ['TLP:RED', kase({ tlp: 'RED' }), { vendorId: 'acme', channel: 'email', peerActive: null }, 'tlp-red'],
    [
      'party without a product',
      kase({ parties: ['acme', 'initech'] }),
      { vendorId: 'initech', channel: 'email', peerActive: null },
      'no-product',
    ],
    ['node not active', kase(), { vendorId: 'acme', channel: 'federation', peerActive: false }, 'peer-not-active'],
    ['node not a peer', kase(), { vendorId: 'acme', channel: 'federation', peerActive: null }, 'peer-not-active'],
  ];
  for (const [name, facts, question, deniedBy] of rows) {
    const d = decideVendorQuestion(facts, question);
    t.equal(d.allow ? null : d.deniedBy, deniedBy, name);
  }
});

t.test('a question carries the case fields and only the vendor’s own products', async (t) => {
  const content = vendorQuestionContent(kase(), 'acme');
  t.same(content, {
    title: 'T',
    description: 'D',
    products: [{ product: 'Widget', versions: ['1'] }],
    cveIds: ['CVE-2026-0001'],
    embargoUntil: '2026-12-10T00:00:00.000Z',
  });
  t.same(Object.keys(content).sort(), ['cveIds', 'description', 'embargoUntil', 'products', 'title'], 'no field for incidents');
});

t.test('decideVendorStatement', async (t) => {
  t.equal(decideVendorStatement(kase(), 'acme', 'Widget').allow, true);
  const other = decideVendorStatement(kase(), 'acme', 'Gadget');
  t.equal(other.allow ? null : other.deniedBy, 'not-its-product');
  const outsider = decideVendorStatement(kase(), 'initech', 'Widget');
  t.equal(outsider.allow ? null : outsider.deniedBy, 'not-a-party');
});

t.test('decideAdvisoryPublication', async (t) => {
  const before = decideAdvisoryPublication(kase({ tlp: 'CLEAR' }), new Date('2026-12-09T23:59:59Z'));
  t.same(before.allow ? null : [before.deniedBy, before.embargoUntil], ['embargo', '2026-12-10T00:00:00.000Z']);
  const at = decideAdvisoryPublication(kase({ tlp: 'CLEAR' }), new Date('2026-12-10T00:00:00Z'));
  t.equal(at.allow && at.folder, 'white', 'the embargo ends at its time');
  const amber = decideAdvisoryPublication(kase({ embargoUntil: null }), new Date('2026-01-01T00:00:00Z'));
  t.equal(amber.allow ? amber.folder : 'denied', null, 'not CLEAR: never in the public folder');
  for (const tlp of ['GREEN', 'AMBER+STRICT', 'RED'] as const) {
    const d = decideAdvisoryPublication(kase({ tlp, embargoUntil: null }), new Date('2026-01-01T00:00:00Z'));
    t.equal(d.allow ? d.folder : 'denied', null, tlp);
  }
});

t.test('csafTlpOf: CSAF 2.0 knows TLP 1.0 labels', async (t) => {
  t.same(csafTlpOf('CLEAR'), { label: 'WHITE', text: null });
  t.same(csafTlpOf('GREEN'), { label: 'GREEN', text: null });
  t.same(csafTlpOf('AMBER'), { label: 'AMBER', text: null });
  t.equal(csafTlpOf('AMBER+STRICT').label, 'AMBER');
  t.match(csafTlpOf('AMBER+STRICT').text, /AMBER\+STRICT/);
  t.same(csafTlpOf('RED'), { label: 'RED', text: null });
});
