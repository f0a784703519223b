import t from 'tap';

import {
  canonicalBytes,
  canonicalize,
  canonicalizeJsonData,
  canonicalizeWithKnown,
  canonicalTextOf,
  CanonicalizationError,
  freezeWithCanonicalText,
  MAX_CANONICAL_DEPTH,
} from '../../src/crypto/index.js';
import { canonicalizeStrictly } from '../../src/crypto/canonical-json.js';

function fromIeee754Hex(hex: string): number {
  const view = new DataView(new ArrayBuffer(8));
  view.setBigUint64(0, BigInt(`0x${hex}`));
  return view.getFloat64(0);
}

t.test('RFC 8785 section 3.2.2 sample: numbers, escapes, literals', async (t) => {
  // Parsed from text so the number literals go through the same JSON parser a peer would use.
  const input = JSON.parse(String.raw`{
    "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
    "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
    "literals": [null, true, false]
  }`) as unknown;
  const expected = String.raw`{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}`;
  t.equal(canonicalize(input), expected);
  // "€" must be emitted raw as UTF-8 (E2 82 AC), not as a \u escape.
  const bytes = Buffer.from(canonicalBytes(input));
  const at = bytes.indexOf('"string":"') + '"string":"'.length;
  t.equal(bytes.subarray(at, at + 4).toString('hex'), 'e282ac24');
  t.equal(Buffer.from(bytes).toString('utf8'), expected);
});

t.test('RFC 8785 section 3.2.3 sample: keys sorted by UTF-16 code units', async (t) => {
  const input = JSON.parse(String.raw`{
    "\u20ac": "Euro Sign",
    "\r": "Carriage Return",
    "\ufb33": "Hebrew Letter Dalet With Dagesh",
    "1": "One",
    "\ud83d\ude00": "Emoji: Grinning Face",
    "\u0080": "Control",
    "\u00f6": "Latin Small Letter O With Diaeresis"
  }`) as unknown;
  t.equal(
    canonicalize(input),
    '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis",' +
      '"\u20ac":"Euro Sign","\ud83d\ude00":"Emoji: Grinning Face","\ufb33":"Hebrew Letter Dalet With Dagesh"}',
  );
});

t.test('UTF-16 order differs from code point order for astral vs high BMP keys', async (t) => {
  // U+1F600 is D83D DE00 in UTF-16, which sorts before U+FB33 even though its code point is larger.
  t.equal(canonicalize({ '\ufb33': 1, '\u{1F600}': 2 }), '{"\u{1F600}":2,"\ufb33":1}');
  // Integer-like keys are not special: JS enumerates them first, JCS sorts them as strings.
  t.equal(canonicalize({ b: 1, 10: 2, 9: 3, a: 4 }), '{"10":2,"9":3,"a":4,"b":1}');
});

t.test('RFC 8785 appendix B number serialization', async (t) => {
  const cases: [string, string][] = [
    ['0000000000000000', '0'],
    ['8000000000000000', '0'],
    ['0000000000000001', '5e-324'],
    ['8000000000000001', '-5e-324'],
    ['7fefffffffffffff', '1.7976931348623157e+308'],
    ['ffefffffffffffff', '-1.7976931348623157e+308'],
    ['4340000000000000', '9007199254740992'],
    ['c340000000000000', '-9007199254740992'],
    ['4430000000000000', '295147905179352830000'],
    ['44b52d02c7e14af5', '9.999999999999997e+22'],
    ['44b52d02c7e14af6', '1e+23'],
    ['44b52d02c7e14af7', '1.0000000000000001e+23'],
    ['444b1ae4d6e2ef4e', '999999999999999700000'],
    ['444b1ae4d6e2ef4f', '999999999999999900000'],
    ['444b1ae4d6e2ef50', '1e+21'],
    ['3eb0c6f7a0b5ed8c', '9.999999999999997e-7'],
    ['3eb0c6f7a0b5ed8d', '0.000001'],
    ['41b3de4355555553', '333333333.3333332'],
    ['41b3de4355555554', '333333333.33333325'],
    ['41b3de4355555555', '333333333.3333333'],
    ['41b3de4355555556', '333333333.3333334'],
    ['41b3de4355555557', '333333333.33333343'],
    ['becbf647612f3696', '-0.0000033333333333333333'],
    ['43143ff3c1cb0959', '1424953923781206.2'],
  ];
  for (const [hex, expected] of cases) {
    t.equal(canonicalize(fromIeee754Hex(hex)), expected, `0x${hex}`);
  }
  for (const hex of ['7fffffffffffffff', '7ff0000000000000', 'fff0000000000000']) {
    t.throws(() => canonicalize([fromIeee754Hex(hex)]), CanonicalizationError, `0x${hex} is rejected`);
  }
});

