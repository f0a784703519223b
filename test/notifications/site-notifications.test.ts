import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import { createTransport } from 'nodemailer';
import t from 'tap';
import { buildTestNode } from '../helpers/build-test-app.js';
import { api, auditKinds, createIncident, enc, fastDelivery, journal, waitFor } from '../helpers/federation-harness.js';
import { mailConfig, readableMail, startMailRelay } from '../helpers/mail-relay.js';
import { assertMarkers, markedIncident, SECTIONS } from '../helpers/marker-scan.js';
import { loadFixtureKey, loadFixtureSigner } from '../fixtures/keys/index.js';
import { canonicalLines, contentTypeOf, decodedBody, parseEntity, splitMultipart } from '../../src/modules/exchange/mail-mime.js';

/**
 * Issue 19 parts 1 to 3: one node tells its constituency's sites about incidents. Its mail goes
 * to a real SMTP server on loopback (test/helpers/mail-relay.ts), which keeps every message; the
 * sites' bounces and replies come in at the node's own SMTP listener.
 */
fastDelivery();
const relay = await startMailRelay();
t.teardown(() => relay.close());
const node = await buildTestNode(t, {
  key: 'alpha',
  startWorker: true,
  config: { teamEmail: 'csirt@alpha.test', mail: mailConfig(relay.url, 'csirt@alpha.test') },
});
const { port } = await node.app.federation.mail.listen();
const smtp = createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });

async function site(name: string, body: Record<string, unknown>): Promise<string> {
  const res = await api(node, 'POST', '/sites', 'handler', { name, ...body });
  if (res.statusCode !== 201) throw new Error(`POST /sites: ${res.statusCode} ${res.body}`);
  return res.json().id;
}
const poc = (email: string, languages: string[]) => ({ name: `POC of ${email}`, channels: [{ kind: 'email', value: email }], languages });

const A = {
  email: 'soc@site-a.test',
  id: await site('Site A', { networks: ['198.51.100.0/25'], pocs: [poc('soc@site-a.test', ['ja', 'en'])] }),
};
const B = { email: 'noc@site-b.test', id: await site('Site B', { domains: ['site-b.example'], pocs: [poc('noc@site-b.test', ['en'])] }) };
const C = {
  email: 'cert@site-c.test',
  id: await site('Site C', { networks: ['203.0.113.96/27'], asns: [64500], pocs: [poc('cert@site-c.test', [])] }),
};
const D = {
  id: await site('Site D', {
    networks: ['198.18.0.0/24'],
    pocs: [{ name: 'Desk', channels: [{ kind: 'phone', value: '+81-3-0000-0000' }], languages: ['ja'] }],
  }),
};

const mailsTo = (address: string) => relay.messages.filter((m) => m.to.includes(address));
type Notification = {
  id: string;
  state: string;
  site: { id: string };
  reason: string | null;
  deniedBy: string[];
  messageId: string | null;
} & Record<string, any>;
const bySite = (items: Notification[], id: string) => items.find((n) => n.site.id === id)!;

async function notifications(ref: string): Promise<Notification[]> {
  const res = await api(node, 'GET', `/incidents/${enc(ref)}/notifications`, 'reader');
  if (res.statusCode !== 200) throw new Error(`list: ${res.statusCode} ${res.body}`);
  return res.json().items;
}
const one = async (id: string): Promise<Notification> => (await api(node, 'GET', `/notifications/${id}`, 'reader')).json();
const waitState = (id: string, state: string) =>
  waitFor(`notification ${id} ${state}`, async () => ((await one(id)).state === state ? one(id) : null));

// One incident touching three sites with mail, one with a phone only, and addresses in no site;
// every other field carries the marker strings no site may receive.
const marked = markedIncident('GREEN');
const tag = marked.tag;
const multi = await createIncident(node, {
  ...marked.incident,
  title: `TITLE-${tag} ${marked.incident.title}`,
  hosts: [
    { ip: '198.51.100.10', role: 'target', ports: [22], protocol: 'tcp', description: `A-HOST-${tag}` },
    { hostname: 'mail.site-b.example', role: 'target', description: `B-HOST-${tag}` },
    { ip: '203.0.113.99', role: 'source', description: `C-HOST-${tag}` },
    { ip: '198.18.0.7', role: 'target', description: `D-HOST-${tag}` },
    { ip: '233.252.0.5', role: 'source', description: `NOSITE-HOST-${tag} ${marked.markers.victims[0]}` },
  ],
  indicators: [
    { kind: 'ipv4', value: '198.51.100.10' },
    { kind: 'url', value: 'http://mail.site-b.example/login.php' },
    { kind: 'asn', value: 'AS64500' },
    { kind: 'domain', value: marked.attacker },
    { kind: 'other', value: `free text naming ${marked.markers.victims[1]}` },
  ],
});

