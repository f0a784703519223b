import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import t from 'tap';
import { main } from '../../src/cli/main.js';
import { printVerification } from '../../src/cli/audit-commands.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { verifyDocumentSignature } from '../../src/crypto/index.js';
import { entryHash } from '../../src/modules/audit/audit-chain.js';
import { createPeerClient } from '../../src/modules/exchange/peer-client.js';
import { pullFromPeer } from '../../src/modules/feeds/feeds.module.js';
import { buildTestNode, type TestNode } from '../helpers/build-test-app.js';
import { addPeer, api, auditKinds, fastDelivery, messageDocument, postMessage, sign, waitFor } from '../helpers/federation-harness.js';
import { peerToken } from '../helpers/policy-nodes.js';

/**
 * The anchored audit (issue 13 part 4), on real nodes over loopback:
 *
 *   cc     coordinator: witnesses alpha's and bravo's chains
 *   alpha  a member: cc is its coordinator, and it names bravo (and zulu, no peer) as witnesses
 *   bravo  a configured witness of alpha; later a member anchoring at cc too
 *
 * A member's head goes out as a signed audit.head through the outbox; each witness keeps it as
 * signed and hands it back to that team alone; `audit verify` against the witnesses then fails
 * for a removed tail or a rewritten entry, which the chain alone cannot show. The subtests run in
 * order on one set of nodes: the tampering comes last.
 */
fastDelivery();
const cc = await buildTestNode(t, { key: 'cc', listen: true, startWorker: true });
const alpha = await buildTestNode(t, {
  key: 'alpha',
  listen: true,
  startWorker: true,
  config: { auditWitnesses: ['bravo', 'zulu'] },
});
const bravo = await buildTestNode(t, { key: 'bravo', listen: true, startWorker: true });
for (const [a, b] of [
  [alpha, cc],
  [alpha, bravo],
  [bravo, cc],
] as const) {
  await addPeer(a, b);
  await addPeer(b, a);
}
await patchPeer(alpha, 'cc', { relationship: 'coordinator' });

async function patchPeer(node: TestNode, team: string, patch: Record<string, unknown>): Promise<void> {
  const res = await api(node, 'PATCH', `/peers/${team}`, 'admin', patch);
  if (res.statusCode !== 200) throw new Error(`${node.config.teamId} PATCH ${team}: ${res.statusCode} ${res.body}`);
}

async function anchor(node: TestNode): Promise<any> {
  const res = await api(node, 'POST', '/audit/anchors', 'admin');
  if (res.statusCode !== 200) throw new Error(`anchor: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** Waits until every audit.head `node` queued is delivered (with its witness's receipt). */
async function deliveredHeads(node: TestNode): Promise<Array<{ peer_team: string; receipt_status: string | null; document: string }>> {
  return waitFor('audit heads delivered', async () => {
    const rows = await node.database.db
      .selectFrom('outbound_message')
      .select(['peer_team', 'state', 'receipt_status', 'document'])
      .where('type', '=', 'audit.head')
      .execute();
    return rows.every((r) => r.state === 'delivered') ? rows : null;
  });
}

async function witnessed(node: TestNode, peer: string) {
  return node.database.db.selectFrom('witnessed_audit_head').selectAll().where('peer_team', '=', peer).orderBy('seq').execute();
}

async function verify(node: TestNode, witnesses = true): Promise<any> {
  const res = await api(node, 'GET', `/audit/verify${witnesses ? '?witnesses=true' : ''}`, 'admin');
  if (res.statusCode !== 200) throw new Error(`verify: ${res.statusCode} ${res.body}`);
  return res.json();
}

/** `hikeshi audit <sub>` in this process against a running node. */
async function cli(node: TestNode, sub: string): Promise<{ code: number; stdout: string }> {
  let stdout = '';
  const code = await main(['audit', sub, '--data-dir', node.config.dataDir, '--team-id', node.config.teamId, '--url', node.url], (s) => {
    stdout += s + '\n';
  });
  return { code, stdout };
}

async function heads(node: TestNode, token: string | null, query = ''): Promise<{ status: number; type: string; json: any }> {
  const res = await fetch(`${node.url}/federation/v1/audit-heads${query}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: res.status, type: res.headers.get('content-type') ?? '', json: await res.json() };
}

