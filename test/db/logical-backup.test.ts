import { sql } from 'kysely';
import t from 'tap';
import { verifyDocumentSignature } from '../../src/crypto/index.js';
import { BackupError, restoreBackup, writeBackup, type BackupHeader, type BackupLine } from '../../src/db/logical-backup.js';
import { verifyAuditChain } from '../../src/modules/audit/audit-chain.js';
import { loadFixturePeerKey } from '../fixtures/keys/index.js';
import { buildTestNode } from '../helpers/build-test-app.js';
import { addPeer, createIncident, messageDocument, postMessage, reportBody, sign } from '../helpers/federation-harness.js';
import { createTestDatabase } from '../helpers/test-database.js';

/**
 * The logical backup (issue 13) on the engine the suite runs on: a node with incidents (times
 * with offsets), received signed documents, peers and an audit chain is written out and
 * restored into an empty database; every table holds the same rows, the chain verifies, the
 * received signatures verify, sequences go on. A restore into a database with rows, or from
 * another migration, is refused and changes nothing.
 */
const alpha = await buildTestNode(t, { key: 'alpha', listen: true });
const bravo = await buildTestNode(t, { key: 'bravo', listen: true });
await addPeer(bravo, alpha);
await createIncident(bravo, { title: 'offset kept', firstSeen: '2026-11-20T02:13:00.123456+09:00' });
const received = await postMessage(
  bravo,
  await sign(messageDocument('alpha', 'bravo', 'incident.report', reportBody('ALPHA#2026-000777')), 'alpha'),
);
const db = bravo.database.db;

async function backupOf(): Promise<Array<BackupHeader | BackupLine>> {
  const out: Array<BackupHeader | BackupLine> = [];
  await writeBackup(db, bravo.database.engine, async (v) => void out.push(structuredClone(v)));
  return out;
}
async function* iterate<T>(items: T[]): AsyncGenerator<T> {
  for (const item of items) yield item;
}
async function tableDump(target: typeof db, table: string): Promise<string[]> {
  const { rows } = await sql<{ r: string }>`select row_to_json(t)::text as r from ${sql.table(table)} t`.execute(target);
  return rows.map((x) => x.r).sort();
}

t.test('a round trip keeps every row, the audit chain and every signature', async (t) => {
  t.equal(received.status, 200, received.text);
  const lines = await backupOf();
  const header = lines[0] as BackupHeader;
  t.equal(header.format, 'hikeshi-backup');
  t.ok(header.tables.includes('incident') && header.tables.includes('audit_entry') && header.tables.includes('inbound_message'));

  const target = await createTestDatabase();
  t.teardown(() => target.drop());
  const { rows } = await restoreBackup(target.handle.db, iterate(lines));
  t.ok(rows > 10, `${rows} rows restored`);
  for (const table of header.tables)
    t.same(await tableDump(target.handle.db, table), await tableDump(db, table), `${table}: the same rows`);
  t.match(await verifyAuditChain(target.handle.db), { ok: true }, 'the audit chain verifies');
  const inbound = await target.handle.db.selectFrom('inbound_message').select('envelope').executeTakeFirstOrThrow();
  t.match(
    await verifyDocumentSignature(JSON.parse(inbound.envelope), await loadFixturePeerKey('alpha')),
    { ok: true },
    'a received signature verifies',
  );
  const incident = await target.handle.db
    .selectFrom('incident')
    .select('first_seen_text')
    .where('title', '=', 'offset kept')
    .executeTakeFirstOrThrow();
  t.equal(incident.first_seen_text, '2026-11-20T02:13:00.123456+09:00', 'times as written');
  // Sequences go on after the restored rows: a new audit entry chains on.
  const { rows: before } = await sql<{ n: number }>`select max(seq)::int as n from audit_entry`.execute(target.handle.db);
  const { rows: seqs } = await sql<{ s: number }>`select nextval(pg_get_serial_sequence('audit_entry', 'seq'))::int as s`.execute(
    target.handle.db,
  );
  t.ok(seqs[0]!.s > before[0]!.n, 'the audit sequence continues after the restored entries');
});

t.test('refused: a target with rows, another migration, not a backup', async (t) => {
  const lines = await backupOf();
  // The source itself has rows.
  await t.rejects(restoreBackup(db, iterate(lines)), BackupError);
  const target = await createTestDatabase();
  t.teardown(() => target.drop());
  const otherMigration = [{ ...(lines[0] as BackupHeader), migrations: ['0001_node_foundation'] }, ...lines.slice(1)];
  await t.rejects(restoreBackup(target.handle.db, iterate(otherMigration)), /restore with the version that made it/);
  await t.rejects(restoreBackup(target.handle.db, iterate([{ format: 'other' } as never])), /not a Hikeshi backup/);
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from incident`.execute(target.handle.db);
  t.equal(rows[0]!.n, 0, 'nothing written by refused restores');
});