t.test('propose: one notification per site, decided by the policy and audited; again does not duplicate', async (t) => {
  const res = await api(node, 'POST', `/incidents/${enc(multi.ref)}/notifications/propose`, 'handler');
  t.equal(res.statusCode, 200, res.body);
  const items: Notification[] = res.json().items;
  t.equal(items.length, 4, 'four sites involved; the address in no site makes no notification');
  t.match(bySite(items, A.id), { state: 'drafted', language: 'ja', counterMeasure: 'system-compromise', poc: { email: A.email } });
  t.match(bySite(items, B.id), { state: 'drafted', language: 'en' });
  t.match(bySite(items, C.id), { state: 'drafted', language: 'en' });
  t.match(bySite(items, D.id), { state: 'unreachable', reason: 'no-poc-email' }, 'a site without a POC e-mail is listed, not skipped');
  const a = bySite(items, A.id);
  t.same(
    a.content.hosts.map((h: { ip?: string }) => h.ip),
    ['198.51.100.10'],
    "site A's content holds its own host only",
  );
  t.same(
    a.content.indicators.map((i: { value: string }) => i.value).sort(),
    ['198.51.100.10', marked.attacker].sort(),
    'its indicator and the attacker domain',
  );
  const c = bySite(items, C.id);
  t.ok(
    c.content.indicators.some((i: { value: string }) => i.value === 'AS64500'),
    'the AS number is site C',
  );

  const decisions = (await auditKinds(node, { kind: 'disclosure.decision' })).filter((e) => e.details.type === 'site.notification');
  for (const n of items)
    t.ok(
      decisions.some((e) => e.details.notificationId === n.id),
      `the decision for site ${n.site.id} is audited`,
    );
  t.equal(decisions.length, 4, 'one decision entry per site');

  const again = await api(node, 'POST', `/incidents/${enc(multi.ref)}/notifications/propose`, 'handler');
  t.equal(again.statusCode, 200);
  t.same(
    again
      .json()
      .items.map((n: Notification) => n.id)
      .sort(),
    items.map((n) => n.id).sort(),
    'proposing again refreshes the same notifications',
  );
  const text = (await one(a.id)).text as string;
  t.match(text, /参照番号/, 'site A reads Japanese headings');
  t.match(text, /198\.51\.100\.10/);
});

t.test('approved notifications arrive signed, each with its own hosts and nothing else', async (t) => {
  const items = await notifications(multi.ref);
  for (const s of [A, B]) {
    const res = await api(node, 'POST', `/notifications/${bySite(items, s.id).id}/approve`, 'handler');
    t.equal(res.statusCode, 200, res.body);
    t.equal(res.json().state, 'approved');
    t.equal(res.json().encrypted, false, 'GREEN goes signed only');
    await waitState(bySite(items, s.id).id, 'sent');
  }
  t.equal(relay.connections(), 1, "B's mail went over the connection A's opened (pooled, kept open)");
  await waitFor('mail at A and B', async () => mailsTo(A.email).length === 1 && mailsTo(B.email).length === 1);
  const hostOf = { [A.email]: `a-host-${tag}`, [B.email]: `b-host-${tag}` } as Record<string, string>;
  for (const s of [A, B]) {
    const [mail] = mailsTo(s.email);
    const text = readableMail(mail!.raw);
    t.match(text, /multipart\/signed/, `${s.email}: PGP/MIME signed`);
    t.ok(text.includes(hostOf[s.email]!), `${s.email}: its own host`);
    for (const other of ['a-host', 'b-host', 'c-host', 'd-host', 'nosite-host'].map((h) => `${h}-${tag}`))
      if (other !== hostOf[s.email]) t.notOk(text.includes(other), `${s.email}: not ${other}`);
    t.notOk(text.includes(`title-${tag}`), `${s.email}: no title`);
    t.notOk(text.includes('203.0.113.99'), `${s.email}: not site C's address`);
    assertMarkers(t, text, marked.markers, SECTIONS, s.email);
    t.ok(text.includes(marked.attacker), `${s.email}: the attacker's domain (in no site)`);
    const messageId = (await one(bySite(items, s.id).id)).messageId!;
    t.ok(mail!.raw.toString('latin1').includes(`Message-ID: <${messageId}>`), 'the recorded Message-ID is the one sent');
  }
  const j = await journal(node, multi.ref);
  t.ok(
    j.some((e) => e.kind === 'notification-sent'),
    'journaled on the incident',
  );
});

