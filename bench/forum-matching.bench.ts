import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';
import type { Db } from '../src/db/database.js';
import { matchInquiry } from '../src/modules/forum/forum-inquiry-intake.js';
import { projectRoot } from '../src/project-root.js';
import type { ForumInquiryBody } from '../schemas/forum-inquiry.schema.js';
import { percentile, type BenchResult } from './bench-result.js';
import { startBenchNode } from './forum.bench.js';
import { loadPrefixes } from './site-lookup.bench.js';

/**
 * Issue 14's matching figure: a member node holding `incidents` incidents (two hosts and three
 * indicators each: varied IPv4 addresses, host names, C2 domains shared by a few incidents, file
 * hashes), `prefixes` site networks over 10,000 sites with a domain each, and a constituency in
 * its profile, matches one received inquiry against all of it: matchInquiry, the lookups the
 * inbox's forum.inquiry handler runs in its transaction (forum-inquiry-intake.ts). Inquiries vary:
 * half ask about a seeded incident's host, domain and hash (each must find it), half about
 * things nobody holds; one in four also asks about a /24. Target: p99 under 10 ms.
 */

export interface MatchingBenchOptions {
  engine: 'pglite' | 'postgres';
  incidents: number;
  prefixes: number;
  /** Timed inquiries, after a warm-up. */
  inquiries: number;
}

const WARMUP = 50;
export const MATCH_P99_TARGET_MS = 10;

/** The incidents in a few statements, then their search rows the way the repository derives them (lower-case names). */
export async function seedIncidents(db: Db, n: number): Promise<void> {
  const example = JSON.parse(readFileSync(path.join(projectRoot(), 'docs/examples/incident.json'), 'utf8')) as Record<string, unknown>;
  const json = (v: unknown) => JSON.stringify(v ?? []);
  const chunk = 10_000;
  for (let from = 1; from <= n; from += chunk) {
    const to = Math.min(n, from + chunk - 1);
    await sql`
      insert into incident (id, ref, title, summary, phase, category, type, severity, tlp, first_seen, last_seen,
                            reporter, poc, hosts, intruder_activity, vulnerabilities, system_changes, installed_software,
                            evidence, indicators, created_by, created_at, updated_at)
      select gen_random_uuid(), 'MATCH#2026-' || lpad(g::text, 7, '0'), ${String(example['title'])} || ' #' || g, ${String(example['summary'])},
             'analysis', ${String(example['category'])}, ${String(example['type'])}, 'high', 'AMBER',
             ${String(example['firstSeen'])}::timestamptz, ${String(example['lastSeen'])}::timestamptz,
             ${json(example['reporter'])}::jsonb, ${json(example['poc'])}::jsonb,
             jsonb_build_array(jsonb_build_object('ip', host(a.ip1), 'hostname', 'Host-' || g || '.org-' || (g % 5000) || '.example.net', 'role', 'source'),
                               jsonb_build_object('ip', host(a.ip2), 'role', 'target')),
             ${String(example['intruderActivity'])},
             ${json(example['vulnerabilities'])}::jsonb, ${json(example['systemChanges'])}::jsonb, ${json(example['installedSoftware'])}::jsonb,
             ${json(example['evidence'])}::jsonb,
             jsonb_build_array(jsonb_build_object('kind', 'ipv4', 'value', host(a.ip1)),
                               jsonb_build_object('kind', 'domain', 'value', 'c2-' || (g % 20000) || '.bad-' || (g % 97) || '.example'),
                               jsonb_build_object('kind', 'sha256', 'value', encode(sha256(convert_to('match-' || g, 'UTF8')), 'hex'))),
             'bench', now(), now()
      from generate_series(${from}::int, ${to}::int) g,
           lateral (select '0.0.0.0'::inet + (hashint8extended(g, 11) & 4294967295) as ip1,
                           '0.0.0.0'::inet + (hashint8extended(g, 12) & 4294967295) as ip2) a`.execute(db);
  }
  await sql`
    insert into incident_host (incident_id, ip, hostname)
    select i.id, (h->>'ip')::inet, lower(h->>'hostname') from incident i, jsonb_array_elements(i.hosts) h`.execute(db);
  await sql`
    insert into incident_indicator (incident_id, kind, value)
    select i.id, x->>'kind', x->>'value' from incident i, jsonb_array_elements(i.indicators) x`.execute(db);
  await sql`insert into reference_counter (prefix, year, last_seq) values ('MATCH', 2026, ${n}) on conflict do nothing`.execute(db);
}

