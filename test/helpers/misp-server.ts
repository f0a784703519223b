import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small MISP instance for the tests: the REST endpoints the node uses (events/view, add, edit,
 * restSearch), on 127.0.0.1, checking the Authorization header and storing events in memory.
 * `failNext` makes the next matching request fail the way a real server can.
 */
export interface FakeMisp {
  url: string;
  events: Map<string, any>;
  /** Requests that came without the right key. */
  refused: number;
  /** restSearch bodies, in order. */
  searches: Array<{ timestamp: number; page: number; limit: number }>;
  /** The next restSearch for this page fails with `how`. */
  failNext(page: number, how: 'status-500' | 'bad-json' | 'slow'): void;
  close(): Promise<void>;
}

async function bodyOf(req: IncomingMessage): Promise<any> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text ? JSON.parse(text) : null;
}

export async function startFakeMisp(key: string): Promise<FakeMisp> {
  const events = new Map<string, any>();
  const failures = new Map<number, 'status-500' | 'bad-json' | 'slow'>();
  const state = { refused: 0, searches: [] as FakeMisp['searches'] };
  const send = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const server = createServer(async (req, res) => {
    if (req.headers.authorization !== key || req.headers.accept !== 'application/json') {
      state.refused++;
      return send(res, 403, { name: 'Authentication failed.', message: 'Authentication failed.' });
    }
    const url = new URL(req.url ?? '/', 'http://misp');
    const body = req.method === 'POST' ? await bodyOf(req) : null;
    const view = /^\/events\/view\/([0-9a-f-]+)$/.exec(url.pathname);
    if (req.method === 'GET' && view) {
      const e = events.get(view[1]!);
      return e ? send(res, 200, { Event: e }) : send(res, 404, { name: 'Invalid event', message: 'Invalid event' });
    }
    const edit = /^\/events\/edit\/([0-9a-f-]+)$/.exec(url.pathname);
    if (req.method === 'POST' && (url.pathname === '/events/add' || edit)) {
      const e = body?.Event ?? body;
      if (url.pathname === '/events/add' && events.has(e.uuid)) return send(res, 403, { message: 'Event already exists' });
      if (edit && !events.has(edit[1]!)) return send(res, 404, { message: 'Invalid event' });
      // Like MISP, the server stamps what it stores with its own clock (which never goes back).
      const newest = Math.max(0, ...[...events.values()].map((x) => Number(x.timestamp)));
      e.timestamp = String(Math.max(Math.floor(Date.now() / 1000), newest + 1));
      events.set(e.uuid, e);
      return send(res, 200, { Event: e });
    }
    if (req.method === 'POST' && url.pathname === '/events/restSearch') {
      const { timestamp = 0, page = 1, limit = 100 } = body ?? {};
      state.searches.push({ timestamp, page, limit });
      const failure = failures.get(page);
      if (failure) {
        failures.delete(page);
        if (failure === 'status-500') return send(res, 500, { message: 'Internal error' });
        if (failure === 'bad-json') {
          res.writeHead(200, { 'content-type': 'application/json' });
          return res.end('{"response": [');
        }
        await new Promise((r) => setTimeout(r, 1500));
      }
      const all = [...events.values()]
        .filter((e) => Number(e.timestamp) >= Number(timestamp))
        .sort((a, b) => Number(a.timestamp) - Number(b.timestamp) || String(a.uuid).localeCompare(String(b.uuid)));
      return send(res, 200, { response: all.slice((page - 1) * limit, page * limit).map((e) => ({ Event: e })) });
    }
    return send(res, 404, { message: 'not here' });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    events,
    get refused() {
      return state.refused;
    },
    searches: state.searches,
    failNext: (page, how) => failures.set(page, how),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