t.test('the mail server down at first: retried, then handed over once', async (t) => {
  const c = bySite(await notifications(multi.ref), C.id);
  relay.down();
  t.equal((await api(node, 'POST', `/notifications/${c.id}/approve`, 'handler')).statusCode, 200);
  const tried = await waitFor('two failed attempts', async () => {
    const n = await one(c.id);
    return n.delivery && n.delivery.attempts >= 2 && n.state === 'approved' ? n : null;
  });
  t.match(tried.delivery.lastError, /did not take the message/);
  relay.up();
  await waitState(c.id, 'sent');
  await new Promise((r) => setTimeout(r, 300));
  t.equal(mailsTo(C.email).length, 1, 'exactly one message at the server');
  t.ok(readableMail(mailsTo(C.email)[0]!.raw).includes(`c-host-${tag}`));
});

t.test('a bounce marks the notification bounced and the POC address failing', async (t) => {
  const b = await one(bySite(await notifications(multi.ref), B.id).id);
  const boundary = 'dsn-boundary-1';
  const dsn = [
    'From: Mail Delivery System <MAILER-DAEMON@relay.test>',
    'To: csirt@alpha.test',
    'Subject: Undelivered Mail Returned to Sender',
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status; boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain',
    '',
    'Your message could not be delivered.',
    `--${boundary}`,
    'Content-Type: message/delivery-status',
    '',
    'Reporting-MTA: dns; relay.test',
    '',
    `Final-Recipient: rfc822; ${B.email}`,
    'Action: failed',
    'Status: 5.1.1',
    'Diagnostic-Code: smtp; 550 5.1.1 user unknown',
    '',
    `--${boundary}`,
    'Content-Type: text/rfc822-headers',
    '',
    `Message-ID: <${b.messageId}>`,
    'From: csirt@alpha.test',
    '',
    `--${boundary}--`,
    '',
  ].join('\r\n');
  await smtp.sendMail({ envelope: { from: '', to: ['csirt@alpha.test'] }, raw: dsn });
  const bounced = await waitState(b.id, 'bounced');
  t.match(bounced.outcomeDetail, /5\.1\.1/);
  const failing = (await api(node, 'GET', '/site-contacts?failing=true', 'reader')).json().items;
  t.match(failing, [{ email: B.email, failing: true, lastBounceReason: /user unknown/ }], 'the directory shows the contact to fix');
  const quarantine = (await api(node, 'GET', '/mail/quarantine', 'admin')).json();
  t.equal(quarantine.items.length, 0, 'the bounce was taken, not quarantined');
});

