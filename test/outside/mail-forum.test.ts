import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createTransport } from 'nodemailer';
import t from 'tap';
import { CRLF, canonicalLines, contentTypeOf, decodedBody, parseEntity, splitMultipart } from '../../src/modules/exchange/mail-mime.js';
import { loadFixtureKey, type FixtureKey } from '../fixtures/keys/index.js';
import { buildTestNode } from '../helpers/build-test-app.js';
import { runCli } from '../helpers/cli-runner.js';
import {
  api,
  auditKinds,
  canonicalize,
  createIncident,
  fastDelivery,
  messageDocument,
  partnersBoth,
  postMessage,
  sign,
  waitFor,
} from '../helpers/federation-harness.js';
import { foundForum, forumOf, showInquiry } from '../helpers/forum-harness.js';
import { mailConfig, startMailRelay } from '../helpers/mail-relay.js';
import { gnupgHome, gpgAvailable } from '../helpers/gnupg-home.js';
import { markedIncident } from '../helpers/marker-scan.js';

/**
 * Issue 17 / ADR 0028: forum inquiries reach a team without a node. cc operates the forum
 * "first" and lists alpha (a node) and gnupg-cert (GnuPG and a mailbox: a real SMTP server on
 * loopback stands for it, and the gpg binary with a temporary GNUPGHOME is its tooling) in a
 * version-2 signed roster. alpha adds gnupg-cert from that roster as a mail peer, posts an
 * inquiry that reaches cc over HTTP and gnupg-cert as a signed, encrypted PGP/MIME mail, and the
 * team's clear-signed answer is filed as an inquiry answer. Then: refusals (wrong key, tampered,
 * replayed, unreadable), its own reference number on a share, and a key change.
 */
fastDelivery();
const skip = gpgAvailable ? false : 'gpg is not on PATH';

const relay = await startMailRelay();
t.teardown(() => relay.close());
const cc = await buildTestNode(t, { key: 'cc', listen: true, startWorker: true });
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
const nextKey = loadFixtureKey('delta');
const otherKey = loadFixtureKey('mallory');
const alphaKey = loadFixtureKey('alpha');
const ccKey = loadFixtureKey('cc');

const { gpg, file } = gnupgHome(t, 'hikeshi-mail-forum');
if (gpgAvailable) {
  for (const k of [teamKey, nextKey, otherKey]) gpg(['--import', file('secret', k.armoredPrivateKey)], k.passphrase ?? '');
  gpg(['--import', file('alpha', alphaKey.armoredPublicKey)]);
  gpg(['--import', file('cc', ccKey.armoredPublicKey)]);
}

/** Opens one of alpha's mails as the team does: gpg decrypts (telling whom it was for), then checks alpha's PGP/MIME signature. */
function openAsTeam(raw: Buffer): { text: string; envelope: string; verified: string; encTo: string } {
  const top = parseEntity(canonicalLines(raw.toString('latin1')));
  if (contentTypeOf(top).type !== 'multipart/encrypted') throw new Error(`not encrypted: ${contentTypeOf(top).type}`);
  const [, sealed] = splitMultipart(top.body, contentTypeOf(top).params.get('boundary'));
  const sealedFile = file('sealed', decodedBody(parseEntity(sealed!)));
  // Only the key it is for can open it: try the team's keys, each with its passphrase.
  let run = gpg(['--status-fd', '2', '--decrypt', '--output', '-', sealedFile], teamKey.passphrase ?? '');
  if (run.status !== 0) run = gpg(['--status-fd', '2', '--decrypt', '--output', '-', sealedFile], nextKey.passphrase ?? '');
  if (run.status !== 0) run = gpg(['--status-fd', '2', '--decrypt', '--output', '-', sealedFile], otherKey.passphrase ?? '');
  if (run.status !== 0) throw new Error(`gpg --decrypt: ${run.stderr.toString()}`);
  const encTo = [...run.stderr.toString().matchAll(/ENC_TO ([0-9A-F]{16})/g)].map((m) => m[1]).join(' ');
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
    encTo,
  };
}

