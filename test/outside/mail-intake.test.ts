import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTransport } from 'nodemailer';
import t from 'tap';
import { buildTestNode } from '../helpers/build-test-app.js';
import { addPeer, api, fastDelivery, messageDocument, sign, trustPeer, waitFor } from '../helpers/federation-harness.js';
import { mailConfig } from '../helpers/mail-relay.js';
import { runCli } from '../helpers/cli-runner.js';
import { loadFixtureKey, loadFixtureSigner } from '../fixtures/keys/index.js';
import { envelopeText } from '../../src/modules/exchange/exchange.module.js';
import { composeEnvelopeMail } from '../../src/modules/exchange/mail-outgoing.js';
import { CRLF, envelopePart, signedEntity } from '../../src/modules/exchange/mail-mime.js';

/**
 * Issue 17 part 5, the incoming side: bravo's SMTP listener on loopback takes mail from alpha
 * (a peer whose e-mail address bravo knows) and from strangers. Federation envelopes in PGP/MIME
 * go through the inbox; reports people wrote with GnuPG (the gpg binary, alpha's fixture key)
 * are filed as incidents; everything else is quarantined with a reason and audited, and the
 * listener refuses oversize mail and mail bombs.
 */
fastDelivery();
const alpha = await buildTestNode(t, { key: 'alpha', listen: true });
const bravo = await buildTestNode(t, {
  key: 'bravo',
  listen: true,
  config: { mail: mailConfig(null, 'csirt@bravo.test', { maxMessageBytes: 64 * 1024, perSenderPerHour: 20 }) },
});
await addPeer(bravo, alpha);
await trustPeer(bravo, alpha);
const patched = await api(bravo, 'PATCH', '/peers/alpha', 'admin', { email: 'CSIRT@alpha.test' });
if (patched.statusCode !== 200) throw new Error(`PATCH: ${patched.body}`);
const { port } = await bravo.app.federation.mail.listen();
const smtp = createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });

/** Hands a raw message to bravo's listener over SMTP; answers the server's refusal code, or null when taken. */
async function mail(raw: string, envelopeFrom = 'csirt@alpha.test'): Promise<number | null> {
  try {
    await smtp.sendMail({ envelope: { from: envelopeFrom, to: ['csirt@bravo.test'] }, raw });
    return null;
  } catch (err) {
    return (err as { responseCode?: number }).responseCode ?? -1;
  }
}

const headers = (from: string, subject: string) =>
  [`From: ${from}`, 'To: csirt@bravo.test', `Subject: ${subject}`, `Date: ${new Date().toUTCString()}`, 'MIME-Version: 1.0'].join(CRLF);

async function quarantined(): Promise<Array<{ id: string; reason: string; headerFrom: string | null; detail: string }>> {
  const res = await api(bravo, 'GET', '/mail/quarantine?limit=500', 'handler');
  if (res.statusCode !== 200) throw new Error(res.body);
  return res.json().items;
}

async function lastQuarantined(): Promise<{ id: string; reason: string; headerFrom: string | null; detail: string }> {
  return (await quarantined())[0]!;
}

async function auditKinds(kind: string): Promise<Array<{ details: Record<string, unknown> }>> {
  const res = await api(bravo, 'GET', `/audit?kind=${kind}&limit=500`, 'admin');
  if (res.statusCode !== 200) throw new Error(res.body);
  return res.json().items;
}

async function incidentsTitled(
  title: string,
): Promise<Array<{ ref: string; tlp: string; summary: string; reporter: { organisation?: string } }>> {
  const res = await api(bravo, 'GET', '/incidents?limit=500', 'reader');
  return (
    res.json().items as Array<{ title: string; ref: string; tlp: string; summary: string; reporter: { organisation?: string } }>
  ).filter((i) => i.title === title);
}

// -------------------------------------------------------------------------------------------------
// GnuPG, driven for real with alpha's fixture key

const gpgAvailable = spawnSync('gpg', ['--version'], { stdio: 'ignore' }).error === undefined;
const skip = gpgAvailable ? false : 'gpg is not on PATH';
const home = mkdtempSync(path.join(tmpdir(), 'hikeshi-mail-gpg-'));
const gpgEnv = { ...process.env, GNUPGHOME: home, LC_ALL: 'C' };
const gpg = (args: string[], input?: string) =>
  spawnSync('gpg', ['--batch', '--no-tty', '--pinentry-mode', 'loopback', '--passphrase-fd', '0', ...args], {
    env: gpgEnv,
    input: input ?? '',
    timeout: 30_000,
  });
t.teardown(() => {
  spawnSync('gpgconf', ['--kill', 'all'], { env: gpgEnv, stdio: 'ignore' });
  rmSync(home, { recursive: true, force: true });
});
const alphaKey = loadFixtureKey('alpha');
if (gpgAvailable) {
  writeFileSync(path.join(home, 'alpha.asc'), alphaKey.armoredPrivateKey);
  gpg(['--import', path.join(home, 'alpha.asc')], alphaKey.passphrase ?? '');
}

