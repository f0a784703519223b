import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { systemClock } from '../src/clock.js';
import { openDatabase, type DatabaseHandle, type Db } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrator.js';
import { ProblemError } from '../src/http/problem.js';
import { networkMatchQuery } from '../src/modules/sites/site.repository.js';
import { createSiteService } from '../src/modules/sites/site.service.js';
import { writeFile } from 'node:fs/promises';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { generateNodeKey } from '../src/crypto/index.js';
import { initNode } from '../src/node-init.js';
import { KEY_FILE } from '../src/modules/profile/node-identity.js';
import { mintApiToken } from '../src/modules/tokens/token-codec.js';
import { BENCH_DATABASE_URL, percentile, dropBenchSchema, type BenchResult } from './bench-result.js';
import { loadFromOtherThread } from './http-load.js';

export interface SiteLookupBenchOptions {
  engine: 'pglite' | 'postgres';
  /** CIDR prefixes to load; 1,000,000 by default (a large constituency, a full routing table's worth). */
  prefixes?: number;
  /** Timed lookups, after a warm-up; 10,000 by default. */
  lookups?: number;
}

const SITES = 10_000;
const WARMUP = 200;
/** Share of lookups drawn uniformly from the IPv4 space; the rest fall inside loaded prefixes. */
const RANDOM_SHARE = 0.2;

/**
 * Loads the prefixes in one INSERT ... SELECT so the database, not a JS loop, does the work.
 * Pseudo-random but deterministic (hashint8extended of the row number), so runs compare. The
 * length mix leans on /24 as real allocations do: 1 % /8-/15, 10 % /16-/19, 20 % /20-/23,
 * 50 % /24, the rest /25-/32; one row in twenty is IPv6 (/32 to /64, mostly /48). A site's
 * prefixes are consecutive rows, as the service writes them (one site per transaction).
 * The table's secondary indexes are dropped for the load and rebuilt from their own
 * definitions afterwards: a bulk build is faster than a million single inserts, and the
 * lookups then run against exactly the indexes the migrations declare.
 */
export async function loadPrefixes(db: Db, prefixes: number): Promise<void> {
  await sql`
    insert into site (id, name, description, pocs)
    select md5('bench-site-' || i)::uuid, 'Bench site ' || lpad(i::text, 5, '0'), null,
           '[{"name":"NOC","channels":[{"kind":"email","value":"noc@example.net"}],"languages":["en"]}]'::jsonb
    from generate_series(0, ${SITES - 1}::int) i`.execute(db);
  const { rows: indexes } = await sql<{ name: string; definition: string }>`
    select indexname as name, indexdef as definition from pg_indexes
    where tablename = 'site_network' and schemaname = current_schema() and indexname <> 'site_network_pkey'`.execute(db);
  for (const index of indexes) await sql`drop index ${sql.id(index.name)}`.execute(db);
  await sql`
    insert into site_network (site_id, network)
    select md5('bench-site-' || (g::bigint * ${SITES}::int / ${prefixes}::int))::uuid,
           case when g % 20 = 0
             then network(set_masklen(format('2%s:%s:%s:%s::', lpad(to_hex(h1 & 4095), 3, '0'), to_hex((h1 >> 12) & 65535),
                                              to_hex((h1 >> 28) & 65535), to_hex((h1 >> 44) & 65535))::inet,
                                      (array[32, 40, 44, 48, 48, 48, 56, 64])[1 + ((h2 >> 10) & 7)]))
             else network(set_masklen('0.0.0.0'::inet + (h1 & 4294967295),
                                      case when (h2 & 1023) < 10 then 8 + ((h2 >> 10) & 7)
                                           when (h2 & 1023) < 110 then 16 + ((h2 >> 10) & 3)
                                           when (h2 & 1023) < 310 then 20 + ((h2 >> 10) & 3)
                                           when (h2 & 1023) < 830 then 24
                                           else 25 + ((h2 >> 10) & 7) end::int))
           end
    from generate_series(0, ${prefixes - 1}::int) g,
         lateral (select hashint8extended(g, 1) as h1, hashint8extended(g, 2) as h2) h`.execute(db);
  for (const index of indexes) await sql.raw(index.definition).execute(db);
  await sql`analyze`.execute(db);
}