t.test('whitespace-free output for nested arrays and objects', async (t) => {
  const input = { z: [[], [[1, [2, { b: true, a: null }]]], {}], a: { y: [' x '], x: '' } };
  t.equal(canonicalize(input), '{"a":{"x":"","y":[" x "]},"z":[[],[[1,[2,{"a":null,"b":true}]]],{}]}');
  t.equal(canonicalize([]), '[]');
  t.equal(canonicalize({}), '{}');
  t.equal(canonicalize('top'), '"top"');
  t.equal(canonicalize(null), 'null');
});

t.test('control characters use the escapes JSON.stringify produces', async (t) => {
  t.equal(canonicalize('\b\f\n\r\t\u0000\u001f"\\/\u007f'), '"\\b\\f\\n\\r\\t\\u0000\\u001f\\"\\\\/\u007f"');
});

t.test('canonical form is independent of input key order and formatting', async (t) => {
  const a = JSON.parse('{"b": [1, 2.0, {"d": 1, "c": 2}], "a": "x"}') as unknown;
  const b = JSON.parse('{"a":"x","b":[1,2,{"c":2,"d":1}]}') as unknown;
  t.equal(canonicalize(a), canonicalize(b));
  t.not(canonicalize({ a: [1, 2] }), canonicalize({ a: [2, 1] }), 'array order is significant');
});

t.test('rejects values JSON cannot represent instead of coercing them', async (t) => {
  const rejects: [string, unknown][] = [
    ['NaN', { a: Number.NaN }],
    ['Infinity', [Number.POSITIVE_INFINITY]],
    ['undefined property', { a: undefined }],
    ['undefined element', [undefined]],
    ['undefined root', undefined],
    ['function', { f: () => 1 }],
    ['bigint', { n: 1n }],
    ['symbol value', { s: Symbol('x') }],
    ['symbol key', { [Symbol('k')]: 1 }],
    ['Date', { d: new Date(0) }],
    ['Map', new Map()],
    ['class instance', new (class Report {})()],
    ['boxed string', { s: new String('x') }],
    // eslint-disable-next-line no-sparse-arrays -- a hole is the input under test
    ['sparse array', [1, , 3]],
    ['lone high surrogate', '\ud800'],
    ['lone low surrogate key', { '\udc00': 1 }],
    ['reversed surrogate pair', '\ude00\ud83d'],
  ];
  for (const [label, value] of rejects) {
    t.throws(() => canonicalize(value), CanonicalizationError, label);
  }
});

t.test('errors name the offending location', async (t) => {
  try {
    canonicalize({ items: [{ ok: 1 }, { 'a/b': Number.NaN }] });
    t.fail('should throw');
  } catch (error) {
    t.type(error, CanonicalizationError);
    t.equal((error as CanonicalizationError).path, '/items/1/a~1b');
  }
});

t.test('cycles are rejected, shared references are not', async (t) => {
  const cyclic: Record<string, unknown> = { a: 1 };
  cyclic['self'] = { back: cyclic };
  t.throws(() => canonicalize(cyclic), CanonicalizationError);
  const arr: unknown[] = [];
  arr.push(arr);
  t.throws(() => canonicalize(arr), CanonicalizationError);

  const shared = { x: 1 };
  t.equal(canonicalize({ a: shared, b: [shared, shared] }), '{"a":{"x":1},"b":[{"x":1},{"x":1}]}');
});

