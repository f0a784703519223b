import { sql } from 'kysely';
import t from 'tap';
import { verifyDocumentSignature } from '../../src/crypto/index.js';
import { loadFixturePeerKey } from '../fixtures/keys/index.js';
import { buildTestNode } from '../helpers/build-test-app.js';
import {
  addPeer,
  api,
  auditKinds,
  enc,
  incidentCount,
  messageDocument,
  postMessage,
  reportBody,
  sign,
} from '../helpers/federation-harness.js';

/**
 * Many messages at once over real HTTP: the inbox stores them in shared transactions (group
 * commit) and files new reports together. Whatever the grouping, each message must come out
 * exactly as if it had arrived alone: one incident per report, consecutive numbers, the
 * sender's number kept, a verifiable receipt, the audit chain whole; a repeat gets its receipt
 * again, a second report of the same incident is noted on it, and a bad message fails alone.
 */
const alpha = await buildTestNode(t, { key: 'alpha', listen: true });
const bravo = await buildTestNode(t, { key: 'bravo', listen: true });
await addPeer(bravo, alpha);

const report = (ref: string, overrides: Record<string, unknown> = {}) =>
  sign(messageDocument('alpha', 'bravo', 'incident.report', reportBody(ref, overrides)), 'alpha');
const ref = (n: number) => `ALPHA#2026-${String(n).padStart(6, '0')}`;

t.test('a burst of reports: each filed once, in order, with receipts and audit', async (t) => {
  const before = await incidentCount(bravo);
  const fresh = await Promise.all(Array.from({ length: 24 }, (_, i) => report(ref(500 + i))));
  const repeated = fresh[3]!;
  const sameIncidentAgain = await report(ref(500 + 5)); // another message id, the same sender number
  // A type outside its category: only the rules past the schema find it, inside the transaction.
  const invalid = await report(ref(599), { category: 'fraud', type: 'ddos' });
  const burst = [...fresh, repeated, sameIncidentAgain, invalid];
  const answers = await Promise.all(burst.map((m) => postMessage(bravo, m)));

  t.same(
    answers.slice(0, 24).map((a) => a.status),
    Array(24).fill(200),
    'every new report accepted',
  );
  t.equal(answers[24]!.status, 200, 'the repeat accepted');
  t.equal(answers[24]!.text, answers[3]!.text, 'the repeat gets the same receipt, byte for byte');
  t.equal(answers[25]!.status, 200);
  t.equal(answers[25]!.json.document.body.status, 'noted', 'a second report of a known incident is noted on it');
  t.equal(answers[25]!.json.document.body.ref, answers[5]!.json.document.body.ref);
  t.equal(answers[26]!.status, 400, 'the invalid report fails alone');
  t.equal(answers[26]!.json.code, 'validation-failed');

  t.equal(await incidentCount(bravo), before + 24, 'one incident per new report');
  const refs = answers.slice(0, 24).map((a) => a.json.document.body.ref as string);
  const numbers = refs.map((r) => Number(r.split('-')[1])).sort((a, b) => a - b);
  t.equal(new Set(numbers).size, 24, 'distinct numbers');
  t.equal(numbers[23]! - numbers[0]!, 23, 'consecutive: no number lost to the grouping');

  const bravoKey = await loadFixturePeerKey('bravo');
  for (const [i, answer] of answers.slice(0, 24).entries()) {
    t.match(answer.json.document, {
      type: 'receipt',
      to: 'alpha',
      inReplyTo: fresh[i]!.document['id'],
      body: { status: 'filed' },
    });
    t.match(await verifyDocumentSignature(answer.json, bravoKey), { ok: true }, `receipt ${i} verifies`);
    const incident = await api(bravo, 'GET', `/incidents/${enc(refs[i]!)}`, 'reader');
    t.same(incident.json().externalRefs, [{ team: 'alpha', ref: ref(500 + i) }], `incident ${i} keeps the sender's number`);
  }
  const policy = await api(bravo, 'GET', `/incidents/${enc(refs[7]!)}/policy`, 'reader');
  t.equal(policy.statusCode, 200);
  t.match(
    policy.json().provenance,
    { originator: 'alpha', originatorTlp: 'AMBER', receivedFrom: 'alpha', limit: 'constituency' },
    'the originator, its label and the limit it implies are kept',
  );

  const stored = await bravo.database.db
    .selectFrom('inbound_message')
    .select(['message_id', 'receipt', 'receipt_status', 'incident_id'])
    .where(
      'message_id',
      'in',
      fresh.map((m) => m.document['id'] as string),
    )
    .execute();
  t.equal(stored.length, 24);
  t.ok(
    stored.every((r) => r.receipt !== null && r.receipt_status === 'filed' && r.incident_id !== null),
    'each inbox row holds its outcome and its signed receipt',
  );

  const receipts = (await auditKinds(bravo, { kind: 'receipt' })).filter((e) =>
    burst.some((m) => m.document['id'] === e.details.messageId),
  );
  t.equal(
    receipts.length,
    25,
    'one receipt audited per processed message (24 filed, 1 noted); none for the refused one, none for the repeat',
  );
  t.equal(
    (await auditKinds(bravo, { kind: 'inbox-rejection' })).filter((e) => e.details.messageId === invalid.document['id']).length,
    1,
    'the refusal audited',
  );
  const chain = await api(bravo, 'GET', '/audit/verify', 'admin');
  t.match(chain.json(), { ok: true }, 'the audit chain is whole');
});

