import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';

/**
 * The sending nodes of the federation benchmark, in a thread of their own: the figure is what
 * one node accepts on its own core, so the senders' HTTP work must not share that core. Posts
 * each pre-signed message once, `concurrency` at a time, and reports the elapsed time.
 */
interface SendersInput {
  url: string;
  bodies: string[];
  concurrency: number;
}

const { url, bodies, concurrency } = workerData as SendersInput;

async function post(body: string): Promise<void> {
  const res = await fetch(`${url}/federation/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
  const text = await res.text();
  if (res.status !== 200) throw new Error(`message refused: ${res.status} ${text.slice(0, 300)}`);
}

let next = 0;
const started = performance.now();
try {
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < bodies.length) await post(bodies[next++]!);
    }),
  );
  parentPort!.postMessage({ ok: true, seconds: (performance.now() - started) / 1000 });
} catch (err) {
  parentPort!.postMessage({ ok: false, error: (err as Error).message });
}
