import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Teardown } from './build-test-app.js';

/**
 * The outside world of contact determination, on loopback: one HTTP server for security.txt
 * files, the RDAP bootstrap files and an RDAP server, and a DNS server answering SOA queries.
 * Both count what they are asked, so a test can tell a cached answer from a fresh one.
 */

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface WebServer {
  /** http://127.0.0.1:<port> */
  url: string;
  /** Path -> handler; a path absent answers 404. */
  routes: Map<string, Handler>;
  /** Requests per path. */
  hits: Map<string, number>;
  count(path: string): number;
}

export async function startWebServer(t: Teardown): Promise<WebServer> {
  const routes = new Map<string, Handler>();
  const hits = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const handler = routes.get(path);
    if (handler) handler(req, res);
    else res.writeHead(404, { 'content-type': 'text/plain' }).end('not here');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, routes, hits, count: (p) => hits.get(p) ?? 0 };
}

export const text =
  (body: string, type = 'text/plain; charset=utf-8', status = 200): Handler =>
  (_req, res) =>
    res.writeHead(status, { 'content-type': type }).end(body);

export const json = (body: unknown, type = 'application/rdap+json'): Handler => text(JSON.stringify(body), type);

/** Sends headers and then nothing: the client's timeout has to end it. */
export const hang: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain' });
  res.write('Contact: mailto:');
};

/** Streams more than any cap without declaring a length. */
export const endless: Handler = (_req, res) => {
  res.writeHead(200, { 'content-type': 'application/rdap+json' });
  const chunk = Buffer.alloc(64 * 1024, 0x20);
  let sent = 0;
  const pump = () => {
    while (sent < 64 && res.write(chunk)) sent++;
    if (sent < 64) res.once('drain', pump);
    else res.end();
  };
  pump();
};

/** An RDAP entity with the abuse role and a jCard. */
export function abuseEntity(handle: string, name: string, email: string, tel?: string): Record<string, unknown> {
  return {
    objectClassName: 'entity',
    handle,
    roles: ['abuse'],
    vcardArray: [
      'vcard',
      [
        ['version', {}, 'text', '4.0'],
        ['fn', {}, 'text', name],
        ['email', {}, 'text', email],
        ...(tel ? [['tel', { type: ['voice'] }, 'uri', `tel:${tel}`]] : []),
      ],
    ],
  };
}

export interface DnsServer {
  /** 127.0.0.1:<port>, as HIKESHI_CONTACTS_DNS_SERVERS takes it. */
  address: string;
  /** Zone apex -> [primary name server, RNAME]. */
  zones: Map<string, [string, string]>;
  /** Queries per name (lower case). */
  queries: Map<string, number>;
  /** Stop answering (the client must time out). */
  silent: boolean;
}

/**
 * A DNS server that knows SOA records only, written with node:dgram and a hand-made codec (RFC
 * 1035 §4): a question for a zone apex gets its SOA, a name under a known zone gets an empty
 * NOERROR answer (what a real server says for a name that exists but is no zone), anything else
 * NXDOMAIN. Small enough to read, and no dependency for the sake of one record type.
 */
export async function startDnsServer(t: Teardown): Promise<DnsServer> {
  const socket: Socket = createSocket('udp4');
  const state: DnsServer = { address: '', zones: new Map(), queries: new Map(), silent: false };
  socket.on('message', (msg: Buffer, rinfo: RemoteInfo) => {
    const question = parseQuestion(msg);
    if (!question) return;
    state.queries.set(question.name, (state.queries.get(question.name) ?? 0) + 1);
    if (state.silent) return;
    socket.send(answer(msg, question, state.zones), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => socket.close(() => resolve())));
  state.address = `127.0.0.1:${socket.address().port}`;
  return state;
}

interface Question {
  name: string;
  type: number;
  /** Offset just past the question (type and class included). */
  end: number;
}

function parseQuestion(msg: Buffer): Question | null {
  if (msg.length < 12 || msg.readUInt16BE(4) !== 1) return null;
  const labels: string[] = [];
  let at = 12;
  while (at < msg.length) {
    const len = msg[at]!;
    if (len === 0) break;
    if (len > 63) return null;
    labels.push(msg.toString('latin1', at + 1, at + 1 + len));
    at += 1 + len;
  }
  if (at + 5 > msg.length) return null;
  return { name: labels.join('.').toLowerCase(), type: msg.readUInt16BE(at + 1), end: at + 5 };
}

/** Labels split at unescaped dots: `host\\.master.example.org` is the labels host.master, example, org. */
function encodeName(name: string): Buffer {
  const labels = name.split(/(?<!\\)\./).map((l) => l.replace(/\\\./g, '.'));
  return Buffer.concat([...labels.map((l) => Buffer.concat([Buffer.from([l.length]), Buffer.from(l, 'latin1')])), Buffer.from([0])]);
}

function answer(query: Buffer, q: Question, zones: Map<string, [string, string]>): Buffer {
  const soa = zones.get(q.name);
  const known = soa !== undefined || [...zones.keys()].some((z) => q.name.endsWith(`.${z}`));
  const header = Buffer.alloc(12);
  header.writeUInt16BE(query.readUInt16BE(0), 0);
  // QR, opcode 0, AA, RD copied; RA; rcode 0 (NOERROR) or 3 (NXDOMAIN).
  header.writeUInt16BE(0x8400 | (query.readUInt16BE(2) & 0x0100) | 0x0080 | (known ? 0 : 3), 2);
  header.writeUInt16BE(1, 4);
  const records: Buffer[] = [];
  if (soa && q.type === 6) {
    const timers = Buffer.alloc(20);
    [2024010101, 7200, 3600, 1209600, 300].forEach((v, i) => timers.writeUInt32BE(v, i * 4));
    const rdata = Buffer.concat([encodeName(soa[0]), encodeName(soa[1]), timers]);
    const fixed = Buffer.alloc(12);
    fixed.writeUInt16BE(0xc00c, 0);
    fixed.writeUInt16BE(6, 2);
    fixed.writeUInt16BE(1, 4);
    fixed.writeUInt32BE(300, 6);
    fixed.writeUInt16BE(rdata.length, 10);
    records.push(fixed, rdata);
  }
  header.writeUInt16BE(records.length ? 1 : 0, 6);
  return Buffer.concat([header, query.subarray(12, q.end), ...records]);
}