t.test('messages that arrive together share transactions', async (t) => {
  const burst = await Promise.all(Array.from({ length: 16 }, (_, i) => report(ref(800 + i))));
  const answers = await Promise.all(burst.map((m) => postMessage(bravo, m)));
  t.same(
    answers.map((a) => a.status),
    Array(16).fill(200),
  );
  // Rows written by one transaction share its id (xmin): fewer ids than messages means groups.
  const { rows } = await sql<{
    n: number;
  }>`select count(distinct xmin::text)::int as n from inbound_message where message_id in (${sql.join(
    burst.map((m) => m.document['id'] as string),
  )})`.execute(bravo.database.db);
  t.ok(rows[0]!.n < 16, `16 messages stored by ${rows[0]!.n} transactions`);
});

t.test('updates and reports in one burst: each applied to its own incident', async (t) => {
  const base = await Promise.all([report(ref(700)), report(ref(701))]);
  const filed = await Promise.all(base.map((m) => postMessage(bravo, m)));
  const ours = filed.map((a) => a.json.document.body.ref as string);
  const update = (n: number, note: string) =>
    sign(
      messageDocument('alpha', 'bravo', 'incident.update', {
        ref: ref(n),
        change: { kind: 'note', at: new Date().toISOString(), actor: 'analyst', note },
      }),
      'alpha',
    );
  const burst = [await update(700, 'first'), await report(ref(702)), await update(701, 'second'), await update(700, 'third')];
  const answers = await Promise.all(burst.map((m) => postMessage(bravo, m)));
  t.same(
    answers.map((a) => a.status),
    [200, 200, 200, 200],
  );
  t.same(
    answers.map((a) => a.json.document.body.status),
    ['applied', 'filed', 'applied', 'applied'],
  );
  const notes = async (r: string) =>
    (await api(bravo, 'GET', `/incidents/${enc(r)}/journal`, 'reader'))
      .json()
      .items.filter((e: { kind: string }) => e.kind === 'peer-note')
      .map((e: { note: string }) => e.note);
  t.same((await notes(ours[0]!)).sort(), ['first', 'third']);
  t.same(await notes(ours[1]!), ['second']);
});

t.test('a peer suspended a moment ago is refused, though the inbox read it as active just before', async (t) => {
  // The inbox keeps active peers' records for a few seconds; the group re-reads them under lock.
  t.equal((await postMessage(bravo, await report(ref(900)))).status, 200, 'alpha read as active');
  t.equal((await api(bravo, 'POST', '/peers/alpha/suspend', 'admin')).statusCode, 200);
  const count = await incidentCount(bravo);
  const refused = await postMessage(bravo, await report(ref(901)));
  t.equal(refused.status, 403);
  t.equal(refused.json.code, 'peer-suspended');
  t.equal(await incidentCount(bravo), count, 'nothing filed');
  t.equal((await api(bravo, 'POST', '/peers/alpha/resume', 'admin')).statusCode, 200);
  t.equal((await postMessage(bravo, await report(ref(902)))).status, 200, 'accepted again once resumed');
});
