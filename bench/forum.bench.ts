import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { sql } from 'kysely';
import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { generateNodeKey } from '../src/crypto/index.js';
import { openDatabase } from '../src/db/database.js';
import { initNode } from '../src/node-init.js';
import { KEY_FILE } from '../src/modules/profile/node-identity.js';
import { mintApiToken } from '../src/modules/tokens/token-codec.js';
import { BENCH_DATABASE_URL, dropBenchSchema, type BenchResult } from './bench-result.js';
import { benchFederation } from './federation.bench.js';

/**
 * Issue 14's forum figures. Fan-out: a poster node operates a forum whose signed roster lists it
 * and `members` member teams, all its verified partner peers; one POST /api/v1/forums/{id}/inquiries
 * decides, signs, queues and audits one `forum.inquiry` per member in one transaction (target
 * under 1 s); the node's delivery worker then sends them to a "member farm"
 * (forum-member-farm.worker.ts, a thread of its own) whose member inboxes verify each message and
 * answer with receipts signed by the member's key, which the worker verifies and audits. The
 * delivery rate is set beside the node's ingest rate (the federation bench's end-to-end figure,
 * from the same run), the issue's target for it. The matching figure is forum-matching.bench.ts.
 */

export interface FanOutBenchOptions {
  engine: 'pglite' | 'postgres';
  /** Member teams besides the poster (each its own key and peer). */
  members: number;
  /** The node's ingest rate (messages/s) measured in this run by the federation bench; measured here when absent. */
  ingestRate?: number;
  /** Hooks around the timed enqueue (a profiler, say). */
  onTimedStart?: () => Promise<void> | void;
  onTimedEnd?: () => Promise<void> | void;
}

const FORUM = 'bench-forum';

