import { connect, type Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';

/**
 * The load generator of the HTTP benchmarks, in a thread of their own: a figure is what the node
 * does on its own core, so the clients' HTTP work must not share that core. Posts each prepared
 * body once, `concurrency` at a time, spread over one or more node processes (`urls`), and
 * reports the elapsed time and each request's latency. With `queries` instead of bodies it sends
 * one GET per query string (the site look-up figure).
 *
 * The load generator is kept lean, as wrk is: each client holds one keep-alive connection and
 * writes requests built before the clock starts. On a two-core machine, `fetch` cost about as
 * much CPU per message as half of the node's own work, and took that core from the node (and
 * from the database server).
 */
export interface HttpLoadInput {
  /** The node processes' base URLs; client i talks to urls[i % urls.length]. */
  urls: string[];
  path: string;
  /** Extra request headers (e.g. authorization); content-type is application/json. */
  headers?: Record<string, string>;
  /** One POST of each body; or, with `queries`, none. */
  bodies?: string[];
  /** One GET of `path` + each query string ("?ip=..."), in place of bodies. */
  queries?: string[];
  concurrency: number;
  /** The status every answer must have, or one of them (200 unless said). */
  expectStatus?: number | number[];
}

export interface HttpLoadOutput {
  ok: boolean;
  seconds?: number;
  latencies?: number[];
  error?: string;
}

const { urls, path, headers = {}, bodies = [], queries, concurrency, expectStatus = 200 } = workerData as HttpLoadInput;
const expected = Array.isArray(expectStatus) ? expectStatus : [expectStatus];
const extraHead = Object.entries(headers)
  .map(([name, value]) => `${name}: ${value}\r\n`)
  .join('');

function getRequest(target: URL, query: string): Buffer {
  return Buffer.from(`GET ${target.pathname}${query} HTTP/1.1\r\nHost: ${target.host}\r\n${extraHead}\r\n`, 'latin1');
}

function request(target: URL, body: string): Buffer {
  const payload = Buffer.from(body);
  const head = `POST ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nContent-Type: application/json\r\n${extraHead}Content-Length: ${payload.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), payload]);
}

/** One keep-alive HTTP/1.1 connection, one request at a time; answers with the status and body. */
class Client {
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (r: { status: number; body: string }) => void; reject: (e: Error) => void } | null = null;

  private constructor(
    readonly target: URL,
    private readonly socket: Socket,
  ) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
      this.parse();
    });
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('the node closed the connection')));
  }

  static open(target: URL): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: target.hostname, port: Number(target.port) }, () => resolve(new Client(target, socket)));
      socket.setNoDelay(true);
      socket.once('error', reject);
    });
  }

  send(bytes: Buffer): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.socket.write(bytes);
    });
  }

  close(): void {
    this.socket.removeAllListeners('close');
    this.socket.destroy();
  }

  private fail(err: Error): void {
    const waiting = this.waiting;
    this.waiting = null;
    waiting?.reject(err);
  }

  private parse(): void {
    const end = this.buffered.indexOf('\r\n\r\n');
    if (end < 0 || !this.waiting) return;
    const head = this.buffered.subarray(0, end).toString('latin1');
    const status = Number(head.slice(9, 12));
    const length = /\r\ncontent-length: *(\d+)/i.exec(head);
    if (!length) return this.fail(new Error(`answer without content-length: ${head.split('\r\n')[0]}`));
    const total = end + 4 + Number(length[1]);
    if (this.buffered.length < total) return;
    const body = this.buffered.subarray(end + 4, total).toString('utf8');
    this.buffered = this.buffered.subarray(total);
    const waiting = this.waiting;
    this.waiting = null;
    waiting.resolve({ status, body });
  }
}

const targets = urls.map((url) => new URL(path, url));
const total = queries ? queries.length : bodies.length;
const clients = await Promise.all(
  Array.from({ length: Math.min(concurrency, total) }, (_, i) => Client.open(targets[i % targets.length]!)),
);
// Built before the clock starts, once per target.
const requests = targets.map((target) =>
  queries ? queries.map((q) => getRequest(target, q)) : bodies.map((body) => request(target, body)),
);
const latencies: number[] = [];
let next = 0;
const started = performance.now();
try {
  await Promise.all(
    clients.map(async (client, i) => {
      const mine = requests[i % targets.length]!;
      while (next < total) {
        const t0 = performance.now();
        const answer = await client.send(mine[next++]!);
        latencies.push(performance.now() - t0);
        if (!expected.includes(answer.status)) throw new Error(`refused: ${answer.status} ${answer.body.slice(0, 300)}`);
      }
    }),
  );
  parentPort!.postMessage({ ok: true, seconds: (performance.now() - started) / 1000, latencies } satisfies HttpLoadOutput);
} catch (err) {
  parentPort!.postMessage({ ok: false, error: (err as Error).message } satisfies HttpLoadOutput);
} finally {
  for (const client of clients) client.close();
}
