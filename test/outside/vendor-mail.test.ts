import { randomUUID } from 'node:crypto';
import { createTransport } from 'nodemailer';
import t from 'tap';
import { generateNodeKey, loadNodeSigner, micalgOf, readPeerKey, verifyDetachedBytes } from '../../src/crypto/index.js';
import {
  CRLF,
  canonicalLines,
  contentTypeOf,
  decodedBody,
  parseEntity,
  signedEntity,
  splitMultipart,
} from '../../src/modules/exchange/mail-mime.js';
import { insertQuestion } from '../../src/modules/vendors/vendor.repository.js';
import { loadFixtureKey, loadFixtureSigner } from '../fixtures/keys/index.js';
import { buildTestNode } from '../helpers/build-test-app.js';
import { api, auditKinds, fastDelivery, waitFor } from '../helpers/federation-harness.js';
import { runCli } from '../helpers/cli-runner.js';
import { mailConfig, readableMail, startMailRelay } from '../helpers/mail-relay.js';

/**
 * Issue 17: questions to a vendor without a node go out by signed e-mail, and the vendor's
 * clear-signed (or PGP/MIME signed) reply comes back through the node's SMTP listener and is
 * recorded as its signed statement (ADR 0024). One node on loopback hands its mail to a real SMTP
 * server (test/helpers/mail-relay.ts); the vendor's key is made here. Tampered replies, replies
 * signed by another key, unsigned or unreadable ones are quarantined and record nothing.
 */
fastDelivery();
const relay = await startMailRelay();
t.teardown(() => relay.close());
const alpha = await buildTestNode(t, {
  key: 'alpha',
  listen: true,
  startWorker: true,
  config: { mail: mailConfig(relay.url, 'csirt@alpha.test') },
});
const { port } = await alpha.app.federation.mail.listen();
const smtp = createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });

const vendorKey = await generateNodeKey({ teamId: 'acme', name: 'ACME PSIRT', email: 'psirt@acme.test' });
const vendorSigner = await loadNodeSigner(vendorKey.armoredPrivateKey);
const VENDOR = 'psirt@acme.test';

const mailsTo = (address: string) => relay.messages.filter((m) => m.to.includes(address));
const headerOf = (raw: Buffer, name: string) => parseEntity(canonicalLines(raw.toString('latin1'))).headers.get(name) ?? '';

async function caseView(id: string): Promise<{ questions: Array<Record<string, any>>; statements: Array<Record<string, any>> }> {
  const res = await api(alpha, 'GET', `/cases/${id}`, 'reader');
  if (res.statusCode !== 200) throw new Error(res.body);
  return res.json();
}

