/**
 * What group commit (group-commit.ts) and group read (group-read.ts) share: items wait in a
 * queue, and up to `lanes` loops take groups of them while any wait. A lane first lets the event
 * loop turn once, so requests that arrived together join one group: the embedded engine answers
 * without real I/O, and a request could otherwise run from its first byte to its answer as one
 * chain of promise callbacks, the next one never getting to join.
 */
export interface Waiting<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (reason: unknown) => void;
}

export interface GroupQueue<I, O> {
  /** The items waiting, oldest first: a group takes them from the front. */
  readonly waiting: Array<Waiting<I, O>>;
  /** Queues an item; its promise settles when the group that takes it does. */
  submit(item: I): Promise<O>;
}

/** `runGroup` takes the next group from `waiting` (it decides when and how many) and settles it. */
export function createGroupQueue<I, O>(lanes: number, runGroup: (waiting: Array<Waiting<I, O>>) => Promise<void>): GroupQueue<I, O> {
  const waiting: Array<Waiting<I, O>> = [];
  let running = 0;

  async function lane(): Promise<void> {
    running++;
    try {
      while (waiting.length > 0) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (waiting.length === 0) break; // another lane took them
        await runGroup(waiting);
      }
    } finally {
      running--;
    }
  }

  return {
    waiting,
    submit(item) {
      return new Promise<O>((resolve, reject) => {
        waiting.push({ item, resolve, reject });
        if (running < Math.max(1, lanes)) void lane();
      });
    },
  };
}

/** After a group failed: each of its items again, alone, so one bad item fails only itself. */
export async function settleEachAlone<I, O>(group: Array<Waiting<I, O>>, runAlone: (waiting: Waiting<I, O>) => Promise<O>): Promise<void> {
  for (const waiting of group) {
    try {
      waiting.resolve(await runAlone(waiting));
    } catch (err) {
      waiting.reject(err);
    }
  }
}
