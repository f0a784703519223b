import { createHash } from 'node:crypto';
import t from 'tap';
import { canonicalize, verifyDocumentSignature } from '../../src/crypto/index.js';
import { loadFixturePeerKey } from '../fixtures/keys/index.js';
import { buildTestNode, type TestNode } from '../helpers/build-test-app.js';
import { rowsNamingMarkers as scanForMarkers } from '../helpers/marker-scan.js';
import {
  EXAMPLE_INCIDENT,
  api,
  createIncident,
  enc,
  fastDelivery,
  messageDocument,
  partnersBoth,
  postMessage,
  reportBody,
  sign,
  waitFor,
} from '../helpers/federation-harness.js';

/**
 * An erasure of personal data reaches the signed messages the node stored (issue 12, ADR 0016):
 * received documents are rewritten with the digest of what was signed kept beside them, a repeat
 * of an erased message is still answered with its receipt, a message still waiting in the outbox
 * is erased and signed again (the peer never gets the personal data), a delivered one is erased
 * in place; investigations too. Every table of the node is scanned for the markers afterwards.
 */
fastDelivery();
const alpha = await buildTestNode(t, { key: 'alpha', listen: true });
const bravo = await buildTestNode(t, { key: 'bravo', listen: true, startWorker: true });
await partnersBoth(alpha, bravo);

const REPORTER = { name: 'Rhea Erasemark', email: 'rhea.erasemark@reporter-mail.example', phone: '+81-3-6666-0142' };
const POC = { name: 'Otto Pocmarker', email: 'otto.pocmarker@poc-mail.example' };
const VICTIM_HOST = 'www.victim-erasemark.example';
const MARKERS = [REPORTER.name, REPORTER.email, '6666-0142', POC.name, POC.email, 'victim-erasemark.example'];
const markersIn = (text: string): string[] => MARKERS.filter((m) => text.toLowerCase().includes(m.toLowerCase()));

const planted = {
  title: `Defacement of ${VICTIM_HOST}`,
  summary: `Reported by ${REPORTER.name} <${REPORTER.email}>, tel. ${REPORTER.phone}; POC ${POC.name} (${POC.email}).`,
  reporter: REPORTER,
  poc: POC,
  hosts: [{ hostname: VICTIM_HOST, role: 'target', description: `${REPORTER.name}'s web server` }],
};
const ERASE = { subjects: ['reporter', 'poc', 'victims'], reason: 'Data subject request, ticket 88', legalBasis: 'GDPR Art. 17(1)(a)' };

const rowsNamingMarkers = (node: TestNode) => scanForMarkers(node.database.db, markersIn);

t.test('a received report: erased in the stored document, its digest kept, a repeat still gets its receipt', async (t) => {
  const envelope = await sign(messageDocument('alpha', 'bravo', 'incident.report', reportBody('ALPHA#2026-990001', planted)), 'alpha');
  const first = await postMessage(bravo, envelope);
  t.equal(first.status, 200, first.text);
  const ref = (first.json.document.body as { ref: string }).ref;
  t.ok(
    (await rowsNamingMarkers(bravo)).some((r) => r.startsWith('inbound_message')),
    'the stored document names them before',
  );

  const erased = await api(bravo, 'POST', `/incidents/${enc(ref)}/erasure`, 'admin', ERASE);
  t.equal(erased.statusCode, 200, erased.body);
  t.same(await rowsNamingMarkers(bravo), [], 'no table of the node names a marker afterwards');

  const docs = await api(bravo, 'GET', `/incidents/${enc(ref)}/documents`, 'reader');
  t.equal(docs.statusCode, 200);
  const [doc] = docs.json().items;
  t.ok(doc.erasedAt, 'erasedAt is set');
  t.equal(doc.documentSha256, createHash('sha256').update(canonicalize(envelope.document)).digest('hex'), 'the digest of what was signed');
  t.same(markersIn(JSON.stringify(doc)), []);
  t.equal(doc.signature, envelope.signature, 'the signature is kept');
  t.match(await verifyDocumentSignature(envelope, await loadFixturePeerKey('alpha')), { ok: true }, 'it still verifies the original');

  // The sender retries the original (its receipt was lost): the same receipt, byte for byte, not a conflict.
  const again = await postMessage(bravo, envelope);
  t.equal(again.status, 200, again.text);
  t.equal(again.text, first.text);
  t.same(await rowsNamingMarkers(bravo), [], 'and the repeat stored nothing');
});

const outboundOf = (node: TestNode, incidentId: string) =>
  node.database.db
    .selectFrom('outbound_message')
    .select(['id', 'type', 'document', 'signature', 'state', 'last_error', 'erased_at', 'document_sha256'])
    .where('incident_id', '=', incidentId)
    .orderBy('seq')
    .execute();