function gpgDetachSign(bytes: string): string {
  const file = path.join(home, `part-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(file, Buffer.from(bytes, 'latin1'));
  const run = gpg(
    ['--local-user', alphaKey.fingerprint, '--armor', '--detach-sign', '--digest-algo', 'SHA256', '--output', `${file}.asc`, file],
    alphaKey.passphrase ?? '',
  );
  if (run.status !== 0) throw new Error(run.stderr.toString());
  return readFileSync(`${file}.asc`, 'latin1');
}

function gpgClearSign(text: string): string {
  const file = path.join(home, `text-${Math.random().toString(36).slice(2)}.txt`);
  writeFileSync(file, text);
  const run = gpg(['--local-user', alphaKey.fingerprint, '--clearsign', '--output', `${file}.asc`, file], alphaKey.passphrase ?? '');
  if (run.status !== 0) throw new Error(run.stderr.toString());
  return readFileSync(`${file}.asc`, 'utf8');
}

/** A PGP/MIME signed text message as a mail client with GnuPG makes it. */
function gpgPgpMime(from: string, subject: string, text: string, tamper = false): string {
  const part = ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', '', ...text.split('\n')].join(CRLF);
  const signature = gpgDetachSign(part);
  const sent = tamper ? part.replace('phishing', 'PHISHING') : part;
  return `${headers(from, subject)}${CRLF}${signedEntity(sent, signature, 'pgp-sha256')}`;
}

t.test('a clear-signed report written with GnuPG is filed once as an incident', { skip }, async (t) => {
  const signed = gpgClearSign('TLP:GREEN\nA phishing wave hits our constituency since Monday.\n- sender: billing@paypa1.example\n');
  const raw = `${headers('Alpha CSIRT <csirt@alpha.test>', 'Phishing wave')}${CRLF}Content-Type: text/plain; charset=utf-8${CRLF}${CRLF}${signed.replace(/\r?\n/g, CRLF)}`;
  t.equal(await mail(raw), null, 'the listener takes it');
  const [incident] = await waitFor('filed', async () => {
    const found = await incidentsTitled('Phishing wave');
    return found.length ? found : null;
  });
  t.equal(incident!.tlp, 'GREEN', 'the TLP label in the signed text sets the label');
  t.match(incident!.summary, /phishing wave hits our constituency/);
  t.equal(incident!.reporter.organisation, 'alpha', 'reported by the peer whose key signed it');
  t.equal(await mail(raw), null);
  await waitFor('the repeat audited', async () => (await auditKinds('mail-report-filed')).length >= 1);
  t.equal((await incidentsTitled('Phishing wave')).length, 1, 'the same signed text files once');
});

t.test('a PGP/MIME message made with GnuPG is filed; the same message tampered with is quarantined', { skip }, async (t) => {
  t.equal(await mail(gpgPgpMime('csirt@alpha.test', 'Scan report', 'Port scans from 198.51.100.7, phishing kit attached.\n')), null);
  await waitFor('filed', async () => (await incidentsTitled('Scan report')).length === 1);
  t.equal((await incidentsTitled('Scan report'))[0]!.tlp, 'AMBER', 'no label in the text: AMBER');

  t.equal(await mail(gpgPgpMime('csirt@alpha.test', 'Tampered', 'Port scans, phishing.\n', true)), null);
  const held = await lastQuarantined();
  t.equal(held.reason, 'bad-signature');
  t.equal((await incidentsTitled('Tampered')).length, 0, 'nothing filed');
});

t.test('a federation envelope by mail goes through the inbox: filed once, refused documents quarantined with the code', async (t) => {
  const signer = await loadFixtureSigner('alpha');
  const envelope = await sign(
    messageDocument(
      'alpha',
      'bravo',
      'investigation.request',
      { ref: 'ALPHA#2026-1', question: 'Do you see 198.51.100.7?', hosts: [{ ip: '198.51.100.7', role: 'source' }] },
      { tlp: 'GREEN' },
    ),
    'alpha',
  );
  const text = envelopeText(JSON.stringify(envelope.document), envelope.signature);
  const raw = await composeEnvelopeMail(
    signer,
    { from: 'csirt@alpha.test', to: 'csirt@bravo.test', subject: 'Hikeshi signed message', date: new Date() },
    text,
    null,
  );
  const before = (await quarantined()).length;
  t.equal(await mail(raw), null);
  t.equal(await mail(raw), null, 'a repeat is taken');
  t.equal((await quarantined()).length, before, 'filed, not quarantined');
  const requests = await auditKinds('inbox-replay');
  t.equal(requests.length, 1, 'the repeat was recognised by the inbox (idempotency by document id)');
  const wrongRecipient = await sign(
    messageDocument(
      'alpha',
      'cc',
      'investigation.request',
      { ref: 'ALPHA#2026-2', question: 'x', hosts: [{ ip: '198.51.100.8', role: 'source' }] },
      { tlp: 'GREEN' },
    ),
    'alpha',
  );
  const raw2 = await composeEnvelopeMail(
    signer,
    { from: 'csirt@alpha.test', to: 'csirt@bravo.test', subject: 's', date: new Date() },
    envelopeText(JSON.stringify(wrongRecipient.document), wrongRecipient.signature),
    null,
  );
  t.equal(await mail(raw2), null);
  const items = await quarantined();
  t.equal(items.length, before + 1, 'only the refused one is quarantined');
  t.equal(items[0]!.reason, 'wrong-recipient', "the inbox's problem code is the reason");
  t.ok(
    (await auditKinds('inbox-rejection')).some((e) => e.details['code'] === 'wrong-recipient'),
    'the inbox audited the refusal',
  );
});

t.test('unknown key, unknown sender, unsigned, malformed: quarantined with reasons, audited, readable whole', async (t) => {
  const mallory = await loadFixtureSigner('mallory');
  const part = envelopePart('{"document":{},"signature":""}');
  const malloryMail = `${headers('csirt@alpha.test', 'Hello')}${CRLF}${signedEntity(part, await mallory.signDetached(part), 'pgp-sha512')}`;
  t.equal(await mail(malloryMail), null);
  const wrongKey = await lastQuarantined();
  t.equal(wrongKey.reason, 'wrong-key', "signed by a key other than alpha's");

  t.equal(
    await mail(
      `${headers('stranger@else.test', 'Hi')}${CRLF}${signedEntity(part, await mallory.signDetached(part), 'pgp-sha512')}`,
      'stranger@else.test',
    ),
    null,
  );
  t.equal((await lastQuarantined()).reason, 'unknown-sender');

  const unsigned = `${headers('csirt@alpha.test', 'Plain')}${CRLF}Content-Type: text/plain${CRLF}${CRLF}Just a plain mail.${CRLF}`;
  t.equal(await mail(unsigned), null);
  const plain = await lastQuarantined();
  t.equal(plain.reason, 'unsigned');

  const broken = `${headers('csirt@alpha.test', 'Broken')}${CRLF}Content-Type: multipart/signed; protocol="application/pgp-signature"${CRLF}${CRLF}no boundary${CRLF}`;
  t.equal(await mail(broken), null);
  t.equal((await lastQuarantined()).reason, 'malformed-mime');

  const one = await api(bravo, 'GET', `/mail/quarantine/${plain.id}`, 'handler');
  t.equal(one.statusCode, 200);
  t.match(Buffer.from(one.json().raw, 'base64').toString('utf8'), /Just a plain mail\./, 'kept whole');
  t.equal((await api(bravo, 'GET', '/mail/quarantine', 'reader')).statusCode, 403, 'readers may not read quarantined mail');
  t.equal((await api(bravo, 'GET', '/mail/quarantine/00000000-0000-4000-8000-000000000000', 'handler')).json().code, 'not-found');
  t.equal((await api(bravo, 'GET', '/mail/quarantine?cursor=nonsense', 'handler')).json().code, 'validation-failed');
  t.equal((await api(bravo, 'GET', '/mail/quarantine?bogus=1', 'handler')).statusCode, 400);
  const noAddress = await api(bravo, 'PATCH', '/peers/alpha', 'admin', { email: null, mailOnly: true });
  t.equal(noAddress.json().code, 'validation-failed', 'mailOnly without an address is refused');
  const listed = await runCli(bravo, 'mail', 'quarantine');
  t.equal(listed.code, 0, listed.stderr);
  t.match(listed.stdout, /unsigned/, 'hikeshi mail quarantine lists them');
  const test = await api(bravo, 'POST', '/mail/test', 'admin', { to: 'a@b.test' });
  t.equal(test.json().code, 'mail-not-configured', 'no SMTP server configured: 409');
  const audited = await auditKinds('mail-quarantined');
  const reasons = audited.map((e) => e.details['reason']);
  for (const reason of ['wrong-key', 'unknown-sender', 'unsigned', 'malformed-mime']) t.ok(reasons.includes(reason), `audited: ${reason}`);
});

t.test('an oversize mail is refused at the listener, and audited', async (t) => {
  const big = `${headers('csirt@alpha.test', 'Big')}${CRLF}Content-Type: text/plain${CRLF}${CRLF}${'x'.repeat(100 * 1024)}${CRLF}`;
  t.equal(await mail(big, 'big@else.test'), 552);
  const refused = await auditKinds('mail-refused');
  t.ok(
    refused.some((e) => e.details['reason'] === 'too-large'),
    'audited as too-large',
  );
});

t.test('a mail bomb: past the per-sender hourly count the listener refuses, audited once', async (t) => {
  const codes: Array<number | null> = [];
  for (let i = 0; i < 24; i++) codes.push(await mail(`${headers('bomber@else.test', `n${i}`)}${CRLF}${CRLF}x${CRLF}`, 'bomber@else.test'));
  t.same(codes.slice(0, 20), Array(20).fill(null), 'the first 20 are taken (and quarantined)');
  t.same(codes.slice(20), [452, 452, 452, 452], 'then refused with a temporary error');
  const refused = (await auditKinds('mail-refused')).filter((e) => e.details['reason'] === 'rate-limited');
  t.equal(refused.length, 1, 'audited once per sender and hour');
});
