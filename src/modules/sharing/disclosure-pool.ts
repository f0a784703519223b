import { Worker } from 'node:worker_threads';
import { decideFeedBatch, type FeedBatch, type FeedDecided, type FeedRendererModule } from './disclosure-decision.js';

/**
 * Disclosure threads (ADR 0034): the per-incident work of a pull-feed or TAXII page (the policy's
 * decision, redaction, rendering, the audit digest) is pure and about a millisecond of CPU an
 * incident, while reading the rows, writing the page's audit entry and serving it are not. A page's
 * batch is split among a few worker threads so a node uses more than one core for it; the node's
 * thread keeps every read and write, and every item is still decided, in order, by the same code
 * (decideFeedBatch). Small batches (the usual page of a few incidents) stay on the node's thread:
 * a thread hop costs more than it saves there.
 *
 * Threads start on first use and hold the process open only while they work. One that fails takes
 * its pending batches with it (their requests fail with a 500, nothing is served or audited) and
 * is replaced on the next batch.
 */
export interface DisclosurePool {
  /** The batch's outcomes, in the batch's order; `renderer`: the functions of the module the batch names, for this thread's part. */
  decide(batch: FeedBatch, renderer: FeedRendererModule): Promise<FeedDecided[]>;
  /** Stops the threads (the node is closing). */
  close(): Promise<void>;
}

export interface DisclosurePoolOptions {
  /** Worker threads; 0: every batch on the calling thread. */
  threads: number;
}

interface Pending {
  resolve: (results: FeedDecided[]) => void;
  reject: (error: Error) => void;
}

interface Thread {
  worker: Worker;
  pending: Map<number, Pending>;
}

/**
 * Each part of a batch is at least this many incidents (below it the hop costs more than the
 * work), so a batch under twice this stays on the calling thread.
 */
const MIN_CHUNK = 32;

function startWorker(): Worker {
  // From TypeScript sources (tests, tsx) the thread must register tsx itself before loading its
  // module: a worker does not inherit the loader hooks of the thread that starts it on Node 20.
  if (import.meta.url.endsWith('.ts')) {
    const file = new URL('./disclosure.worker.ts', import.meta.url).href;
    const tsx = import.meta.resolve('tsx/esm/api');
    return new Worker(`import(${JSON.stringify(tsx)}).then((m) => { m.register(); return import(${JSON.stringify(file)}); })`, {
      eval: true,
    });
  }
  // Beside this code both in dist/src and in the node's bundle (scripts/build-node.ts writes it there).
  return new Worker(new URL('./disclosure.worker.js', import.meta.url));
}

export function createDisclosurePool(options: DisclosurePoolOptions): DisclosurePool {
  const threads: Array<Thread | undefined> = [];
  let nextId = 1;
  let closed = false;

  function fail(slot: number, thread: Thread, error: Error): void {
    if (threads[slot] === thread) threads[slot] = undefined;
    for (const p of thread.pending.values()) p.reject(error);
    thread.pending.clear();
  }

  function threadAt(slot: number): Thread {
    const existing = threads[slot];
    if (existing) return existing;
    const thread: Thread = { worker: startWorker(), pending: new Map() };
    thread.worker.unref();
    thread.worker.on('message', (message: { id: number; results?: FeedDecided[]; error?: { name: string; message: string } }) => {
      const pending = thread.pending.get(message.id);
      if (!pending) return;
      thread.pending.delete(message.id);
      if (thread.pending.size === 0) thread.worker.unref();
      if (message.error) {
        const error = new Error(message.error.message);
        error.name = message.error.name;
        pending.reject(error);
      } else pending.resolve(message.results!);
    });
    thread.worker.on('error', (error) => fail(slot, thread, new Error(`a disclosure thread failed: ${error.name}`)));
    thread.worker.on('exit', (code) => fail(slot, thread, new Error(`a disclosure thread stopped (exit code ${code})`)));
    threads[slot] = thread;
    return thread;
  }

  function run(slot: number, batch: FeedBatch): Promise<FeedDecided[]> {
    const thread = threadAt(slot);
    const id = nextId++;
    return new Promise<FeedDecided[]>((resolve, reject) => {
      thread.pending.set(id, { resolve, reject });
      // Held open while it works: a caller awaiting it must not see the process end under it.
      thread.worker.ref();
      thread.worker.postMessage({ id, batch });
    });
  }

  return {
    async decide(batch, renderer) {
      // The node's thread takes a share too: it would otherwise wait idle for the threads.
      const parts = Math.min(options.threads + 1, Math.max(1, Math.floor(batch.items.length / MIN_CHUNK)));
      if (closed || parts < 2) return decideFeedBatch(batch, renderer);
      const size = Math.ceil(batch.items.length / parts);
      const chunk = (n: number): FeedBatch => ({ ...batch, items: batch.items.slice(n * size, (n + 1) * size) });
      const elsewhere = Array.from({ length: parts - 1 }, (_, slot) => run(slot, chunk(slot + 1)));
      // The batch settles only when every part has: a thread that dies of this batch is gone
      // (its exit seen) before the caller can send it the next one.
      const own = (async () => decideFeedBatch(chunk(0), renderer))();
      const settled = await Promise.allSettled([own, ...elsewhere]);
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
      return settled.flatMap((r) => (r as PromiseFulfilledResult<FeedDecided[]>).value);
    },
    async close() {
      closed = true;
      const running = threads.splice(0).filter((t): t is Thread => t !== undefined);
      await Promise.all(running.map((t) => t.worker.terminate()));
    },
  };
}
