import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import { initNode } from '../src/node-init.js';
import { generateNodeKey } from '../src/crypto/index.js';
import { KEY_FILE } from '../src/modules/profile/node-identity.js';
import { mintApiToken } from '../src/modules/tokens/token-codec.js';
import { projectRoot } from '../src/project-root.js';
import { bareInsertRate, BENCH_DATABASE_URL, embeddedDriverOption, dropBenchSchema, percentile, type BenchResult } from './bench-result.js';
import { loadFromOtherThread } from './http-load.js';

/**
 * The machine's limit beside the creations (issue 18): the same request body inserted as one
 * jsonb row, each in its own committed transaction, `concurrency` at once, into a scratch table
 * dropped afterwards. Durable like a creation; none of its rules, index rows, journal or audit.
 */
/**
 * Incident creations per second through HTTP: a node listening on loopback, `concurrency`
 * lean keep-alive clients (in a thread of their own) posting the README's example incident (every
 * lecture field) with a handler token; on the server, again through two node processes.
 */
export async function benchIncidentCreation(opts: {
  engine: 'pglite' | 'postgres';
  incidents: number;
  concurrency: number;
}): Promise<BenchResult[]> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hikeshi-bench-'));
  const key = await generateNodeKey({ teamId: 'bench', name: 'Bench', email: 'bench@example.invalid' });
  await writeFile(path.join(dataDir, KEY_FILE), key.armoredPrivateKey, { mode: 0o600 });
  const schema = opts.engine === 'postgres' ? `bench_inc_${randomBytes(4).toString('hex')}` : null;
  const config = loadConfig({}, { dataDir, teamId: 'bench', referencePrefix: 'BENCH', logLevel: 'silent', port: 0 });
  const database = await openDatabase(
    opts.engine === 'postgres' ? { url: BENCH_DATABASE_URL, schema, poolSize: 10 } : { dataDir, ...embeddedDriverOption() },
  );
  const init = await initNode(config, database);
  const app = await buildApp({ config, database, signer: init.signer, tokenSecret: init.tokenSecret, logger: false });
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const token = mintApiToken(init.tokenSecret, { role: 'handler', subject: 'bench', issuer: 'bench' }).token;
  const body = readFileSync(path.join(projectRoot(), 'docs/examples/incident.json'), 'utf8');
  const load = (urls: string[]) =>
    loadFromOtherThread({
      urls,
      path: '/api/v1/incidents',
      headers: { authorization: `Bearer ${token}` },
      bodies: Array.from({ length: opts.incidents }, () => body),
      concurrency: opts.concurrency,
      expectStatus: 201,
    });
  const one = await load([url]);
  // Several processes on one database need a server (PGlite is one process's, ADR 0001).
  const two = opts.engine === 'postgres' && schema ? await withSecondProcess(dataDir, schema, (second) => load([url, second])) : null;
  const bare = await bareInsertRate(database.db, body, opts.incidents, opts.concurrency);
  await app.close();
  await database.close();
  if (schema) await dropBenchSchema(schema);
  await rm(dataDir, { recursive: true, force: true });
  const results: BenchResult[] = [
    {
      name: `incident creations via HTTP (${opts.concurrency} clients)`,
      engine: opts.engine,
      value: opts.incidents / one.seconds,
      unit: 'incidents/s',
      // Issue 18's target (ADR 0005's was 100/s).
      limit: 1000,
      better: 'higher',
      machineLimit: { name: 'a bare durable insert of the same JSON', value: bare },
    },
    {
      name: 'incident creation p99 latency',
      engine: opts.engine,
      value: percentile(one.latencies, 99),
      unit: 'ms',
      // Issue 18 asks 50 ms on the server; the embedded engine keeps ADR 0005's 250 ms.
      limit: opts.engine === 'postgres' ? 50 : 250,
      better: 'lower',
    },
  ];
  if (two) {
    results.push(
      {
        name: `incident creations via HTTP, 2 node processes`,
        engine: opts.engine,
        value: opts.incidents / two.seconds,
        unit: 'incidents/s',
        limit: 1000,
        better: 'higher',
        machineLimit: { name: 'a bare durable insert of the same JSON', value: bare },
      },
      {
        name: 'incident creation p99 latency, 2 node processes',
        engine: opts.engine,
        value: percentile(two.latencies, 99),
        unit: 'ms',
        limit: 50,
        better: 'lower',
      },
    );
  }
  return results;
}

/**
 * A second node process (incident-node.child.ts) on the same data directory and server schema,
 * for as long as `run` takes; `run` gets its URL.
 */
async function withSecondProcess<T>(dataDir: string, schema: string, run: (url: string) => Promise<T>): Promise<T> {
  const child = fork(fileURLToPath(new URL('./incident-node.child.js', import.meta.url)), [
    JSON.stringify({ dataDir, url: BENCH_DATABASE_URL, schema }),
  ]);
  try {
    const port = await new Promise<number>((resolve, reject) => {
      child.once('message', (m) => resolve((m as { port: number }).port));
      child.once('exit', (code) => reject(new Error(`the second node process stopped (${code})`)));
    });
    return await run(`http://127.0.0.1:${port}`);
  } finally {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.send('close');
    await exited;
  }
}
