import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createTransport } from 'nodemailer';
import t from 'tap';
import { CRLF, canonicalLines, contentTypeOf, decodedBody, parseEntity, splitMultipart } from '../../src/modules/exchange/mail-mime.js';
import { loadFixtureKey } from '../fixtures/keys/index.js';
import { buildTestNode } from '../helpers/build-test-app.js';
import { runCli } from '../helpers/cli-runner.js';
import {
  api,
  auditKinds,
  createIncident,
  enc,
  fastDelivery,
  journal,
  shares,
  waitFor,
  waitForShareState,
} from '../helpers/federation-harness.js';
import { mailConfig, startMailRelay } from '../helpers/mail-relay.js';
import { gnupgHome, gpgAvailable } from '../helpers/gnupg-home.js';
import { assertMarkers, assertVisible, markedIncident, SECTIONS, type Section } from '../helpers/marker-scan.js';
import { explain } from '../helpers/policy-nodes.js';

/**
 * Issue 17, "a team without a node" (ADR 0028): a CSIRT that runs no node, only GnuPG and a
 * mailbox, is added from its team id, name, e-mail address and key. What we share with it goes by
 * signed, encrypted PGP/MIME mail (a readable text and the signed JSON attached) to a real SMTP
 * server on loopback standing for its mailbox; GnuPG (the gpg binary, a temporary GNUPGHOME with
 * the team's key) decrypts it, verifies our signature, and writes the team's signed reply, which
 * comes back through alpha's SMTP listener and moves the share from `sent` to `delivered`.
 */
fastDelivery();
const skip = gpgAvailable ? false : 'gpg is not on PATH';

const relay = await startMailRelay();
t.teardown(() => relay.close());
const alpha = await buildTestNode(t, {
  key: 'alpha',
  listen: true,
  startWorker: true,
  config: { mail: mailConfig(relay.url, 'csirt@alpha.test') },
});
const { port } = await alpha.app.federation.mail.listen();
relay.route('csirt@alpha.test', port);
const smtp = createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });

const TEAM = 'gnupg-cert';
const TEAM_MAIL = 'cert@gnupg-cert.test';
const teamKey = loadFixtureKey('bravo');
const otherKey = loadFixtureKey('mallory');
const alphaKey = loadFixtureKey('alpha');

// GnuPG as the team runs it: its own key, and alpha's public key to check our signatures.
const { gpg, file } = gnupgHome(t, 'hikeshi-mail-team');
if (gpgAvailable) {
  gpg(['--import', file('team', teamKey.armoredPrivateKey)], teamKey.passphrase ?? '');
  gpg(['--import', file('other', otherKey.armoredPrivateKey)], otherKey.passphrase ?? '');
  gpg(['--import', file('alpha', alphaKey.armoredPublicKey)]);
}
const teamKeyFile = file('team-pub', teamKey.armoredPublicKey);

/** Opens one of our mails as the team does: gpg decrypts, then checks our PGP/MIME signature. */
function openAsTeam(raw: Buffer): { text: string; envelope: string; verified: string } {
  const top = parseEntity(canonicalLines(raw.toString('latin1')));
  if (contentTypeOf(top).type !== 'multipart/encrypted') throw new Error(`not encrypted: ${contentTypeOf(top).type}`);
  const [, sealed] = splitMultipart(top.body, contentTypeOf(top).params.get('boundary'));
  const run = gpg(['--decrypt', '--output', '-', file('sealed', decodedBody(parseEntity(sealed!)))], teamKey.passphrase ?? '');
  if (run.status !== 0) throw new Error(`gpg --decrypt: ${run.stderr.toString()}`);
  const signed = parseEntity(canonicalLines(run.stdout.toString('latin1')));
  const [part, sig] = splitMultipart(signed.body, contentTypeOf(signed).params.get('boundary'));
  const verify = gpg([
    '--status-fd',
    '1',
    '--verify',
    file('sig', decodedBody(parseEntity(sig!))),
    file('part', Buffer.from(part!, 'latin1')),
  ]);
  const mixed = parseEntity(part!);
  const [textPart, jsonPart] = splitMultipart(mixed.body, contentTypeOf(mixed).params.get('boundary'));
  return {
    text: decodedBody(parseEntity(textPart!)).toString('utf8'),
    envelope: decodedBody(parseEntity(jsonPart!)).toString('utf8'),
    verified: verify.status === 0 ? verify.stdout.toString() : '',
  };
}

