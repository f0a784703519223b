import t from 'tap';
import {
  CURRENT_PARAMETERS,
  generatePassword,
  hashPassword,
  needsRehash,
  verifyPassword,
} from '../../src/modules/accounts/password-hash.js';
import { base32Decode, base32Encode, hotp, matchTotp, otpauthUri, totpAt, totpStep } from '../../src/modules/accounts/totp.js';

/** Password hashes (scrypt, parameters in the hash) and TOTP against RFC 6238's own test vectors. */

t.test('scrypt at the production parameters: verifies, refuses, carries its parameters', async (t) => {
  const stored = await hashPassword('correct horse battery staple');
  t.match(stored, /^\$scrypt\$ln=17,r=8,p=1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
  t.equal(CURRENT_PARAMETERS.ln, 17, '128 MiB: OWASP minimum for scrypt');
  t.ok(await verifyPassword('correct horse battery staple', stored));
  t.notOk(await verifyPassword('correct horse battery stapl', stored));
  t.notOk(needsRehash(stored));
  t.not(await hashPassword('correct horse battery staple'), stored, 'a fresh salt every time');
});

t.test('lower parameters still verify, and ask to be rehashed', async (t) => {
  const weak = await hashPassword('pässwörd long enough', { ln: 10, r: 8, p: 1 });
  t.ok(await verifyPassword('pässwörd long enough', weak));
  t.ok(await verifyPassword('pa\u0308sswo\u0308rd long enough', weak), 'NFC: the same password typed decomposed');
  t.ok(needsRehash(weak));
  t.notOk(needsRehash(weak, { ln: 10, r: 8, p: 1 }));
});

t.test('a malformed or tampered hash verifies nothing and cannot ask for huge memory', async (t) => {
  for (const bad of ['', 'plain', '$scrypt$ln=30,r=8,p=1$AAAA$AAAA', '$scrypt$ln=17,r=8,p=1$AAAA', '$argon2id$v=19$m=65536$x$y'])
    t.notOk(await verifyPassword('anything at all', bad), bad || '(empty)');
});

t.test('generated passwords: 24 characters from an unambiguous alphabet, never the same', async (t) => {
  const a = generatePassword();
  t.match(a, /^[a-km-zA-HJ-NP-Z2-9]{24}$/);
  t.not(a, generatePassword());
});

// RFC 6238 appendix B: the seeds are ASCII "1234567890" repeated to the hash's length.
const seed20 = Buffer.from('12345678901234567890');
const seed32 = Buffer.from('12345678901234567890123456789012');
const seed64 = Buffer.from('1234567890123456789012345678901234567890123456789012345678901234');
const VECTORS: Array<[number, string, string, string]> = [
  [59, '94287082', '46119246', '90693936'],
  [1111111109, '07081804', '68084774', '25091201'],
  [1111111111, '14050471', '67062674', '99943326'],
  [1234567890, '89005924', '91819424', '93441116'],
  [2000000000, '69279037', '90698825', '38618901'],
  [20000000000, '65353130', '77737706', '47863826'],
];

t.test('RFC 6238 test vectors (SHA-1, SHA-256, SHA-512; 8 digits)', async (t) => {
  for (const [seconds, sha1, sha256, sha512] of VECTORS) {
    const at = new Date(seconds * 1000);
    t.equal(totpAt(seed20, at, 8, 'sha1'), sha1, `SHA-1 at ${seconds}`);
    t.equal(totpAt(seed32, at, 8, 'sha256'), sha256, `SHA-256 at ${seconds}`);
    t.equal(totpAt(seed64, at, 8, 'sha512'), sha512, `SHA-512 at ${seconds}`);
  }
  // RFC 4226 appendix D: HOTP, 6 digits.
  const hotpVectors = ['755224', '287082', '359152', '969429', '338314', '254676', '287922', '162583', '399871', '520489'];
  hotpVectors.forEach((code, counter) => t.equal(hotp(seed20, counter), code, `HOTP counter ${counter}`));
});

t.test('6-digit codes: this step, one before, one after; never two away', async (t) => {
  const secret = base32Encode(seed20);
  t.equal(secret, 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ', 'base32 of the RFC seed');
  t.same(base32Decode(secret), seed20);
  const at = new Date(1111111109 * 1000);
  const step = totpStep(at);
  t.equal(matchTotp(secret, '081804', at), step, 'the RFC code, 6 digits');
  t.equal(matchTotp(secret, hotp(seed20, step - 1), at), step - 1);
  t.equal(matchTotp(secret, hotp(seed20, step + 1), at), step + 1);
  t.equal(matchTotp(secret, hotp(seed20, step + 2), at), null);
  t.equal(matchTotp(secret, hotp(seed20, step - 2), at), null);
  for (const bad of ['', '12345', '1234567', 'abcdef', '08180４']) t.equal(matchTotp(secret, bad, at), null, `malformed ${bad}`);
});

t.test('otpauth URI', async (t) => {
  const uri = new URL(otpauthUri('Hikeshi alpha', 'hanako', 'ABC'));
  t.equal(uri.protocol, 'otpauth:');
  t.equal(uri.host, 'totp');
  t.equal(decodeURIComponent(uri.pathname), '/Hikeshi alpha:hanako');
  t.equal(uri.searchParams.get('secret'), 'ABC');
  t.equal(uri.searchParams.get('digits'), '6');
  t.equal(uri.searchParams.get('period'), '30');
  t.equal(uri.searchParams.get('algorithm'), 'SHA1');
});