t.test('null-prototype objects and own __proto__ keys are plain JSON data', async (t) => {
  const bare = Object.assign(Object.create(null) as Record<string, unknown>, { b: 1, a: 2 });
  t.equal(canonicalize(bare), '{"a":2,"b":1}');
  const parsed = JSON.parse('{"__proto__":{"x":1},"a":0}') as unknown;
  t.equal(canonicalize(parsed), '{"__proto__":{"x":1},"a":0}');
});

t.test('nesting depth is bounded', async (t) => {
  let ok: unknown = 0;
  for (let i = 0; i < MAX_CANONICAL_DEPTH; i++) ok = [ok];
  t.doesNotThrow(() => canonicalize(ok));
  t.throws(() => canonicalize([ok]), CanonicalizationError);
});

t.test('does not mutate its input', async (t) => {
  const input = { b: [3, 1, 2], a: { d: 1, c: 2 } };
  const snapshot = JSON.stringify(input);
  canonicalize(input);
  t.equal(JSON.stringify(input), snapshot);
  t.same(Object.keys(input), ['b', 'a']);
});

t.test('the lean path and the strict serializer agree on generated JSON data', async (t) => {
  // A fixed-seed generator: strings with escapes, astral and BMP characters, integer-like and
  // empty keys, numbers of every magnitude, nesting, null-prototype objects.
  let seed = 0x5eed;
  const next = (n: number): number => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const chars = ['a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\u0000', '\u001f', '\u007f', 'é', '\u2028', '\ufb33', '\u{1F600}', '€'];
  const text = (): string => Array.from({ length: next(6) }, () => chars[next(chars.length)]).join('');
  const numbers = [0, -0, 1, -1, 0.1, 1e21, 1e-7, 123456789.125, Number.MAX_SAFE_INTEGER, -5e-324, 333333333.3333333];
  const value = (depth: number): unknown => {
    switch (depth > 4 ? next(4) : next(7)) {
      case 0:
        return text();
      case 1:
        return numbers[next(numbers.length)];
      case 2:
        return [true, false, null][next(3)];
      case 3:
        return next(2) ? String(next(20)) : null;
      case 4:
        return Array.from({ length: next(4) }, () => value(depth + 1));
      default: {
        const o: Record<string, unknown> = next(5) === 0 ? Object.create(null) : {};
        for (let i = next(5); i > 0; i--) o[next(3) === 0 ? String(next(12)) : text()] = value(depth + 1);
        return o;
      }
    }
  };
  const differ: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const v = value(0);
    const strict = canonicalizeStrictly(v);
    if (canonicalize(v) !== strict || canonicalize(JSON.parse(strict)) !== strict) differ.push(strict);
  }
  t.same(differ, [], 'no generated value canonicalises differently');
  // Where the lean path declines, the strict serializer decides (and names the place).
  const refusedAt = (value: unknown): string | null => {
    try {
      canonicalize(value);
      return null;
    } catch (err) {
      return err instanceof CanonicalizationError ? err.path : String(err);
    }
  };
  t.equal(refusedAt({ a: [{ b: 'x\ud800' }] }), '/a/0/b');
  // eslint-disable-next-line no-sparse-arrays -- a hole is the input under test
  t.equal(refusedAt({ a: [1, , 3] }), '/a/1');
  t.equal(refusedAt({ a: { [Symbol('s')]: 1 } }), '/a');
  // Keys already in order take JSON.stringify's path, which must refuse the same things.
  t.equal(refusedAt({ a: 1, b: Number.NaN }), '/b');
  t.equal(refusedAt({ a: 1, b: new Date(0) }), '/b');
  t.equal(refusedAt({ a: 1, b: undefined }), '/b');
  t.equal(refusedAt({ a: 1, b: () => 1 }), '/b');
  const withToJson = Object.assign([1, 2], { toJSON: () => 'other' });
  t.equal(canonicalize({ a: withToJson }), '{"a":[1,2]}', "an array's own toJSON is not followed");
  t.equal(canonicalize({ a: '\u2028\u0007"\\' }), JSON.stringify({ a: '\u2028\u0007"\\' }));
  t.equal(canonicalize({ b: 1, a: 2 }), '{"a":2,"b":1}', 'keys out of order are sorted');
  t.equal(canonicalize({ a: { c: 1, b: [{ z: 1, y: 2 }] } }), '{"a":{"b":[{"y":2,"z":1}],"c":1}}');
});