/** What an attacker with the database does: switch off the append-only trigger, change rows, switch it back on. */
async function asAttacker(node: TestNode, change: () => Promise<void>): Promise<void> {
  const db = node.database.db;
  await sql`alter table audit_entry disable trigger audit_entry_append_only`.execute(db);
  try {
    await change();
  } finally {
    await sql`alter table audit_entry enable trigger audit_entry_append_only`.execute(db);
  }
}

let alphaHead: { seq: number; hash: string; at: string };

t.test('a member anchors its head at its coordinator and at a configured witness; each keeps it as signed', async (t) => {
  const forbidden = await api(alpha, 'POST', '/audit/anchors', 'handler');
  t.equal(forbidden.statusCode, 403, 'admins only: it discloses to other teams');
  t.equal((await api(alpha, 'POST', '/audit/anchors', null)).statusCode, 401);

  const result = await anchor(alpha);
  alphaHead = result.head;
  t.match(result.head, { seq: Number, hash: /^[0-9a-f]{64}$/ });
  const byTeam = Object.fromEntries(result.witnesses.map((w: any) => [w.team, w]));
  t.same(Object.keys(byTeam), ['bravo', 'cc', 'zulu'], 'the coordinator and the configured teams, each once');
  t.equal(byTeam.cc.status, 'queued');
  t.equal(byTeam.bravo.status, 'queued');
  t.match(byTeam.zulu, { status: 'skipped', messageId: null, detail: /not a peer/ });

  const sent = await deliveredHeads(alpha);
  t.equal(sent.length, 2);
  t.ok(
    sent.every((r) => r.receipt_status === 'noted'),
    'each witness answered with a receipt: noted',
  );
  for (const [node, id] of [
    [cc, byTeam.cc.messageId],
    [bravo, byTeam.bravo.messageId],
  ] as const) {
    const [row] = await witnessed(node, 'alpha');
    t.match(row, { message_id: id, head_hash: alphaHead.hash, conflict: false }, `${node.config.teamId} keeps it`);
    t.equal(Number(row!.head_seq), alphaHead.seq);
    const verified = await verifyDocumentSignature(
      { document: JSON.parse(row!.document), signature: row!.signature },
      alpha.signer.publicKey,
    );
    t.ok(verified.ok, 'the document and signature as alpha signed them');
  }

  // The anchoring is audited, after the head it anchored: the head sent is the chain before it.
  const anchors = await alpha.database.db
    .selectFrom('audit_entry')
    .select(['seq', 'peer', 'decision', 'details'])
    .where('kind', '=', 'audit.anchor')
    .orderBy('seq')
    .execute();
  t.same(
    anchors.map((a) => a.peer),
    ['bravo', 'cc'],
  );
  for (const a of anchors) {
    t.equal(a.decision, 'allow');
    t.same((a.details as any).head, { seq: alphaHead.seq, hash: alphaHead.hash });
    t.ok(Number(a.seq) > alphaHead.seq);
  }

  // Nothing since but the anchoring's own records and the witnesses' receipts: nothing to send.
  const again = await cli(alpha, 'anchor');
  t.equal(again.code, 0, again.stdout);
  t.match(again.stdout, /^audit head #\d+ [0-9a-f]{64}\n/);
  t.match(again.stdout, new RegExp(`  cc: unchanged: head #${alphaHead.seq} was sent already`));
  t.match(again.stdout, new RegExp(`  bravo: unchanged: head #${alphaHead.seq} was sent already`));
  t.match(again.stdout, /^ {2}zulu: skipped: not a peer of this node$/m);
  // Anything else moves it.
  await patchPeer(alpha, 'bravo', { trustLevel: 'community' });
  const moved = await anchor(alpha);
  t.same(
    moved.witnesses.map((w: any) => w.status),
    ['queued', 'queued', 'skipped'],
  );
  t.ok(moved.head.seq > alphaHead.seq);
  alphaHead = moved.head;
  await deliveredHeads(alpha);
});

t.test('a witness serves the heads back to the team that sent them, and to no one else', async (t) => {
  // alpha pulls through the node's own client: a signed token request, then the heads.
  const client = createPeerClient(globalThis.fetch);
  const pulled = (await pullFromPeer(
    { client, signer: alpha.signer, clock: () => new Date(), teamId: 'alpha' },
    { teamId: 'cc', url: cc.url },
    'federation/v1/audit-heads?limit=100',
  )) as any;
  t.ok(pulled.items.length >= 1);
  for (const item of pulled.items) {
    t.equal(item.envelope.document.type, 'audit.head');
    t.equal(item.envelope.document.from, 'alpha');
    t.ok((await verifyDocumentSignature(item.envelope, alpha.signer.publicKey)).ok, 'verifies against alpha key');
    t.equal(item.conflict, false);
  }
  const seqs = pulled.items.map((i: any) => i.envelope.document.body.seq);
  t.same(
    seqs,
    [...seqs].sort((a: number, b: number) => b - a),
    'highest seq first',
  );
  t.ok(pulled.items.some((i: any) => i.envelope.document.body.hash === alphaHead.hash));

  const limited = await heads(cc, await peerToken(alpha, cc), '?limit=1');
  t.equal(limited.json.items.length, 1);

  const bravosView = await heads(cc, await peerToken(bravo, cc));
  t.equal(bravosView.status, 200);
  t.same(bravosView.json.items, [], "bravo's token gets none of alpha's heads");

  const none = await heads(cc, null);
  t.equal(none.status, 401);
  t.match(none.type, /^application\/problem\+json/);
  t.equal(none.json.code, 'unauthenticated');
  const apiToken = await heads(cc, cc.mint('admin'));
  t.equal(apiToken.status, 401, 'an API token is not a peer token');
  const garbage = await heads(cc, 'not.a.token');
  t.equal(garbage.json.code, 'unauthenticated');
  for (const query of ['?limit=0', '?limit=101', '?limit=x', '?since=1']) {
    const bad = await heads(cc, await peerToken(alpha, cc), query);
    t.equal(bad.status, 400, query);
    t.equal(bad.json.code, 'validation-failed', query);
  }
});

t.test('audit verify against the witnesses passes on an intact chain, and reports a witness it cannot ask', async (t) => {
  const result = await verify(alpha);
  t.equal(result.ok, true, JSON.stringify(result));
  t.match(result.witnesses, { checked: 3, reached: 2 });
  const byTeam = Object.fromEntries(result.witnesses.items.map((w: any) => [w.team, w]));
  t.match(byTeam.cc, { status: 'confirmed', head: { seq: Number, conflict: false } });
  t.match(byTeam.bravo, { status: 'confirmed' });
  t.match(byTeam.zulu, { status: 'unreachable', detail: /not a peer/, localCopy: null });
  t.notOk('witnesses' in (await verify(alpha, false)), 'without ?witnesses=true the chain alone');

  const run = await cli(alpha, 'verify');
  t.equal(run.code, 0, run.stdout);
  t.match(run.stdout, /^audit chain intact: \d+ entries, head #\d+ [0-9a-f]{64}\n/);
  t.match(run.stdout, /^witness cc: confirmed: the chain holds all \d+ heads it witnessed/m);
  t.match(run.stdout, /^witness zulu: unreachable: not a peer of this node$/m);
  t.notMatch(run.stdout, /WARNING/);
});

t.test('deleting the newest entries passes the chain check alone, and fails against the witnesses', async (t) => {
  await patchPeer(alpha, 'bravo', { trustLevel: 'partner' }); // the chain moves
  const result = await anchor(alpha);
  t.same(
    result.witnesses.map((w: any) => w.status),
    ['queued', 'queued', 'skipped'],
  );
  await deliveredHeads(alpha);
  const witnessedSeq: number = result.head.seq;
  // A witness this node will not ask: its last delivered head (our outbox's copy) is a fallback signal.
  const suspended = await api(alpha, 'POST', '/peers/bravo/suspend', 'admin', {});
  t.equal(suspended.statusCode, 200, suspended.body);
  // The attacker removes the witnessed head and everything after it.
  await asAttacker(alpha, async () => {
    await sql`delete from audit_entry where seq >= ${witnessedSeq}`.execute(alpha.database.db);
  });
  const alone = await verify(alpha, false);
  t.equal(alone.ok, true, 'the chain alone still verifies: nothing outside it remembered the head');
  t.ok(alone.head.seq < witnessedSeq);

  const checked = await verify(alpha);
  t.match(checked, { ok: false, reason: 'tail-removed', brokenAt: witnessedSeq, head: { seq: alone.head.seq } });
  t.match(checked.detail, `witness cc holds head #${witnessedSeq} signed by this node, but the chain ends at #${alone.head.seq}`);
  const byTeam = Object.fromEntries(checked.witnesses.items.map((w: any) => [w.team, w]));
  t.match(byTeam.cc, { status: 'contradicted', head: { seq: witnessedSeq } });
  t.match(byTeam.bravo, { status: 'unreachable', detail: /suspended/, localCopy: { seq: witnessedSeq, inChain: false } });

  const run = await cli(alpha, 'verify');
  t.equal(run.code, 1, 'exit 1');
  t.match(run.stdout, new RegExp(`^audit chain BROKEN at entry ${witnessedSeq}: tail-removed \\(witness cc holds head`));
  t.match(run.stdout, /NOT in the chain/);

  // The node goes on appending after the cut: the witnessed entry is still missing.
  t.equal((await api(alpha, 'POST', '/peers/bravo/resume', 'admin', {})).statusCode, 200);
  const later = await verify(alpha);
  t.ok(later.witnesses.items.length === 3 && (await verify(alpha, false)).head.seq > witnessedSeq, 'the chain went on past the cut');
  t.match(later, { ok: false, reason: 'tail-removed', brokenAt: witnessedSeq, detail: /no longer holds that entry/ });
});

t.test('a rewritten entry, its successors re-hashed, fails against the witnesses', async (t) => {
  await patchPeer(bravo, 'cc', { relationship: 'coordinator' });
  const result = await anchor(bravo);
  t.same(
    result.witnesses.map((w: any) => [w.team, w.status]),
    [['cc', 'queued']],
  );
  await deliveredHeads(bravo);
  t.equal((await verify(bravo)).ok, true, 'intact before');
  const rewritten: number = result.head.seq;

  // The attacker edits the witnessed entry and recomputes every hash from there, so the chain verifies.
  await asAttacker(bravo, async () => {
    const db = bravo.database.db;
    const rows = await db.selectFrom('audit_entry').selectAll().where('seq', '>=', rewritten).orderBy('seq').execute();
    let prevHash: string | null = null;
    for (const row of rows) {
      const fields = {
        seq: Number(row.seq),
        at: new Date(row.at).toISOString(),
        kind: row.kind,
        actor: row.actor,
        incidentId: row.incident_id,
        peer: row.peer,
        decision: row.decision,
        details: Number(row.seq) === rewritten ? { ...row.details, note: 'nothing happened here' } : row.details,
        prevHash: prevHash ?? row.prev_hash,
      };
      const hash = entryHash(fields);
      await sql`update audit_entry set details = ${JSON.stringify(fields.details)}::jsonb, prev_hash = ${fields.prevHash}, hash = ${hash}
                 where seq = ${fields.seq}`.execute(db);
      prevHash = hash;
    }
  });
  t.equal((await verify(bravo, false)).ok, true, 'the chain alone verifies');
  const checked = await verify(bravo);
  t.match(checked, { ok: false, reason: 'entry-rewritten', brokenAt: rewritten });
  t.match(checked.detail, /holds another hash there/);
  const run = await cli(bravo, 'verify');
  t.equal(run.code, 1);
  t.match(run.stdout, new RegExp(`^audit chain BROKEN at entry ${rewritten}: entry-rewritten`));

  // cc hands bravo its own heads only.
  const view = await heads(cc, await peerToken(bravo, cc));
  t.ok(view.json.items.length >= 1);
  t.ok(view.json.items.every((i: any) => i.envelope.document.from === 'bravo'));
});

/** An audit.head alpha's key signs for cc; `body` and `overrides` as given. */
async function head(body: unknown, overrides: Record<string, unknown> = {}) {
  return sign(messageDocument('alpha', 'cc', 'audit.head', body, { tlp: 'GREEN', ...overrides }), alpha.signer);
}
const hex = () => randomBytes(32).toString('hex');

t.test('a hostile audit.head is refused with a 4xx and nothing is kept', async (t) => {
  const at = new Date().toISOString();
  const cases: Array<[string, unknown, number, string]> = [
    ['seq as a string', { seq: '5', hash: hex(), at }, 400, 'validation-failed'],
    ['negative seq', { seq: -1, hash: hex(), at }, 400, 'validation-failed'],
    ['zero seq', { seq: 0, hash: hex(), at }, 400, 'validation-failed'],
    ['fractional seq', { seq: 1.5, hash: hex(), at }, 400, 'validation-failed'],
    ['seq beyond 2^53', { seq: 2 ** 60, hash: hex(), at }, 400, 'validation-failed'],
    ['an extra member', { seq: 5, hash: hex(), at, entries: [] }, 400, 'validation-failed'],
    ['hash not hex', { seq: 5, hash: 'z'.repeat(64), at }, 400, 'validation-failed'],
    ['hash upper-case', { seq: 5, hash: hex().toUpperCase(), at }, 400, 'validation-failed'],
    ['hash too long', { seq: 5, hash: 'a'.repeat(10_000), at }, 400, 'validation-failed'],
    ['hash a number', { seq: 5, hash: 5, at }, 400, 'validation-failed'],
    ['no at', { seq: 5, hash: hex() }, 400, 'validation-failed'],
    ['at not in UTC', { seq: 5, hash: hex(), at: '2026-11-21T19:15:00+09:00' }, 400, 'validation-failed'],
    ['at in year 0', { seq: 5, hash: hex(), at: '0000-01-01T00:00:00Z' }, 400, 'validation-failed'],
    ['body an array', [5], 400, 'validation-failed'],
    ['a huge hash', { seq: 5, hash: 'a'.repeat(2 * 1024 * 1024), at }, 413, 'body-too-large'],
  ];
  const before = (await witnessed(cc, 'alpha')).length;
  for (const [what, body, status, code] of cases) {
    const res = await postMessage(cc, await head(body));
    t.equal(res.status, status, `${what}: ${res.text.slice(0, 200)}`);
    t.equal(res.json?.code, code, what);
  }
  const forged = await head({ seq: 5, hash: hex(), at });
  const tampered = await postMessage(cc, { ...forged, document: { ...forged.document, body: { seq: 6, hash: hex(), at } } });
  t.equal(tampered.status, 401, 'a document that is not what was signed');
  t.equal(tampered.json.code, 'signature-invalid');
  t.equal((await witnessed(cc, 'alpha')).length, before, 'nothing kept');
});

t.test('a head that contradicts an earlier one is kept, flagged, audited; a late older one is not flagged', async (t) => {
  const held = await witnessed(cc, 'alpha');
  const top = Math.max(...held.map((r) => Number(r.head_seq)));
  const at = new Date().toISOString();
  const hour = 3_600_000;

  const lower = await head({ seq: top - 1, hash: hex(), at });
  const res = await postMessage(cc, lower);
  t.equal(res.status, 200, res.text);
  t.match(res.json.document.body, { status: 'noted' });
  const otherHash = await head({ seq: top, hash: hex(), at });
  t.equal((await postMessage(cc, otherHash)).status, 200);
  // Signed before the heads cc holds, arriving now: delivery reordered it, the chain did not go back.
  const oldest = Math.min(...held.map((r) => new Date(r.created).getTime()));
  const late = await head({ seq: 1, hash: hex(), at }, { created: new Date(oldest - hour).toISOString() });
  t.equal((await postMessage(cc, late)).status, 200);

  const rows = new Map((await witnessed(cc, 'alpha')).map((r) => [r.message_id, r]));
  t.equal(rows.get(lower.document.id as string)?.conflict, true, 'a lower seq signed later: the chain went backwards');
  t.equal(rows.get(otherHash.document.id as string)?.conflict, true, 'one seq, two hashes');
  t.equal(rows.get(late.document.id as string)?.conflict, false, 'an older head arriving late');

  const conflicts = await auditKinds(cc, { kind: 'audit.head-conflict', peer: 'alpha' });
  t.equal(conflicts.length, 2);
  t.match(conflicts[0]!.details, { messageId: lower.document.id, head: { seq: top - 1 }, reason: 'went-backwards' });
  t.match(conflicts[1]!.details, { messageId: otherHash.document.id, reason: 'same-seq-other-hash' });

  const view = await heads(cc, await peerToken(alpha, cc), '?limit=100');
  t.ok(
    view.json.items.some((i: any) => i.envelope.document.id === lower.document.id && i.conflict === true),
    'the flag is served back',
  );
  // A repeat of one message is the inbox's business: one row, the original receipt.
  t.equal((await postMessage(cc, lower)).status, 200);
  t.equal((await witnessed(cc, 'alpha')).filter((r) => r.message_id === lower.document.id).length, 1);
});

t.test('the CLI says so plainly when no witness could be reached', async (t) => {
  const lines: string[] = [];
  const ok = printVerification(
    {
      ok: true,
      entries: 7,
      head: { seq: 7, hash: 'a'.repeat(64) },
      witnesses: {
        checked: 1,
        reached: 0,
        items: [{ team: 'cc', status: 'unreachable', detail: 'cannot reach 127.0.0.1:9 (ECONNREFUSED)', head: null, localCopy: null }],
      },
    },
    (s) => lines.push(s),
  );
  t.equal(ok, true, 'not fatal by itself');
  t.match(lines.join('\n'), /^witness cc: unreachable: cannot reach/m);
  t.match(lines.join('\n'), /^WARNING: none of the 1 witnesses could be reached/m);
});

t.test('HIKESHI_AUDIT_WITNESSES and HIKESHI_AUDIT_ANCHOR_INTERVAL_SECONDS', async (t) => {
  const config = loadConfig({ HIKESHI_AUDIT_WITNESSES: ' bravo, cc,,bravo ' });
  t.same(config.auditWitnesses, ['bravo', 'cc']);
  t.equal(config.auditAnchorIntervalSeconds, 3600, 'hourly by default');
  t.equal(loadConfig({ HIKESHI_AUDIT_ANCHOR_INTERVAL_SECONDS: '0' }).auditAnchorIntervalSeconds, 0, '0 turns the timer off');
  t.throws(() => loadConfig({ HIKESHI_AUDIT_WITNESSES: 'Bravo!' }), ConfigError);
  t.throws(() => loadConfig({ HIKESHI_AUDIT_ANCHOR_INTERVAL_SECONDS: '-5' }), ConfigError);
});
