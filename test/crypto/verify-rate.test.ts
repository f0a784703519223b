import t from 'tap';

import { canonicalBytes, measureEd25519VerifyRate, measureOpenpgpVerifyRate } from '../../src/crypto/index.js';
import { sampleDocument } from '../../src/crypto/verify-rate.js';

t.test('sample document has the requested canonical size', async (t) => {
  t.equal(canonicalBytes(sampleDocument(2048)).length, 2048);
  t.equal(canonicalBytes(sampleDocument(4096)).length, 4096);
  t.throws(() => sampleDocument(10), RangeError);
});

t.test('both probes report a positive finite rate', async (t) => {
  const openpgp = await measureOpenpgpVerifyRate(0.2);
  const native = await measureEd25519VerifyRate(0.2);
  t.ok(Number.isFinite(openpgp) && openpgp > 0, `openpgp ${openpgp.toFixed(0)} ops/s`);
  t.ok(Number.isFinite(native) && native > 0, `ed25519 ${native.toFixed(0)} ops/s`);
  // The OpenPGP path does strictly more work (canonicalize, parse armor, key checks) than a bare verify.
  t.ok(native > openpgp, 'native Ed25519 is faster than the full OpenPGP receive path');
});

t.test('rejects nonsensical durations', async (t) => {
  await t.rejects(measureOpenpgpVerifyRate(0), RangeError);
  await t.rejects(measureEd25519VerifyRate(Number.NaN), RangeError);
});
