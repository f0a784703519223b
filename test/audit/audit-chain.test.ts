import { createGroupCommit } from '../../src/db/group-commit.js';
import t from 'tap';
import { sql } from 'kysely';
import type { Clock } from '../../src/clock.js';
import type { Db } from '../../src/db/database.js';
import { GENESIS_HASH, contentDigest, entryHash, verifyAuditChain } from '../../src/modules/audit/audit-chain.js';
import { createAuditModule, type AuditEntryInput } from '../../src/modules/audit/audit.module.js';
import type { Teardown } from '../helpers/build-test-app.js';
import { createTestDatabase, TEST_DATABASE_URL } from '../helpers/test-database.js';

/** A clock that ticks one second per reading, so entries get distinct, known instants. */
function tickingClock(start = Date.parse('2026-03-01T00:00:00.000Z')): Clock {
  let n = 0;
  return () => new Date(start + 1000 * n++);
}

async function setup(t: Teardown) {
  const testDb = await createTestDatabase();
  t.teardown(() => testDb.drop());
  const db = testDb.handle.db;
  const audit = createAuditModule({ db, clock: tickingClock() });
  return { db, audit: audit.service, log: audit.log };
}

const entry = (n: number, extra: Partial<AuditEntryInput> = {}): AuditEntryInput => ({
  kind: 'disclosure',
  actor: 'handler-user',
  peer: 'bravo',
  decision: n % 2 ? 'deny' : 'allow',
  details: { n, purpose: 'direct', policyVersion: 1 },
  ...extra,
});

/** The attacker with owner rights: switch the append-only trigger off, change rows, switch it back. */
async function tamper(db: Db, statement: ReturnType<typeof sql>) {
  await sql`ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_append_only`.execute(db);
  try {
    await statement.execute(db);
  } finally {
    await sql`ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_append_only`.execute(db);
  }
}

const seqs = async (db: Db) => (await db.selectFrom('audit_entry').select('seq').orderBy('seq').execute()).map((r) => r.seq);

t.test('the hash definition is pinned (changing it invalidates every stored chain)', async (t) => {
  // Expected value computed outside this code base: Python json.dumps(sort_keys, compact) + hashlib.sha256.
  const fields = {
    seq: 1,
    at: '2026-01-02T03:04:05.678Z',
    kind: 'disclosure',
    actor: 'handler-user',
    incidentId: '0b6c4a3e-8f5d-4c2a-9e1b-2f3a4b5c6d7e',
    peer: 'bravo',
    decision: 'allow',
    details: { purpose: 'direct', policyVersion: 1, redacted: ['reporter', 'evidence'] },
    prevHash: GENESIS_HASH,
  };
  t.equal(entryHash(fields), '4516ef54f1ebddfa5629684d5816a42870dcf43ad111c1592733719017ecb850');
  // Anything outside the definition is ignored; anything inside it counts.
  t.equal(entryHash({ ...fields, extra: 'x' } as typeof fields), entryHash(fields));
  t.not(entryHash({ ...fields, seq: 2 }), entryHash(fields));
  t.not(entryHash({ ...fields, details: { ...fields.details, policyVersion: 2 } }), entryHash(fields));
  t.equal(contentDigest({ b: 1, a: 2 }), contentDigest({ a: 2, b: 1 }));
});

t.test('an empty log verifies', async (t) => {
  const { db } = await setup(t);
  t.same(await verifyAuditChain(db), { ok: true, entries: 0, head: null });
});

t.test('appends chain, and 50 concurrent appends never fork the chain', async (t) => {
  const { db, audit } = await setup(t);
  const first = await audit.record(db, entry(0, { incidentId: '0B6C4A3E-8F5D-4C2A-9E1B-2F3A4B5C6D7E' }));
  t.equal(first.prevHash, GENESIS_HASH);
  t.equal(first.incidentId, '0b6c4a3e-8f5d-4c2a-9e1b-2f3a4b5c6d7e', 'uuid kept in the form the database returns');
  t.equal(first.at, '2026-03-01T00:00:00.000Z');
  const second = await audit.record(db, entry(1));
  t.equal(second.prevHash, first.hash);

  await Promise.all(Array.from({ length: 50 }, (_, i) => audit.append(db, entry(i + 2))));
  const result = await verifyAuditChain(db);
  t.same(result, { ok: true, entries: 52, head: result.head });
  t.equal(result.head?.seq, Math.max(...(await seqs(db))));

  const rows = await db.selectFrom('audit_entry').select(['prev_hash', 'hash']).orderBy('seq').execute();
  t.equal(new Set(rows.map((r) => r.prev_hash)).size, rows.length, 'no two entries claim the same predecessor');
  for (let i = 1; i < rows.length; i++) t.equal(rows[i]!.prev_hash, rows[i - 1]!.hash);
  // Small batches exercise the keyset walk across batch boundaries.
  t.same(await verifyAuditChain(db, { batchSize: 7 }), result);
});