/** The team's reply: a text clear-signed by `key` with GnuPG (or a given signed block), mailed to alpha's listener. */
async function reply(text: string, key: FixtureKey = teamKey, headers: Record<string, string> = {}, block?: string): Promise<string> {
  let signed = block;
  if (signed === undefined) {
    const input = file('reply', text);
    const run = gpg(['--local-user', key.fingerprint, '--clearsign', '--output', `${input}.asc`, input], key.passphrase ?? '');
    if (run.status !== 0) throw new Error(run.stderr.toString());
    signed = readFileSync(`${input}.asc`, 'utf8');
  }
  const raw = [
    `From: GnuPG CERT <${TEAM_MAIL}>`,
    'To: csirt@alpha.test',
    `Subject: ${headers['subject'] ?? 'Re: your inquiry'}`,
    `Date: ${new Date().toUTCString()}`,
    `Message-ID: <${randomUUID()}@gnupg-cert.test>`,
    ...Object.entries(headers)
      .filter(([k]) => k !== 'subject')
      .map(([k, v]) => `${k}: ${v}`),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    signed.replace(/\r?\n/g, CRLF),
  ].join(CRLF);
  await smtp.sendMail({ envelope: { from: TEAM_MAIL, to: ['csirt@alpha.test'] }, raw });
  return signed;
}

/** The key ids (primary and subkeys) of a key in the team's keyring: what gpg's ENC_TO names. */
const keyIdsOf = (fingerprint: string): string[] =>
  gpg(['--with-colons', '--list-keys', fingerprint])
    .stdout.toString()
    .split('\n')
    .filter((l) => l.startsWith('pub:') || l.startsWith('sub:'))
    .map((l) => l.split(':')[4]!);
const encryptedFor = (encTo: string, fingerprint: string) => keyIdsOf(fingerprint).some((id) => encTo.includes(id));
const mailsToTeam = () => relay.messages.filter((m) => m.to.includes(TEAM_MAIL));
const headerOf = (raw: Buffer, name: string) => parseEntity(canonicalLines(raw.toString('latin1'))).headers.get(name) ?? '';
type Held = { id: string; reason: string; detail: string };
const quarantine = async () => (await api(alpha, 'GET', '/mail/quarantine', 'handler')).json().items as Held[];
/** The mail held since `before` (the quarantine's items then). */
async function heldAfter(before: Held[]): Promise<Held> {
  const known = new Set(before.map((h) => h.id));
  return waitFor('held in the quarantine', async () => (await quarantine()).find((h) => !known.has(h.id)) ?? null);
}
const MARK = 'zq-mailforum';
const state: { inquiry?: string; messageId?: string; signedAnswer?: string; hidden?: string[]; visible?: string[] } = {};

