import { benchColdStart } from './cold-start.bench.js';
import { benchIncidentCreation } from './incident.bench.js';
import { benchFederation } from './federation.bench.js';
import { benchFeed, benchPolicy } from './feed.bench.js';
import { benchTaxii } from './taxii.bench.js';
import { benchSiteLookup } from './site-lookup.bench.js';
import { benchContacts } from './contacts.bench.js';
import { benchForumFanOut } from './forum.bench.js';
import { benchInquiryMatching } from './forum-matching.bench.js';
import { benchRelay } from './relay.bench.js';
import { benchMail } from './mail.bench.js';
import { benchMailForum } from './mail-forum.bench.js';
import { benchCampaign } from './campaign.bench.js';
import { benchCoordinatorIngest } from './coordination.bench.js';
import { formatResult, type BenchResult } from './bench-result.js';

/**
 * `npm run bench`: prints each figure with its target and the ratio to it. Not part of the
 * tests: speed is measured here, never asserted in a test. Engines: the embedded database
 * always; the PostgreSQL server when HIKESHI_BENCH_DATABASE_URL (default the local server) answers.
 * `npm run bench -- --quick` uses smaller sizes; `--only NAME` (e.g. `--only forum`) runs the
 * benches whose name starts with NAME.
 */
const quick = process.argv.includes('--quick');
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt >= 0 ? (process.argv[onlyAt + 1] ?? '') : null;
/** The federation bench's end-to-end rate per engine: the forum fan-out's delivery target (measured there when absent). */
const ingestRate = new Map<string, number>();

async function serverAvailable(): Promise<boolean> {
  const { default: pg } = await import('pg');
  const { BENCH_DATABASE_URL } = await import('./bench-result.js');
  const client = new pg.Client({ connectionString: BENCH_DATABASE_URL, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

type Bench = (engine: 'pglite' | 'postgres') => Promise<BenchResult[]>;
const benches: Array<[string, Bench]> = [
  ['incident creation', (engine) => benchIncidentCreation({ engine, incidents: quick ? 300 : 2000, concurrency: 16 })],
  ['cold start', (engine) => benchColdStart({ engine })],
  ['site lookup', (engine) => benchSiteLookup({ engine, prefixes: quick ? 100_000 : 1_000_000, lookups: quick ? 1000 : 5000 })],
  [
    'federation',
    async (engine) => {
      const results = await benchFederation({ engine, messages: quick ? 300 : 2000, concurrency: 32 });
      ingestRate.set(engine, results[0]!.value);
      return results;
    },
  ],
  ['pull feed', (engine) => benchFeed({ engine, incidents: quick ? 10_000 : 100_000, pageSize: 500 })],
  [
    'taxii',
    // On the node's thread alone, then with a disclosure thread beside it (ADR 0034): issue 18
    // asks for the figure both ways where the single thread is the limit.
    async (engine) => [
      ...(await benchTaxii({ engine, incidents: quick ? 10_000 : 100_000, limit: 5000, disclosureThreads: 0 })),
      ...(await benchTaxii({ engine, incidents: quick ? 10_000 : 100_000, limit: 5000, disclosureThreads: 1 })),
    ],
  ],
  ['contacts', (engine) => benchContacts({ engine, queries: quick ? 200 : 1000, lookups: quick ? 5000 : 20_000 })],
  ['forum fan-out', (engine) => benchForumFanOut({ engine, members: quick ? 100 : 500, ingestRate: ingestRate.get(engine) })],
  ['relay', (engine) => benchRelay({ engine, reports: quick ? 100 : 500, concurrency: 8, ingestRate: ingestRate.get(engine) })],
  ['e-mail intake', (engine) => benchMail({ engine, messages: quick ? 100 : 500, concurrency: 8 })],
  ['mail forum', (engine) => benchMailForum({ engine, inquiries: quick ? 100 : 500, concurrency: 8 })],
  [
    'campaign',
    (engine) => benchCampaign({ engine, sites: quick ? 1000 : 10_000, events: quick ? 10_000 : 100_000, mails: quick ? 200 : 1000 }),
  ],
  [
    'coordinator',
    (engine) =>
      benchCoordinatorIngest({
        engine,
        members: quick ? 100 : 500,
        observables: quick ? 100_000 : 1_000_000,
        summaries: quick ? 500 : 2000,
        concurrency: 32,
      }),
  ],
  [
    'forum matching',
    (engine) =>
      benchInquiryMatching({
        engine,
        incidents: quick ? 10_000 : 100_000,
        prefixes: quick ? 10_000 : 100_000,
        inquiries: quick ? 300 : 1000,
      }),
  ],
];

async function main(): Promise<void> {
  // The pure policy decision rate does not depend on an engine.
  if (only === null) for (const r of benchPolicy({ iterations: quick ? 50_000 : 500_000 })) console.log(formatResult(r));
  const engines: Array<'pglite' | 'postgres'> = ['pglite'];
  if (await serverAvailable()) engines.push('postgres');
  else console.log('PostgreSQL server not reachable: embedded engine only');
  console.log(`Hikeshi benchmarks (${quick ? 'quick' : 'full'}), node ${process.version}, ${new Date().toISOString()}`);
  for (const [name, bench] of benches) {
    if (only !== null && !name.startsWith(only)) continue;
    for (const engine of engines) {
      try {
        for (const r of await bench(engine)) console.log(formatResult(r));
      } catch (err) {
        console.log(`${engine.padEnd(8)} ${name}: failed: ${(err as Error).message}`);
        process.exitCode = 1;
      }
    }
  }
}

await main();