t.test('canonicalizeJsonData is the canonical text after a JSON round trip, in one walk', async (t) => {
  const when = new Date('2026-12-07T00:00:00.000Z');
  const cases: unknown[] = [
    { b: 1, a: undefined, c: [1, 'x', null, { z: true, y: undefined }] },
    { at: when, nested: { list: [when], n: -0 } },
    { withToJson: { toJSON: () => 'as text' }, ok: 'ü\u2028' },
    Object.assign([1, 2], { toJSON: () => 'array as text' }),
    [undefined, () => 1, Number.NaN],
    { f: () => 1, s: Symbol('x') as unknown, keep: 1 },
    'plain',
    42,
  ];
  cases.forEach((value, i) => {
    t.equal(canonicalizeJsonData(value), canonicalize(JSON.parse(JSON.stringify(value))), `case ${i}`);
  });
  t.throws(() => canonicalizeJsonData({ big: 1n }), 'what JSON cannot carry still fails');
});

t.test('canonicalizeWithKnown writes a known part as given and equals canonicalize otherwise', async (t) => {
  const part = { z: 1, a: [2, { y: 'é', b: null }] };
  const document = {
    to: 'peer',
    body: {
      items: [
        { report: part, position: '1.1' },
        { report: part, position: '1.2' },
      ],
    },
  };
  const partText = canonicalize(part);
  t.equal(canonicalizeWithKnown(document, new Map([[part, partText]])), canonicalize(document), 'same bytes as walking it');
  t.equal(canonicalizeWithKnown(document, new Map()), canonicalize(document), 'nothing known: canonicalize');
  // The text given is what is written: the caller's promise that it is the part's own.
  const marked = canonicalizeWithKnown(document, new Map([[part, '{"stand-in":true}']]));
  t.equal((marked.match(/"stand-in"/g) ?? []).length, 2, 'each place of the part holds the given text');
  t.same(JSON.parse(marked).body.items[0].report, { 'stand-in': true });
});

t.test('freezeWithCanonicalText: frozen at every depth, its text the canonical text wherever it is written', async (t) => {
  // Keys out of order (the sorting path) and in order (JSON.stringify's path) give the same texts.
  for (const part of [
    { z: 1, a: [2, { y: 'é', b: null }] },
    { a: [2, { b: null, y: 'é' }], z: 1 },
  ]) {
    const expected = canonicalize(structuredClone(part));
    t.equal(freezeWithCanonicalText(part), part, 'the same object back');
    t.equal(canonicalTextOf(part), expected);
    t.ok(Object.isFrozen(part) && Object.isFrozen(part.a) && Object.isFrozen(part.a[1]), 'frozen at every depth');
    t.throws(() => {
      (part.a as unknown[]).push(3);
    }, 'cannot change, so the text cannot go stale');
    const document = { list: [part, { part }], n: 1 };
    t.equal(canonicalize(document), canonicalize(structuredClone(document)), 'canonicalize writes the text');
    t.equal(canonicalizeJsonData(document), canonicalize(structuredClone(document)), 'canonicalizeJsonData writes the text');
  }
  t.equal(canonicalTextOf({ a: 1 }), undefined, 'nothing remembered for what was not frozen');
  t.throws(() => freezeWithCanonicalText({ a: undefined }), CanonicalizationError, 'what is not JSON data is refused');
});