t.test('the forum: cc lists alpha (a node) and gnupg-cert (a team without a node) in a version-2 roster', async (t) => {
  await partnersBoth(cc, alpha);
  const v1 = await foundForum(t, { operator: cc, members: [cc, alpha] });
  t.equal(v1.version, 1);
  const oldRoster = (await api(alpha, 'GET', '/forums/first/roster', 'reader')).json();
  t.equal(oldRoster.document.v, 1, 'while every member runs a node, the roster stays version 1');

  // cc pins the team's key and verifies it out of band before it signs the key into a roster.
  const added = await api(cc, 'POST', '/peers/mail', 'admin', {
    teamId: TEAM,
    name: 'GnuPG CERT',
    email: TEAM_MAIL,
    publicKey: teamKey.armoredPublicKey,
  });
  t.equal(added.statusCode, 201, added.body);
  const early = await api(cc, 'PUT', `/forums/first/draft/${TEAM}`, 'admin', { kind: 'full', sponsors: [] });
  t.equal(early.statusCode, 409, 'an unverified key is not signed into a roster');
  t.equal((await api(cc, 'POST', `/peers/${TEAM}/verify`, 'admin', { fingerprint: teamKey.fingerprint })).statusCode, 200);
  const drafted = await api(cc, 'PUT', `/forums/first/draft/${TEAM}`, 'admin', { kind: 'full', sponsors: [] });
  t.equal(drafted.statusCode, 201, drafted.body);
  const published = await api(cc, 'POST', '/forums/first/roster', 'admin');
  t.equal(published.statusCode, 201, published.body);
  t.same(published.json().sentTo, ['alpha'], 'a team without a node holds no roster: none is mailed to it');
  t.equal(mailsToTeam().length, 0);
  await waitFor('alpha holds v2', async () => (await forumOf(alpha)).rosterVersion === 2);

  const signed = (await api(alpha, 'GET', '/forums/first/roster', 'reader')).json();
  t.equal(signed.document.v, 2, 'a roster listing a team without a node is version 2');
  const entry = signed.document.members.find((m: { team: string }) => m.team === TEAM);
  t.match(entry, { team: TEAM, channel: 'mail', email: TEAM_MAIL, fingerprint: teamKey.fingerprint, name: 'GnuPG CERT' });
  t.notOk('url' in entry, 'no URL');
  if (gpgAvailable) {
    for (const [what, roster] of [
      ['version 2', signed],
      ['version 1', oldRoster],
    ] as const) {
      const check = gpg(['--verify', file('roster-sig', roster.signature), file('roster', canonicalize(roster.document))]);
      t.equal(check.status, 0, `gpg verifies the ${what} roster over its canonical bytes`);
    }
  }
  const versions = (await api(alpha, 'GET', '/forums/first/rosters', 'reader')).json().items as Array<{ version: number }>;
  t.same(versions.map((v) => v.version).sort(), [1, 2], 'both versions are kept');

  const members = (await api(alpha, 'GET', '/forums/first/members', 'reader')).json().items;
  t.match(
    members.find((m: { team: string }) => m.team === TEAM),
    { channel: 'mail', url: null, email: TEAM_MAIL, peer: 'none', assurance: null },
  );
  t.match(
    members.find((m: { team: string }) => m.team === 'alpha'),
    { channel: 'node', email: null, peer: 'self' },
  );

  const peer = await api(alpha, 'POST', `/forums/first/members/${TEAM}/peer`, 'admin');
  t.equal(peer.statusCode, 201, peer.body);
  t.same(
    peer.json(),
    { teamId: TEAM, fingerprint: teamKey.fingerprint, assurance: 'introduced' },
    'introduced by the roster, as a node member',
  );
  t.match((await api(alpha, 'GET', `/peers/${TEAM}`, 'reader')).json(), { kind: 'mail', email: TEAM_MAIL, mailOnly: true, url: null });
  const audited = (await auditKinds(alpha, { kind: 'peer.added', peer: TEAM })).at(-1)!;
  t.match(audited.details, { kind: 'mail', statedBy: 'the roster of forum "first"' });
});

t.test('bad rosters are refused with problem+json 4xx and change nothing', async (t) => {
  const current = (await api(alpha, 'GET', '/forums/first/roster', 'reader')).json().document;
  const mailEntry = current.members.find((m: { team: string }) => m.team === TEAM);
  const roster = (members: unknown[], overrides: Record<string, unknown> = {}) => ({
    ...current,
    version: 40,
    issued: new Date().toISOString(),
    members: [...current.members.filter((m: { team: string }) => m.team !== TEAM), ...members],
    ...overrides,
  });
  const cases: Array<[string, Record<string, unknown>, number]> = [
    ['a mail member in a version-1 roster', roster([mailEntry], { v: 1 }), 422],
    ['a mail member without a key', roster([{ ...mailEntry, publicKey: undefined }]), 400],
    ['a mail member with an invalid e-mail address', roster([{ ...mailEntry, email: 'not an address' }]), 400],
    ['a mail member with a URL as well', roster([{ ...mailEntry, url: 'https://x.test' }]), 400],
    [
      'a member with neither URL nor channel',
      roster([{ ...mailEntry, channel: undefined, email: undefined, publicKey: undefined, name: undefined }]),
      400,
    ],
    ['a roster version 3', roster([mailEntry], { v: 3 }), 400],
    ['two members at one address', roster([mailEntry, { ...mailEntry, team: 'other-cert', fingerprint: otherKey.fingerprint }]), 422],
  ];
  for (const [what, document, status] of cases) {
    const clean = JSON.parse(
      JSON.stringify({ ...document, members: (document.members as object[]).map((m) => JSON.parse(JSON.stringify(m))) }),
    );
    const signedRoster = await sign(clean, 'cc');
    const message = await sign(messageDocument('cc', 'alpha', 'forum.roster', { roster: signedRoster }), 'cc');
    const res = await postMessage(alpha, message);
    t.equal(res.status, status, `${what}: ${res.text}`);
    t.type(res.json?.code, 'string', `${what}: a problem with a code`);
  }
  t.equal((await forumOf(alpha)).rosterVersion, 2, 'still version 2');
});