/** A domain per site, and our constituency as the profile states it. */
export async function seedSitesAndConstituency(db: Db, prefixes: number): Promise<void> {
  await loadPrefixes(db, prefixes);
  await sql`
    insert into site_domain (site_id, domain)
    select md5('bench-site-' || i)::uuid, 'site-' || i || '.example-org.net' from generate_series(0, 9999) i`.execute(db);
  const constituency = { networks: ['192.0.2.0/24', '198.51.100.0/24', '2001:db8::/32'], domains: ['example-univ.ac.jp'] };
  await sql`
    update team_profile
       set profile = jsonb_set(profile, '{constituency}', coalesce(profile->'constituency', '{}'::jsonb) || ${JSON.stringify(constituency)}::jsonb)`.execute(
    db,
  );
  await sql`analyze`.execute(db);
}

interface Probe {
  body: Pick<ForumInquiryBody, 'hosts' | 'networks' | 'domains' | 'indicators'>;
  /** The reference number a hitting inquiry must find. */
  expects: string | null;
}

const randomHex = (bytes: number) => randomBytes(bytes).toString('hex');

/** Half from seeded incidents (picked at random), half about nothing held here; one in four with a /24. */
export async function probes(db: Db, count: number): Promise<Probe[]> {
  const { rows } = await sql<{ ref: string; ip: string; hostname: string; domain: string; sha: string; net: string }>`
    select ref, hosts->0->>'ip' as ip, hosts->0->>'hostname' as hostname, indicators->1->>'value' as domain,
           indicators->2->>'value' as sha, host(network(set_masklen((hosts->0->>'ip')::inet, 24))) || '/24' as net
    from incident order by random() limit ${Math.ceil(count / 2)}`.execute(db);
  const out: Probe[] = [];
  for (let i = 0; i < count; i++) {
    const seeded = i % 2 === 0 ? rows[(i / 2) % rows.length] : undefined;
    const missIp = `100.${64 + (i % 64)}.${i % 256}.${(i * 7) % 256}`;
    const body: Probe['body'] = seeded
      ? {
          hosts: [{ ip: seeded.ip, hostname: seeded.hostname }],
          indicators: [
            { kind: 'domain', value: seeded.domain },
            { kind: 'sha256', value: seeded.sha },
          ],
          domains: [`site-${i % 10_000}.example-org.net`],
        }
      : {
          hosts: [{ ip: missIp, hostname: `miss-${i}.nowhere.example` }],
          indicators: [
            { kind: 'domain', value: `miss-${i}.bad.example` },
            { kind: 'sha256', value: randomHex(32) },
          ],
          domains: [`miss-${i}.example.com`],
        };
    if (i % 4 < 2) body.networks = [seeded ? seeded.net : `100.${64 + (i % 64)}.${i % 256}.0/24`];
    out.push({ body, expects: seeded?.ref ?? null });
  }
  return out;
}

export async function benchInquiryMatching(opts: MatchingBenchOptions): Promise<BenchResult[]> {
  const node = await startBenchNode(opts.engine, 'bench-member', 'MEMBER');
  try {
    const loadStarted = performance.now();
    await seedIncidents(node.db, opts.incidents);
    await seedSitesAndConstituency(node.db, opts.prefixes);
    const loadSeconds = (performance.now() - loadStarted) / 1000;
    const all = await probes(node.db, WARMUP + opts.inquiries);
    const times: number[] = [];
    let withMatches = 0;
    const cpuBefore = process.cpuUsage();
    const wallBefore = performance.now();
    for (const [i, probe] of all.entries()) {
      const matches = await node.db.transaction().execute(async (tx) => {
        const started = performance.now();
        const found = await matchInquiry(tx, probe.body);
        if (i >= WARMUP) times.push(performance.now() - started);
        return found;
      });
      if (probe.expects && !matches.some((m) => m.kind === 'incident' && m.id === probe.expects))
        throw new Error(`an inquiry about ${probe.expects}'s host did not find it`);
      if (i >= WARMUP && matches.length > 0) withMatches++;
    }
    // The embedded engine runs in this process: its CPU time per inquiry is what an idle core would take.
    const cpu = process.cpuUsage(cpuBefore);
    const cpuShare = ((cpu.user + cpu.system) / 1000 / (performance.now() - wallBefore)) * 100;
    const what = `${opts.incidents} incidents, ${opts.prefixes} site networks, ${opts.inquiries} inquiries`;
    return [
      {
        name: `inquiry matching p50 (${what})`,
        engine: opts.engine,
        value: percentile(times, 50),
        unit: 'ms',
        better: 'lower',
        note: `${withMatches} matched something (half were about a seeded incident); seeding ${loadSeconds.toFixed(1)} s`,
      },
      {
        name: `inquiry matching p99 (${what})`,
        engine: opts.engine,
        value: percentile(times, 99),
        unit: 'ms',
        limit: MATCH_P99_TARGET_MS,
        better: 'lower',
        note: `max ${Math.max(...times).toFixed(1)} ms; this process had ${cpuShare.toFixed(0)} % of a core (load average ${os.loadavg()[0]!.toFixed(1)})`,
      },
    ];
  } finally {
    await node.close();
  }
}
