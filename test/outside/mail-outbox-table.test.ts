import { randomUUID } from 'node:crypto';
import t from 'tap';
import { mailOutboxTableStore } from '../../src/modules/exchange/exchange.module.js';
import { createTestDatabase } from '../helpers/test-database.js';

/**
 * The hand-over loop's port over a plain mail outbox table (exchange/mail-outbox-table.repository.ts):
 * a claim takes the oldest due mail once, a retry puts it back later, a cut hand-over is settled once
 * (uncertain, never again). Run inside one transaction that is rolled back: vendor_mail_outbox's
 * reference to its question is checked at commit, so no question is needed.
 */
const database = await createTestDatabase();
t.teardown(() => database.drop());
const store = mailOutboxTableStore('vendor_mail_outbox', 'question_id');
const at = (s: number) => new Date(Date.UTC(2026, 11, 6, 10, 0, s));

class Rollback extends Error {}

t.test('claim, retry, send and settle, each once', async (t) => {
  await database.handle.db
    .transaction()
    .execute(async (tx) => {
      const [a, b] = [randomUUID(), randomUUID()];
      for (const [id, due] of [
        [a, at(1)],
        [b, at(2)],
      ] as const)
        await tx
          .insertInto('vendor_mail_outbox')
          .values({
            question_id: id,
            state: 'queued',
            envelope_from: 'f@x.example',
            envelope_to: 't@y.example',
            raw: `raw ${id}`,
            encrypted: false,
            next_attempt_at: due,
            queued_at: due,
          })
          .execute();
      t.equal(await store.claimDue(tx, at(0), at(60)), null, 'nothing due yet');
      const first = await store.claimDue(tx, at(5), at(60));
      t.same(first, { id: a, from: 'f@x.example', to: 't@y.example', raw: `raw ${a}`, attempts: 1 }, 'the oldest due mail');
      t.equal((await store.claimDue(tx, at(5), at(60)))?.id, b, 'then the next');
      t.equal(await store.claimDue(tx, at(5), at(60)), null, 'a claimed mail is not claimed twice');
      await store.markRetry(tx, a, at(30), 'x'.repeat(600));
      t.equal(await store.claimDue(tx, at(10), at(60)), null, 'a retry waits for its time');
      const again = await store.claimDue(tx, at(30), at(90));
      t.same([again?.id, again?.attempts], [a, 2], 'then is claimed again, its attempts counted');
      await store.markSent(tx, a, at(31));
      t.same(await store.listCut(tx, at(59)), [], 'no cut hand-over before the lease ends');
      t.same(await store.listCut(tx, at(61)), [b], 'b is past its lease');
      t.equal(await store.settleCut(tx, b, at(61), 'cut'), true, 'settled once');
      t.equal(await store.settleCut(tx, b, at(62), 'cut'), false, 'not twice');
      t.equal(await store.settleCut(tx, a, at(62), 'cut'), false, 'a sent mail is not a cut one');
      const rows = await tx
        .selectFrom('vendor_mail_outbox')
        .select(['question_id', 'state', 'send_uncertain', 'last_error'])
        .orderBy('queued_at')
        .execute();
      t.same(
        rows.map((r) => [r.state, r.send_uncertain, r.last_error]),
        [
          ['sent', false, null],
          ['sent', true, 'cut'],
        ],
      );
      throw new Rollback();
    })
    .catch((err: unknown) => {
      if (!(err instanceof Rollback)) throw err;
    });
});