t.test('an inquiry reaches the node member over HTTP and the mail member as PGP/MIME; the policy decides each', { skip }, async (t) => {
  const { incident, markers } = markedIncident('AMBER');
  const created = await createIncident(alpha, incident);
  const victim = markers.victims[0]!;
  const internal = markers.internalHosts[0]!;
  const input = {
    question: `Do you see ${MARK}-question scans against ${victim} or ${internal}?`,
    hosts: [{ hostname: `${MARK}-host.example.net` }, { hostname: victim }, { hostname: internal }],
    indicators: [{ kind: 'other', value: `${MARK}-indicator`, description: `${MARK}-description` }],
    domains: [`${MARK}-domain.example.org`, victim],
    networks: ['203.0.113.0/24'],
    tlp: 'AMBER',
    incident: created.ref,
  };
  // A team alpha has no trust in yet gets no AMBER inquiry: the policy decides it as for a node member.
  const refused = await api(alpha, 'POST', '/forums/first/inquiries', 'handler', input);
  t.equal(refused.statusCode, 202, refused.body);
  t.same(refused.json().skipped, [{ team: TEAM, reason: 'tlp-trust' }]);
  const denied = (await auditKinds(alpha, { kind: 'disclosure.decision', peer: TEAM })).filter(
    (e) => e.details.inquiry === refused.json().id,
  );
  t.match(denied, [{ decision: 'deny', details: { purpose: 'broadcast' } }], 'the refusal is audited');
  t.equal(mailsToTeam().length, 0, 'nothing is mailed');
  t.equal((await api(alpha, 'PATCH', `/peers/${TEAM}`, 'admin', { trustLevel: 'partner' })).statusCode, 200);

  const res = await api(alpha, 'POST', '/forums/first/inquiries', 'handler', input);
  t.equal(res.statusCode, 202, res.body);
  state.inquiry = res.json().id;
  t.same(res.json().sentTo, ['cc', TEAM], 'both members');
  const decisions = (await auditKinds(alpha, { kind: 'disclosure.decision' })).filter((e) => e.details.inquiry === state.inquiry);
  t.same(
    decisions.map((e) => [e.decision, e.details.purpose, e.details.recipient.id]),
    [
      ['allow', 'broadcast', 'cc'],
      ['allow', 'broadcast', TEAM],
    ],
    'one audited decision per member',
  );
  const mail = await waitFor('mailed to the team', async () => mailsToTeam().at(-1) ?? null);
  await waitFor('sent', async () => {
    const view = await showInquiry(alpha, state.inquiry!);
    return view.members.find((m: { team: string; delivery: string }) => m.team === TEAM && m.delivery === 'sent');
  });
  state.messageId = headerOf(mail.raw, 'message-id');
  t.equal(headerOf(mail.raw, 'subject'), `[alpha] forum.inquiry ${created.ref}`, 'the subject names no content');
  const opened = openAsTeam(mail.raw);
  t.match(opened.verified, new RegExp(`VALIDSIG ${alphaKey.fingerprint}`), 'gpg verifies our PGP/MIME signature');
  t.ok(encryptedFor(opened.encTo, teamKey.fingerprint), 'encrypted to the key the roster pinned');
  t.match(opened.text, /an inquiry to the members of a forum/);
  t.match(opened.text, new RegExp(`Inquiry: ${state.inquiry}`));
  t.match(opened.text, /Answer: seen +\(or: not-seen, or: affected\)/, 'how to answer');
  const envelope = JSON.parse(opened.envelope) as { document: Record<string, any>; signature: string };
  t.match(envelope.document, { type: 'forum.inquiry', from: 'alpha', to: TEAM, body: { forum: 'first', inquiry: state.inquiry } });
  const docCheck = gpg(['--verify', file('doc-sig', envelope.signature), file('doc', canonicalize(envelope.document))]);
  t.equal(docCheck.status, 0, 'gpg verifies the attached inquiry document');

  // What the policy let go to the team is exactly what is in the mail, text and attachment alike.
  const sent = envelope.document.body;
  const allowed = JSON.stringify(sent).toLowerCase();
  for (const marker of [`${MARK}-question`, `${MARK}-host`, `${MARK}-indicator`, `${MARK}-description`, `${MARK}-domain`]) {
    t.ok(allowed.includes(marker), `${marker} is in what the policy let go`);
    t.ok(opened.text.toLowerCase().includes(marker), `${marker} is in the mail text`);
  }
  const decision = decisions.find((e) => e.details.recipient.id === TEAM)!;
  const hidden = (decision.details.redactions ?? []) as string[];
  t.ok(
    hidden.includes('victims') || hidden.includes('internalHosts'),
    `the policy hides something from the team: ${JSON.stringify(hidden)}`,
  );
  for (const [section, marker] of [
    ['victims', victim],
    ['internalHosts', internal],
  ] as const) {
    const where = {
      text: opened.text.toLowerCase(),
      attachment: opened.envelope.toLowerCase(),
      raw: mail.raw.toString('latin1').toLowerCase(),
    };
    for (const [name, text] of Object.entries(where)) {
      if (hidden.includes(section)) t.notOk(text.includes(marker.toLowerCase()), `${section} marker absent from the ${name}`);
    }
    if (!hidden.includes(section)) t.ok(where.text.includes(marker.toLowerCase()), `${section} is allowed and shown`);
  }
  // The node member got its own decision's content over HTTP.
  const atCc = await waitFor('cc has it', async () =>
    (await api(cc, 'GET', '/inquiries?direction=received', 'reader')).json().items.find((i: { poster: string }) => i.poster === 'alpha'),
  );
  t.match((await showInquiry(cc, atCc.id)).question, new RegExp(`${MARK}-question`));
});

