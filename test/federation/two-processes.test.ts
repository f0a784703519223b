import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { openDatabase } from '../../src/db/database.js';
import { verifyAuditChain } from '../../src/modules/audit/audit-chain.js';
import { KEY_FILE } from '../../src/modules/profile/node-identity.js';
import { mintApiToken } from '../../src/modules/tokens/token-codec.js';
import { loadFixtureKey } from '../fixtures/keys/index.js';
import { buildTestNode, freePort, type TestNode } from '../helpers/build-test-app.js';
import { startNodeProcess } from '../helpers/node-process.js';
import { createTestDatabase, dropServerSchema, TEST_DATABASE_URL } from '../helpers/test-database.js';
import { EXAMPLE_INCIDENT, enc, findByExternalRef, waitFor } from '../helpers/federation-harness.js';

/**
 * Several processes, one database (issue 13): two `hikeshi serve` processes of one team (alpha)
 * on one PostgreSQL schema, as behind a load balancer, share the API and the outbox. Incidents
 * created through both get unique, gap-free reference numbers; shares made through both arrive
 * once each, also when one process is killed with SIGKILL in the middle of delivering; the audit
 * chain stays intact. Needs a server: the embedded engine is one process by design (its data
 * directory is locked).
 */
const skip = TEST_DATABASE_URL ? false : 'needs HIKESHI_TEST_DATABASE_URL: PGlite is one process by design';
t.setTimeout(600_000);

