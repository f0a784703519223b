import { parentPort } from 'node:worker_threads';
import { decideFeedBatch, type FeedBatch, type FeedRendererModule } from './disclosure-decision.js';

/**
 * A disclosure thread (disclosure-pool.ts, ADR 0034): decides, redacts, renders and digests the
 * incidents of a feed batch, exactly as the node's own thread would (decideFeedBatch). It reads
 * no database and writes no audit entry; the answer goes back to the thread that asked.
 */
interface Task {
  id: number;
  batch: FeedBatch;
}

const renderers = new Map<string, Promise<FeedRendererModule>>();

/** The renderer module a batch names, loaded once per thread (a failed load is tried again on the next batch). */
function loadRenderer(url: string): Promise<FeedRendererModule> {
  let loaded = renderers.get(url);
  if (!loaded) {
    loaded = import(url) as Promise<FeedRendererModule>;
    loaded.catch(() => renderers.delete(url));
    renderers.set(url, loaded);
  }
  return loaded;
}

parentPort!.on('message', (task: Task) => {
  loadRenderer(task.batch.renderer.module)
    .then((renderer) => decideFeedBatch(task.batch, renderer))
    .then(
      (results) => parentPort!.postMessage({ id: task.id, results }),
      // Only what the node's own thread would have thrown: the same error, by name and message.
      (error: unknown) =>
        parentPort!.postMessage({
          id: task.id,
          error: error instanceof Error ? { name: error.name, message: error.message } : { name: 'Error', message: String(error) },
        }),
    );
});
