import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { generateNodeKey } from '../src/crypto/index.js';
import { openDatabase } from '../src/db/database.js';
import { initNode } from '../src/node-init.js';
import { KEY_FILE } from '../src/modules/profile/node-identity.js';
import { mintApiToken } from '../src/modules/tokens/token-codec.js';
import { projectRoot } from '../src/project-root.js';
import { BENCH_DATABASE_URL, dropBenchSchema, type BenchResult } from './bench-result.js';
import { benchFederation } from './federation.bench.js';

/**
 * Relayed messages per second through one coordinator (issue 15; ADR 0020): three real nodes in
 * this process, each with its own database, listening on loopback with their delivery workers:
 * the originator A, its coordinator C, and the target D, C's peer that A does not know. A asks C
 * to relay `reports` incidents to D (POST /api/v1/incidents/{ref}/relays, `concurrency` at once);
 * the clock runs until D has filed every one (C verified A's report and its hop, decided purpose
 * relay, signed its hop and forwarded the signed report intact; D verified the three layers and
 * filed it as A's). The limit printed beside it is one node's direct-share ingest rate (the
 * federation bench's end-to-end figure, from the same run, or measured here when absent): a
 * relay passes every report through two ingests, so it stays below that.
 */

export interface RelayBenchOptions {
  engine: 'pglite' | 'postgres';
  /** Incidents relayed in the timed run. */
  reports: number;
  /** Relay requests in flight at once. */
  concurrency: number;
  /** Direct-share ingest rate (messages/s) measured in this run by the federation bench; measured here when absent. */
  ingestRate?: number;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One node listening on loopback with its delivery worker, and an admin caller for its API (the mail bench uses it too). */
export async function startNode(
  engine: RelayBenchOptions['engine'],
  teamId: string,
  referencePrefix: string,
  extraEnv: Record<string, string> = {},
) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `hikeshi-bench-${teamId}-`));
  const key = await generateNodeKey({ teamId, name: teamId, email: `${teamId}@example.invalid` });
  await writeFile(path.join(dataDir, KEY_FILE), key.armoredPrivateKey, { mode: 0o600 });
  const port = await freePort();
  const env = { HIKESHI_DELIVERY_POLL_MS: '50', HIKESHI_DELIVERY_RETRY_BASE_MS: '100', HIKESHI_DELIVERY_RETRY_MAX_MS: '400', ...extraEnv };
  const config = loadConfig(env, {
    dataDir,
    teamId,
    referencePrefix,
    logLevel: 'silent',
    host: '127.0.0.1',
    port,
    publicUrl: `http://127.0.0.1:${port}`,
    rateLimitPerMinute: 0,
  });
  const schema = engine === 'postgres' ? `bench_relay_${randomBytes(4).toString('hex')}` : null;
  const database = await openDatabase(engine === 'postgres' ? { url: BENCH_DATABASE_URL, schema, poolSize: 10 } : { dataDir });
  const init = await initNode(config, database);
  const app = await buildApp({ config, database, signer: init.signer, tokenSecret: init.tokenSecret, logger: false });
  await app.listen({ port, host: '127.0.0.1' });
  app.federation.start();
  const admin = {
    authorization: `Bearer ${mintApiToken(init.tokenSecret, { role: 'admin', subject: 'bench', issuer: teamId }).token}`,
  };
  async function call(method: 'GET' | 'POST' | 'PATCH', url: string, payload?: object): Promise<any> {
    const res = await app.inject({ method, url: `/api/v1${url}`, headers: admin, ...(payload ? { payload } : {}) });
    if (res.statusCode >= 300) throw new Error(`${teamId} ${method} ${url}: ${res.statusCode} ${res.body.slice(0, 300)}`);
    return res.json();
  }
  return {
    teamId,
    url: config.publicUrl,
    fingerprint: init.signer.fingerprint,
    signer: init.signer,
    app,
    db: database.db,
    /** The admin token's header, for requests `call` does not make (a CSV body). */
    admin,
    call,
    async close() {
      await app.close();
      await database.close();
      if (schema) await dropBenchSchema(schema);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
type BenchNode = Awaited<ReturnType<typeof startNode>>;

/** `a` and `b` pin, verify and trust each other as partners; `a` sees `b` as `relationship`. */
export async function link(a: BenchNode, b: BenchNode, relationship: 'coordinator' | 'peer'): Promise<void> {
  for (const [from, to, rel] of [
    [a, b, relationship],
    [b, a, relationship === 'coordinator' ? 'member' : 'peer'],
  ] as const) {
    await from.call('POST', '/peers', { url: to.url });
    await from.call('PATCH', `/peers/${to.teamId}`, { trustLevel: 'partner', relationship: rel });
    await from.call('POST', `/peers/${to.teamId}/verify`, { fingerprint: to.fingerprint });
  }
}

async function count(node: BenchNode, table: 'incident' | 'relay', state?: string): Promise<number> {
  let q = node.db.selectFrom(table).select((eb) => eb.fn.countAll<string>().as('n'));
  if (state !== undefined) q = q.where('state' as never, '=', state as never);
  return Number((await q.executeTakeFirstOrThrow()).n);
}

async function until(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export async function benchRelay(opts: RelayBenchOptions): Promise<BenchResult[]> {
  const ingestRate =
    opts.ingestRate ?? (await benchFederation({ engine: opts.engine, messages: 300, concurrency: 32, probeSeconds: 1 }))[0]!.value;
  const nodes: BenchNode[] = [];
  try {
    const [a, c, d] = [
      await startNode(opts.engine, 'bench-origin', 'ORIG'),
      await startNode(opts.engine, 'bench-coord', 'COORD'),
      await startNode(opts.engine, 'bench-target', 'TARGET'),
    ];
    nodes.push(a, c, d);
    await link(a, c, 'coordinator');
    await link(c, d, 'peer');
    const example = JSON.parse(readFileSync(path.join(projectRoot(), 'docs/examples/incident.json'), 'utf8')) as Record<string, unknown>;
    const refs: string[] = [];
    for (let i = 0; i < opts.reports; i++) refs.push((await a.call('POST', '/incidents', { ...example, tlp: 'AMBER' })).ref);
    const before = await count(d, 'incident');

    const started = performance.now();
    let next = 0;
    const requester = async () => {
      while (next < refs.length) {
        const ref = refs[next++]!;
        await a.call('POST', `/incidents/${encodeURIComponent(ref)}/relays`, { via: c.teamId, to: d.teamId });
      }
    };
    await Promise.all(Array.from({ length: opts.concurrency }, requester));
    const timeout = 120_000 + opts.reports * 500;
    await until('the target has filed every report', async () => (await count(d, 'incident')) - before >= opts.reports, timeout);
    const filedSeconds = (performance.now() - started) / 1000;
    await until('the originator has every reference number', async () => (await count(a, 'relay', 'delivered')) >= opts.reports, timeout);
    const answeredSeconds = (performance.now() - started) / 1000;
    const refused = await count(a, 'relay', 'refused');
    const rate = opts.reports / filedSeconds;
    return [
      {
        name: `relayed reports filed at the target, A -> C -> D (${opts.concurrency} at once)`,
        engine: opts.engine,
        value: rate,
        unit: 'messages/s',
        limit: Math.round(ingestRate),
        better: 'higher',
        note: `limit: one node's direct ingest rate (federation bench, this run); ${opts.reports} reports in ${filedSeconds.toFixed(2)} s; ${refused} refused`,
      },
      {
        name: "relays answered at the originator (the target's number back)",
        engine: opts.engine,
        value: opts.reports / answeredSeconds,
        unit: 'messages/s',
        note: `${answeredSeconds.toFixed(2)} s from the first request`,
      },
    ];
  } finally {
    for (const node of nodes.reverse()) await node.close();
  }
}
