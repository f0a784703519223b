import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { canonicalize, sealForRecipient } from '../../src/crypto/index.js';
import { loadFixtureKey, loadFixturePeerKey } from '../fixtures/keys/index.js';
import { buildTestNode } from '../helpers/build-test-app.js';
import {
  addPeer,
  api,
  auditKinds,
  enc,
  EXAMPLE_INCIDENT,
  fastDelivery,
  findByExternalRef,
  incidentCount,
  journal,
  messageDocument,
  postMessage,
  reportBody,
  sign,
} from '../helpers/federation-harness.js';

/**
 * The inbox of one node (bravo), fed messages crafted with the fixture keys of a peer (alpha,
 * a listening node bravo has added by URL) and of strangers. Subtests share the nodes and run in
 * order.
 */
fastDelivery();
const alpha = await buildTestNode(t, { key: 'alpha', listen: true });
const bravo = await buildTestNode(t, { key: 'bravo', listen: true });
await addPeer(bravo, alpha);

let refSeq = 100;
const nextAlphaRef = () => `ALPHA#2026-${String(++refSeq).padStart(6, '0')}`;

async function report(overrides: Record<string, unknown> = {}, bodyOverrides: Record<string, unknown> = {}) {
  return sign(messageDocument('alpha', 'bravo', 'incident.report', reportBody(nextAlphaRef(), bodyOverrides), overrides), 'alpha');
}

async function rejections(code: string): Promise<number> {
  return (await auditKinds(bravo, { kind: 'inbox-rejection' })).filter((e) => e.details.code === code).length;
}