/** One node with a generated key on the engine (not listening: the API goes through inject), and its teardown. */
export async function startBenchNode(engine: 'pglite' | 'postgres', teamId: string, referencePrefix: string) {
  const dataDir = await mkdtemp(path.join(os.tmpdir(), `hikeshi-bench-${teamId}-`));
  const key = await generateNodeKey({ teamId, name: teamId, email: `${teamId}@example.invalid` });
  await writeFile(path.join(dataDir, KEY_FILE), key.armoredPrivateKey, { mode: 0o600 });
  const config = loadConfig({}, { dataDir, teamId, referencePrefix, logLevel: 'silent', port: 0, rateLimitPerMinute: 0 });
  const schema = engine === 'postgres' ? `bench_forum_${randomBytes(4).toString('hex')}` : null;
  const database = await openDatabase(engine === 'postgres' ? { url: BENCH_DATABASE_URL, schema, poolSize: 10 } : { dataDir });
  const init = await initNode(config, database);
  const app = await buildApp({ config, database, signer: init.signer, tokenSecret: init.tokenSecret, logger: false });
  const admin = {
    authorization: `Bearer ${mintApiToken(init.tokenSecret, { role: 'admin', subject: 'bench', issuer: teamId }).token}`,
  };
  async function call(method: 'GET' | 'POST' | 'PUT' | 'PATCH', url: string, payload?: object, expect = [200, 201, 202]) {
    const res = await app.inject({ method, url: `/api/v1${url}`, headers: admin, ...(payload ? { payload } : {}) });
    if (!expect.includes(res.statusCode)) throw new Error(`${method} ${url}: ${res.statusCode} ${res.body.slice(0, 300)}`);
    return res;
  }
  return {
    config,
    database,
    db: database.db,
    app,
    signer: init.signer,
    call,
    async close() {
      await app.close();
      await database.close();
      if (schema) await dropBenchSchema(schema);
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}

type BenchNode = Awaited<ReturnType<typeof startBenchNode>>;

interface FarmMember {
  teamId: string;
  url: string;
  fingerprint: string;
}

interface Farm {
  members: FarmMember[];
  stats(): Promise<{ received: Record<string, Record<string, number>>; refused: Record<string, number> }>;
  close(): Promise<void>;
}

function startFarm(members: number, poster: { teamId: string; armoredPublicKey: string }): Promise<Farm> {
  const worker = new Worker(new URL('./forum-member-farm.worker.js', import.meta.url), { workerData: { members, poster } });
  const next = <T>(type: string) =>
    new Promise<T>((resolve, reject) => {
      const onMessage = (m: { type: string } & T) => {
        if (m.type !== type) return;
        worker.off('message', onMessage);
        worker.off('error', reject);
        resolve(m);
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
    });
  return next<{ members: FarmMember[] }>('ready').then(({ members: listed }) => ({
    members: listed,
    stats() {
      const answer = next<Awaited<ReturnType<Farm['stats']>>>('stats');
      worker.postMessage({ type: 'stats' });
      return answer;
    },
    async close() {
      const exited = new Promise((resolve) => worker.once('exit', resolve));
      worker.postMessage({ type: 'close' });
      await exited;
    },
  }));
}

/** The poster's side of the forum: every farm member a verified partner peer, listed in a signed roster that they have received. */
async function formForum(poster: BenchNode, farm: Farm): Promise<void> {
  for (const m of farm.members) {
    await poster.call('POST', '/peers', { url: m.url });
    await poster.call('PATCH', `/peers/${m.teamId}`, { trustLevel: 'partner' });
    await poster.call('POST', `/peers/${m.teamId}/verify`, { fingerprint: m.fingerprint });
  }
  await poster.call('POST', '/forums', { id: FORUM, name: 'Bench forum', role: 'operator', sponsorsNeeded: 0 });
  for (const team of [poster.config.teamId, ...farm.members.map((m) => m.teamId)])
    await poster.call('PUT', `/forums/${FORUM}/draft/${team}`, { kind: 'full' });
  await poster.call('POST', `/forums/${FORUM}/roster`);
  // The roster goes to every member first, so that the timed delivery is the inquiry's alone.
  await poster.app.federation.worker.runOnce();
  const pending = await countOutbound(poster, 'forum.roster', 'pending');
  if (pending > 0) throw new Error(`${pending} roster message(s) not delivered: ${await lastError(poster)}`);
}

async function countOutbound(node: BenchNode, type: string, state: string): Promise<number> {
  const row = await node.db
    .selectFrom('outbound_message')
    .select((eb) => eb.fn.countAll<string>().as('n'))
    .where('type', '=', type)
    .where('state', '=', state)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

async function lastError(node: BenchNode): Promise<string> {
  const row = await node.db.selectFrom('outbound_message').select('last_error').where('last_error', 'is not', null).executeTakeFirst();
  return row?.last_error ?? 'no error recorded';
}

async function countAudit(node: BenchNode, kind: string, where: ReturnType<typeof sql<boolean>>): Promise<number> {
  const { rows } = await sql<{ n: string }>`select count(*) as n from audit_entry where kind = ${kind} and ${where}`.execute(node.db);
  return Number(rows[0]?.n ?? 0);
}

/** All delivered, each verified and receipted by its member, each decision and receipt audited at the poster. */
async function checkDelivered(poster: BenchNode, farm: Farm, inquiry: string, members: number): Promise<string> {
  const stats = await farm.stats();
  const got = Object.values(stats.received).filter((byType) => byType['forum.inquiry'] === 1).length;
  const delivered = await countOutbound(poster, 'forum.inquiry', 'delivered');
  const decisions = await countAudit(poster, 'disclosure.decision', sql<boolean>`decision = 'allow' and details->>'inquiry' = ${inquiry}`);
  const receipts = await countAudit(
    poster,
    'receipt',
    sql<boolean>`details->>'direction' = 'received' and details->>'type' = 'forum.inquiry'`,
  );
  const posted = await countAudit(poster, 'forum.inquiry-posted', sql<boolean>`details->>'inquiry' = ${inquiry}`);
  const counts = { got, delivered, decisions, receipts };
  if (Object.values(counts).some((n) => n !== members) || posted !== 1 || Object.keys(stats.refused).length > 0)
    throw new Error(`fan-out incomplete: ${JSON.stringify({ ...counts, posted, refused: stats.refused })} (expected ${members})`);
  return `${members}/${members} verified by their member and receipted; ${decisions} decisions and ${receipts} receipts audited`;
}

export async function benchForumFanOut(opts: FanOutBenchOptions): Promise<BenchResult[]> {
  const ingestRate =
    opts.ingestRate ?? (await benchFederation({ engine: opts.engine, messages: 300, concurrency: 32, probeSeconds: 1 }))[0]!.value;
  const poster = await startBenchNode(opts.engine, 'bench-poster', 'POSTER');
  let farm: Farm | null = null;
  try {
    farm = await startFarm(opts.members, { teamId: poster.config.teamId, armoredPublicKey: poster.signer.armoredPublicKey });
    await formForum(poster, farm);
    const input = {
      question: 'Do you see SSH scans from this host or these indicators?',
      hosts: [{ ip: '203.0.113.45', hostname: 'dialup-45.example-isp.net' }],
      indicators: [
        { kind: 'ipv4', value: '198.51.100.7', description: 'IRC command and control' },
        { kind: 'domain', value: 'c2.example-bad.net' },
      ],
      networks: ['192.0.2.0/24'],
      tlp: 'AMBER',
    };
    await opts.onTimedStart?.();
    const started = performance.now();
    const res = await poster.call('POST', `/forums/${FORUM}/inquiries`, input, [202]);
    const enqueueMs = performance.now() - started;
    await opts.onTimedEnd?.();
    const posted = res.json() as { id: string; sentTo: string[]; skipped: unknown[] };
    if (posted.sentTo.length !== opts.members) throw new Error(`sent to ${posted.sentTo.length}: ${JSON.stringify(posted.skipped)}`);

    const deliveryStarted = performance.now();
    const loopBefore = performance.eventLoopUtilization();
    await poster.app.federation.worker.runOnce();
    const deliverySeconds = (performance.now() - deliveryStarted) / 1000;
    // The node's thread's busy time per message: on a shared machine the wall time is only the share it got.
    const loop = performance.eventLoopUtilization(loopBefore);
    const checked = await checkDelivered(poster, farm, posted.id, opts.members);
    const rate = opts.members / deliverySeconds;
    return [
      {
        name: `forum inquiry fan-out to ${opts.members} members: enqueue`,
        engine: opts.engine,
        value: enqueueMs,
        unit: 'ms',
        limit: 1000,
        better: 'lower',
        note: `one POST, one transaction: ${opts.members} policy decisions, signed messages, audit entries`,
      },
      {
        name: `forum inquiry fan-out to ${opts.members} members: delivery`,
        engine: opts.engine,
        value: rate,
        unit: 'messages/s',
        limit: Math.round(ingestRate),
        better: 'higher',
        note: `target: the node's ingest rate (federation bench, this run); ${checked}; ${deliverySeconds.toFixed(2)} s, the node's thread busy ${(loop.active / opts.members).toFixed(2)} ms a message (${(loop.utilization * 100).toFixed(0)} %)`,
      },
    ];
  } finally {
    await farm?.close();
    await poster.close();
  }
}