/** A reply as a mail client sends it, straight to alpha's SMTP listener. */
async function reply(inReplyTo: string, body: string, contentType = 'text/plain; charset=utf-8'): Promise<void> {
  const raw = [
    `From: ACME PSIRT <${VENDOR}>`,
    'To: csirt@alpha.test',
    'Subject: Re: Vulnerability coordination',
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${randomUUID()}@acme.test>`,
    `In-Reply-To: ${inReplyTo}`,
    `References: ${inReplyTo}`,
    'MIME-Version: 1.0',
    `Content-Type: ${contentType}`,
    '',
    body.replace(/\r?\n/g, CRLF),
  ].join(CRLF);
  await smtp.sendMail({ envelope: { from: VENDOR, to: ['csirt@alpha.test'] }, raw });
}

const statementText = (kase: string, status: string) =>
  `Case: ${kase}\nProduct: Anvil\nStatus: ${status}\nFixed-Versions: 1.0.1\nStatement: Fixed in 1.0.1; upgrade.\n`;

async function quarantinedSince(count: number): Promise<Array<{ reason: string; headerFrom: string | null }>> {
  return waitFor('the reply is quarantined', async () => {
    const items = (await api(alpha, 'GET', '/mail/quarantine?limit=500', 'handler')).json().items as Array<{
      reason: string;
      headerFrom: string | null;
    }>;
    return items.length > count ? items : null;
  });
}

const asked: Record<string, string> = {};

t.test('setup: an e-mail vendor, a GREEN and an AMBER case', async (t) => {
  const v = await api(alpha, 'POST', '/vendors', 'handler', {
    id: 'acme',
    name: 'ACME',
    email: VENDOR,
    publicKey: vendorKey.armoredPublicKey,
    fingerprint: vendorKey.fingerprint,
  });
  t.equal(v.statusCode, 201, v.body);
  for (const [id, tlp] of [
    ['vc-green', 'GREEN'],
    ['vc-amber', 'AMBER'],
  ] as const) {
    const c = await api(alpha, 'POST', '/cases', 'handler', {
      id,
      title: `Anvil drops on ${tlp} roadrunners`,
      description: `Secret-${tlp}: the anvil falls when the rope is cut.`,
      tlp,
      products: [{ vendor: 'acme', product: 'Anvil', versions: ['1.0'] }],
      cveIds: ['CVE-2026-50001'],
    });
    t.equal(c.statusCode, 201, c.body);
  }
});

t.test('a GREEN question goes out signed, in clear, and becomes sent', async (t) => {
  const res = await api(alpha, 'POST', '/cases/vc-green/questions', 'handler', {});
  t.equal(res.statusCode, 202, res.body);
  t.match(res.json().questions, [{ vendor: 'acme', channel: 'email', state: 'queued' }]);
  const [mail] = await waitFor('the question is mailed', async () => (mailsTo(VENDOR).length ? mailsTo(VENDOR) : null));
  const q = await waitFor('the question is sent', async () => {
    const question = (await caseView('vc-green')).questions[0]!;
    return question.state === 'sent' ? question : null;
  });
  t.equal(q.delivery, 'sent');
  const top = parseEntity(canonicalLines(mail!.raw.toString('latin1')));
  t.equal(contentTypeOf(top).type, 'multipart/signed');
  const [part, sig] = splitMultipart(top.body, contentTypeOf(top).params.get('boundary'));
  const verdict = await verifyDetachedBytes(
    Buffer.from(part!, 'latin1'),
    decodedBody(parseEntity(sig!)).toString('latin1'),
    await readPeerKey(loadFixtureKey('alpha').armoredPublicKey),
  );
  t.ok(verdict.ok, 'signed with the node key');
  const text = readableMail(mail!.raw);
  t.match(text, /case: vc-green/);
  t.match(text, /anvil drops on green roadrunners/);
  t.match(text, /status: affected \| not affected \| under investigation/, 'the statement form to fill in');
  t.notMatch(headerOf(mail!.raw, 'subject').toLowerCase(), /anvil/, 'the subject says nothing of the content');
  asked['vc-green'] = headerOf(mail!.raw, 'message-id');
});

t.test('an AMBER question goes out encrypted to the vendor key', async (t) => {
  const before = mailsTo(VENDOR).length;
  const res = await api(alpha, 'POST', '/cases/vc-amber/questions', 'handler', {});
  t.equal(res.statusCode, 202, res.body);
  const mail = await waitFor('the question is mailed', async () => mailsTo(VENDOR)[before]);
  const top = parseEntity(canonicalLines(mail.raw.toString('latin1')));
  t.equal(contentTypeOf(top).type, 'multipart/encrypted');
  t.notMatch(readableMail(mail.raw), /secret-amber/, 'nothing readable on the way');
  const [, armored] = splitMultipart(top.body, contentTypeOf(top).params.get('boundary'));
  const opened = await vendorSigner.decrypt(decodedBody(parseEntity(armored!)).toString('latin1'));
  t.match(readableMail(opened), /secret-amber: the anvil falls/, 'the vendor opens it with its key');
  asked['vc-amber'] = headerOf(mail.raw, 'message-id');
  const audit = (await auditKinds(alpha, { kind: 'vendor.question' })).map((e) => e.decision);
  t.same(audit, ['allow', 'allow'], 'each question is a decision, audited');
});

t.test("the vendor's clear-signed reply is recorded as its signed statement", async (t) => {
  await reply(asked['vc-green']!, `Thanks, here it is.\n\n${await vendorSigner.clearSign(statementText('vc-green', 'affected'))}`);
  const view = await waitFor('the statement is recorded', async () => {
    const v = await caseView('vc-green');
    return v.statements.length ? v : null;
  });
  t.match(view.statements, [
    { vendor: 'acme', product: 'Anvil', status: 'affected', fixedVersions: ['1.0.1'], provenance: 'openpgp', signed: true },
  ]);
  t.equal(view.questions[0]!.state, 'answered');
  const [recorded] = await auditKinds(alpha, { kind: 'vendor.statement-recorded' });
  t.match(recorded!.details, { case: 'vc-green', vendor: 'acme', provenance: 'openpgp', channel: 'email', signingKey: /^[0-9A-F]{40}$/ });
});

t.test('a PGP/MIME signed reply is recorded too', async (t) => {
  const part = ['Content-Type: text/plain; charset=utf-8', 'Content-Transfer-Encoding: 8bit', '', statementText('vc-amber', 'not affected')]
    .join(CRLF)
    .replace(/\n/g, CRLF)
    .replace(/\r\r/g, '\r');
  const signature = await vendorSigner.signDetached(part);
  const entity = signedEntity(part, signature, await micalgOf(signature));
  const [typeLine, ...rest] = entity.split(CRLF);
  await reply(asked['vc-amber']!, rest.join(CRLF), typeLine!.replace(/^Content-Type:\s*/i, ''));
  const statements = await waitFor('recorded', async () => {
    const s = (await caseView('vc-amber')).statements;
    return s.length ? s : null;
  });
  t.match(statements, [{ vendor: 'acme', status: 'not affected', provenance: 'openpgp', signed: true }]);
});

t.test('tampered, foreign-signed, unsigned or unreadable replies are quarantined and record nothing', async (t) => {
  const delta = await loadFixtureSigner('delta');
  const cases = [
    [
      'bad-signature',
      (await vendorSigner.clearSign(statementText('vc-amber', 'affected'))).replace('Status: affected', 'Status: not affected'),
    ],
    ['wrong-key', await delta.clearSign(statementText('vc-amber', 'affected'))],
    ['unsigned', statementText('vc-amber', 'affected')],
    ['validation-failed', await vendorSigner.clearSign('We are looking into it.\n')],
    ['validation-failed', await vendorSigner.clearSign(statementText('vc-green', 'affected'))],
  ] as const;
  for (const [reason, body] of cases) {
    const before = (await api(alpha, 'GET', '/mail/quarantine?limit=500', 'handler')).json().items.length;
    await reply(asked['vc-amber']!, body);
    const [held] = await quarantinedSince(before);
    t.equal(held!.reason, reason, reason);
    t.equal(held!.headerFrom, VENDOR);
  }
  t.equal((await caseView('vc-amber')).statements.length, 1, 'only the good reply was recorded');
  const refused = await auditKinds(alpha, { kind: 'vendor.statement-refused' });
  t.same(
    refused.map((e) => e.details.reason),
    ['unparsable', 'other-case'],
    'the refusals the rule made are audited',
  );
});

t.test('questions that waited for the e-mail channel go out; one the rule refuses now is refused', async (t) => {
  const red = await api(alpha, 'POST', '/cases', 'handler', {
    id: 'vc-red',
    title: 'Red anvil',
    description: 'd',
    tlp: 'RED',
    products: [{ vendor: 'acme', product: 'Anvil', versions: ['1.0'] }],
  });
  t.equal(red.statusCode, 201, red.body);
  const content = {
    title: 'Waited',
    description: 'd',
    products: [{ product: 'Anvil', versions: ['1.0'] }],
    cveIds: [],
    embargoUntil: null,
  };
  const waiting = {
    direction: 'sent',
    vendorId: 'acme',
    askerTeam: 'alpha',
    channel: 'email',
    state: 'awaiting-email',
    messageId: null,
  } as const;
  const common = { ...waiting, remoteQuestion: null, content, createdAt: new Date(), createdBy: 'handler' };
  const db = alpha.database.db as unknown as Parameters<typeof insertQuestion>[0];
  await insertQuestion(db, { ...common, id: randomUUID(), caseId: 'vc-green', tlp: 'GREEN' });
  await insertQuestion(db, { ...common, id: randomUUID(), caseId: 'vc-red', tlp: 'GREEN' });
  const sent = await waitFor('the waiting question is sent', async () =>
    (await caseView('vc-green')).questions.find((q) => q.question.title === 'Waited' && q.state === 'sent'),
  );
  t.equal(sent.channel, 'email');
  t.ok(
    mailsTo(VENDOR).some((m) => readableMail(m.raw).includes('title: waited')),
    'its mail went to the vendor',
  );
  const refused = await waitFor('the RED one is refused', async () =>
    (await caseView('vc-red')).questions.find((q) => q.state === 'refused'),
  );
  t.ok(refused);
  t.notOk(
    mailsTo(VENDOR).some((m) => readableMail(m.raw).includes('case: vc-red')),
    'nothing of a RED case is mailed',
  );
  const decisions = (await auditKinds(alpha, { kind: 'vendor.question' })).slice(2).map((e) => [e.decision, e.details.deniedBy ?? null]);
  t.same(decisions.sort(), [
    ['allow', null],
    ['deny', 'tlp-red'],
  ]);
});

t.test('an admin rejects or accepts a quarantined mail; nobody else may', async (t) => {
  type Held = { id: string; reason: string; state: string };
  const held = async (): Promise<Held[]> => (await api(alpha, 'GET', '/mail/quarantine?limit=500', 'handler')).json().items;
  const unsigned = (await held()).find((m) => m.reason === 'unsigned')!;
  const forbidden = await api(alpha, 'POST', `/mail/quarantine/${unsigned.id}/reject`, 'handler', { reason: 'spam' });
  t.equal(forbidden.statusCode, 403);
  t.match(forbidden.headers['content-type'], /application\/problem\+json/);
  t.equal((await api(alpha, 'POST', `/mail/quarantine/${unsigned.id}/accept`, 'handler')).statusCode, 403);
  t.equal((await api(alpha, 'POST', `/mail/quarantine/${unsigned.id}/reject`, 'admin', {})).json().code, 'validation-failed', 'a reason');
  t.equal((await api(alpha, 'POST', `/mail/quarantine/${randomUUID()}/reject`, 'admin', { reason: 'x' })).json().code, 'not-found');
  t.equal((await api(alpha, 'POST', '/mail/quarantine/not-a-uuid/accept', 'admin')).statusCode, 400);
  const rejected = await api(alpha, 'POST', `/mail/quarantine/${unsigned.id}/reject`, 'admin', { reason: 'not from the vendor' });
  t.equal(rejected.statusCode, 200, rejected.body);
  t.match(rejected.json(), { mail: { id: unsigned.id, state: 'rejected', decisionNote: 'not from the vendor' }, outcome: null });
  t.equal((await api(alpha, 'POST', `/mail/quarantine/${unsigned.id}/accept`, 'admin')).json().code, 'conflict', 'decided once');

  // Held again: an altered reply is still altered.
  const altered = (await held()).find((m) => m.reason === 'bad-signature' && m.state === 'quarantined')!;
  const again = await api(alpha, 'POST', `/mail/quarantine/${altered.id}/accept`, 'admin');
  t.equal(again.statusCode, 200, again.body);
  t.match(again.json(), { mail: { state: 'accepted' }, outcome: { kind: 'quarantined', reason: 'bad-signature' } });
  t.not(again.json().outcome.quarantineId, altered.id, 'under a new id');

  // The vendor signs with a new key before alpha pinned it: held, then accepted once pinned.
  const newKey = await generateNodeKey({ teamId: 'acme', name: 'ACME PSIRT 2027', email: VENDOR });
  const newSigner = await loadNodeSigner(newKey.armoredPrivateKey);
  const before = (await held()).length;
  await reply(asked['vc-amber']!, await newSigner.clearSign(statementText('vc-amber', 'under investigation')));
  const [wrongKey] = await quarantinedSince(before);
  t.equal(wrongKey!.reason, 'wrong-key');
  const pinned = await api(alpha, 'PATCH', '/vendors/acme', 'handler', {
    publicKey: newKey.armoredPublicKey,
    fingerprint: newKey.fingerprint,
  });
  t.equal(pinned.statusCode, 200, pinned.body);
  const cli = await runCli(alpha, 'mail', 'accept', (wrongKey as unknown as Held).id);
  t.equal(cli.code, 0, cli.stderr);
  t.match(cli.stdout, /accepted\nfiled \(signed-reply\)/);
  t.match((await caseView('vc-amber')).statements.at(-1), { status: 'under investigation', provenance: 'openpgp' });
  const rejectCli = await runCli(alpha, 'mail', 'reject', (await held()).find((m) => m.state === 'quarantined')!.id, '--reason', 'junk');
  t.equal(rejectCli.code, 0, rejectCli.stderr);
  t.match(rejectCli.stdout, /rejected/);
  const decisions = [
    ...(await auditKinds(alpha, { kind: 'mail-quarantine-accepted' })),
    ...(await auditKinds(alpha, { kind: 'mail-quarantine-rejected' })),
  ];
  t.same(
    decisions.map((e) => e.decision),
    ['allow', 'allow', 'deny', 'deny'],
    'every decision audited',
  );
  t.match((await auditKinds(alpha, { kind: 'mail-quarantine-rejected' }))[0]!.details, {
    quarantineId: unsigned.id,
    why: 'not from the vendor',
  });
});
