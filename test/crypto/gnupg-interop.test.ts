/**
 * Partner CSIRTs check Hikeshi output with stock GnuPG (2.2 is the oldest we
 * support) and may produce signatures with it, so these tests drive the real
 * gpg binary in a throwaway GNUPGHOME.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

import t, { type Test } from 'tap';

import {
  canonicalBytes,
  openSealed,
  readPeerKey,
  sealForRecipient,
  signDocument,
  verifyDocumentSignature,
} from '../../src/crypto/index.js';
import { parseEddsaSignature } from '../../src/crypto/native-eddsa.js';
import { FIXTURE_KEY_NAMES, loadFixtureKey, loadFixturePeerKey, loadFixtureSigner } from '../fixtures/keys/index.js';

const gpgAvailable = spawnSync('gpg', ['--version'], { stdio: 'ignore' }).error === undefined;
if (!gpgAvailable) {
  t.comment('SKIP: gpg is not on PATH; install GnuPG (CI does) to run the interop tests');
}
const skip = gpgAvailable ? false : 'gpg is not on PATH';

const report = { id: 'inc-2025-0099', title: 'Credential stuffing — Grüße 😀', severity: 2, tags: ['botnet', 'auth'] };

interface Gpg {
  home: string;
  run(args: string[], input?: string | Uint8Array): SpawnSyncReturns<Buffer>;
  file(name: string, content: string | Uint8Array): string;
}

function createGpg(t: Test): Gpg {
  const home = mkdtempSync(path.join(tmpdir(), 'hikeshi-gpg-'));
  const env = { ...process.env, GNUPGHOME: home, LC_ALL: 'C' };
  const run = (args: string[], input?: string | Uint8Array): SpawnSyncReturns<Buffer> =>
    spawnSync('gpg', ['--batch', '--no-tty', '--no-auto-key-locate', ...args], { env, input, timeout: 30_000 });
  t.teardown(() => {
    spawnSync('gpgconf', ['--kill', 'all'], { env, stdio: 'ignore' });
    rmSync(home, { recursive: true, force: true });
  });
  return {
    home,
    run,
    file(name, content) {
      const p = path.join(home, name);
      writeFileSync(p, content);
      return p;
    },
  };
}

function ok(t: Test, result: SpawnSyncReturns<Buffer>, what: string): void {
  t.equal(result.status, 0, `${what}${result.status === 0 ? '' : `: ${result.stderr.toString()}`}`);
}

t.test('gpg --verify accepts a Hikeshi signature over the canonical bytes', { skip }, async (t) => {
  const gpg = createGpg(t);
  const cc = loadFixtureKey('cc');
  ok(t, gpg.run(['--import'], cc.armoredPublicKey), 'import public key');

  const envelope = await signDocument(report, await loadFixtureSigner('cc'));
  const doc = gpg.file('doc.json', canonicalBytes(envelope.document));
  const sig = gpg.file('sig.asc', envelope.signature);

  const verified = gpg.run(['--status-fd', '1', '--verify', sig, doc]);
  ok(t, verified, 'gpg --verify');
  t.match(verified.stdout.toString(), new RegExp(`^\\[GNUPG:\\] VALIDSIG ${cc.fingerprint} `, 'm'));

  const tampered = gpg.file('tampered.json', canonicalBytes({ ...envelope.document, severity: 5 }));
  const rejected = gpg.run(['--status-fd', '1', '--verify', sig, tampered]);
  t.not(rejected.status, 0, 'tampered document fails');
  t.match(rejected.stdout.toString(), /^\[GNUPG:\] BADSIG /m);

  // Pretty-printed JSON is not the signed form: partners must canonicalize first.
  const pretty = gpg.file('pretty.json', JSON.stringify(envelope.document, null, 2));
  t.not(gpg.run(['--verify', sig, pretty]).status, 0, 'non-canonical serialization fails');
});

t.test('a gpg-made detached signature verifies in Hikeshi', { skip }, async (t) => {
  const gpg = createGpg(t);
  const bravo = loadFixtureKey('bravo');
  ok(
    t,
    gpg.run(
      ['--pinentry-mode', 'loopback', '--passphrase-fd', '0', '--import', gpg.file('bravo.asc', bravo.armoredPrivateKey)],
      bravo.passphrase,
    ),
    'import secret key',
  );

  const doc = gpg.file('doc.json', canonicalBytes(report));
  const sigPath = path.join(gpg.home, 'doc.json.asc');
  ok(
    t,
    gpg.run(
      [
        '--pinentry-mode',
        'loopback',
        '--passphrase-fd',
        '0',
        '--local-user',
        bravo.fingerprint,
        '--armor',
        '--detach-sign',
        '--output',
        sigPath,
        doc,
      ],
      bravo.passphrase,
    ),
    'gpg --detach-sign',
  );
  const signature = readFileSync(sigPath, 'utf8');
  t.ok(parseEddsaSignature(signature), 'a GnuPG signature takes the native fast path');

  const peer = await loadFixturePeerKey('bravo');
  t.match(await verifyDocumentSignature({ document: JSON.parse(JSON.stringify(report)) as unknown, signature }, peer), {
    ok: true,
    signerFingerprint: bravo.fingerprint,
  });
  t.match(await verifyDocumentSignature({ document: { ...report, severity: 3 }, signature }, peer), {
    ok: false,
    reason: 'bad-signature',
  });
  t.match(await verifyDocumentSignature({ document: report, signature }, await loadFixturePeerKey('alpha')), {
    ok: false,
    reason: 'wrong-key',
  });

  // Text-mode signatures (gpg --textmode / clearsign habits) are accepted too; canonical JSON has no line endings to normalize.
  const textSigPath = path.join(gpg.home, 'doc.text.asc');
  ok(
    t,
    gpg.run(
      [
        '--pinentry-mode',
        'loopback',
        '--passphrase-fd',
        '0',
        '--local-user',
        bravo.fingerprint,
        '--textmode',
        '--armor',
        '--detach-sign',
        '--output',
        textSigPath,
        doc,
      ],
      bravo.passphrase,
    ),
    'gpg --textmode --detach-sign',
  );
  t.match(await verifyDocumentSignature({ document: report, signature: readFileSync(textSigPath, 'utf8') }, peer), {
    ok: true,
  });
});

t.test('gpg decrypts a sealed message and Hikeshi opens gpg-encrypted messages', { skip }, async (t) => {
  const gpg = createGpg(t);
  const cc = loadFixtureKey('cc');
  ok(t, gpg.run(['--import', gpg.file('cc.asc', cc.armoredPrivateKey)]), 'import secret key');

  const plaintext = JSON.stringify(await signDocument(report, await loadFixtureSigner('alpha')));
  const sealed = await sealForRecipient(plaintext, await loadFixturePeerKey('cc'));
  const decrypted = gpg.run(['--decrypt', gpg.file('sealed.asc', sealed)]);
  ok(t, decrypted, 'gpg --decrypt');
  t.equal(decrypted.stdout.toString('utf8'), plaintext);

  const encrypted = gpg.run(['--trust-model', 'always', '--armor', '--encrypt', '--recipient', cc.fingerprint], plaintext);
  ok(t, encrypted, 'gpg --encrypt');
  t.equal(await openSealed(encrypted.stdout.toString(), await loadFixtureSigner('cc')), plaintext);
});

t.test('a compressed gpg message cannot inflate past the size limit', { skip }, async (t) => {
  const gpg = createGpg(t);
  const cc = loadFixtureKey('cc');
  ok(t, gpg.run(['--import'], cc.armoredPublicKey), 'import public key');
  const bomb = gpg.run(
    ['--trust-model', 'always', '--compress-algo', 'zlib', '-z', '9', '--armor', '--encrypt', '--recipient', cc.fingerprint],
    Buffer.alloc(4 * 1024 * 1024, 0x20),
  );
  ok(t, bomb, 'gpg --encrypt (compressed)');
  const armored = bomb.stdout.toString();
  t.ok(armored.length < 64 * 1024, 'compresses well');
  await t.rejects(openSealed(armored, await loadFixtureSigner('cc'), { maxPlaintextBytes: 1024 * 1024 }), {
    name: 'SealedMessageError',
    reason: 'too-large',
  });
});

t.test('gpg imports every fixture key and agrees on fingerprints', { skip }, async (t) => {
  const gpg = createGpg(t);
  for (const name of FIXTURE_KEY_NAMES) {
    const fixture = loadFixtureKey(name);
    const shown = gpg.run(['--with-colons', '--show-keys'], fixture.armoredPublicKey);
    ok(t, shown, `gpg --show-keys ${name}`);
    const fprs = [...shown.stdout.toString().matchAll(/^fpr:+([0-9A-F]{40}):/gm)].map((m) => m[1]);
    t.same(fprs, (await readPeerKey(fixture.armoredPublicKey)).keyFingerprints, name);
    t.match(shown.stdout.toString(), /^pub:[^:]*:255:22:/m, `${name}: EdDSA (22) primary on curve25519`);
  }
});