t.test('two processes of one node on one PostgreSQL share the work; a SIGKILL of one loses and doubles nothing', { skip }, async (t) => {
  const tokenSecret = randomBytes(32).toString('hex');
  const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hikeshi-two-'));
  await writeFile(path.join(dataDir, KEY_FILE), loadFixtureKey('alpha').armoredPrivateKey, { mode: 0o600 });
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const database = await createTestDatabase();
  const schema = database.schema!;
  await database.handle.close();
  t.teardown(() => dropServerSchema(schema));
  const bravo: TestNode = await buildTestNode(t, { key: 'bravo', listen: true });

  // A proxy in front of bravo counts what alpha posts and kills a process at the chosen post.
  const posts = new Map<string, number>();
  let postCount = 0;
  let killAt: { count: number; child: () => ChildProcess | null } | null = null;
  const proxy: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      const isMessage = req.method === 'POST' && req.url === '/federation/v1/messages';
      if (isMessage) {
        postCount++;
        try {
          const id = (JSON.parse(body.toString('utf8')) as { document?: { id?: string } }).document?.id;
          if (id) posts.set(id, (posts.get(id) ?? 0) + 1);
        } catch {
          // not JSON: bravo answers it
        }
      }
      if (isMessage && killAt && postCount >= killAt.count) {
        const victim = killAt.child();
        killAt = null;
        victim?.kill('SIGKILL');
      }
      try {
        const upstream = await fetch(`${bravo.url}${req.url}`, {
          method: req.method,
          headers: { 'content-type': String(req.headers['content-type'] ?? 'application/json') },
          ...(req.method === 'POST' ? { body } : {}),
        });
        res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
        res.end(await upstream.text());
      } catch {
        res.destroy();
      }
    });
  });
  const proxyPort = await freePort();
  await new Promise<void>((resolve) => proxy.listen(proxyPort, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => proxy.close(() => resolve())));

  const ports = [await freePort(), await freePort()];
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  const children: Array<ChildProcess | null> = [null, null];
  const admin = { authorization: `Bearer ${mintApiToken(tokenSecret, { role: 'admin', subject: 'two-test', issuer: 'alpha' }).token}` };

  async function start(i: number): Promise<void> {
    // Both processes are one node: peers know it by one URL (a load balancer's; here the first).
    const child = await startNodeProcess({ name: `alpha ${i + 1}`, dataDir, port: ports[i]!, publicUrl: urls[0]!, tokenSecret, schema });
    children[i] = child;
  }
  const stop = async (i: number) => {
    const child = children[i];
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await gone;
  };
  t.teardown(async () => {
    await stop(0);
    await stop(1);
  });
  async function alphaApi(i: number, method: string, url: string, payload?: unknown): Promise<{ status: number; json: any }> {
    const res = await fetch(`${urls[i]}/api/v1${url}`, {
      method,
      headers: { ...admin, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : null };
  }

  // The first process migrates and initialises; the second starts on what it made.
  await start(0);
  await start(1);
  t.equal(
    (await bravo.app.inject({ method: 'POST', url: '/api/v1/peers', headers: bravo.auth.admin, payload: { url: urls[0] } })).statusCode,
    201,
  );
  t.equal(
    (await alphaApi(1, 'POST', '/peers', { url: `http://127.0.0.1:${proxyPort}` })).status,
    201,
    'peer added through the second process',
  );
  t.equal((await alphaApi(0, 'PATCH', '/peers/bravo', { trustLevel: 'partner' })).status, 200);
  t.equal((await alphaApi(0, 'POST', '/peers/bravo/verify', { fingerprint: bravo.signer.fingerprint })).status, 200);

  // 1. 40 creations, 20 at a time, alternating between the processes.
  const refs: string[] = [];
  for (let batch = 0; batch < 2; batch++) {
    const made = await Promise.all(
      Array.from({ length: 20 }, (_, k) => alphaApi(k % 2, 'POST', '/incidents', { ...EXAMPLE_INCIDENT, title: `two ${batch}-${k}` })),
    );
    for (const m of made) {
      t.equal(m.status, 201);
      refs.push(m.json.ref as string);
    }
  }
  const numbers = (list: string[]) => list.map((r) => Number(/-(\d+)$/.exec(r)![1])).sort((a, b) => a - b);
  t.same(
    numbers(refs),
    Array.from({ length: 40 }, (_, k) => k + 1),
    'reference numbers unique and gap-free across both processes',
  );

  // 2. Shares through both; the second process is killed at the fifth post, in the middle of it.
  killAt = { count: postCount + 5, child: () => children[1] ?? null };
  const shared = refs.slice(0, 20);
  const answers = await Promise.all(
    shared.map((ref, k) => alphaApi(k % 2, 'POST', `/incidents/${enc(ref)}/shares`, { peer: 'bravo' }).catch(() => null)),
  );
  await waitFor('the second process died', async () => children[1]!.signalCode === 'SIGKILL', 30_000, 50);
  // What the store holds is the truth: a share whose answer died with the process counts too.
  const sharedRefs: string[] = [];
  for (const ref of shared) if ((await alphaApi(0, 'GET', `/incidents/${enc(ref)}/shares`)).json.items.length) sharedRefs.push(ref);
  t.ok(
    answers.every((a, k) => !a || a.status !== 202 || sharedRefs.includes(shared[k]!)),
    'every share acknowledged is stored',
  );
  await waitFor(
    'the first process delivered everything, leases of the dead one included',
    async () => {
      for (const ref of sharedRefs) {
        const s = (await alphaApi(0, 'GET', `/incidents/${enc(ref)}/shares`)).json.items[0];
        if (!s || s.state !== 'delivered') return false;
      }
      return true;
    },
    90_000,
    100,
  );
  for (const ref of sharedRefs) t.equal((await findByExternalRef(bravo, ref)).length, 1, `${ref} filed exactly once on bravo`);
  const received = await bravo.database.db.selectFrom('inbound_message').select('message_id').execute();
  t.equal(new Set(received.map((r) => r.message_id)).size, received.length, 'each message stored once');
  t.equal(posts.size, received.length, "every message posted is in bravo's inbox");

  // 3. The killed process comes back and numbering goes on without a gap.
  await start(1);
  const more = await Promise.all(
    Array.from({ length: 6 }, (_, k) => alphaApi(k % 2, 'POST', '/incidents', { ...EXAMPLE_INCIDENT, title: `after ${k}` })),
  );
  t.same(
    numbers([...refs, ...more.map((m) => m.json.ref as string)]),
    Array.from({ length: 46 }, (_, k) => k + 1),
    'still unique and gap-free after the crash',
  );

  // 4. One audit chain, intact.
  await stop(0);
  await stop(1);
  const handle = await openDatabase({ url: TEST_DATABASE_URL, schema });
  try {
    const verdict = await verifyAuditChain(handle.db);
    t.equal(verdict.ok, true, JSON.stringify(verdict));
  } finally {
    await handle.close();
  }
});
