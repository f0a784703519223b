import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { systemClock } from '../src/clock.js';
import { createContactDirectory } from '../src/contact-directory.js';
import { openDatabase, type DatabaseHandle } from '../src/db/database.js';
import { migrateToLatest } from '../src/db/migrator.js';
import { createAuditModule } from '../src/modules/audit/audit.module.js';
import { createContactsModule, type ContactsSettings } from '../src/modules/contacts/contacts.module.js';
import { createSiteService } from '../src/modules/sites/site.service.js';
import { BENCH_DATABASE_URL, dropBenchSchema, type BenchResult } from './bench-result.js';

export interface ContactsBenchOptions {
  engine: 'pglite' | 'postgres';
  /** Distinct addresses whose plans are cached, then asked again and again. */
  queries?: number;
  /** Timed resolutions. */
  lookups?: number;
}

async function openBenchDatabase(engine: 'pglite' | 'postgres'): Promise<{ handle: DatabaseHandle; cleanup: () => Promise<void> }> {
  if (engine === 'pglite') {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hikeshi-bench-contacts-'));
    const handle = await openDatabase({ dataDir });
    return { handle, cleanup: () => rm(dataDir, { recursive: true, force: true }) };
  }
  const schema = `bench_contacts_${randomBytes(6).toString('hex')}`;
  const handle = await openDatabase({ url: BENCH_DATABASE_URL, schema });
  return { handle, cleanup: () => dropBenchSchema(schema) };
}

/** An RDAP registry on loopback: the bootstrap file and an abuse contact for every address. */
async function startRdapServer(): Promise<{ url: string; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const url = `http://${req.headers.host}`;
    if (req.url === '/ipv4.json') return res.end(JSON.stringify({ services: [[['10.0.0.0/8'], [`${url}/rdap/`]]] }));
    res.writeHead(200, { 'content-type': 'application/rdap+json' });
    res.end(
      JSON.stringify({
        objectClassName: 'ip network',
        entities: [
          {
            roles: ['abuse'],
            vcardArray: [
              'vcard',
              [
                ['fn', {}, 'text', 'Abuse'],
                ['email', {}, 'text', 'abuse@rir.test'],
              ],
            ],
          },
        ],
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/**
 * Route plans resolved from the cache (issue 15: >= 5,000/s): plans for `queries` addresses in a
 * site's network are put together once (RDAP from a loopback server), then asked again in turn
 * through the service (the path GET /contacts/resolve takes, less HTTP). Two figures: with the
 * plans kept in memory (the default plan TTL), and with the plan TTL at 0, where each plan is put
 * together again from the database: the site, the peers, the forums and the cached RDAP answer.
 */
export async function benchContacts(opts: ContactsBenchOptions): Promise<BenchResult[]> {
  const { engine } = opts;
  const queries = opts.queries ?? 1000;
  const lookups = opts.lookups ?? 20_000;
  const { handle, cleanup } = await openBenchDatabase(engine);
  const rdap = await startRdapServer();
  try {
    const db = handle.db;
    await migrateToLatest(db, handle.schema);
    const sites = createSiteService({ db, clock: systemClock });
    // As a handler would send it (the POC's channel kind is checked by the route schema).
    const site = {
      name: 'Bench site',
      pocs: [{ name: 'NOC', channels: [{ kind: 'email', value: 'noc@example.net' }], languages: ['en'] }],
      networks: ['10.0.0.0/8'],
    };
    await sites.create(site as Parameters<typeof sites.create>[0]);
    const settings: ContactsSettings = {
      dnsServers: [],
      rdapBootstrapUrl: `${rdap.url}/`,
      securityTxtBase: 'https://{domain}',
      timeoutMs: 5000,
      maxResponseBytes: 1024 * 1024,
      cacheTtlSeconds: 86_400,
      failureTtlSeconds: 300,
      planTtlSeconds: 3600,
    };
    const audit = createAuditModule({ db, clock: systemClock });
    const build = (planTtlSeconds: number) =>
      createContactsModule({
        db,
        clock: systemClock,
        audit: audit.log,
        fetch: globalThis.fetch,
        // No peers or forums here: the plans come from our sites and the cache.
        directory: createContactDirectory({
          db,
          sites,
          peers: { activeWithProfiles: async () => [] },
          forums: { list: async () => [], signedRoster: async () => null },
        }),
        settings: { ...settings, planTtlSeconds },
      }).service;
    const addresses = Array.from({ length: queries }, (_, i) => `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    const inMemory = build(settings.planTtlSeconds);
    for (const ip of addresses) await inMemory.resolve({ ip }, 'bench');

    const timed = async (service: ReturnType<typeof build>, count: number): Promise<number> => {
      const start = performance.now();
      for (let i = 0; i < count; i++) await service.resolve({ ip: addresses[i % queries]! }, 'bench');
      return count / ((performance.now() - start) / 1000);
    };
    const memoryRate = await timed(inMemory, lookups);
    const fromDatabase = build(0);
    const databaseRate = await timed(fromDatabase, Math.min(lookups, 2000));
    const note = `one client, ${queries.toLocaleString('en')} distinct addresses, site POC + RDAP abuse`;
    return [
      { name: 'contacts: route plans from cache', engine, value: memoryRate, unit: 'plans/s', limit: 5000, better: 'higher', note },
      {
        name: 'contacts: route plans rebuilt (plan TTL 0)',
        engine,
        value: databaseRate,
        unit: 'plans/s',
        note: `${note}; RDAP from the database cache, audited`,
      },
    ];
  } finally {
    await rdap.close();
    await handle.close();
    await cleanup();
  }
}