t.test('a reply signed by another key is quarantined and files nothing', { skip }, async (t) => {
  const before = await quarantine();
  await reply(`Inquiry: ${state.inquiry}\nAnswer: seen\n`, otherKey, { 'In-Reply-To': `<${state.messageId!.replace(/[<>]/g, '')}>` });
  t.equal((await heldAfter(before)).reason, 'wrong-key');
  t.same((await showInquiry(alpha, state.inquiry!)).answers, []);
});

t.test('a tampered reply is quarantined', { skip }, async (t) => {
  const before = await quarantine();
  const input = file('reply', `Inquiry: ${state.inquiry}\nAnswer: not-seen\n`);
  const run = gpg(['--local-user', teamKey.fingerprint, '--clearsign', '--output', `${input}.asc`, input], teamKey.passphrase ?? '');
  t.equal(run.status, 0);
  const tampered = readFileSync(`${input}.asc`, 'utf8').replace('Answer: not-seen', 'Answer: affected');
  await reply('', teamKey, { 'In-Reply-To': state.messageId! }, tampered);
  t.equal((await heldAfter(before)).reason, 'bad-signature');
  t.same((await showInquiry(alpha, state.inquiry!)).answers, []);
});

t.test('a reply without an Answer line is held for a handler, and the inquiry stays sent', { skip }, async (t) => {
  const before = await quarantine();
  await reply(`Inquiry: ${state.inquiry}\nWe will look into it next week.\n`, teamKey, { 'In-Reply-To': state.messageId! });
  const held = await heldAfter(before);
  t.equal(held.reason, 'inquiry-answer-unreadable');
  const view = await showInquiry(alpha, state.inquiry!);
  t.match(
    view.members.find((m: { team: string }) => m.team === TEAM),
    { delivery: 'sent', answer: null },
  );
});