/** A reply the team writes: a text clear-signed with GnuPG by `key`, mailed to alpha's listener. */
async function reply(text: string, key = teamKey, headers: Record<string, string> = {}): Promise<void> {
  const input = file('reply', text);
  const run = gpg(['--local-user', key.fingerprint, '--clearsign', '--output', `${input}.asc`, input], key.passphrase ?? '');
  if (run.status !== 0) throw new Error(run.stderr.toString());
  const raw = [
    `From: GnuPG CERT <${TEAM_MAIL}>`,
    'To: csirt@alpha.test',
    `Subject: ${headers['subject'] ?? 'Re: your report'}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${randomUUID()}@gnupg-cert.test>`,
    ...Object.entries(headers)
      .filter(([k]) => k !== 'subject')
      .map(([k, v]) => `${k}: ${v}`),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    readFileSync(`${input}.asc`, 'utf8').replace(/\r?\n/g, CRLF),
  ].join(CRLF);
  await smtp.sendMail({ envelope: { from: TEAM_MAIL, to: ['csirt@alpha.test'] }, raw });
}

const mailsToTeam = () => relay.messages.filter((m) => m.to.includes(TEAM_MAIL));
const headerOf = (raw: Buffer, name: string) => parseEntity(canonicalLines(raw.toString('latin1'))).headers.get(name) ?? '';
const body = { teamId: TEAM, name: 'GnuPG CERT', email: TEAM_MAIL, publicKey: teamKey.armoredPublicKey };

t.test('adding a team without a node: bad input is refused with problem+json 4xx', async (t) => {
  const cases: Array<[string, unknown, number, string, ('admin' | 'handler' | 'reader' | null)?]> = [
    ['no e-mail', { ...body, email: undefined }, 400, 'validation-failed'],
    ['a malformed e-mail', { ...body, email: 'not an address' }, 400, 'validation-failed'],
    [
      'a malformed key file',
      { ...body, publicKey: '-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n-----END PGP PUBLIC KEY BLOCK-----' },
      422,
      'peer-key-invalid',
    ],
    ['a private key only in name', { ...body, publicKey: 'hello' }, 422, 'peer-key-invalid'],
    ['another fingerprint than the one checked', { ...body, fingerprint: otherKey.fingerprint }, 409, 'fingerprint-mismatch'],
    ['a bad team id', { ...body, teamId: 'Not A Team' }, 400, 'validation-failed'],
    ['an unknown member', { ...body, url: 'https://x.test' }, 400, 'validation-failed'],
    ["this node's own key", { ...body, publicKey: alphaKey.armoredPublicKey }, 409, 'conflict'],
    ['a handler', body, 403, 'forbidden', 'handler'],
    ['a reader', body, 403, 'forbidden', 'reader'],
    ['no token', body, 401, 'unauthenticated', null],
  ];
  for (const [what, payload, status, code, role] of cases) {
    const res = await api(alpha, 'POST', '/peers/mail', role === undefined ? 'admin' : role, payload);
    t.equal(res.statusCode, status, `${what}: ${res.body}`);
    t.equal(res.json().code, code, what);
    t.match(res.headers['content-type'], /application\/problem\+json/, what);
  }
  const malformed = await alpha.app.inject({
    method: 'POST',
    url: '/api/v1/peers/mail',
    headers: { ...alpha.auth.admin, 'content-type': 'application/json' },
    payload: '{"teamId": ',
  });
  t.equal(malformed.statusCode, 400, 'malformed JSON');
  t.equal((await api(alpha, 'GET', '/peers', 'reader')).json().items.length, 0, 'nothing was added');
});