t.test("appends inside callers' transactions commit or roll back with them", async (t) => {
  const { db, log } = await setup(t);
  const outcomes = await Promise.allSettled(
    Array.from({ length: 12 }, (_, i) =>
      db.transaction().execute(async (tx) => {
        await log.append(tx, entry(i, { kind: 'receipt' }));
        await log.append(tx, entry(i, { kind: 'disclosure' }));
        if (i % 3 === 0) throw new Error('the act failed, so its record goes too');
      }),
    ),
  );
  t.equal(outcomes.filter((o) => o.status === 'rejected').length, 4);
  const result = await verifyAuditChain(db);
  t.equal(result.ok, true);
  t.equal(result.entries, 16, 'two entries per committed transaction, none from rolled-back ones');
  const count = await db
    .selectFrom('audit_entry')
    .select(({ fn }) => fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  t.equal(Number(count.n), 16);
});

t.test('in a group commit, appends are chained in order at the group end, or lost with its transaction', async (t) => {
  const { db, audit, log } = await setup(t);
  await log.append(db, entry(0));
  const counts: number[] = [];
  let recorded: { details: unknown } | null = null;
  const group = createGroupCommit<number, null>(
    db,
    async (tx, ns) => {
      for (const n of ns) {
        if (n === 6)
          recorded = await audit.record(tx, entry(6)); // a seq the caller needs: written now
        else await log.append(tx, entry(n));
        if (n === 5) counts.push((await tx.selectFrom('audit_entry').select('seq').execute()).length);
      }
      return ns.map(() => null);
    },
    { maxItems: 16, inFlight: 1 },
  );
  await Promise.all([1, 2, 3, 4, 5, 6, 7].map((n) => group.run(n)));
  t.same(counts, [1], 'nothing of the group written before its end');
  t.equal((recorded!.details as { n?: number }).n, 6);
  const rows = await db.selectFrom('audit_entry').select(['seq', 'details']).orderBy('seq').execute();
  t.same(
    rows.map((r) => (r.details as { n: number }).n),
    [0, 1, 2, 3, 4, 5, 6, 7],
    'stored in the order of the appends; a recorded entry comes after those deferred before it',
  );
  t.match(await verifyAuditChain(db), { ok: true, entries: 8 });

  const failing = createGroupCommit<number, null>(
    db,
    async (tx, ns) => {
      for (const n of ns) await log.append(tx, entry(n));
      throw new Error('rolled back before the group end');
    },
    { maxItems: 16 },
  );
  await t.rejects(failing.run(8));
  t.match(await verifyAuditChain(db), { ok: true, entries: 8 }, 'an entry of a rolled-back group is nowhere');
  // Outside a group, appends in a transaction are immediate.
  await db.transaction().execute(async (tx) => {
    await log.append(tx, entry(9));
    t.equal((await tx.selectFrom('audit_entry').select('seq').execute()).length, 9);
  });
  t.match(await verifyAuditChain(db), { ok: true, entries: 9 });
});

t.test('details survive storage exactly as hashed, awkward values included', async (t) => {
  const { db, audit } = await setup(t);
  const stored = await audit.record(db, {
    kind: 'quarantine',
    actor: 'node',
    peer: 'unknown\u0000team',
    details: {
      when: new Date('2026-01-01T00:00:00.123Z'),
      dropped: undefined,
      nul: 'a\u0000b',
      lone: 'x\ud800y',
      emoji: '火消し 🚒',
      numbers: [0, -0, 1.5, 1e21, 2 ** 60, 5e-324, Number.MAX_SAFE_INTEGER],
      nested: { z: [{ b: null, a: true }], 'key\u0000': 1 },
    },
  });
  t.equal(stored.peer, 'unknown\ufffdteam');
  t.same(stored.details, {
    when: '2026-01-01T00:00:00.123Z',
    nul: 'a\ufffdb',
    lone: 'x\ufffdy',
    emoji: '火消し 🚒',
    numbers: [0, 0, 1.5, 1e21, 2 ** 60, 5e-324, Number.MAX_SAFE_INTEGER],
    nested: { z: [{ b: null, a: true }], 'key\ufffd': 1 },
  });
  t.same(await verifyAuditChain(db), { ok: true, entries: 1, head: { seq: stored.seq, hash: stored.hash } });
});

t.test('bad entries are refused before anything is written', async (t) => {
  const { db, audit } = await setup(t);
  await t.rejects(audit.record(db, { ...entry(0), kind: '' }), /kind/);
  await t.rejects(audit.record(db, { ...entry(0), incidentId: 'ALPHA#2026-000001' }), /incidentId/);
  await t.rejects(audit.record(db, { ...entry(0), decision: 'maybe' as 'allow' }), /decision/);
  await t.rejects(audit.record(db, { ...entry(0), details: [] as unknown as Record<string, unknown> }), /details/);
  t.same(await seqs(db), []);
});

t.test('the database refuses UPDATE, DELETE and TRUNCATE', async (t) => {
  const { db, audit } = await setup(t);
  await audit.append(db, entry(0));
  await t.rejects(sql`UPDATE audit_entry SET details = '{}'`.execute(db), /append-only/);
  await t.rejects(sql`DELETE FROM audit_entry`.execute(db), /append-only/);
  await t.rejects(sql`TRUNCATE audit_entry`.execute(db), /append-only/);
  t.match(await verifyAuditChain(db), { ok: true, entries: 1 });
  t.equal((await seqs(db)).length, 1);
});

t.test('editing one entry in SQL is reported at exactly that entry', async (t) => {
  const { db, audit } = await setup(t);
  for (let i = 0; i < 6; i++) await audit.append(db, entry(i));
  const all = await seqs(db);
  const victim = all[3]!;
  await tamper(db, sql`UPDATE audit_entry SET details = details || '{"peer":"mallory"}' WHERE seq = ${victim}`);
  const result = await verifyAuditChain(db);
  t.match(result, { ok: false, brokenAt: victim, reason: 'entry-altered', entries: 3, head: { seq: all[2] } });
});

t.test('editing the time or the decision is reported too', async (t) => {
  const { db, audit } = await setup(t);
  for (let i = 0; i < 4; i++) await audit.append(db, entry(i));
  const all = await seqs(db);
  await tamper(db, sql`UPDATE audit_entry SET decision = 'allow' WHERE seq = ${all[1]!}`);
  t.match(await verifyAuditChain(db), { ok: false, brokenAt: all[1], reason: 'entry-altered' });
  await tamper(db, sql`UPDATE audit_entry SET decision = 'deny' WHERE seq = ${all[1]!}`);
  t.match(await verifyAuditChain(db), { ok: true, entries: 4 }, 'restored, it verifies again: the check is about content');
  await tamper(db, sql`UPDATE audit_entry SET at = at + interval '1 millisecond' WHERE seq = ${all[2]!}`);
  t.match(await verifyAuditChain(db), { ok: false, brokenAt: all[2], reason: 'entry-altered' });
});

t.test('an edit that recomputes its own hash is caught at the next link', async (t) => {
  const { db, audit } = await setup(t);
  for (let i = 0; i < 5; i++) await audit.append(db, entry(i));
  const rows = await db.selectFrom('audit_entry').selectAll().orderBy('seq').execute();
  const victim = rows[2]!;
  const forged = { ...victim, details: { ...victim.details, decision: 'rewritten' } };
  const forgedHash = entryHash({
    seq: forged.seq,
    at: new Date(forged.at).toISOString(),
    kind: forged.kind,
    actor: forged.actor,
    incidentId: forged.incident_id,
    peer: forged.peer,
    decision: forged.decision,
    details: forged.details,
    prevHash: forged.prev_hash,
  });
  await tamper(
    db,
    sql`UPDATE audit_entry SET details = ${JSON.stringify(forged.details)}::jsonb, hash = ${forgedHash} WHERE seq = ${victim.seq}`,
  );
  t.match(await verifyAuditChain(db), { ok: false, brokenAt: rows[3]!.seq, reason: 'chain-broken', entries: 3 });
});

t.test('a deleted entry is reported at the entry after it', async (t) => {
  const { db, audit } = await setup(t);
  for (let i = 0; i < 5; i++) await audit.append(db, entry(i));
  const all = await seqs(db);
  await tamper(db, sql`DELETE FROM audit_entry WHERE seq = ${all[2]!}`);
  const result = await verifyAuditChain(db);
  t.match(result, { ok: false, brokenAt: all[3], reason: 'chain-broken', entries: 2, head: { seq: all[1] } });
  if (!result.ok) t.match(result.detail, new RegExp(`entry ${all[3]} does not follow entry ${all[1]}`));
});

t.test('a deleted first entry is reported', async (t) => {
  const { db, audit } = await setup(t);
  for (let i = 0; i < 3; i++) await audit.append(db, entry(i));
  const all = await seqs(db);
  await tamper(db, sql`DELETE FROM audit_entry WHERE seq = ${all[0]!}`);
  t.match(await verifyAuditChain(db), { ok: false, brokenAt: all[1], reason: 'chain-broken', entries: 0, head: null });
});

t.test(
  'an appender whose snapshot predates the tail fails instead of forking',
  { skip: TEST_DATABASE_URL ? false : 'needs a server: the embedded engine has one connection' },
  async (t) => {
    const { db, audit } = await setup(t);
    await audit.append(db, entry(0));
    await t.rejects(
      db
        .transaction()
        .setIsolationLevel('repeatable read')
        .execute(async (tx) => {
          await sql`select count(*) from audit_entry`.execute(tx); // the snapshot is taken here
          await audit.append(db, entry(1)); // another connection moves the tail and commits
          await audit.append(tx, entry(2)); // sees the old tail: its link is already taken
        }),
      /audit_entry_prev_hash|could not serialize/,
    );
    const result = await verifyAuditChain(db);
    t.match(result, { ok: true, entries: 2 });
  },
);
