import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createTransport } from 'nodemailer';
import t from 'tap';
import { buildTestNode } from '../helpers/build-test-app.js';
import { addPeer, api, fastDelivery, messageDocument, sign, trustPeer, waitFor } from '../helpers/federation-harness.js';
import { mailConfig, readableMail, startMailRelay } from '../helpers/mail-relay.js';
import { runCli } from '../helpers/cli-runner.js';
import { loadFixtureKey, loadFixtureSigner, loadFixturePeerKey } from '../fixtures/keys/index.js';
import { verifyDetachedBytes } from '../../src/crypto/index.js';
import { envelopeText } from '../../src/modules/exchange/exchange.module.js';
import { composeEnvelopeMail } from '../../src/modules/exchange/mail-outgoing.js';
import {
  canonicalLines,
  contentTypeOf,
  CRLF,
  decodedBody,
  envelopePart,
  parseEntity,
  signedEntity,
  splitMultipart,
} from '../../src/modules/exchange/mail-mime.js';

/**
 * Issue 17 part 5, the incoming side: bravo's SMTP listener on loopback takes mail from alpha
 * (a peer whose e-mail address bravo knows) and from strangers. Federation envelopes in PGP/MIME
 * go through the inbox; reports people wrote with GnuPG (the gpg binary, alpha's fixture key)
 * are filed as incidents; everything else is quarantined with a reason and audited, and the
 * listener refuses oversize mail and mail bombs. A person's filed report gets a signed receipt
 * back (through a loopback SMTP relay), once per report mail; a quarantined one gets none.
 */
fastDelivery();
const relay = await startMailRelay();
t.teardown(() => relay.close());
const alpha = await buildTestNode(t, { key: 'alpha', listen: true });
const bravo = await buildTestNode(t, {
  key: 'bravo',
  listen: true,
  startWorker: true,
  config: { mail: mailConfig(relay.url, 'csirt@bravo.test', { maxMessageBytes: 64 * 1024, perSenderPerHour: 20 }) },
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

const headerOf = (raw: Buffer, name: string) => parseEntity(canonicalLines(raw.toString('latin1'))).headers.get(name) ?? '';

/** The receipts bravo mailed to alpha's address through the relay. */
const receipts = () => relay.messages.filter((m) => m.to.includes('csirt@alpha.test') && headerOf(m.raw, 'subject').startsWith('Receipt:'));

/** Waits two hand-over passes and more, then answers how many receipts went out: nothing new may have come. */
async function receiptsAfterAWhile(): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 600));
  return receipts().length;
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
  // Markers in the report's text: none of them may come back in the receipt.
  const markers = ['victim-rcpt7x.example', 'evid-rcpt7x', 'billing@paypa1.example', '10.77.7.150'];
  const signed = gpgClearSign(
    'TLP:GREEN\nReference: ALPHA-2026-17\nA phishing wave hits our constituency since Monday.\n- sender: billing@paypa1.example\n' +
      '- victim: victim-rcpt7x.example (10.77.7.150), evidence EVID-rcpt7x\n',
  );
  const raw = `${headers('Alpha CSIRT <csirt@alpha.test>', 'Phishing wave')}${CRLF}Message-ID: <report-rcpt-1@alpha.test>${CRLF}Reply-To: someone@elsewhere.test${CRLF}Content-Type: text/plain; charset=utf-8${CRLF}${CRLF}${signed.replace(/\r?\n/g, CRLF)}`;
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

  // The receipt: to the peer's address, signed with bravo's node key, our reference number, threaded.
  const [receipt] = await waitFor('the receipt is mailed', async () => (receipts().length ? receipts() : null));
  t.same(receipt!.to, ['csirt@alpha.test'], "to the address of the peer's record");
  t.equal(headerOf(receipt!.raw, 'to'), 'CSIRT@alpha.test', "as the record spells it, not the report's From");
  t.notOk(
    relay.messages.some((m) => m.to.includes('someone@elsewhere.test')),
    'never to a Reply-To',
  );
  t.equal(headerOf(receipt!.raw, 'in-reply-to'), '<report-rcpt-1@alpha.test>');
  t.equal(headerOf(receipt!.raw, 'references'), '<report-rcpt-1@alpha.test>');
  const top = parseEntity(canonicalLines(receipt!.raw.toString('latin1')));
  t.equal(contentTypeOf(top).type, 'multipart/signed', 'a GREEN report mailed in clear: a signed receipt in clear');
  const [part, sig] = splitMultipart(top.body, contentTypeOf(top).params.get('boundary'));
  const verdict = await verifyDetachedBytes(
    Buffer.from(part!, 'latin1'),
    decodedBody(parseEntity(sig!)).toString('latin1'),
    await loadFixturePeerKey('bravo'),
  );
  t.ok(verdict.ok, "signed with bravo's node key");
  const text = readableMail(receipt!.raw);
  t.ok(text.includes(incident!.ref.toLowerCase()), 'names our reference number');
  t.match(text, /your reference: +alpha-2026-17/, "names the sender's reference");
  t.match(text, /your subject: +phishing wave/, "names the sender's subject");
  t.same(
    markers.filter((m) => text.includes(m)),
    [],
    'carries nothing else of the report',
  );
  t.notMatch(headerOf(receipt!.raw, 'subject').toLowerCase(), /phishing/, 'the subject header says nothing of the report');
  await waitFor('the receipt is sent', async () => (await auditKinds('mail.receipt-sent')).length >= 1);
  const journal = (await api(bravo, 'GET', `/incidents/${encodeURIComponent(incident!.ref)}/journal`, 'reader')).json().items;
  t.ok(
    ['mail-receipt-queued', 'mail-receipt-sent'].every((k) => journal.some((e: { kind: string }) => e.kind === k)),
    'journaled',
  );
  const rows = await bravo.database.db.selectFrom('mail_report_receipt').select(['state', 'raw']).execute();
  t.same(rows, [{ state: 'sent', raw: '' }], 'once handed over, the composed mail is not kept');
  const queued = await auditKinds('mail.receipt-queued');
  t.equal(queued.length, 1, 'audited once');
  t.notMatch(JSON.stringify(queued), /phishing|rcpt7x/i, 'the audit holds ids and digests only');

  // The same report mail delivered again: filed already, no second receipt.
  t.equal(await mail(raw), null);
  t.equal(await receiptsAfterAWhile(), 1, 'a second delivery gives no second receipt');
});