t.test('a team without a node is added by the CLI, unverified, and verified out of band', async (t) => {
  const cli = await runCli(
    alpha,
    'peer',
    'add-mail',
    TEAM,
    '--name',
    'GnuPG CERT',
    '--email',
    TEAM_MAIL,
    '--key',
    teamKeyFile,
    '--fingerprint',
    teamKey.fingerprint.toLowerCase(),
    '--trust',
    'community',
  );
  t.equal(cli.code, 0, cli.stderr);
  t.match(cli.stdout, /Added team gnupg-cert \(without a node\)/);
  t.match(cli.stdout, /hikeshi peer verify gnupg-cert/);
  const peer = (await api(alpha, 'GET', `/peers/${TEAM}`, 'reader')).json();
  t.match(peer, {
    kind: 'mail',
    url: null,
    email: TEAM_MAIL,
    mailOnly: true,
    assurance: 'unverified',
    trustLevel: 'community',
    profileFetchedAt: null,
    fingerprint: teamKey.fingerprint,
  });
  const added = (await auditKinds(alpha, { kind: 'peer.added' })).at(-1) as { details: Record<string, unknown> };
  t.match(added.details, { kind: 'mail', fingerprint: teamKey.fingerprint });

  const again = await api(alpha, 'POST', '/peers/mail', 'admin', body);
  t.equal(again.statusCode, 409, 'a duplicate team id');
  const sameKey = await api(alpha, 'POST', '/peers/mail', 'admin', { ...body, teamId: 'other-cert', email: 'x@other.test' });
  t.equal(sameKey.statusCode, 409, 'a key pinned for another team');
  const sameMail = await api(alpha, 'POST', '/peers/mail', 'admin', {
    ...body,
    teamId: 'other-cert',
    publicKey: otherKey.armoredPublicKey,
  });
  t.equal(sameMail.statusCode, 409, "another team's e-mail address");

  t.equal((await api(alpha, 'GET', `/peers/${TEAM}/profile`, 'reader')).json().code, 'peer-has-no-node', 'no signed profile');
  t.equal((await api(alpha, 'POST', `/peers/${TEAM}/refresh`, 'admin')).json().code, 'peer-has-no-node', 'nothing to refresh');
  t.equal((await api(alpha, 'PATCH', `/peers/${TEAM}`, 'admin', { mailOnly: false })).json().code, 'peer-has-no-node');
  t.equal((await api(alpha, 'PATCH', `/peers/${TEAM}`, 'admin', { url: 'https://gnupg-cert.test' })).json().code, 'peer-has-no-node');
  t.equal(
    (await api(alpha, 'POST', '/peers/nobody-here/verify', 'admin', { fingerprint: teamKey.fingerprint })).statusCode,
    404,
    'an unknown team',
  );
  const wrong = await api(alpha, 'POST', `/peers/${TEAM}/verify`, 'admin', { fingerprint: otherKey.fingerprint });
  t.equal(wrong.statusCode, 409, 'a fingerprint that is not the pinned key');
  const cliVerify = await runCli(alpha, 'peer', 'verify', TEAM, teamKey.fingerprint);
  t.equal(cliVerify.code, 0, cliVerify.stderr);
  t.match((await api(alpha, 'GET', `/peers/${TEAM}`, 'reader')).json(), { assurance: 'verified' });
  const list = await runCli(alpha, 'peer', 'list');
  t.match(list.stdout, /gnupg-cert .* mailto:cert@gnupg-cert\.test/);
});

const state: { ref?: string; messageId?: string; markers?: Record<Section, string[]> } = {};

