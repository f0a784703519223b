import { transactionsAtOnce, type Db } from './database.js';
import { createGroupQueue, settleEachAlone, type Waiting } from './group-queue.js';

/**
 * Group read: the read side of group commit (group-commit.ts). Look-ups that arrive while one is
 * running wait for it and then run together, as one statement over all their keys. A statement
 * per look-up costs a round trip, and on a server each round trip wakes a database backend: on
 * this project's two-core machines that wake-up, not the look-up, was most of the node's time in
 * a request (ADR 0031, "Look-ups read in groups").
 *
 * Each item's statement starts after the item arrived, so it sees everything committed before
 * the request asked: the same answer as a statement of its own (a token revoked before the
 * request is refused, as before). There is no timer: a lone look-up runs after one turn of the
 * event loop, and groups grow only under load.
 *
 * If a group's read fails, each of its items is read again alone, so one item fails only itself.
 */
export interface GroupRead<I, O> {
  read(item: I): Promise<O>;
}

export interface GroupReadOptions {
  /** Most items in one statement. */
  maxItems: number;
}

/**
 * `work` gets the items of one group, in arrival order, and answers one result per item in the
 * same order. Reads run at once as transactions do (`transactionsAtOnce`: one on the embedded
 * engine's single connection, more on a server).
 */
export function createGroupRead<I, O>(db: Db, work: (items: I[]) => Promise<O[]>, options: GroupReadOptions): GroupRead<I, O> {
  const groups = createGroupQueue<I, O>(transactionsAtOnce(db), (waiting) => readGroup(waiting.splice(0, options.maxItems)));

  async function readGroup(group: Array<Waiting<I, O>>): Promise<void> {
    try {
      const results = await work(group.map((waiting) => waiting.item));
      if (results.length !== group.length) throw new Error(`group read: ${results.length} results for ${group.length} items`);
      group.forEach((waiting, i) => waiting.resolve(results[i]!));
      return;
    } catch (err) {
      if (group.length === 1) {
        group[0]!.reject(err);
        return;
      }
    }
    await settleEachAlone(group, async (waiting) => (await work([waiting.item]))[0]!);
  }

  return { read: (item) => groups.submit(item) };
}
