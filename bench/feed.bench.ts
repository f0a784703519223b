import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { sql } from 'kysely';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { generateNodeKey, signDocument } from '../src/crypto/index.js';
import { openDatabase, type DatabaseHandle } from '../src/db/database.js';
import { initNode } from '../src/node-init.js';
import { benchPolicyDecisions } from '../src/modules/policy/index.js';
import { KEY_FILE } from '../src/modules/profile/node-identity.js';
import { mintApiToken } from '../src/modules/tokens/token-codec.js';
import { projectRoot } from '../src/project-root.js';
import { freePort } from '../src/util/free-port.js';
import { BENCH_DATABASE_URL, dropBenchSchema, type BenchResult } from './bench-result.js';
import type { FeedPullInput, FeedPullOutput } from './feed-pull.worker.js';

/**
 * The pull feed's serving rate (issue 4 item 8): items per second one partner peer gets through
 * GET /federation/v1/feed, paging through a node that holds `incidents` incidents, every item
 * decided by the sharing policy (purpose pull-feed) and redacted as decided, every page signed
 * and audited. The incidents are bulk-inserted with SQL (generate_series), a tenth of them
 * refused to the partner (AMBER nobody chose, RED), the rest CLEAR, GREEN, and AMBER shared with
 * it; each has an internal host, which a partner gets redacted. The requests go through
 * fastify's inject: the HTTP stack without the network.
 */

