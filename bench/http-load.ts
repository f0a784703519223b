import { Worker } from 'node:worker_threads';
import type { HttpLoadInput, HttpLoadOutput } from './http-load.worker.js';

/**
 * Runs the lean HTTP clients in a worker thread (http-load.worker.ts), so their work does not
 * share the node's thread; resolves to the seconds they took and each request's latency (ms).
 */
export function loadFromOtherThread(input: HttpLoadInput): Promise<{ seconds: number; latencies: number[] }> {
  const worker = new Worker(new URL('./http-load.worker.js', import.meta.url), { workerData: input });
  return new Promise<{ seconds: number; latencies: number[] }>((resolve, reject) => {
    worker.once('message', (m: HttpLoadOutput) =>
      m.ok ? resolve({ seconds: m.seconds!, latencies: m.latencies! }) : reject(new Error(m.error)),
    );
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the load thread stopped (${code})`)));
  }).finally(() => void worker.terminate());
}