t.test('a share goes as a readable text and the signed JSON, encrypted; GnuPG opens it; redaction holds', { skip }, async (t) => {
  const { incident, markers } = markedIncident('GREEN');
  const created = await createIncident(alpha, incident);
  state.ref = created.ref;
  state.markers = markers;
  const hidden: Section[] = ['victims', 'internalHosts', 'reporter', 'evidence'];
  const preview = await explain(alpha, created.ref, TEAM, 'direct', { explicitlyChosen: true });
  t.same(preview.redactions.map((r: { section: string }) => r.section).sort(), [...hidden].sort(), 'the policy decides as for any peer');
  const shared = await api(alpha, 'POST', `/incidents/${enc(created.ref)}/shares`, 'handler', { peer: TEAM });
  t.equal(shared.statusCode, 202, shared.body);
  const sent = await waitForShareState(alpha, created.ref, TEAM, 'sent');
  t.match(sent, { channel: 'mail', receiptAt: null, nextAttemptAt: null });
  const [mail] = mailsToTeam();
  t.ok(mail, 'one mail to the team');
  t.equal(
    headerOf(mail!.raw, 'subject'),
    `[alpha] incident.report ${created.ref}`,
    'the subject names our reference, nothing of the content',
  );
  const opened = openAsTeam(mail!.raw);
  t.match(opened.verified, new RegExp(`VALIDSIG ${alphaKey.fingerprint}`), 'gpg verifies our PGP/MIME signature');
  t.match(opened.text, /TLP:GREEN/);
  t.match(opened.text, new RegExp(`Our reference:\\s+${created.ref}`));
  t.match(opened.text, /Title: Intrusion at/);
  const envelope = JSON.parse(opened.envelope) as { document: Record<string, unknown>; signature: string };
  t.match(envelope.document, { type: 'incident.report', to: TEAM, from: 'alpha' });
  const canonical = (await import('../helpers/federation-harness.js')).canonicalize(envelope.document);
  const docCheck = gpg(['--verify', file('doc-sig', envelope.signature), file('doc', canonical)]);
  t.equal(docCheck.status, 0, 'gpg verifies the attached document over its canonical bytes');
  for (const [where, text] of [
    ['mail text', opened.text.toLowerCase()],
    ['attached JSON', opened.envelope.toLowerCase()],
    ['mail as sent', mail!.raw.toString('latin1').toLowerCase()],
  ] as const) {
    assertMarkers(t, text, markers, hidden, where);
  }
  assertVisible(
    t,
    opened.text.toLowerCase(),
    markers,
    SECTIONS.filter((s) => !hidden.includes(s)),
    'mail text',
  );
  state.messageId = headerOf(mail!.raw, 'message-id');

  // Sent means sent: no resend waiting for a receipt that never comes.
  await alpha.app.federation.worker.runOnce();
  await new Promise((resolve) => setTimeout(resolve, 300));
  await alpha.app.federation.worker.runOnce();
  t.equal(mailsToTeam().length, 1, 'mailed once');
  t.equal((await shares(alpha, created.ref)).find((s) => s.peer === TEAM)!.state, 'sent');
});

t.test('an update follows the copy by mail', { skip }, async (t) => {
  const before = mailsToTeam().length;
  const res = await api(alpha, 'PATCH', `/incidents/${enc(state.ref!)}`, 'handler', { severity: 'critical' });
  t.equal(res.statusCode, 200, res.body);
  await waitFor('the update is mailed', async () => mailsToTeam().length > before);
  const mail = mailsToTeam().at(-1)!;
  t.match(headerOf(mail.raw, 'subject'), /^\[alpha\] incident\.update/);
  const opened = openAsTeam(mail.raw);
  t.match(opened.text, /TLP:GREEN/);
  t.ok(opened.verified);
  assertMarkers(
    t,
    `${opened.text}\n${opened.envelope}`.toLowerCase(),
    state.markers!,
    ['victims', 'internalHosts', 'reporter', 'evidence'],
    'update',
  );
});

t.test('a reply signed by another key is quarantined and moves nothing', { skip }, async (t) => {
  await reply(`Thanks, we look into ${state.ref}.\n`, otherKey, { 'In-Reply-To': state.messageId!, References: state.messageId! });
  const held = await waitFor('quarantined', async () => {
    const items = (await api(alpha, 'GET', '/mail/quarantine', 'handler')).json().items as Array<{ reason: string }>;
    return items.length > 0 ? items : null;
  });
  t.equal(held[0]!.reason, 'wrong-key');
  t.equal((await shares(alpha, state.ref!)).find((s) => s.peer === TEAM)!.state, 'sent');
});

