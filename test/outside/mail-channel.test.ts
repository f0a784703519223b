import t from 'tap';
import { buildTestNode } from '../helpers/build-test-app.js';
import { api, createIncident, enc, fastDelivery, findByExternalRef, partnersBoth, shares, waitFor } from '../helpers/federation-harness.js';
import { mailConfig, readableMail, startMailRelay } from '../helpers/mail-relay.js';
import { runCli } from '../helpers/cli-runner.js';
import { assertMarkers, assertVisible, markedIncident, SECTIONS } from '../helpers/marker-scan.js';
import { canonicalLines, contentTypeOf, parseEntity } from '../../src/modules/exchange/mail-mime.js';

/**
 * Issue 17 part 5: the signed e-mail channel between two nodes. Both hand their mail to a real
 * SMTP server on loopback (the "provider", test/helpers/mail-relay.ts), which forwards it to the
 * other node's SMTP listener. The nodes meet over HTTP once (each pins the other's key from its
 * signed profile); then every node-to-node HTTP call is cut, and shares, receipts, the fallback
 * and an SMTP outage all go by mail.
 */
fastDelivery();
const relay = await startMailRelay();
t.teardown(() => relay.close());

let httpCut = false;
let httpCallsAfterCut = 0;
const cuttable: typeof fetch = (input, init) => {
  if (!httpCut) return globalThis.fetch(input, init);
  httpCallsAfterCut++;
  return Promise.reject(new TypeError('fetch failed'));
};
const logs: string[] = [];
const logStream = { write: (line: string) => void logs.push(line) };

const alpha = await buildTestNode(t, {
  key: 'alpha',
  listen: true,
  startWorker: true,
  fetch: cuttable,
  logStream,
  config: { logLevel: 'info', mail: mailConfig(relay.url, 'csirt@alpha.test', { fallbackAfterMs: 1000 }) },
});
const bravo = await buildTestNode(t, {
  key: 'bravo',
  listen: true,
  startWorker: true,
  fetch: cuttable,
  logStream,
  config: { logLevel: 'info', mail: mailConfig(relay.url, 'csirt@bravo.test') },
});
relay.route('csirt@alpha.test', (await alpha.app.federation.mail.listen()).port);
relay.route('csirt@bravo.test', (await bravo.app.federation.mail.listen()).port);

await partnersBoth(alpha, bravo);
for (const [node, peer, email] of [
  [alpha, 'bravo', 'csirt@bravo.test'],
  [bravo, 'alpha', 'csirt@alpha.test'],
] as const) {
  // Set up without assertions: tap ends the root test by itself while the file is still awaiting.
  const res = await api(node, 'PATCH', `/peers/${peer}`, 'admin', { email, mailOnly: true });
  if (res.statusCode !== 200) throw new Error(`PATCH /peers/${peer}: ${res.statusCode} ${res.body}`);
}
httpCut = true;

const mailsTo = (address: string) => relay.messages.filter((m) => m.to.includes(address));

t.test('round trip by mail only: share -> PGP/MIME -> filed -> signed receipt by mail -> delivered', async (t) => {
  const peer = (await api(alpha, 'GET', '/peers/bravo', 'reader')).json();
  t.match(peer, { email: 'csirt@bravo.test', mailOnly: true }, 'the peer shows its e-mail channel');
  const bad = await api(alpha, 'PATCH', '/peers/bravo', 'admin', { email: 'not an address' });
  t.equal(bad.statusCode, 400, 'a malformed address is refused');
  t.equal(bad.json().code, 'validation-failed');
  const { incident, markers } = markedIncident('AMBER');
  const created = await createIncident(alpha, incident);
  const before = mailsTo('csirt@bravo.test').length;
  const res = await api(alpha, 'POST', `/incidents/${enc(created.ref)}/shares`, 'handler', { peer: 'bravo' });
  t.equal(res.statusCode, 202, res.statusCode === 202 ? 'queued' : res.body);
  const delivered = await waitFor('the share delivered by mail', async () =>
    (await shares(alpha, created.ref)).find((s) => s.peer === 'bravo' && s.state === 'delivered'),
  );
  t.equal((delivered as unknown as { channel: string }).channel, 'mail', 'the delivery records the channel');
  t.ok(delivered.peerRef, "bravo's reference number came back in the signed receipt");
  const copies = await findByExternalRef(bravo, created.ref);
  t.equal(copies.length, 1, 'bravo filed the report once');
  t.equal(httpCallsAfterCut, 0, 'no HTTP between the nodes');

  const sent = mailsTo('csirt@bravo.test').slice(before);
  t.ok(sent.length >= 1, 'the report went through the mail server');
  const first = parseEntity(canonicalLines(sent[0]!.raw.toString('latin1')));
  t.equal(contentTypeOf(first).type, 'multipart/encrypted', 'TLP:AMBER travels encrypted');
  t.equal(contentTypeOf(first).params.get('protocol'), 'application/pgp-encrypted');
  // Encrypted: no marker of any section is readable in the mail.
  for (const mail of sent) assertMarkers(t, readableMail(mail.raw), markers, SECTIONS, 'encrypted mail');
  const receipts = mailsTo('csirt@alpha.test');
  t.ok(receipts.length >= 1, 'the receipt came back by mail');
  const receipt = parseEntity(canonicalLines(receipts.at(-1)!.raw.toString('latin1')));
  t.equal(contentTypeOf(receipt).type, 'multipart/signed', 'the receipt is PGP/MIME signed');
  t.equal(contentTypeOf(receipt).params.get('protocol'), 'application/pgp-signature');
  for (const line of logs) assertMarkers(t, line.toLowerCase(), markers, SECTIONS, 'node log');
});