t.test("a site's reply lands in the incident's journal and marks the notification answered", async (t) => {
  const a = await one(bySite(await notifications(multi.ref), A.id).id);
  const reply = [
    `From: Site A SOC <${A.email}>`,
    'To: csirt@alpha.test',
    `Subject: Re: [${multi.ref}] Security notification`,
    `In-Reply-To: <${a.messageId}>`,
    `References: <${a.messageId}>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
    `We reinstalled the host. REPLY-${tag}`,
    '',
  ].join('\r\n');
  await smtp.sendMail({ envelope: { from: A.email, to: ['csirt@alpha.test'] }, raw: reply });
  await waitState(a.id, 'answered');
  const entry = (await journal(node, multi.ref)).find((e) => e.kind === 'notification-answered');
  t.ok(entry?.note?.includes(`REPLY-${tag}`), 'the reply is in the journal');
  t.equal(entry?.changes?.from, A.email, 'with its sender');
  const audited = await auditKinds(node, { kind: 'notification.answered' });
  t.equal(audited.length, 1);
  t.notOk(JSON.stringify(audited).includes(`REPLY-${tag}`), 'the audit keeps a digest, never the text');
});

t.test('acknowledged by phone: an unreachable site the handler called', async (t) => {
  const d = bySite(await notifications(multi.ref), D.id);
  const res = await api(node, 'POST', `/notifications/${d.id}/acknowledge`, 'handler', { via: 'phone' });
  t.equal(res.statusCode, 200, res.body);
  t.match(res.json(), { state: 'acknowledged', outcomeDetail: 'phone' });
});

t.test('AMBER: encrypted to the POC key pinned for the address; without a key the site is unreachable', async (t) => {
  const put = await api(node, 'PUT', `/site-contacts/${enc(A.email)}/key`, 'admin', {
    publicKey: loadFixtureKey('bravo').armoredPublicKey,
  });
  t.equal(put.statusCode, 200, put.body);
  t.match(put.json(), { email: A.email, fingerprint: /^[0-9A-F]{40}$/ });
  const amber = await createIncident(node, {
    ...marked.incident,
    title: `AMBER-TITLE-${tag}`,
    tlp: 'AMBER',
    hosts: [
      { ip: '198.51.100.20', role: 'target', description: `A-AMBER-${tag}` },
      { hostname: 'www.site-b.example', role: 'target' },
    ],
    indicators: [],
  });
  const items: Notification[] = (await api(node, 'POST', `/incidents/${enc(amber.ref)}/notifications/propose`, 'handler')).json().items;
  t.match(bySite(items, B.id), { state: 'unreachable', reason: 'poc-key-required' });
  const a = bySite(items, A.id);
  t.equal(a.state, 'drafted');
  const before = mailsTo(A.email).length;
  const approved = await api(node, 'POST', `/notifications/${a.id}/approve`, 'handler');
  t.equal(approved.json().encrypted, true);
  await waitState(a.id, 'sent');
  const mail = await waitFor('the AMBER mail', async () => mailsTo(A.email)[before]);
  const raw = canonicalLines(mail.raw.toString('latin1'));
  t.notOk(raw.toLowerCase().includes(`a-amber-${tag}`), 'nothing readable on the way');
  const top = parseEntity(raw);
  t.equal(contentTypeOf(top).type, 'multipart/encrypted');
  const [, sealed] = splitMultipart(top.body, contentTypeOf(top).params.get('boundary'));
  const bravo = await loadFixtureSigner('bravo');
  const inner = await bravo.decrypt(decodedBody(parseEntity(sealed!)).toString('latin1'));
  const text = readableMail(inner);
  t.ok(text.includes(`a-amber-${tag}`), 'the POC opens it with its private key and reads its host');
  t.ok(text.includes('tlp:amber'));
  assertMarkers(t, text, marked.markers, SECTIONS, 'AMBER mail');
});

t.test('RED: the policy refuses, and the notification says why', async (t) => {
  const red = await createIncident(node, {
    ...marked.incident,
    tlp: 'RED',
    hosts: [{ ip: '198.51.100.30', role: 'target' }],
    indicators: [],
  });
  const items: Notification[] = (await api(node, 'POST', `/incidents/${enc(red.ref)}/notifications/propose`, 'handler')).json().items;
  t.equal(items.length, 1);
  t.match(items[0], { state: 'refused', reason: 'policy-denied', content: null });
  t.ok(items[0]!.deniedBy.length > 0, `deniedBy: ${items[0]!.deniedBy.join(', ')}`);
  const approve = await api(node, 'POST', `/notifications/${items[0]!.id}/approve`, 'handler');
  t.equal(approve.statusCode, 409);
  t.equal(approve.json().code, 'notification-state');
  const denied = (await auditKinds(node, { kind: 'disclosure.decision' })).filter(
    (e) => e.details.notificationId === items[0]!.id && e.decision === 'deny',
  );
  t.equal(denied.length, 1, 'the refusal is audited');
});

t.test('a follow-up: once the first went out, proposing again drafts a second that names it; never two on their way', async (t) => {
  const inc = await createIncident(node, {
    ...marked.incident,
    tlp: 'GREEN',
    hosts: [{ ip: '198.51.100.40', role: 'target', description: `FIRST-HOST-${tag}` }],
    indicators: [],
  });
  const propose = async () => {
    const res = await api(node, 'POST', `/incidents/${enc(inc.ref)}/notifications/propose`, 'handler');
    t.equal(res.statusCode, 200, res.body);
    return res.json().items as Notification[];
  };
  const [first] = await propose();
  t.match(first, { state: 'drafted', follows: null });
  t.same(
    (await propose()).map((n) => n.id),
    [first!.id],
    'a draft is refreshed, not followed up',
  );
  // Approved and held back by a mail server that is down: on its way, so proposing again adds nothing.
  relay.down();
  t.equal((await api(node, 'POST', `/notifications/${first!.id}/approve`, 'handler')).statusCode, 200);
  t.same(
    (await propose()).map((n) => [n.id, n.state]),
    [[first!.id, 'approved']],
    'an approved one is not followed up',
  );
  relay.up();
  await waitState(first!.id, 'sent');

  // New hosts in the site: the handler tells it again.
  const patched = await api(node, 'PATCH', `/incidents/${enc(inc.ref)}`, 'handler', {
    hosts: [
      { ip: '198.51.100.40', role: 'target', description: `FIRST-HOST-${tag}` },
      { ip: '198.51.100.41', role: 'target', description: `SECOND-HOST-${tag}` },
    ],
  });
  t.equal(patched.statusCode, 200, patched.body);
  const items = await propose();
  t.equal(items.length, 2, 'the first and its follow-up');
  const second = items.find((n) => n.id !== first!.id)!;
  t.match(second, { state: 'drafted', follows: first!.id, site: { id: A.id } });
  t.same(
    second.content.hosts.map((h: { ip: string }) => h.ip),
    ['198.51.100.40', '198.51.100.41'],
    'with the hosts as they are now',
  );
  t.equal((await one(first!.id)).state, 'sent', 'the first keeps its state');
  t.same(
    (await propose()).map((n) => n.id).sort(),
    [first!.id, second.id].sort(),
    'proposing again refreshes the follow-up: never two drafts',
  );
  await t.rejects(
    sql`insert into site_notification (id, incident_id, site_id, site_name, state, language, proposed_by, proposed_at, updated_at)
        values (${randomUUID()}, ${inc.id}, ${A.id}, 'Site A', 'drafted', 'en', 'test', now(), now())`.execute(node.database.db),
    'the database refuses a second draft for the site (migration 0033)',
  );
  const proposedEntry = (await journal(node, inc.ref)).filter((e) => e.kind === 'notification-proposed').at(-1);
  t.equal(proposedEntry?.changes?.follows, first!.id, 'the journal names the notification followed');

  const before = mailsTo(A.email).length;
  t.equal((await api(node, 'POST', `/notifications/${second.id}/approve`, 'handler')).statusCode, 200);
  const sent = await waitState(second.id, 'sent');
  t.not(sent.messageId, (await one(first!.id)).messageId, 'a mail of its own');
  const mail = await waitFor('the follow-up mail', async () => mailsTo(A.email)[before]);
  t.ok(readableMail(mail.raw).includes(`second-host-${tag}`), 'the site reads the new host');
  t.equal(mailsTo(A.email).length, before + 1, 'one mail');
});

t.test('the mail server goes silent once it has the whole mail: sent with sendUncertain, never handed over again', async (t) => {
  const inc = await createIncident(node, {
    ...marked.incident,
    tlp: 'GREEN',
    hosts: [{ ip: '203.0.113.100', role: 'target' }],
    indicators: [],
  });
  const [c] = (await api(node, 'POST', `/incidents/${enc(inc.ref)}/notifications/propose`, 'handler')).json().items as Notification[];
  t.match(c, { state: 'drafted', site: { id: C.id } });
  const before = mailsTo(C.email).length;
  relay.silenceNext();
  t.equal((await api(node, 'POST', `/notifications/${c!.id}/approve`, 'handler')).statusCode, 200);
  const sent = await waitState(c!.id, 'sent');
  t.equal(sent.sendUncertain, true, 'marked uncertain, for a handler to check');
  t.match(sent.delivery, { attempts: 1, lastError: /stopped answering/ });
  await new Promise((r) => setTimeout(r, 500));
  t.equal(mailsTo(C.email).length, before + 1, 'the server got it once');
});