/** Addresses inside randomly chosen loaded prefixes (both families), so lookups find deep matches. */
async function sampleInsideAddresses(db: Db, count: number): Promise<string[]> {
  if (count === 0) return [];
  const { rows } = await sql<{ address: string }>`
    select host(n.network + case when family(n.network) = 4
                              then (hashint8extended(s, 8) & 9223372036854775807) % (1::bigint << (32 - masklen(n.network)))
                              else (hashint8extended(s, 8) & 9223372036854775807) % 65536 end) as address
    from generate_series(1, ${count}::int) s
    join site_network n on n.id = 1 + (hashint8extended(s, 7) & 9223372036854775807) % (select max(id) from site_network)`.execute(db);
  return rows.map((r) => r.address);
}

function randomIpv4(): string {
  const b = randomBytes(4);
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

function shuffle<T>(items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

async function openBenchDatabase(
  engine: 'pglite' | 'postgres',
): Promise<{ handle: DatabaseHandle; dataDir: string; cleanup: () => Promise<void> }> {
  // The node's data directory: the embedded database and, for the HTTP figure, the node's key.
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hikeshi-bench-sites-'));
  if (engine === 'pglite') {
    const handle = await openDatabase({ dataDir });
    return { handle, dataDir, cleanup: () => rm(dataDir, { recursive: true, force: true }) };
  }
  const schema = `bench_sites_${randomBytes(6).toString('hex')}`;
  const handle = await openDatabase({ url: BENCH_DATABASE_URL, schema, poolSize: 10 });
  return {
    handle,
    dataDir,
    async cleanup() {
      await dropBenchSchema(schema);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Clients at once for the HTTP figure (issue 18: "site lookups via HTTP, 1M prefixes, 16 clients"). */
const HTTP_CLIENTS = 16;

/** Runs `work` over `items` with `clients` workers at once; answers each item's latency (ms) and the rate. */
async function concurrently<T>(items: readonly T[], clients: number, work: (item: T) => Promise<void>) {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < items.length) {
        const item = items[next++]!;
        const t0 = performance.now();
        await work(item);
        latencies.push(performance.now() - t0);
      }
    }),
  );
  return { latencies, rate: items.length / ((performance.now() - start) / 1000) };
}

/**
 * GET /api/v1/sites/lookup from 16 clients at once against a node on loopback, over the same
 * directory, beside the same query in SQL alone from 16 callers at once (the machine's limit).
 */
async function httpLookups(
  engine: 'pglite' | 'postgres',
  handle: DatabaseHandle,
  dataDir: string,
  addresses: readonly string[],
): Promise<BenchResult[]> {
  const key = await generateNodeKey({ teamId: 'bench', name: 'Bench', email: 'bench@example.invalid' });
  await writeFile(path.join(dataDir, KEY_FILE), key.armoredPrivateKey, { mode: 0o600 });
  const config = loadConfig({}, { dataDir, teamId: 'bench', referencePrefix: 'BENCH', logLevel: 'silent', port: 0 });
  const init = await initNode(config, handle);
  const app = await buildApp({ config, database: handle, signer: init.signer, tokenSecret: init.tokenSecret, logger: false });
  try {
    await app.listen({ port: 0, host: '127.0.0.1' });
    const address = app.server.address();
    const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
    const headers = {
      authorization: `Bearer ${mintApiToken(init.tokenSecret, { role: 'reader', subject: 'bench', issuer: 'bench' }).token}`,
    };
    // The clients are the lean keep-alive load generator in a thread of its own (as the creation
    // and federation figures): fetch clients in the node's thread took about half its core.
    // A random address can fall outside every site's networks: 404 is an answer too.
    const lookups = (ips: readonly string[]) =>
      loadFromOtherThread({
        urls: [base],
        path: '/api/v1/sites/lookup',
        headers,
        queries: ips.map((ip) => `?ip=${encodeURIComponent(ip)}`),
        concurrency: HTTP_CLIENTS,
        expectStatus: [200, 404],
      });
    await lookups(addresses.slice(0, WARMUP));
    const timed = addresses.slice(WARMUP);
    const loaded = await lookups(timed);
    const http = { latencies: loaded.latencies, rate: timed.length / loaded.seconds };
    const alone = await concurrently(timed, HTTP_CLIENTS, async (ip) => {
      await networkMatchQuery(handle.db, ip).executeTakeFirst();
    });
    return [
      {
        name: `sites: IP lookups via HTTP (${HTTP_CLIENTS} clients)`,
        engine,
        value: http.rate,
        unit: 'lookups/s',
        limit: 5000,
        better: 'higher',
        machineLimit: { name: `the same query in SQL alone, ${HTTP_CLIENTS} at once`, value: alone.rate },
      },
      {
        name: `sites: IP lookup via HTTP p99 latency (${HTTP_CLIENTS} clients)`,
        engine,
        value: percentile(http.latencies, 99),
        unit: 'ms',
        limit: 1,
        better: 'lower',
        // Little's law: with 16 requests always in flight, the mean latency is 16 / throughput.
        note: `${HTTP_CLIENTS} in flight at ${Math.round(http.rate)}/s means ${((HTTP_CLIENTS / http.rate) * 1000).toFixed(2)} ms on average (Little's law)`,
      },
    ];
  } finally {
    await app.close();
  }
}

/**
 * Longest-prefix lookups through the site service (the path GET /sites/lookup takes, less HTTP)
 * over a directory of `prefixes` networks spread over 10,000 sites. Lookups run one after
 * another from one client, so the figures are per-request latency and single-client throughput.
 */
export async function benchSiteLookup(opts: SiteLookupBenchOptions): Promise<BenchResult[]> {
  const { engine } = opts;
  const prefixes = opts.prefixes ?? 1_000_000;
  const lookups = opts.lookups ?? 10_000;
  const { handle, cleanup, dataDir } = await openBenchDatabase(engine);
  try {
    const db = handle.db;
    await migrateToLatest(db, handle.schema);

    const loadStart = performance.now();
    await loadPrefixes(db, prefixes);
    const loadSeconds = (performance.now() - loadStart) / 1000;

    const randomCount = Math.round((lookups + WARMUP) * RANDOM_SHARE);
    const addresses = shuffle([
      ...(await sampleInsideAddresses(db, lookups + WARMUP - randomCount)),
      ...Array.from({ length: randomCount }, randomIpv4),
    ]);

    const sites = createSiteService({ db, clock: systemClock });
    const lookup = async (ip: string): Promise<boolean> => {
      try {
        await sites.lookup({ ip });
        return true;
      } catch (error) {
        if (error instanceof ProblemError && error.code === 'not-found') return false;
        throw error;
      }
    };
    for (const ip of addresses.slice(0, WARMUP)) await lookup(ip);

    const latencies: number[] = [];
    let found = 0;
    const start = performance.now();
    for (const ip of addresses.slice(WARMUP)) {
      const t0 = performance.now();
      if (await lookup(ip)) found++;
      latencies.push(performance.now() - t0);
    }
    const seconds = (performance.now() - start) / 1000;

    // The machine's limit (issue 18): the same longest-prefix query alone, on the same addresses,
    // one after another, without the service around it (parsing, the site row, the answer).
    const timed = addresses.slice(WARMUP);
    const sqlStart = performance.now();
    for (const ip of timed) await networkMatchQuery(db, ip).executeTakeFirst();
    const sqlRate = timed.length / ((performance.now() - sqlStart) / 1000);

    const overHttp = await httpLookups(engine, handle, dataDir, addresses);

    const scale = `${prefixes.toLocaleString('en')} prefixes, ${SITES.toLocaleString('en')} sites`;
    const hits = `${Math.round((100 * found) / latencies.length)} % found a site`;
    return [
      { name: 'sites: bulk load prefixes + ANALYZE', engine, value: loadSeconds, unit: 's', note: scale },
      {
        name: 'sites: IP lookups through the service',
        engine,
        value: latencies.length / seconds,
        unit: 'lookups/s',
        limit: 1000,
        better: 'higher',
        machineLimit: { name: 'the same query in SQL alone', value: sqlRate },
        note: `one client, ${scale}, ${hits}`,
      },
      { name: 'sites: IP lookup p50 latency', engine, value: percentile(latencies, 50), unit: 'ms' },
      {
        name: 'sites: IP lookup p99 latency',
        engine,
        value: percentile(latencies, 99),
        unit: 'ms',
        limit: 10,
        better: 'lower',
      },
      ...overHttp,
    ];
  } finally {
    await handle.close();
    await cleanup();
  }
}