t.test("the team's signed answer is filed as an inquiry answer, like one over HTTP", { skip }, async (t) => {
  const text = [
    '> Do you see ... (quoted from your mail)',
    `> Answer: affected`,
    `Inquiry: ${state.inquiry}`,
    'Answer: seen',
    'Reference: GNU-2026-0042',
    '',
    `We saw ${MARK}-host.example.net on Friday, in our own logs.`,
    '',
  ].join('\n');
  state.signedAnswer = await reply(text, teamKey, { 'In-Reply-To': state.messageId!, References: state.messageId! });
  const view = await waitFor('filed', async () => {
    const v = await showInquiry(alpha, state.inquiry!);
    return v.members.find((m: { team: string; answer: unknown }) => m.team === TEAM && m.answer) ? v : null;
  });
  const member = view.members.find((m: { team: string }) => m.team === TEAM);
  t.match(member, {
    outcome: 'sent',
    delivery: 'delivered',
    answer: { team: TEAM, answer: 'seen', ref: 'GNU-2026-0042', automatic: false },
  });
  t.match(member.answer.note, /on Friday, in our own logs/);
  t.notMatch(member.answer.note, /quoted from your mail|Answer:|Inquiry:|Reference:/, 'the note is what they wrote, not the lines we read');
  const answered = (await auditKinds(alpha, { kind: 'forum.inquiry-answered', peer: TEAM })).at(-1)!;
  t.match(answered.details, { forum: 'first', answer: 'seen', channel: 'mail' });
  const receipt = (await auditKinds(alpha, { kind: 'receipt', peer: TEAM })).at(-1)!;
  t.match(receipt.details, { type: 'forum.inquiry', status: 'replied', channel: 'mail', via: 'message-id' });
  t.notMatch(JSON.stringify(receipt.details), /Friday/, 'the audit keeps a digest, never the words');
});

t.test('the same signed answer mailed again files nothing new', { skip }, async (t) => {
  await reply('', teamKey, { 'In-Reply-To': state.messageId! }, state.signedAnswer);
  await waitFor(
    'the replay was taken',
    async () => (await auditKinds(alpha, { kind: 'receipt', peer: TEAM })).filter((e) => e.details.type === 'forum.inquiry').length >= 2,
  );
  const view = await showInquiry(alpha, state.inquiry!);
  t.equal(view.answers.filter((a: { team: string }) => a.team === TEAM).length, 1, 'one answer');
});

t.test('an answer to one inquiry replayed as the answer to another is refused', { skip }, async (t) => {
  const res = await api(alpha, 'POST', '/forums/first/inquiries', 'handler', {
    question: `Second question ${MARK}`,
    domains: [`${MARK}-second.example.org`],
    tlp: 'GREEN',
  });
  t.equal(res.statusCode, 202, res.body);
  const second = res.json().id as string;
  const before = mailsToTeam().length;
  const mail = await waitFor('mailed', async () => (mailsToTeam().length > before ? mailsToTeam().at(-1)! : null));
  const messageId = headerOf(mail.raw, 'message-id');
  const held = await quarantine();
  // The headers are not signed: the signed text names the first inquiry, not this one.
  await reply('', teamKey, { 'In-Reply-To': messageId }, state.signedAnswer);
  const found = await heldAfter(held);
  t.equal(found.reason, 'inquiry-answer-unreadable');
  t.match(found.detail, /does not name inquiry/);
  t.same((await showInquiry(alpha, second)).answers, []);

  // A reply without reply headers that names the inquiry id is its answer.
  await reply(`Inquiry: ${second}\nAnswer: not-seen\n`, teamKey, { subject: 'about your inquiry' });
  const view = await waitFor('filed by its id', async () => {
    const v = await showInquiry(alpha, second);
    return v.answers.length > 0 ? v : null;
  });
  t.match(view.answers, [{ team: TEAM, answer: 'not-seen', ref: null }]);
});

