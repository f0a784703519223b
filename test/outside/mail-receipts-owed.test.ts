import { readFileSync } from 'node:fs';
import { createTransport } from 'nodemailer';
import t from 'tap';
import { buildApp } from '../../src/app.js';
import { CRLF, canonicalLines, contentTypeOf, decodedBody, parseEntity, splitMultipart } from '../../src/modules/exchange/mail-mime.js';
import { loadFixtureKey } from '../fixtures/keys/index.js';
import { buildTestNode } from '../helpers/build-test-app.js';
import { runCli } from '../helpers/cli-runner.js';
import { api, auditKinds, fastDelivery, waitFor } from '../helpers/federation-harness.js';
import { mailConfig, startMailRelay } from '../helpers/mail-relay.js';
import { gnupgHome, gpgAvailable } from '../helpers/gnupg-home.js';

/**
 * Issue 17: "a node without outgoing mail sends no receipts and keeps no record of the receipts it
 * owes". A node that takes mail (its SMTP listener) but has no outgoing mail still records the
 * receipt it owes a person who mailed a signed report, as `owed` in the receipts outbox (GET
 * /api/v1/mail/receipts, `hikeshi mail receipts`); the same node started with outgoing mail
 * composes, signs, encrypts and sends it. The reporter is a team without a node writing with
 * GnuPG (a temporary GNUPGHOME); its mailbox is a real SMTP server on loopback.
 */
fastDelivery();
const skip = gpgAvailable ? false : 'gpg is not on PATH';

const relay = await startMailRelay();
t.teardown(() => relay.close());
const alpha = await buildTestNode(t, {
  key: 'alpha',
  listen: true,
  startWorker: true,
  config: { mail: mailConfig(null, 'csirt@alpha.test') },
});
const { port } = await alpha.app.federation.mail.listen();
const smtp = createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });

const TEAM_MAIL = 'cert@gnupg-cert.test';
const teamKey = loadFixtureKey('bravo');
const { gpg, file } = gnupgHome(t, 'hikeshi-owed');
if (gpgAvailable) gpg(['--import', file('team', teamKey.armoredPrivateKey)], teamKey.passphrase ?? '');

const receipts = async (query = '') => {
  const res = await api(alpha, 'GET', `/mail/receipts${query}`, 'admin');
  if (res.statusCode !== 200) throw new Error(res.body);
  return res.json().items as Array<Record<string, unknown>>;
};

t.test('the receipts outbox: admin only, bad input refused', async (t) => {
  t.equal((await api(alpha, 'GET', '/mail/receipts', 'handler')).statusCode, 403);
  t.equal((await api(alpha, 'GET', '/mail/receipts', 'reader')).statusCode, 403);
  t.equal((await api(alpha, 'GET', '/mail/receipts', null)).statusCode, 401);
  const bad = await api(alpha, 'GET', '/mail/receipts?state=lost', 'admin');
  t.equal(bad.statusCode, 400);
  t.equal(bad.json().code, 'validation-failed');
  t.equal((await api(alpha, 'GET', '/mail/receipts?limit=0', 'admin')).statusCode, 400);
  t.same(await receipts(), []);
});

t.test('without outgoing mail the receipt is owed and listed; started with mail, it is sent', { skip }, async (t) => {
  const added = await api(alpha, 'POST', '/peers/mail', 'admin', {
    teamId: 'gnupg-cert',
    name: 'GnuPG CERT',
    email: TEAM_MAIL,
    publicKey: teamKey.armoredPublicKey,
  });
  t.equal(added.statusCode, 201, added.body);
  const input = file('report', 'Scans from 198.51.100.9 against our constituency since Monday.\nReference: GNU-2026-5\n');
  const signed = gpg(['--local-user', teamKey.fingerprint, '--clearsign', '--output', `${input}.asc`, input], teamKey.passphrase ?? '');
  t.equal(signed.status, 0, signed.stderr.toString());
  const raw = [
    `From: GnuPG CERT <${TEAM_MAIL}>`,
    'To: csirt@alpha.test',
    'Subject: Scanning report',
    `Date: ${new Date().toUTCString()}`,
    '<report-owed-1@gnupg-cert.test>'.replace(/^/, 'Message-ID: '),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    readFileSync(`${input}.asc`, 'utf8').replace(/\r?\n/g, CRLF),
  ].join(CRLF);
  await smtp.sendMail({ envelope: { from: TEAM_MAIL, to: ['csirt@alpha.test'] }, raw });
  const [owed] = await waitFor('the receipt is recorded as owed', async () => {
    const items = await receipts();
    return items.length ? items : null;
  });
  t.match(owed, { peer: 'gnupg-cert', state: 'owed', to: TEAM_MAIL, encrypted: true, sentAt: null });
  t.match(owed!['incident'], /^ALPHA#/);
  t.same(await receipts('?state=owed'), [owed]);
  t.same(await receipts('?state=sent'), []);
  const queued = (await auditKinds(alpha, { kind: 'mail.receipt-queued' })).at(-1)!;
  t.match(queued.details, { owed: true });
  t.notMatch(JSON.stringify(queued.details), /198\.51\.100\.9|Scanning/, 'the audit names no content');
  const cli = await runCli(alpha, 'mail', 'receipts');
  t.equal(cli.code, 0, cli.stderr);
  t.match(cli.stdout, /owed\s+ALPHA#\S+\s+gnupg-cert\s+cert@gnupg-cert\.test/);
  t.equal(relay.messages.length, 0, 'nothing was mailed');

  // The same node, now with outgoing mail (a restart with HIKESHI_SMTP_URL set, on the same database).
  const withMail = await buildApp({
    config: { ...alpha.config, mail: mailConfig(relay.url, 'csirt@alpha.test') },
    database: alpha.database,
    signer: alpha.signer,
    tokenSecret: alpha.tokenSecret,
    logger: false,
  });
  t.teardown(() => withMail.close());
  withMail.federation.start();
  const [mail] = await waitFor('the owed receipt is mailed', async () => {
    const sent = relay.messages.filter((m) => m.to.includes(TEAM_MAIL));
    return sent.length ? sent : null;
  });
  const top = parseEntity(canonicalLines(mail!.raw.toString('latin1')));
  t.equal(contentTypeOf(top).type, 'multipart/encrypted', 'encrypted to the team (no label: AMBER)');
  t.equal(top.headers.get('in-reply-to'), '<report-owed-1@gnupg-cert.test>', 'threaded under the report');
  const [, sealed] = splitMultipart(top.body, contentTypeOf(top).params.get('boundary'));
  const opened = gpg(['--decrypt', '--output', '-', file('sealed', decodedBody(parseEntity(sealed!)))], teamKey.passphrase ?? '');
  t.equal(opened.status, 0, opened.stderr.toString());
  const inner = parseEntity(canonicalLines(opened.stdout.toString('latin1')));
  const [part] = splitMultipart(inner.body, contentTypeOf(inner).params.get('boundary'));
  const text = decodedBody(parseEntity(part!)).toString('utf8');
  t.match(text, new RegExp(`Our reference:\\s+${String(owed!['incident'])}`));
  t.match(text, /Your reference:\s+GNU-2026-5/);
  t.notMatch(text, /198\.51\.100\.9/, 'nothing of the report');
  const [sent] = await waitFor('listed as sent', async () => {
    const items = await receipts('?state=sent');
    return items.length ? items : null;
  });
  t.match(sent, { id: owed!['id'], state: 'sent' });
  t.equal(relay.messages.filter((m) => m.to.includes(TEAM_MAIL)).length, 1, 'sent once');
});