t.test('a GREEN share goes signed, not encrypted, and carries only what the policy gives the peer', async (t) => {
  const { incident, markers } = markedIncident('GREEN');
  const created = await createIncident(alpha, incident);
  const before = mailsTo('csirt@bravo.test').length;
  t.equal((await api(alpha, 'POST', `/incidents/${enc(created.ref)}/shares`, 'handler', { peer: 'bravo' })).statusCode, 202);
  await waitFor('delivered', async () => (await shares(alpha, created.ref)).find((s) => s.state === 'delivered'));
  // A resend of an earlier (encrypted) message may come in between on a loaded machine: take the signed one.
  const typeOf = (raw: Buffer) => contentTypeOf(parseEntity(canonicalLines(raw.toString('latin1')))).type;
  const sent = mailsTo('csirt@bravo.test')
    .slice(before)
    .filter((m) => typeOf(m.raw) === 'multipart/signed');
  t.equal(sent.length >= 1 ? typeOf(sent[0]!.raw) : 'none', 'multipart/signed', 'the GREEN report went signed');
  const text = readableMail(sent[0]!.raw);
  // bravo is a verified partner: internal hosts are redacted for it, the rest is shared.
  assertMarkers(t, text, markers, ['internalHosts'], 'signed mail');
  assertVisible(t, text, markers, ['victims'], 'signed mail');
  t.notOk(/subject:.*intrusion/i.test(sent[0]!.raw.toString('latin1')), 'the subject says nothing of the incident');
  for (const line of logs) assertMarkers(t, line.toLowerCase(), markers, SECTIONS, 'node log');
});

t.test('the mail server down: the outbox retries and nothing is lost', async (t) => {
  relay.down();
  const created = await createIncident(alpha, { title: 'Relayed while the mail server is down', tlp: 'GREEN' });
  t.equal((await api(alpha, 'POST', `/incidents/${enc(created.ref)}/shares`, 'handler', { peer: 'bravo' })).statusCode, 202);
  const retrying = await waitFor('a failed hand-over', async () =>
    (await shares(alpha, created.ref)).find((s) => s.state === 'retrying' && /mail server/.test(s.lastError ?? '')),
  );
  t.match(retrying.lastError, /did not take the message/);
  relay.up();
  await waitFor('delivered after the outage', async () => (await shares(alpha, created.ref)).find((s) => s.state === 'delivered'), 20_000);
  t.equal((await findByExternalRef(bravo, created.ref)).length, 1, 'filed once');
});

t.test('fallback: HTTP keeps failing past the configured time, then the message goes by mail', async (t) => {
  // alpha may reach bravo over HTTP again; HTTP is still cut, so its attempts fail.
  const res = await api(alpha, 'PATCH', '/peers/bravo', 'admin', { mailOnly: false });
  t.equal(res.statusCode, 200, res.statusCode === 200 ? 'changed' : res.body);
  const calls = httpCallsAfterCut;
  const created = await createIncident(alpha, { title: 'Falls back to mail', tlp: 'GREEN' });
  t.equal((await api(alpha, 'POST', `/incidents/${enc(created.ref)}/shares`, 'handler', { peer: 'bravo' })).statusCode, 202);
  const delivered = await waitFor('delivered by the fallback', async () =>
    (await shares(alpha, created.ref)).find((s) => s.state === 'delivered'),
  );
  t.ok(httpCallsAfterCut > calls, 'HTTP was tried first');
  t.equal((delivered as unknown as { channel: string }).channel, 'mail');
  t.equal((await findByExternalRef(bravo, created.ref)).length, 1);
});

t.test('hikeshi mail test: a signed test message through the channel; the mail server down is a 502', async (t) => {
  const run = await runCli(alpha, 'mail', 'test', 'someone@else.test');
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /sent a signed test message from csirt@alpha\.test to someone@else\.test/);
  const sent = mailsTo('someone@else.test').at(-1)!;
  t.equal(contentTypeOf(parseEntity(canonicalLines(sent.raw.toString('latin1')))).type, 'multipart/signed');
  t.equal((await api(alpha, 'POST', '/mail/test', 'handler', { to: 'someone@else.test' })).statusCode, 403, 'admins only');
  t.equal((await api(alpha, 'POST', '/mail/test', 'admin', { to: 'nope' })).json().code, 'validation-failed');
  relay.down();
  const down = await api(alpha, 'POST', '/mail/test', 'admin', { to: 'someone@else.test' });
  relay.up();
  t.equal(down.statusCode, 502);
  t.equal(down.json().code, 'mail-unavailable');
});
