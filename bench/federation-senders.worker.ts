import { connect, type Socket } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import { performance } from 'node:perf_hooks';

/**
 * The sending nodes of the federation benchmark, in a thread of their own: the figure is what
 * one node accepts on its own core, so the senders' HTTP work must not share that core. Posts
 * each pre-signed message once, `concurrency` at a time, and reports the elapsed time.
 *
 * The load generator is kept lean, as wrk is: each client holds one keep-alive connection and
 * writes requests built before the clock starts. On a two-core machine, `fetch` cost about as
 * much CPU per message as half of the node's own work, and took that core from the node (and
 * from the database server).
 */
interface SendersInput {
  url: string;
  bodies: string[];
  concurrency: number;
}

const { url, bodies, concurrency } = workerData as SendersInput;
const target = new URL('/federation/v1/messages', url);

function request(body: string): Buffer {
  const payload = Buffer.from(body);
  const head = `POST ${target.pathname} HTTP/1.1\r\nHost: ${target.host}\r\nContent-Type: application/json\r\nContent-Length: ${payload.length}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head, 'latin1'), payload]);
}

/** One keep-alive HTTP/1.1 connection, one request at a time; answers with the status and body. */
class Client {
  private buffered: Buffer = Buffer.alloc(0);
  private waiting: { resolve: (r: { status: number; body: string }) => void; reject: (e: Error) => void } | null = null;

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffered = this.buffered.length ? Buffer.concat([this.buffered, chunk]) : chunk;
      this.parse();
    });
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('the node closed the connection')));
  }

  static open(): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: target.hostname, port: Number(target.port) }, () => resolve(new Client(socket)));
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

const requests = bodies.map(request);
const clients = await Promise.all(Array.from({ length: Math.min(concurrency, requests.length) }, () => Client.open()));
let next = 0;
const started = performance.now();
try {
  await Promise.all(
    clients.map(async (client) => {
      while (next < requests.length) {
        const answer = await client.send(requests[next++]!);
        if (answer.status !== 200) throw new Error(`message refused: ${answer.status} ${answer.body.slice(0, 300)}`);
      }
    }),
  );
  parentPort!.postMessage({ ok: true, seconds: (performance.now() - started) / 1000 });
} catch (err) {
  parentPort!.postMessage({ ok: false, error: (err as Error).message });
} finally {
  for (const client of clients) client.close();
}
