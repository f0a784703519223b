import t from 'tap';
import { sql } from 'kysely';
import { createIncidentService } from '../../src/modules/incidents/incident.service.js';
import type { Incident } from '../../schemas/incident.schema.js';
import { buildTestNode } from '../helpers/build-test-app.js';

/**
 * Reference numbers <PREFIX>#<YEAR>-<SEQ>: unique, in order, no gaps, per year. One node for the
 * file; its clock is a variable the subtests move between years.
 */
let now = Date.parse('2030-06-15T12:00:00.000Z');
const node = await buildTestNode(t, { clock: () => new Date(now) });

const report = (title: string) => ({
  title,
  category: 'test',
  type: 'test',
  severity: 'low',
  tlp: 'CLEAR',
  reporter: { name: 'Load tester' },
});
const create = (title: string) =>
  node.app.inject({ method: 'POST', url: '/api/v1/incidents', headers: node.auth.handler, payload: report(title) });
const seqOf = (ref: string) => {
  const m = /^ALPHA#(\d{4})-(\d{6})$/.exec(ref);
  if (!m) throw new Error(`not a reference number: ${ref}`);
  return { year: Number(m[1]), seq: Number(m[2]) };
};

t.test('100 creations at once: 100 distinct numbers, exactly 1..100, in creation order', async (t) => {
  const responses = await Promise.all(Array.from({ length: 100 }, (_, i) => create(`concurrent ${i}`)));
  t.strictSame([...new Set(responses.map((r) => r.statusCode))], [201], 'all created');
  const refs = responses.map((r) => (r.json() as Incident).ref);
  t.equal(new Set(refs).size, 100, 'no duplicates');
  t.ok(
    refs.every((r) => seqOf(r).year === 2030),
    'all in 2030',
  );
  const seqs = refs.map((r) => seqOf(r).seq).sort((a, b) => a - b);
  t.strictSame(
    seqs,
    Array.from({ length: 100 }, (_, i) => i + 1),
    'exactly 1..100: no gaps',
  );

  // The list is ordered by insertion (newest first): numbers must follow the same order.
  const listed = await node.app.inject({
    method: 'GET',
    url: '/api/v1/incidents?limit=100',
    headers: node.auth.reader,
  });
  const listedSeqs = (listed.json().items as Incident[]).map((i) => seqOf(i.ref).seq);
  t.strictSame(listedSeqs, [...seqs].reverse(), 'numbers were assigned in the order incidents were stored');
});

t.test('a creation rolled back after taking a number gives it back', async (t) => {
  // A second service on the same database: createInTx inside a transaction we abort on purpose.
  const incidents = createIncidentService({ db: node.database.db, clock: () => new Date(now), config: node.config });
  let taken: Incident | undefined;
  await t.rejects(
    node.database.db.transaction().execute(async (tx) => {
      taken = await incidents.createInTx(tx, report('rolled back') as Parameters<typeof incidents.createInTx>[1], {
        subject: 'test',
        team: 'alpha',
      });
      throw new Error('abort on purpose');
    }),
    /abort on purpose/,
  );
  t.equal(taken?.ref, 'ALPHA#2030-000101', 'the aborted creation had taken number 101');
  const gone = await node.app.inject({
    method: 'GET',
    url: `/api/v1/incidents/${encodeURIComponent('ALPHA#2030-000101')}`,
    headers: node.auth.reader,
  });
  t.equal(gone.statusCode, 404, 'and it was not stored');
  t.match(gone.headers['content-type'], /^application\/problem\+json/);
  t.equal(gone.json().code, 'not-found');

  const next = await create('after the rollback');
  t.equal(next.statusCode, 201);
  t.equal(next.json().ref, 'ALPHA#2030-000101', 'the next creation gets 101: no gap');
});

t.test('refused creations take no number', async (t) => {
  const bad = await node.app.inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: node.auth.handler,
    payload: { ...report('bad'), category: 'fraud', type: 'test' },
  });
  t.equal(bad.statusCode, 400);
  t.match(bad.headers['content-type'], /^application\/problem\+json/);
  t.equal(bad.json().code, 'validation-failed');
  t.equal((await create('after a refusal')).json().ref, 'ALPHA#2030-000102');
});

t.test('a new year starts at 000001, and each year keeps its own sequence', async (t) => {
  now = Date.parse('2030-12-31T23:59:59.999Z');
  t.equal((await create('last moment of 2030')).json().ref, 'ALPHA#2030-000103');
  now = Date.parse('2031-01-01T00:00:00.000Z');
  t.equal((await create('first moment of 2031')).json().ref, 'ALPHA#2031-000001', 'a new year restarts the sequence');
  t.equal((await create('second of 2031')).json().ref, 'ALPHA#2031-000002');
  now = Date.parse('2030-12-31T23:59:59.999Z');
  t.equal((await create('late entry in 2030')).json().ref, 'ALPHA#2030-000104', 'the 2030 sequence is untouched');
});

t.test('creations share transactions: one the database aborts fails alone, and the numbers stay gap-free', async (t) => {
  now = Date.parse('2032-03-01T00:00:00.000Z');
  const db = node.database.db;
  // The database aborts any creation titled "poison" as it would a serialization failure: the
  // group it joined rolls back whole and runs again one creation at a time (ADR 0031).
  await sql`create function poison_creation() returns trigger language plpgsql as $$
    begin
      if new.title = 'poison' then raise exception 'poisoned on purpose' using errcode = '40001'; end if;
      return new;
    end $$`.execute(db);
  await sql`create trigger poison_creation before insert on incident for each row execute function poison_creation()`.execute(db);
  t.teardown(async () => {
    await sql`drop trigger poison_creation on incident`.execute(db);
    await sql`drop function poison_creation()`.execute(db);
  });

  const titles = Array.from({ length: 40 }, (_, i) => (i === 7 || i === 29 ? 'poison' : `grouped ${i}`));
  const responses = await Promise.all(titles.map((title) => create(title)));
  const poisoned = responses.filter((_, i) => titles[i] === 'poison');
  const created = responses.filter((_, i) => titles[i] !== 'poison');
  t.strictSame(
    poisoned.map((r) => [r.statusCode, r.json().code]),
    [
      [503, 'service-unavailable'],
      [503, 'service-unavailable'],
    ],
    'only the aborted creations fail, each told to retry',
  );
  t.strictSame([...new Set(created.map((r) => r.statusCode))], [201], 'every other creation of their groups is stored');
  const seqs = created.map((r) => seqOf((r.json() as Incident).ref)).map((s) => s.seq);
  t.strictSame(
    [...seqs].sort((a, b) => a - b),
    Array.from({ length: 38 }, (_, i) => i + 1),
    'exactly 1..38 in 2032: the rolled-back groups left no gap',
  );
  // Every listener ran for every creation in the groups: the coordinator's view of our own
  // activity (written once per group) has each of them.
  const own = await db.selectFrom('member_activity').select('ref').where('own', '=', true).where('ref', 'like', 'ALPHA#2032-%').execute();
  t.strictSame(
    own.map((r) => r.ref).sort(),
    created.map((r) => (r.json() as Incident).ref).sort(),
    'each creation is in the activity view',
  );
});