t.test("a report is filed under the receiver's number and answered with a signed receipt", async (t) => {
  const envelope = await report();
  const before = await incidentCount(bravo);
  const res = await postMessage(bravo, envelope);
  t.equal(res.status, 200, res.text);
  const receipt = res.json;
  t.same(Object.keys(receipt).sort(), ['document', 'signature']);
  t.match(receipt.document, {
    v: 1,
    type: 'receipt',
    from: 'bravo',
    to: 'alpha',
    inReplyTo: envelope.document['id'],
    tlp: 'AMBER',
    body: { status: 'filed' },
  });
  t.match(receipt.document.body.ref, /^BRAVO#\d{4}-\d{6}$/);
  // The receipt verifies against bravo's key, as the sender will check it.
  const { verifyDocumentSignature } = await import('../../src/crypto/index.js');
  t.match(await verifyDocumentSignature(receipt, await loadFixturePeerKey('bravo')), { ok: true });
  t.equal(await incidentCount(bravo), before + 1);

  const filed = await api(bravo, 'GET', `/incidents/${enc(receipt.document.body.ref)}`, 'reader');
  t.equal(filed.statusCode, 200);
  t.match(
    filed.json(),
    { phase: 'triage', tlp: 'AMBER', title: EXAMPLE_INCIDENT['title'], severity: 'high' },
    "our own phase: triage, not the sender's analysis",
  );
  t.same(filed.json().externalRefs, [{ team: 'alpha', ref: (envelope.document['body'] as any).ref }]);
  const created = (await journal(bravo, receipt.document.body.ref))[0]!;
  t.match(created, { kind: 'created', team: 'alpha', actor: 'alpha' }, 'filed on behalf of the sending team');
  const audited = await auditKinds(bravo, { kind: 'receipt' });
  t.ok(
    audited.some((e) => e.details.messageId === envelope.document['id'] && e.details.status === 'filed'),
    'receipt audited',
  );
});

t.test('replay: the same envelope twice gets the original receipt, byte for byte, and one incident', async (t) => {
  const envelope = await report();
  const first = await postMessage(bravo, envelope);
  t.equal(first.status, 200);
  const count = await incidentCount(bravo);
  const second = await postMessage(bravo, envelope);
  t.equal(second.status, 200);
  t.equal(second.text, first.text, 'identical receipt');
  // Re-serialised differently (key order, whitespace): still the same message.
  const reordered = JSON.stringify({ signature: envelope.signature, document: envelope.document }, null, 2);
  const third = await postMessage(bravo, reordered);
  t.equal(third.status, 200);
  t.equal(third.text, first.text);
  t.equal(await incidentCount(bravo), count, 'no second incident');
  t.equal((await findByExternalRef(bravo, (envelope.document['body'] as any).ref)).length, 1);
  // Replays leave a trace, but a flood of them does not fill the log: one entry per peer a minute.
  const replays = await auditKinds(bravo, { kind: 'inbox-replay' });
  t.equal(replays.length, 1, 'two repeats within a minute: one audit entry');
  t.match(replays[0], { details: { messageId: envelope.document['id'], repeatsNotRecorded: 0 } });

  // Two copies at once: still one incident.
  const racing = await report();
  const answers = await Promise.all([postMessage(bravo, racing), postMessage(bravo, racing), postMessage(bravo, racing)]);
  t.same(
    answers.map((a) => a.status),
    [200, 200, 200],
  );
  t.equal(new Set(answers.map((a) => a.text)).size, 1);
  t.equal((await findByExternalRef(bravo, (racing.document['body'] as any).ref)).length, 1);

  // A process that stopped between the commit and signing the receipt: the repeat signs the
  // receipt document fixed at processing time.
  const crashed = await report();
  const original = await postMessage(bravo, crashed);
  await bravo.database.db
    .updateTable('inbound_message')
    .set({ receipt: null })
    .where('message_id', '=', crashed.document['id'] as string)
    .execute();
  const recovered = await postMessage(bravo, crashed);
  t.equal(recovered.status, 200);
  t.same(recovered.json.document, original.json.document, 'the same receipt document');
  const { verifyDocumentSignature } = await import('../../src/crypto/index.js');
  t.match(await verifyDocumentSignature(recovered.json, await loadFixturePeerKey('bravo')), { ok: true });
  t.equal((await postMessage(bravo, crashed)).text, recovered.text, 'and from then on the same bytes');

  // The same id for a different document is not a replay: refused, nothing filed.
  const reused = await sign({ ...envelope.document, tlp: 'GREEN' }, 'alpha');
  const conflict = await postMessage(bravo, reused);
  t.equal(conflict.status, 409);
  t.equal(conflict.json.code, 'conflict');
  t.equal(await incidentCount(bravo), count + 2);
});

t.test('tampered body: signature-invalid, nothing filed, audited', async (t) => {
  const envelope = await report();
  const count = await incidentCount(bravo);
  const before = await rejections('signature-invalid');
  const tampered = structuredClone(envelope) as any;
  tampered.document.body.incident.severity = 'low';
  const res = await postMessage(bravo, tampered);
  t.equal(res.status, 401);
  t.equal(res.json.code, 'signature-invalid');
  t.equal(await incidentCount(bravo), count);
  t.equal(await rejections('signature-invalid'), before + 1);

  // A signature that is not an OpenPGP signature at all.
  const garbage = await postMessage(bravo, { document: envelope.document, signature: 'not a signature' });
  t.equal(garbage.status, 401);
  t.equal(garbage.json.code, 'signature-invalid');
  // A valid document signed by a stranger's key claiming to be alpha is a key change, tested in exchange-keys.
  t.equal(await incidentCount(bravo), count);
});

t.test('wrong recipient, future created time, unknown type, schema errors: 4xx after the signature', async (t) => {
  const count = await incidentCount(bravo);
  const wrong = await postMessage(bravo, await report({ to: 'cc' }));
  t.equal(wrong.status, 400);
  t.equal(wrong.json.code, 'wrong-recipient');

  const future = await postMessage(bravo, await report({ created: new Date(Date.now() + 3600_000).toISOString() }));
  t.equal(future.status, 400);
  t.equal(future.json.code, 'stale-or-future');

  // A little ahead is tolerated (clock skew).
  const ahead = await postMessage(bravo, await report({ created: new Date(Date.now() + 60_000).toISOString() }));
  t.equal(ahead.status, 200, ahead.text);

  const offset = await postMessage(bravo, await report({ created: '2026-01-01T09:00:00+09:00' }));
  t.equal(offset.status, 400, 'created must be UTC');
  t.equal(offset.json.code, 'validation-failed');

  const unknownType = await postMessage(bravo, await sign(messageDocument('alpha', 'bravo', 'incident.teleport', {}), 'alpha'));
  t.equal(unknownType.status, 400);
  t.equal(unknownType.json.code, 'validation-failed');
  t.match(unknownType.json.errors, [{ pointer: '/type' }]);

  const wrongTypes = await postMessage(bravo, await report({ v: '1' }, { severity: 5 }));
  t.equal(wrongTypes.status, 400);
  t.equal(wrongTypes.json.code, 'validation-failed');
  t.ok(wrongTypes.json.errors.some((e: any) => e.pointer === '/v'));
  t.ok(wrongTypes.json.errors.some((e: any) => e.pointer === '/body/incident/severity'));

  const extra = await postMessage(bravo, await report({ extra: true }));
  t.equal(extra.status, 400);
  t.equal(extra.json.code, 'validation-failed');

  const receipt = await postMessage(
    bravo,
    await sign(messageDocument('alpha', 'bravo', 'receipt', { status: 'filed' }, { inReplyTo: crypto.randomUUID() }), 'alpha'),
  );
  t.equal(receipt.status, 400, 'a receipt is not a message to the inbox');

  // Rules beyond the schema (a type outside its category) are 400 too, and roll back.
  const badType = await postMessage(bravo, await report({}, { category: 'fraud', type: 'ddos' }));
  t.equal(badType.status, 400);
  t.equal(badType.json.code, 'validation-failed');

  const update = await postMessage(
    bravo,
    await sign(
      messageDocument('alpha', 'bravo', 'incident.update', {
        ref: 'ALPHA#1999-000001',
        change: { kind: 'note', at: new Date().toISOString(), actor: 'x', note: 'hi' },
      }),
      'alpha',
    ),
  );
  t.equal(update.status, 409);
  t.equal(update.json.code, 'unknown-incident');

  t.equal(await incidentCount(bravo), count + 1, 'only the message within the skew was filed');
  t.ok((await rejections('wrong-recipient')) >= 1, 'audited');
  t.ok((await rejections('validation-failed')) >= 1, 'audited');
});

t.test('malformed input: problem+json 4xx, never processed', async (t) => {
  const count = await incidentCount(bravo);
  const malformed = await postMessage(bravo, '{"document": ');
  t.equal(malformed.status, 400);
  t.equal(malformed.json.code, 'malformed-json');
  const array = await postMessage(bravo, '[]');
  t.equal(array.status, 400);
  t.equal(array.json.code, 'envelope-invalid');
  const extraKey = await postMessage(bravo, { ...(await report()), note: 'x' });
  t.equal(extraKey.status, 400);
  t.equal(extraKey.json.code, 'envelope-invalid');
  const docString = await postMessage(bravo, { document: 'x', signature: 'y' });
  t.equal(docString.status, 400);
  t.equal(docString.json.code, 'envelope-invalid');
  const noFrom = await postMessage(bravo, await sign({ v: 1, id: crypto.randomUUID(), type: 'incident.report' }, 'alpha'));
  t.equal(noFrom.status, 400);
  t.equal(noFrom.json.code, 'envelope-invalid');
  const sealedNumber = await postMessage(bravo, { sealed: 42 });
  t.equal(sealedNumber.status, 400);
  t.equal(sealedNumber.json.code, 'envelope-invalid');
  const sealedGarbage = await postMessage(bravo, {
    sealed: '-----BEGIN PGP MESSAGE-----\n\nAAAA\n-----END PGP MESSAGE-----\n',
  });
  t.equal(sealedGarbage.status, 400);
  t.equal(sealedGarbage.json.code, 'sealed-invalid');
  const sealedToOther = await postMessage(bravo, {
    sealed: await sealForRecipient(JSON.stringify(await report()), await loadFixturePeerKey('cc')),
  });
  t.equal(sealedToOther.status, 400);
  t.equal(sealedToOther.json.code, 'sealed-invalid');
  const text = await postMessage(bravo, JSON.stringify(await report()), 'text/plain');
  t.equal(text.status, 415);
  t.equal(text.json.code, 'unsupported-media-type');
  for (const res of [malformed, array, sealedGarbage, text]) t.equal(res.json.type, `urn:hikeshi:problem:${res.json.code}`);
  t.equal(await incidentCount(bravo), count);
});

t.test('not I-JSON: a NUL, a lone surrogate or a member twice in a signed document is 400 not-i-json, audited, never filed', async (t) => {
  const count = await incidentCount(bravo);
  const before = await rejections('not-i-json');
  // Correctly signed: the signature covers the NUL, which PostgreSQL could not store.
  const nul = await postMessage(bravo, await report({}, { title: 'a\u0000b' }));
  t.equal(nul.status, 400, JSON.stringify(nul.json));
  t.equal(nul.json.code, 'not-i-json');
  const text = JSON.stringify(await report());
  const lone = await postMessage(bravo, text.replace('"type":"incident.report"', '"type":"incident.report\\ud800"'));
  t.equal(lone.status, 400);
  t.equal(lone.json.code, 'not-i-json');
  // A member twice: what a reader of the text sees and what JSON.parse keeps would differ.
  const twice = await postMessage(bravo, text.replace('"type":"incident.report"', '"type":"incident.report","type":"incident.update"'));
  t.equal(twice.status, 400);
  t.equal(twice.json.code, 'not-i-json');
  t.match(twice.json.detail, /\/document\/type/);
  // The same inside a sealed message.
  const sealedTwice = await postMessage(bravo, {
    sealed: await sealForRecipient(
      text.replace('"type":"incident.report"', '"type":"incident.report","type":"x"'),
      await loadFixturePeerKey('bravo'),
    ),
  });
  t.equal(sealedTwice.status, 400);
  t.equal(sealedTwice.json.code, 'not-i-json');
  t.equal(await rejections('not-i-json'), before + 4, 'each refusal is audited');
  t.equal(await incidentCount(bravo), count);
});

t.test('oversize body: 413 body-too-large', async (t) => {
  const small = await buildTestNode(t, { key: 'cc', listen: true, config: { bodyLimitBytes: 4096 } });
  const res = await postMessage(small, await report({ to: 'cc' }, { intruderActivity: 'x'.repeat(5000) }));
  t.equal(res.status, 413);
  t.equal(res.json.code, 'body-too-large');
});

t.test('sealing: RED must arrive sealed; a sealed message is opened, then verified as usual', async (t) => {
  const bravoKey = await loadFixturePeerKey('bravo');
  const red = await report({ tlp: 'RED' }, { tlp: 'RED' });
  const plain = await postMessage(bravo, red);
  t.equal(plain.status, 400);
  t.equal(plain.json.code, 'sealing-required');
  const sealed = await postMessage(bravo, { sealed: await sealForRecipient(JSON.stringify(red), bravoKey) });
  t.equal(sealed.status, 200, sealed.text);
  t.equal(sealed.json.document.body.status, 'filed');
  const row = await bravo.database.db
    .selectFrom('inbound_message')
    .selectAll()
    .where('message_id', '=', red.document['id'] as string)
    .executeTakeFirstOrThrow();
  t.equal(row.sealed, true);
  t.equal(row.envelope, JSON.stringify(red), 'the opened envelope is stored as received');

  // A sealed, tampered message fails the inner signature like any other.
  const tampered = structuredClone(await report({ tlp: 'RED' }, { tlp: 'RED' })) as any;
  tampered.document.body.incident.title = 'changed';
  const bad = await postMessage(bravo, { sealed: await sealForRecipient(JSON.stringify(tampered), bravoKey) });
  t.equal(bad.status, 401);
  t.equal(bad.json.code, 'signature-invalid');
  // A sealed envelope inside a sealed envelope is not a signed document.
  const nested = await postMessage(bravo, {
    sealed: await sealForRecipient(JSON.stringify({ sealed: 'x' }), bravoKey),
  });
  t.equal(nested.status, 400);
  t.equal(nested.json.code, 'envelope-invalid');
});

t.test('a suspended peer is refused', async (t) => {
  const carol = await buildTestNode(t, { key: 'cc', listen: true });
  await addPeer(carol, alpha);
  t.equal((await api(carol, 'POST', '/peers/alpha/suspend', 'admin')).statusCode, 200);
  const res = await postMessage(carol, await sign(messageDocument('alpha', 'cc', 'incident.report', reportBody(nextAlphaRef())), 'alpha'));
  t.equal(res.status, 403);
  t.equal(res.json.code, 'peer-suspended');
  t.equal(await incidentCount(carol), 0);
});

const gpgAvailable = spawnSync('gpg', ['--version'], { stdio: 'ignore' }).error === undefined;

function createGpg(t: Test) {
  const home = mkdtempSync(path.join(tmpdir(), 'hikeshi-gpg-'));
  const env = { ...process.env, GNUPGHOME: home, LC_ALL: 'C' };
  t.teardown(() => {
    spawnSync('gpgconf', ['--kill', 'all'], { env, stdio: 'ignore' });
    rmSync(home, { recursive: true, force: true });
  });
  return {
    run: (args: string[], input?: string): SpawnSyncReturns<Buffer> =>
      spawnSync('gpg', ['--batch', '--no-tty', '--no-auto-key-locate', ...args], { env, input, timeout: 30_000 }),
    file(name: string, content: string | Uint8Array): string {
      const p = path.join(home, name);
      writeFileSync(p, content);
      return p;
    },
  };
}

t.test('a stored received message verifies with gpg --verify', { skip: gpgAvailable ? false : 'gpg is not on PATH' }, async (t) => {
  // Sent with other key order and spacing: the envelope is kept as received, and the document
  // handed out for re-verification is the canonical text the signature covers.
  const envelope = await report();
  const asSent = JSON.stringify({ signature: envelope.signature, document: envelope.document }, null, 1);
  const answer = await postMessage(bravo, asSent);
  t.equal(answer.status, 200);
  const stored = await bravo.database.db
    .selectFrom('inbound_message')
    .selectAll()
    .where('sender', '=', 'alpha')
    .where('message_id', '=', envelope.document['id'] as string)
    .executeTakeFirstOrThrow();
  t.equal(stored.envelope, asSent, 'the envelope is stored exactly as received');
  const listed = (await api(bravo, 'GET', `/incidents/${enc(answer.json.document.body.ref)}/documents`, 'reader')).json().items as Array<
    Record<string, string>
  >;
  const row = listed.find((d) => d['messageId'] === envelope.document['id'])!;
  t.equal(row['document'], canonicalize(envelope.document), 'the canonical bytes the signature covers');
  t.equal(row['signature'], envelope.signature);
  t.equal(row['signerFingerprint'], loadFixtureKey('alpha').fingerprint);

  const gpg = createGpg(t);
  t.equal(gpg.run(['--import'], loadFixtureKey('alpha').armoredPublicKey).status, 0, 'import alpha public key');
  const doc = gpg.file('message.json', row['document']!);
  const sig = gpg.file('message.json.asc', row['signature']!);
  const verified = gpg.run(['--status-fd', '1', '--verify', sig, doc]);
  t.equal(verified.status, 0, verified.stderr.toString());
  t.match(verified.stdout.toString(), new RegExp(`^\\[GNUPG:\\] VALIDSIG ${loadFixtureKey('alpha').fingerprint} `, 'm'));
  // One byte changed: gpg says BADSIG.
  const changed = gpg.file('changed.json', row['document']!.replace('"severity":"high"', '"severity":"low"'));
  const rejected = gpg.run(['--status-fd', '1', '--verify', sig, changed]);
  t.not(rejected.status, 0);
  t.match(rejected.stdout.toString(), /^\[GNUPG:\] BADSIG /m);
});