t.test("the team's signed reply naming our mail moves the share to delivered and is journaled", { skip }, async (t) => {
  await reply(`We received ${state.ref}; our ticket is GNU-77. Looking into it.\n`, teamKey, {
    'In-Reply-To': state.messageId!,
    References: state.messageId!,
  });
  const delivered = await waitForShareState(alpha, state.ref!, TEAM, 'delivered');
  t.ok(delivered.receiptAt);
  const entries = await journal(alpha, state.ref!);
  const entry = entries.find((e) => e.kind === 'mail-reply-received');
  t.ok(entry, 'the reply is threaded to the incident');
  t.match(entry!.note, /our ticket is GNU-77/);
  t.match(entry!.changes, { peer: TEAM, signer: teamKey.fingerprint, delivered: true });
  t.ok(entries.some((e) => e.kind === 'share-delivered'));
  const receipt = (await auditKinds(alpha, { kind: 'receipt' })).at(-1) as { details: Record<string, unknown> };
  t.match(receipt.details, { status: 'replied', channel: 'mail', via: 'message-id' });
  t.notMatch(JSON.stringify(receipt.details), /GNU-77/, 'the audit keeps a digest, never the words');
});

t.test('a second reply to the same mail is journaled and changes nothing else', { skip }, async (t) => {
  const before = (await journal(alpha, state.ref!)).filter((e) => e.kind === 'mail-reply-received').length;
  await reply('One more thing: the scan stopped on Friday.\n', teamKey, { 'In-Reply-To': state.messageId!, References: state.messageId! });
  const entries = await waitFor('journaled', async () => {
    const found = (await journal(alpha, state.ref!)).filter((e) => e.kind === 'mail-reply-received');
    return found.length > before ? found : null;
  });
  t.match(entries.at(-1)!.changes, { delivered: false });
  t.equal((await journal(alpha, state.ref!)).filter((e) => e.kind === 'share-delivered').length, 1, 'delivered once');
  t.equal((await shares(alpha, state.ref!)).find((s) => s.peer === TEAM)!.state, 'delivered');
});

t.test('the mail server down: the share retries, then is sent once', { skip }, async (t) => {
  const { incident } = markedIncident('GREEN');
  const created = await createIncident(alpha, incident);
  relay.down();
  const before = mailsToTeam().length;
  t.equal((await api(alpha, 'POST', `/incidents/${enc(created.ref)}/shares`, 'handler', { peer: TEAM })).statusCode, 202);
  const retrying = await waitForShareState(alpha, created.ref, TEAM, 'retrying');
  t.match(retrying.lastError, /did not take/);
  relay.up();
  await waitForShareState(alpha, created.ref, TEAM, 'sent');
  t.equal(mailsToTeam().length, before + 1, 'mailed once the server takes it');
  const opened = openAsTeam(mailsToTeam().at(-1)!.raw);
  t.match(opened.text, /TLP:GREEN/, 'encrypted and readable');
});

t.test('a reply without reply headers that names our reference number is threaded too', { skip }, async (t) => {
  const { incident } = markedIncident('GREEN');
  const created = await createIncident(alpha, incident);
  t.equal((await api(alpha, 'POST', `/incidents/${enc(created.ref)}/shares`, 'handler', { peer: TEAM })).statusCode, 202);
  await waitForShareState(alpha, created.ref, TEAM, 'sent');
  const incidentsBefore = (await api(alpha, 'GET', '/incidents?limit=100', 'reader')).json().items.length;
  await reply(`About your ${created.ref}: the host is ours, cleaned.\n`, teamKey, { subject: `Your ${created.ref}` });
  await waitForShareState(alpha, created.ref, TEAM, 'delivered');
  t.ok((await journal(alpha, created.ref)).some((e) => e.kind === 'mail-reply-received' && /cleaned/.test(e.note ?? '')));
  t.equal((await api(alpha, 'GET', '/incidents?limit=100', 'reader')).json().items.length, incidentsBefore, 'not filed as a new report');
});

t.test('sharing with an unknown team is refused', async (t) => {
  const { incident } = markedIncident('GREEN');
  const created = await createIncident(alpha, incident);
  const res = await api(alpha, 'POST', `/incidents/${enc(created.ref)}/shares`, 'handler', { peer: 'no-such-team' });
  t.ok(res.statusCode >= 400 && res.statusCode < 500, res.body);
});
