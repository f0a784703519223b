import t from 'tap';
import { parseStatementText } from '../../src/modules/vendors/statement-text.js';

/** The text of a vendor's statement, as pasted or mailed back (ADR 0024): the vendor's own lines only. */
const STATEMENT = [
  'Case: vc-2026-001',
  'Product: Widget Server',
  'Status: affected',
  'Fixed-Versions: 2.4.1, 2.5.0',
  'Statement: Fixed in 2.4.1; upgrade.',
];
const expected = {
  caseId: 'vc-2026-001',
  product: 'Widget Server',
  status: 'affected',
  fixedVersions: ['2.4.1', '2.5.0'],
  text: 'Fixed in 2.4.1; upgrade.',
};

t.test('a plain statement', async (t) => {
  t.same(parseStatementText(STATEMENT.join('\n')), { ok: true, statement: expected });
  t.same(parseStatementText(STATEMENT.join('\r\n')), { ok: true, statement: expected }, 'CRLF');
});

t.test('a reply: our question quoted below, above or inline, an attribution and a signature are left out', async (t) => {
  const quote = [
    'On Mon, 7 Dec 2026 at 09:00, CSIRT alpha <csirt@alpha.example> wrote:',
    '> Case: vc-2026-001',
    '> Title: Widget RCE',
    '> Please answer with the form below.',
    '>',
  ];
  const below = [...STATEMENT, '', ...quote];
  t.same(parseStatementText(below.join('\n')), { ok: true, statement: expected }, 'top-posted');
  const above = [...quote, '', ...STATEMENT];
  t.same(parseStatementText(above.join('\n')), { ok: true, statement: expected }, 'bottom-posted');
  const signed = [...STATEMENT, '', '-- ', 'ACME PSIRT', 'Status: not affected'];
  t.same(parseStatementText(signed.join('\n')), { ok: true, statement: expected }, 'nothing after the signature delimiter counts');
  const forwarded = [...STATEMENT, '-----Original Message-----', 'Case: other'];
  t.same(parseStatementText(forwarded.join('\n')), { ok: true, statement: expected }, 'nor after an original message');
  const multi = [...STATEMENT.slice(0, 4), 'Statement: Fixed in 2.4.1;', '> quoted in the middle', 'upgrade.'];
  t.same(
    parseStatementText(multi.join('\n')),
    { ok: true, statement: { ...expected, text: 'Fixed in 2.4.1;\nupgrade.' } },
    'a quote inside the statement is not part of it',
  );
});

t.test('what is not a statement is refused with the reason', async (t) => {
  t.same(parseStatementText('Hello, we are looking into it.'), {
    ok: false,
    reason: 'not a "Field: value" line: "Hello, we are looking into it."',
  });
  t.same(parseStatementText(['Case: a', 'Product: b'].join('\n')), {
    ok: false,
    reason: 'the statement needs Case, Product and Status lines',
  });
  t.match(parseStatementText(['Case: a', 'Product: b', 'Status: maybe'].join('\n')), { ok: false, reason: /Status must be one of/ });
  t.same(parseStatementText(['Case: a', 'Case: b'].join('\n')), { ok: false, reason: '"Case" appears twice' });
  t.same(
    parseStatementText(['> Case: a', '> Product: b', '> Status: affected'].join('\n')),
    { ok: false, reason: 'the statement needs Case, Product and Status lines' },
    'a quote alone is not a statement',
  );
});
