import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import { loadConfig } from '../src/config.js';
import { generateNodeKey, signDocument } from '../src/crypto/index.js';
import { openDatabase } from '../src/db/database.js';
import { KEY_FILE } from '../src/modules/profile/node-identity.js';
import { BENCH_DATABASE_URL, embeddedDriverOption, dropBenchSchema, type BenchResult } from './bench-result.js';
import { listeningNode, startSenders } from './federation.bench.js';
import { loadFromOtherThread } from './http-load.js';

/**
 * Issue 18's coordinator figure: activity summaries from `members` member teams, ingested by a
 * coordinator that already holds `observables` observables of those members' earlier reports
 * (seeded in bulk, ten per report). Each timed summary is a signed `activity.summary` posted over
 * loopback by a lean client thread, verified, kept, indexed by its observables and correlated
 * (docs/federation-protocol.md §5.8) before its signed receipt; one in ten shares an address with
 * a seeded report of another team, so related activity is found and warnings queued. Beside the
 * rate: how many related reports were found, and the plan of the correlation's look-up (by index,
 * whatever the number of observables held: no O(N) per summary, no O(N²) overall).
 */
export interface CoordinationBenchOptions {
  engine: 'pglite' | 'postgres';
  members: number;
  observables: number;
  summaries: number;
  concurrency: number;
}

const PER_REPORT = 10;

