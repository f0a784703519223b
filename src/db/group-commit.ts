import { transactionsAtOnce, type Db, type Tx } from './database.js';
import { createGroupQueue, settleEachAlone, type Waiting } from './group-queue.js';

/**
 * Group commit: work items that arrive while transactions are running (one, or `inFlight`) wait
 * for one to end and then run together in the next one. Each transaction costs a commit (a WAL
 * flush on a server) and the locks every item takes (the reference-number counter, the audit
 * chain), and each statement a round trip; sharing them is what lets one node keep up with many
 * senders.
 *
 * There is no timer: an item arriving when nothing runs starts a transaction after one turn of
 * the event loop, so a lone request is not held back, and groups grow only under load.
 *
 * If a group's transaction fails, nothing of it was written; each of its items then runs again
 * alone, so one bad item fails only itself. Items must therefore be safe to run twice when the
 * first run rolled back, which any transaction body is.
 */
export interface GroupCommitOptions {
  /** Most items in one transaction: bounds how long locks are held and the loss on a retry. */
  maxItems: number;
  /**
   * Transactions running at once (default: what the engine affords, `transactionsAtOnce`). On a
   * server a group's statements are round trips during which the node's core waits; a second
   * group in flight does its work meanwhile, and queues on the first one's locks only where the
   * two really meet. With one connection (the embedded engine) a second group would only wait
   * for the first, and be smaller.
   */
  inFlight?: number;
}

/** Hooks a group's transaction runs after its work, before commit (atGroupEnd). */
const groupEnds = new WeakMap<Tx, Array<() => Promise<void>>>();

/**
 * Inside a group-commit transaction, runs `hook` once after the group's work and before commit,
 * and answers true; anywhere else answers false (the caller then does its write now). This is how
 * a write every item makes (an audit entry, under the audit chain's lock) becomes one write per
 * group without the items, or the module that groups them, knowing about it.
 */
export function atGroupEnd(tx: Tx, hook: () => Promise<void>): boolean {
  const hooks = groupEnds.get(tx);
  if (!hooks) return false;
  hooks.push(hook);
  return true;
}

/**
 * Runs `work` inside `tx` as one group: the writes that wait for a group's end (atGroupEnd: the
 * audit entries) are made once, after it, as in a group commit. For a transaction that does the
 * same kind of work many times over (an inquiry's fan-out: one audited decision per member).
 * Inside a group already, it just runs `work`.
 */
export async function asOneGroup<T>(tx: Tx, work: () => Promise<T>): Promise<T> {
  if (groupEnds.has(tx)) return work();
  const hooks: Array<() => Promise<void>> = [];
  groupEnds.set(tx, hooks);
  try {
    const out = await work();
    for (let hook = hooks.shift(); hook; hook = hooks.shift()) await hook();
    return out;
  } finally {
    groupEnds.delete(tx);
  }
}

export interface GroupCommit<I, O> {
  run(item: I): Promise<O>;
}

/**
 * `work` gets the items of one transaction, in arrival order, and answers one result per item in
 * the same order; it may process them one by one or together (one statement for many rows).
 */
export function createGroupCommit<I, O>(
  db: Db,
  work: (tx: Tx, items: I[]) => Promise<O[]>,
  options: GroupCommitOptions,
): GroupCommit<I, O> {
  const groups = createGroupQueue<I, O>(options.inFlight ?? transactionsAtOnce(db), runGroup);
  const queue = groups.waiting;

  /**
   * One transaction for `group`; with no group given, for the items waiting when the transaction
   * has its connection. `taken` receives the group as soon as it is formed, so that the caller
   * still knows it when the transaction fails.
   */
  async function transact(given: Array<Waiting<I, O>> | null, taken: (group: Array<Waiting<I, O>>) => void): Promise<O[]> {
    return db.transaction().execute(async (tx) => {
      // Items that arrived while this transaction waited for a connection join it: on the
      // embedded engine's single connection, that wait is where a group forms.
      const group = given ?? queue.splice(0, options.maxItems);
      taken(group);
      const hooks: Array<() => Promise<void>> = [];
      groupEnds.set(tx, hooks);
      const out = await work(
        tx,
        group.map((waiting) => waiting.item),
      );
      if (out.length !== group.length) throw new Error(`group commit: ${out.length} results for ${group.length} items`);
      // A hook may register another (a write that itself defers): run until none is left.
      for (let hook = hooks.shift(); hook; hook = hooks.shift()) await hook();
      groupEnds.delete(tx);
      return out;
    });
  }

  async function runGroup(): Promise<void> {
    let group: Array<Waiting<I, O>> | null = null;
    try {
      const results = await transact(null, (g) => (group = g));
      group!.forEach((waiting, i) => waiting.resolve(results[i]!));
      return;
    } catch (err) {
      // No transaction at all (the database is unreachable, say): the waiting items fail with it.
      group ??= queue.splice(0, options.maxItems);
      if (group.length <= 1) {
        group[0]?.reject(err);
        return;
      }
    }
    await settleEachAlone(group, async (waiting) => (await transact([waiting], () => {}))[0]!);
  }

  return { run: (item) => groups.submit(item) };
}