t.test('a PGP/MIME message made with GnuPG is filed; the same message tampered with is quarantined', { skip }, async (t) => {
  const before = receipts().length;
  t.equal(await mail(gpgPgpMime('csirt@alpha.test', 'Scan report', 'Port scans from 198.51.100.7, phishing kit attached.\n')), null);
  await waitFor('filed', async () => (await incidentsTitled('Scan report')).length === 1);
  t.equal((await incidentsTitled('Scan report'))[0]!.tlp, 'AMBER', 'no label in the text: AMBER');
  const amber = await waitFor('the receipt is mailed', async () => receipts()[before] ?? null);
  t.equal(
    contentTypeOf(parseEntity(canonicalLines(amber.raw.toString('latin1')))).type,
    'multipart/encrypted',
    "AMBER: encrypted to alpha's key",
  );
  t.notMatch(readableMail(amber.raw), /198\.51\.100\.7|scan report/, 'nothing readable of the report');

  t.equal(await mail(gpgPgpMime('csirt@alpha.test', 'Tampered', 'Port scans, phishing.\n', true)), null);
  const held = await lastQuarantined();
  t.equal(held.reason, 'bad-signature');
  t.equal((await incidentsTitled('Tampered')).length, 0, 'nothing filed');
  const unsigned = `${headers('csirt@alpha.test', 'Unsigned report')}${CRLF}Content-Type: text/plain${CRLF}${CRLF}Not signed.${CRLF}`;
  t.equal(await mail(unsigned), null);
  t.equal(await receiptsAfterAWhile(), before + 1, 'a quarantined report (mis-signed, unsigned) gets no receipt');
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
  const test = await api(alpha, 'POST', '/mail/test', 'admin', { to: 'a@b.test' });
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