t.test("a share's reply gives the team's own reference number, shown as a node's would be", { skip }, async (t) => {
  const { incident } = markedIncident('GREEN');
  const created = await createIncident(alpha, incident);
  t.equal((await api(alpha, 'POST', `/incidents/${encodeURIComponent(created.ref)}/shares`, 'handler', { peer: TEAM })).statusCode, 202);
  const share = await waitFor('sent', async () => {
    const items = (await api(alpha, 'GET', `/incidents/${encodeURIComponent(created.ref)}/shares`, 'reader')).json().items;
    return items.find((s: { peer: string; state: string }) => s.peer === TEAM && s.state === 'sent');
  });
  t.ok(share);
  const mail = mailsToTeam().at(-1)!;
  const opened = openAsTeam(mail.raw);
  t.match(opened.text, /"Reference: <yours>"/, 'the mail says how to give theirs');
  await reply(`> Our reference:  ${created.ref}\nThanks. Our reference: GNU-INC-77\n\nReference: GNU-INC-77\n`, teamKey, {
    'In-Reply-To': headerOf(mail.raw, 'message-id'),
  });
  const delivered = await waitFor('delivered with their reference', async () => {
    const items = (await api(alpha, 'GET', `/incidents/${encodeURIComponent(created.ref)}/shares`, 'reader')).json().items;
    return items.find(
      (s: { peer: string; state: string; peerRef: string | null }) => s.peer === TEAM && s.state === 'delivered' && s.peerRef,
    );
  });
  t.equal(delivered.peerRef, 'GNU-INC-77');
  const got = (await api(alpha, 'GET', `/incidents/${encodeURIComponent(created.ref)}`, 'reader')).json();
  t.match(got.externalRefs, [{ team: TEAM, ref: 'GNU-INC-77' }], 'kept with the incident, as a node peer reference');
});

t.test('replacing the key of a team without a node: bad input is refused with problem+json 4xx', async (t) => {
  const body = { publicKey: nextKey.armoredPublicKey };
  const cases: Array<[string, string, unknown, number, string, ('admin' | 'handler' | 'reader' | null)?]> = [
    ['an unknown team', 'nobody-here', body, 404, 'not-found'],
    ['a node peer', 'cc', body, 409, 'conflict'],
    ['not a key', TEAM, { publicKey: 'hello' }, 422, 'peer-key-invalid'],
    ['another fingerprint than the one checked', TEAM, { ...body, fingerprint: otherKey.fingerprint }, 409, 'fingerprint-mismatch'],
    ['the key pinned already', TEAM, { publicKey: teamKey.armoredPublicKey }, 409, 'conflict'],
    ["this node's own key", TEAM, { publicKey: alphaKey.armoredPublicKey }, 409, 'conflict'],
    ["another peer's key", TEAM, { publicKey: ccKey.armoredPublicKey }, 409, 'conflict'],
    ['an unknown member', TEAM, { ...body, email: 'x@y.test' }, 400, 'validation-failed'],
    ['no key', TEAM, {}, 400, 'validation-failed'],
    ['a handler', TEAM, body, 403, 'forbidden', 'handler'],
    ['no token', TEAM, body, 401, 'unauthenticated', null],
  ];
  for (const [what, team, payload, status, code, role] of cases) {
    const res = await api(alpha, 'POST', `/peers/${team}/mail-key`, role === undefined ? 'admin' : role, payload);
    t.equal(res.statusCode, status, `${what}: ${res.body}`);
    t.equal(res.json().code, code, what);
    t.match(res.headers['content-type'], /application\/problem\+json/, what);
  }
  t.equal((await api(alpha, 'GET', `/peers/${TEAM}`, 'reader')).json().fingerprint, teamKey.fingerprint, 'nothing changed');
});