/** The seeded observable n (report n / 10, slot n % 10 below 6): an address (slots 6 to 9: a network, a name, a URL, a hash). */
function seededIp(n: number): string {
  return `20.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

export async function benchCoordinatorIngest(opts: CoordinationBenchOptions): Promise<BenchResult[]> {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hikeshi-bench-cc-'));
  const key = await generateNodeKey({ teamId: 'bench-cc', name: 'Bench coordinator', email: 'cc@example.invalid' });
  await writeFile(path.join(dataDir, KEY_FILE), key.armoredPrivateKey, { mode: 0o600 });
  const schema = opts.engine === 'postgres' ? `bench_cc_${randomBytes(4).toString('hex')}` : null;
  const config = loadConfig({}, { dataDir, teamId: 'bench-cc', referencePrefix: 'CC', logLevel: 'silent', port: 0, rateLimitPerMinute: 0 });
  const database = await openDatabase(
    opts.engine === 'postgres' ? { url: BENCH_DATABASE_URL, schema, poolSize: 10 } : { dataDir, ...embeddedDriverOption() },
  );
  const setupStarted = performance.now();
  const { senders, server } = await startSenders(opts.members);
  let app: Awaited<ReturnType<typeof listeningNode>>['app'] | null = null;
  try {
    // The delivery worker is not started: the warnings stay queued, and are counted, instead of
    // going to members' "nodes" that only serve profiles.
    const node = await listeningNode(config, database);
    app = node.app;
    const { url, admin } = node;
    for (const sender of senders) {
      const added = await app.inject({ method: 'POST', url: '/api/v1/peers', headers: admin, payload: { url: sender.url } });
      if (added.statusCode !== 201) throw new Error(`adding ${sender.teamId}: ${added.statusCode} ${added.body.slice(0, 200)}`);
      const member = await app.inject({
        method: 'PATCH',
        url: `/api/v1/peers/${sender.teamId}`,
        headers: admin,
        payload: { relationship: 'member' },
      });
      if (member.statusCode !== 200) throw new Error(`member ${sender.teamId}: ${member.statusCode} ${member.body.slice(0, 200)}`);
    }

    // The members' earlier reports: bulk rows, as the coordinator would hold them after months.
    const reports = Math.ceil(opts.observables / PER_REPORT);
    const seedStarted = performance.now();
    await sql`
      insert into member_activity (team, ref, own, incident_id, detail, category, type, phase, severity, tlp,
                                   first_seen, last_seen, updated, version, summary, links, message_id, first_received_at, received_at)
      select 'bench-sender-' || (1 + g % ${opts.members}), 'SEED#' || g, false, null, 'summary', 'intrusions', null,
             'analysis', 'medium', 'AMBER', now(), now(), now(), 1, '{}'::jsonb, '[]'::jsonb, null, now(), now()
      from generate_series(0, ${reports - 1}::int) g`.execute(database.db);
    await sql`
      insert into activity_observable (team, ref, kind, value)
      select 'bench-sender-' || (1 + g % ${opts.members}), 'SEED#' || g,
             case when j < 6 then 'ip' when j = 6 then 'network' when j = 7 then 'domain' else 'indicator' end,
             case when j < 6 then '20.' || ((n >> 16) & 255) || '.' || ((n >> 8) & 255) || '.' || (n & 255)
                  when j = 6 then '21.' || ((n >> 16) & 255) || '.' || ((n >> 8) & 255) || '.0/24'
                  when j = 7 then 'h' || n || '.seeded.example'
                  when j = 8 then 'url:https://h' || n || '.seeded.example/x'
                  else 'sha256:' || md5(n::text) || md5((n + 1)::text) end
      from generate_series(0, ${reports - 1}::int) g, generate_series(0, ${PER_REPORT - 1}::int) j,
           lateral (select g * ${PER_REPORT} + j as n) x`.execute(database.db);
    // No ANALYZE: the embedded engine never runs one, and the server's autovacuum may not have yet.
    const seedSeconds = (performance.now() - seedStarted) / 1000;

    // The timed summaries, signed before the clock starts.
    const bodies: string[] = [];
    let sharing = 0;
    for (let i = 0; i < opts.summaries; i++) {
      const s = i % opts.members;
      const sender = senders[s]!;
      const hosts = [
        // Each in a network of its own: two summaries of one /24 are related activity too.
        { role: 'source', ip: `30.${(i >> 8) & 255}.${i & 255}.7` },
        { role: 'intermediary', ip: `31.${(i >> 8) & 255}.${i & 255}.9` },
      ];
      if (i % 10 === 0) {
        // An address of a seeded report of another member (report g belongs to member g % members).
        let g = (i * 7919) % reports;
        if (g % opts.members === s) g = (g + 1) % reports;
        hosts.push({ role: 'source', ip: seededIp(g * PER_REPORT) });
        sharing++;
      }
      const now = new Date().toISOString();
      const document = {
        v: 1,
        id: randomUUID(),
        type: 'activity.summary',
        from: sender.teamId,
        to: config.teamId,
        created: now,
        tlp: 'AMBER',
        body: {
          detail: 'summary',
          summary: {
            ref: `${sender.teamId.toUpperCase()}#2026-${String(i + 1).padStart(6, '0')}`,
            category: 'intrusions',
            type: 'system-compromise',
            severity: 'high',
            tlp: 'AMBER',
            phase: 'analysis',
            firstSeen: now,
            lastSeen: now,
            updatedAt: now,
            version: 1,
            counts: {
              sourceHosts: hosts.length - 1,
              targetHosts: 1,
              intermediaryHosts: 1,
              indicators: 2,
              vulnerabilities: 1,
              systemChanges: 0,
              installedSoftware: 0,
              evidence: 1,
            },
            hosts,
            indicators: [
              { kind: 'domain', value: `c2-${i}.timed.example` },
              { kind: 'sha256', value: randomBytes(32).toString('hex') },
            ],
            cves: ['CVE-2016-5195'],
          },
          links: [],
        },
      };
      bodies.push(JSON.stringify(await signDocument(document, sender.signer)));
    }
    const setupSeconds = (performance.now() - setupStarted) / 1000;

    const warm = Math.min(50, Math.floor(opts.summaries / 10));
    await loadFromOtherThread({
      urls: [url],
      path: '/federation/v1/messages',
      bodies: bodies.slice(0, warm),
      concurrency: 1,
      expectStatus: 200,
    });
    const cpuBefore = process.cpuUsage();
    const load = await loadFromOtherThread({
      urls: [url],
      path: '/federation/v1/messages',
      bodies: bodies.slice(warm),
      concurrency: opts.concurrency,
      expectStatus: 200,
    });
    const cpu = process.cpuUsage(cpuBefore);
    const timed = opts.summaries - warm;
    const rate = timed / load.seconds;

    const held = await sql<{ n: string }>`select count(*) as n from activity_observable`.execute(database.db);
    const warnings = await sql<{ n: string }>`select count(*) as n from related_warning`.execute(database.db);
    const notices = await sql<{ n: string }>`select count(*) as n from outbound_message where type = 'activity.related'`.execute(
      database.db,
    );
    // The correlation's look-up for one observable, as the node runs it: by index, not by scan.
    const plan = await sql<{ 'QUERY PLAN': string }>`
      explain select o.team from activity_observable o
      where o.kind = 'ip' and o.value = ${seededIp(0)} order by o.team limit 1`.execute(database.db);
    const planText = plan.rows.map((r) => r['QUERY PLAN']).join(' ');
    const byIndex = /Index (Only )?Scan/.test(planText) && !/Seq Scan/.test(planText);
    return [
      {
        name: `coordinator: activity summaries from ${opts.members} members (${Math.round(Number(held.rows[0]!.n) / 1000)}k observables held)`,
        engine: opts.engine,
        value: rate,
        unit: 'summaries/s',
        limit: 1000,
        better: 'higher',
        note:
          `${timed} signed summaries, ${opts.concurrency} clients: verified, kept, indexed, correlated, receipted; ` +
          `${sharing} shared an address with another member's report: ${warnings.rows[0]!.n} related reports recorded, ` +
          `${notices.rows[0]!.n} warnings queued; correlation look-up ${byIndex ? 'by index' : `NOT by index (${planText})`}; ` +
          `node process CPU ${((cpu.user + cpu.system) / 1000 / timed).toFixed(2)} ms a summary; seeding ${seedSeconds.toFixed(1)} s, set-up ${setupSeconds.toFixed(1)} s`,
      },
    ];
  } finally {
    await app?.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await database.close();
    if (schema) await dropBenchSchema(schema);
    await rm(dataDir, { recursive: true, force: true });
  }
}
