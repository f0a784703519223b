import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import t from 'tap';
import type { Incident } from '../../schemas/incident.schema.js';
import { buildTestNode } from '../helpers/build-test-app.js';

/**
 * What the database itself guarantees about an incident (migration 0011): it is never deleted
 * nor renumbered, so the rows of its own tables, which no longer carry per-row foreign keys,
 * can never be left naming an incident that is gone.
 */
const node = await buildTestNode(t);
const db = node.database.db;
const created = await node.app.inject({
  method: 'POST',
  url: '/api/v1/incidents',
  headers: node.auth.handler,
  payload: {
    title: 'kept',
    category: 'test',
    type: 'test',
    severity: 'low',
    tlp: 'CLEAR',
    reporter: { name: 'A' },
    hosts: [{ ip: '192.0.2.1', role: 'target' }],
  },
});
if (created.statusCode !== 201) throw new Error(`creating the incident failed: ${created.body}`);
const incident = created.json() as Incident;
const { rows: idRows } = await sql<{ id: string }>`select id from incident where ref = ${incident.ref}`.execute(db);
const id = idRows[0]!.id;

t.test('an incident cannot be deleted, truncated or given another id', async (t) => {
  await t.rejects(sql`delete from incident where id = ${id}`.execute(db), /incidents are kept/);
  await t.rejects(sql`truncate incident cascade`.execute(db), /incidents are kept/);
  await t.rejects(sql`update incident set id = ${randomUUID()} where id = ${id}`.execute(db), /incidents are kept/);
  await sql`update incident set title = 'still kept' where id = ${id}`.execute(db);
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from incident where id = ${id}`.execute(db);
  t.equal(rows[0]!.n, 1, 'the incident is there, and other columns still change');
  const { rows: hosts } = await sql<{
    n: number;
  }>`select count(*)::int as n from incident_host where incident_id = ${id}`.execute(db);
  t.equal(hosts[0]!.n, 1, 'its rows still name it');
});