t.test('a waiting report that cannot stay valid once erased is withdrawn; shared again, only the erased version travels', async (t) => {
  const incident = await createIncident(alpha, { ...EXAMPLE_INCIDENT, ...planted });
  const shared = await api(alpha, 'POST', `/incidents/${enc(incident.ref)}/shares`, 'handler', { peer: 'bravo' });
  t.equal(shared.statusCode, 202, shared.body);
  const [before] = await outboundOf(alpha, incident.id);
  t.equal(before!.state, 'pending', 'alpha has no worker running: the report waits');
  t.not(markersIn(before!.document).length, 0, `the waiting report names ${markersIn(before!.document).join(', ')}`);

  t.equal((await api(alpha, 'POST', `/incidents/${enc(incident.ref)}/erasure`, 'admin', ERASE)).statusCode, 200);
  const rows = await outboundOf(alpha, incident.id);
  t.match(
    rows[0],
    { id: before!.id, state: 'failed', last_error: /personal data in it was erased/ },
    'withdrawn: a host name is now [redacted]',
  );
  t.ok(rows[0]!.erased_at);
  t.same(await rowsNamingMarkers(alpha), [], 'alpha keeps no personal data anywhere, the withdrawn report included');
  const view = (await api(alpha, 'GET', `/incidents/${enc(incident.ref)}/shares`, 'reader')).json().items[0];
  t.match(view, { peer: 'bravo', state: 'failed', lastError: /share the incident again/ }, 'the handler sees why');

  // Shared again: the erased incident goes, and bravo never holds the personal data.
  t.equal((await api(alpha, 'POST', `/incidents/${enc(incident.ref)}/shares`, 'handler', { peer: 'bravo' })).statusCode, 202);
  alpha.app.federation.start();
  await waitFor('delivered', async () =>
    (await outboundOf(alpha, incident.id)).some((r) => r.type === 'incident.report' && r.state === 'delivered'),
  );
  await alpha.app.federation.stop();
  t.same(await rowsNamingMarkers(bravo), [], 'bravo never received the personal data');
});

t.test('a waiting update that stays valid once erased is signed again; a delivered one is erased in place', async (t) => {
  const incident = await createIncident(alpha, { ...EXAMPLE_INCIDENT, title: 'Scan from a lab', poc: POC });
  t.equal((await api(alpha, 'POST', `/incidents/${enc(incident.ref)}/shares`, 'handler', { peer: 'bravo' })).statusCode, 202);
  alpha.app.federation.start();
  await waitFor('report delivered', async () => (await outboundOf(alpha, incident.id))[0]!.state === 'delivered');
  await alpha.app.federation.stop();
  const [report] = await outboundOf(alpha, incident.id);
  t.not(markersIn(report!.document).length, 0, 'the delivered report names the POC');
  // A note naming the POC, waiting (no worker).
  const note = await api(alpha, 'POST', `/incidents/${enc(incident.ref)}/journal`, 'handler', {
    note: `Called ${POC.name} at ${POC.email}.`,
  });
  t.equal(note.statusCode, 201, note.body);
  // An investigation asked about the POC's host, waiting too: its row names the POC.
  const asked = await api(alpha, 'POST', `/incidents/${enc(incident.ref)}/investigations`, 'handler', {
    peer: 'bravo',
    hosts: [{ ip: '198.51.100.7', role: 'source', description: `seen by ${POC.name}` }],
    question: `Did ${POC.email} see this too?`,
  });
  t.equal(asked.statusCode, 202, asked.body);
  const investigation = await alpha.database.db
    .selectFrom('investigation')
    .select(['question'])
    .where('incident_id', '=', incident.id)
    .executeTakeFirstOrThrow();
  t.not(markersIn(investigation.question).length, 0, 'the investigation names the POC');
  const waiting = (await outboundOf(alpha, incident.id)).find((r) => r.type === 'incident.update' && r.state === 'pending')!;
  t.not(markersIn(waiting.document).length, 0, 'the waiting update names the POC');

  const erasure = await api(alpha, 'POST', `/incidents/${enc(incident.ref)}/erasure`, 'admin', { ...ERASE, subjects: ['poc'] });
  t.equal(erasure.statusCode, 200);
  // The journal is append-only (ADR 0013): the note stays there, and the answer names it.
  const earlier = erasure.json().earlierJournalEntries as number[];
  t.equal(earlier.length, 2, 'the note and the journal entry of the investigation request');
  t.ok(earlier.includes(note.json().id), 'the note among them');
  const after = await outboundOf(alpha, incident.id);
  const resigned = after.find((r) => r.id === waiting.id)!;
  t.equal(resigned.state, 'pending', 'still to be sent');
  t.same(markersIn(resigned.document), [], 'erased');
  t.not(resigned.signature, waiting.signature, 'signed again');
  t.match(
    await verifyDocumentSignature(
      { document: JSON.parse(resigned.document), signature: resigned.signature },
      await loadFixturePeerKey('alpha'),
    ),
    { ok: true },
    'the new signature covers the erased document',
  );
  const sent = after.find((r) => r.id === report!.id)!;
  t.same(markersIn(sent.document), [], 'the delivered report is erased in place');
  t.ok(sent.erased_at);
  t.equal(sent.document_sha256, createHash('sha256').update(report!.document).digest('hex'), 'with the digest of what was sent');
  t.equal(sent.signature, report!.signature, 'and the signature of what was sent');
  t.equal(sent.state, 'delivered');

  alpha.app.federation.start();
  t.teardown(() => alpha.app.federation.stop());
  await waitFor('update delivered', async () => (await outboundOf(alpha, incident.id)).every((r) => r.state === 'delivered'));
  t.same(
    (await rowsNamingMarkers(alpha)).filter((r) => !r.startsWith('journal_entry:')),
    [],
    'nothing but the append-only journal note names the POC',
  );
  // Bravo holds the report it received before (its copy, which it erases itself) and the erased note.
  const received = await bravo.database.db
    .selectFrom('inbound_message')
    .select('envelope')
    .where('message_id', '=', waiting.id)
    .executeTakeFirstOrThrow();
  t.same(markersIn(received.envelope), [], 'bravo received the erased note');
});