t.test('a new key certified by the old one keeps verified; queued mail goes to it; the old key is refused', { skip }, async (t) => {
  t.equal((await api(alpha, 'POST', `/peers/${TEAM}/verify`, 'admin', { fingerprint: teamKey.fingerprint })).statusCode, 200);
  // The team certifies its new key with its old one, as GnuPG users do, and sends us the export.
  const certify = gpg(['--local-user', teamKey.fingerprint, '--quick-sign-key', nextKey.fingerprint], teamKey.passphrase ?? '');
  t.equal(certify.status, 0, certify.stderr.toString());
  const exported = gpg(['--armor', '--export', nextKey.fingerprint]);
  const keyFile = file('next-pub', exported.stdout);

  // Mail queued while the mail server is down is encrypted, once it is up, to the key pinned then.
  relay.down();
  const before = mailsToTeam().length;
  const posted = await api(alpha, 'POST', '/forums/first/inquiries', 'handler', {
    question: `Third ${MARK}`,
    domains: ['third.example.org'],
    tlp: 'GREEN',
  });
  t.equal(posted.statusCode, 202, posted.body);
  await waitFor('retrying', async () => {
    const v = await showInquiry(alpha, posted.json().id);
    return v.members.find((m: { team: string; delivery: string }) => m.team === TEAM && m.delivery === 'pending');
  });
  const cli = await runCli(alpha, 'peer', 'mail-key', TEAM, '--key', keyFile, '--fingerprint', nextKey.fingerprint.toLowerCase());
  t.equal(cli.code, 0, cli.stderr);
  t.match(cli.stdout, /Pinned a new key for gnupg-cert/);
  t.match(cli.stdout, /stays verified/);
  t.match((await api(alpha, 'GET', `/peers/${TEAM}`, 'reader')).json(), {
    fingerprint: nextKey.fingerprint,
    assurance: 'verified',
    kind: 'mail',
  });
  const audited = (await auditKinds(alpha, { kind: 'peer.key-replaced', peer: TEAM })).at(-1)!;
  t.match(audited.details, {
    oldFingerprint: teamKey.fingerprint,
    newFingerprint: nextKey.fingerprint,
    certifiedByOldKey: true,
    assurance: { from: 'verified', to: 'verified' },
  });
  const keys = (await api(alpha, 'GET', `/peers/${TEAM}/keys`, 'reader')).json().items;
  t.match(
    keys.find((k: { fingerprint: string }) => k.fingerprint === nextKey.fingerprint),
    { how: 'replaced', retiredAt: null },
  );
  relay.up();
  const mail = await waitFor('mailed', async () => (mailsToTeam().length > before ? mailsToTeam().at(-1)! : null));
  const opened = openAsTeam(mail.raw);
  t.ok(encryptedFor(opened.encTo, nextKey.fingerprint), 'encrypted to the new key');
  t.notOk(encryptedFor(opened.encTo, teamKey.fingerprint), 'not to the old one');

  // A reply signed by the old key after the change is held.
  const held = await quarantine();
  await reply(`Inquiry: ${posted.json().id}\nAnswer: seen\n`, teamKey, { 'In-Reply-To': headerOf(mail.raw, 'message-id') });
  t.equal((await heldAfter(held)).reason, 'wrong-key');
  await reply(`Inquiry: ${posted.json().id}\nAnswer: seen\n`, nextKey, { 'In-Reply-To': headerOf(mail.raw, 'message-id') });
  await waitFor('the new key answers', async () => (await showInquiry(alpha, posted.json().id)).answers.length > 0);
});

t.test('a new key the old one did not certify is pinned unverified, with the confirm hint', async (t) => {
  const res = await api(alpha, 'POST', `/peers/${TEAM}/mail-key`, 'admin', { publicKey: otherKey.armoredPublicKey });
  t.equal(res.statusCode, 200, res.body);
  t.match(res.json(), { fingerprint: otherKey.fingerprint, assurance: 'unverified' });
  t.match(res.json().confirm, /out of band/);
  const audited = (await auditKinds(alpha, { kind: 'peer.key-replaced', peer: TEAM })).at(-1)!;
  t.match(audited.details, { newFingerprint: otherKey.fingerprint, certifiedByOldKey: false, assurance: { to: 'unverified' } });
  const retired = await api(alpha, 'POST', `/peers/${TEAM}/mail-key`, 'admin', { publicKey: teamKey.armoredPublicKey });
  t.equal(retired.statusCode, 409, 'a key the team retired is not pinned again');
  const usage = await runCli(alpha, 'peer', 'mail-key', TEAM);
  t.equal(usage.code, 2, 'the CLI without --key is a usage error');
  t.match(usage.stderr, /peer mail-key <team-id> --key/);
});