/** One node with a generated key on the engine, and what is needed to tear it down. */
export async function benchNode(
  engine: 'pglite' | 'postgres',
  teamId: string,
  opts: { listen: boolean; inMemory?: boolean; disclosureThreads?: number },
) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `hikeshi-bench-feed-${teamId}-`));
  const key = await generateNodeKey({ teamId, name: teamId, email: `${teamId}@example.invalid` });
  await writeFile(path.join(dataDir, KEY_FILE), key.armoredPrivateKey, { mode: 0o600 });
  const port = opts.listen ? await freePort() : 0;
  const config = loadConfig(
    {},
    {
      dataDir,
      teamId,
      referencePrefix: teamId.toUpperCase(),
      logLevel: 'silent',
      port,
      host: '127.0.0.1',
      publicUrl: `http://127.0.0.1:${port || 1}`,
      ...(opts.disclosureThreads !== undefined ? { disclosureThreads: opts.disclosureThreads } : {}),
    },
  );
  const schema = engine === 'postgres' ? `bench_feed_${teamId}_${randomBytes(4).toString('hex')}` : null;
  const database: DatabaseHandle = await openDatabase(
    engine === 'postgres' ? { url: BENCH_DATABASE_URL, schema, poolSize: 10 } : opts.inMemory ? {} : { dataDir },
  );
  const init = await initNode(config, database);
  const app = await buildApp({ config, database, signer: init.signer, tokenSecret: init.tokenSecret, logger: false });
  if (opts.listen) await app.listen({ port, host: '127.0.0.1' });
  const admin = {
    authorization: `Bearer ${mintApiToken(init.tokenSecret, { role: 'admin', subject: 'bench', issuer: teamId }).token}`,
  };
  return {
    config,
    database,
    app,
    signer: init.signer,
    admin,
    async close() {
      await app.close();
      await database.close();
      if (schema) {
        await dropBenchSchema(schema);
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/**
 * N incidents in a few statements: the columns an Incident needs, from the example incident (an
 * internal host added), the label cycling so that the partner may see nine in ten; then the
 * facts the feed decides on: the partner chosen for the AMBER ones it may see (incident_policy).
 */
export async function bulkInsert(database: DatabaseHandle, n: number, partner: string): Promise<void> {
  const example = JSON.parse(readFileSync(path.join(projectRoot(), 'docs/examples/incident.json'), 'utf8')) as Record<string, unknown>;
  const hosts = [
    ...(example['hosts'] as unknown[]),
    { ip: '10.20.30.40', hostname: 'build.corp', role: 'intermediary', description: 'internal jump host' },
  ];
  const json = (v: unknown) => JSON.stringify(v ?? []);
  const chunk = 10_000;
  for (let from = 1; from <= n; from += chunk) {
    const to = Math.min(n, from + chunk - 1);
    await sql`
      insert into incident (id, ref, title, summary, phase, category, type, severity, tlp, first_seen, last_seen,
                            reporter, poc, hosts, intruder_activity, vulnerabilities, system_changes, installed_software,
                            evidence, indicators, created_by, created_at, updated_at)
      select gen_random_uuid(), 'BENCH#2026-' || lpad(g::text, 7, '0'), ${String(example['title'])} || ' #' || g, ${String(example['summary'])},
             'analysis', ${String(example['category'])}, ${String(example['type'])}, 'high',
             case when g % 20 = 19 then 'RED' when g % 10 in (0, 1, 2, 3) then 'GREEN' when g % 10 in (4, 5) then 'CLEAR' else 'AMBER' end,
             ${String(example['firstSeen'])}::timestamptz, ${String(example['lastSeen'])}::timestamptz,
             ${json(example['reporter'])}::jsonb, ${json(example['poc'])}::jsonb, ${json(hosts)}::jsonb, ${String(example['intruderActivity'])},
             ${json(example['vulnerabilities'])}::jsonb, ${json(example['systemChanges'])}::jsonb, ${json(example['installedSoftware'])}::jsonb,
             ${json(example['evidence'])}::jsonb, ${json(example['indicators'])}::jsonb, 'bench', now(), now()
      from generate_series(${from}::int, ${to}::int) g`.execute(database.db);
  }
  // AMBER: shared with the partner (chosen) for g % 10 in (6, 7, 8); g % 10 = 9 nobody chose.
  await sql`
    insert into incident_policy (incident_id, chosen_recipients, updated_at, updated_by)
    select id, array[${partner}::text], now(), 'bench' from incident
    where tlp = 'AMBER' and (substring(ref from '[0-9]+$')::int % 10) in (6, 7, 8)`.execute(database.db);
  await sql`insert into reference_counter (prefix, year, last_seq) values ('BENCH', 2026, ${n}) on conflict do nothing`.execute(
    database.db,
  );
  await sql`analyze incident`.execute(database.db);
  await sql`analyze incident_policy`.execute(database.db);
}

type BenchNode = Awaited<ReturnType<typeof benchNode>>;

/** A peer token for `partner` from `node`'s token endpoint: the signed request a peer sends. */
export async function partnerToken(node: BenchNode, signer: BenchNode['signer']): Promise<string> {
  const document = {
    v: 1,
    id: randomUUID(),
    type: 'auth.token-request',
    from: 'partner',
    to: 'bench',
    created: new Date().toISOString(),
    tlp: 'CLEAR',
    body: {},
  };
  const res = await node.app.inject({
    method: 'POST',
    url: '/federation/v1/token',
    headers: { 'content-type': 'application/json' },
    payload: JSON.stringify(await signDocument(document, signer)),
  });
  if (res.statusCode !== 200) throw new Error(`token: ${res.statusCode} ${res.body}`);
  return (res.json() as { token: string }).token;
}

export async function benchFeed(opts: { engine: 'pglite' | 'postgres'; incidents: number; pageSize: number }): Promise<BenchResult[]> {
  const node = await benchNode(opts.engine, 'bench', { listen: true });
  // The partner only has to serve its signed profile while the node pins its key.
  const partner = await benchNode('pglite', 'partner', { listen: true, inMemory: true });
  try {
    const peers = [
      ['POST', '/api/v1/peers', { url: partner.config.publicUrl }],
      ['PATCH', '/api/v1/peers/partner', { trustLevel: 'partner' }],
      ['POST', '/api/v1/peers/partner/verify', { fingerprint: partner.signer.fingerprint }],
    ] as const;
    for (const [method, url, payload] of peers) {
      const res = await node.app.inject({ method, url, headers: node.admin, payload });
      if (res.statusCode >= 300) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body}`);
    }
    const loadStarted = performance.now();
    await bulkInsert(node.database, opts.incidents, 'partner');
    const loadSeconds = (performance.now() - loadStarted) / 1000;

    // Tokens live 10 minutes: far longer than the pull at any rate this bench has seen.
    const token = await partnerToken(node, partner.signer);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const {
      items,
      marked: redacted,
      pages,
    } = await pullFromOtherThread({
      kind: 'feed',
      url: `${node.config.publicUrl}/federation/v1/feed`,
      token,
      limit: opts.pageSize,
    });
    const seconds = (performance.now() - started) / 1000;
    const cpuSeconds = cpuSecondsSince(cpuBefore);
    if (items === 0 || redacted !== items) throw new Error(`expected every served item redacted (internal host): ${redacted} of ${items}`);
    const scanRate = await keysetScanRate(node.database, opts.pageSize);
    return [
      {
        name: `pull feed for one partner, ${opts.incidents} incidents (${opts.pageSize}/page)`,
        engine: opts.engine,
        value: items / seconds,
        unit: 'items/s',
        // Issue 18's target for the pull feed, policy and redaction applied, signed pages.
        limit: 20_000,
        better: 'higher',
        machineLimit: { name: 'a keyset scan of the same incidents, JSON-encoded', value: scanRate },
        note: `${items} served (redacted), ${opts.incidents - items} refused, ${pages} signed pages in ${seconds.toFixed(1)} s${cpuNote(items, cpuSeconds, 'items', 'the client thread included')}; bulk load ${loadSeconds.toFixed(1)} s`,
      },
    ];
  } finally {
    await partner.close();
    await node.close();
  }
}

/** This process's CPU time (user + system) since `before`, in seconds: the embedded engine runs in it too. */
export function cpuSecondsSince(before: NodeJS.CpuUsage): number {
  const used = process.cpuUsage(before);
  return (used.user + used.system) / 1e6;
}

/**
 * The node process's CPU beside the wall time: on two cores other work shares, the wall figure is
 * the share of the machine the run got, the CPU figure what the work itself cost.
 */
export function cpuNote(count: number, cpuSeconds: number, unit: string, besides?: string): string {
  return `; node process CPU ${cpuSeconds.toFixed(1)} s${besides ? `, ${besides}` : ''} (${(count / cpuSeconds).toFixed(0)} ${unit} per CPU-second), load average ${os.loadavg()[0]!.toFixed(1)}`;
}

/**
 * The machine's limit beside the feed (issue 18): the incident rows read in the feed's order
 * (change_xid, change_seq) by keyset pages of the same size and JSON-encoded, with no policy, redaction,
 * child rows or signature.
 */
export async function keysetScanRate(database: DatabaseHandle, pageSize: number): Promise<number> {
  // The feed's own order and index (change_xid, change_seq): ordered by change_seq alone, each
  // page would sort the whole table, and the "limit" would fall with the table's size.
  let after = { xid: '0', seq: '0' };
  let scanned = 0;
  const started = performance.now();
  for (;;) {
    const { rows } = await sql<{ change_xid_text: string; change_seq_text: string }>`
      select *, change_xid::text as change_xid_text, change_seq::text as change_seq_text from incident
      where (change_xid, change_seq) > (${after.xid}::xid8, ${after.seq}::bigint)
      order by change_xid, change_seq limit ${pageSize}`.execute(database.db);
    if (rows.length === 0) break;
    JSON.stringify(rows);
    scanned += rows.length;
    const last = rows[rows.length - 1]!;
    after = { xid: last.change_xid_text, seq: last.change_seq_text };
  }
  return scanned / ((performance.now() - started) / 1000);
}

/** The pure policy decision rate (src/modules/policy): no I/O, the decision table's inputs cycled. */
export function benchPolicy(opts: { iterations?: number } = {}): BenchResult[] {
  const result = benchPolicyDecisions(opts.iterations ?? 200_000);
  return [
    {
      name: 'policy decisions (pure decide, every table row cycled)',
      engine: 'none',
      value: result.decisionsPerSecond,
      unit: 'decisions/s',
      better: 'higher',
      note: `${result.iterations} decisions in ${result.elapsedMs.toFixed(0)} ms, ${result.allowed} allowed`,
    },
  ];
}

/**
 * The pulling peer in a thread of its own (feed-pull.worker.ts), over loopback HTTP: resolves to
 * what it counted once it has paged to the end.
 */
export function pullFromOtherThread(input: FeedPullInput): Promise<{ items: number; marked: number; pages: number }> {
  const worker = new Worker(new URL('./feed-pull.worker.js', import.meta.url), { workerData: input });
  return new Promise<{ items: number; marked: number; pages: number }>((resolve, reject) => {
    worker.once('message', (m: FeedPullOutput) =>
      m.ok ? resolve({ items: m.items!, marked: m.marked!, pages: m.pages! }) : reject(new Error(m.error)),
    );
    worker.once('error', reject);
    worker.once('exit', (code) => reject(new Error(`the pulling peer's thread stopped (${code})`)));
  }).finally(() => void worker.terminate());
}
