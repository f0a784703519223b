import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import t from 'tap';
import { mintApiToken } from '../../src/modules/tokens/token-codec.js';
import { buildTestNode, freePort, type TestNode } from '../helpers/build-test-app.js';
import { alphaProcessStorage, startNodeProcess } from '../helpers/node-process.js';
import { EXAMPLE_INCIDENT, enc, findByExternalRef, journal, waitFor } from '../helpers/federation-harness.js';

/**
 * Crash safety of delivery with a real process: the sending node (alpha) runs as a child
 * process (`hikeshi serve`) and is killed with SIGKILL at chosen moments: right after the
 * receiver filed a message but before the sender saw the receipt, right after a change was
 * committed, and at random. After each restart nothing is lost, and the receiver never files
 * anything twice. A proxy in front of the receiver counts what alpha sends and pulls the
 * trigger at the worst moment.
 */

// Each start of the child costs a few seconds (TypeScript loader, database): more than tap's default.
t.setTimeout(600_000);

const ALPHA_TOKEN_SECRET = randomBytes(32).toString('hex');
const alphaPort = await freePort();
const alphaUrl = `http://127.0.0.1:${alphaPort}`;
// On the server engine alpha gets its own schema, dropped afterwards; embedded, its data directory.
const { dataDir, schema } = await alphaProcessStorage(t, 'hikeshi-crash-');

const bravo: TestNode = await buildTestNode(t, { key: 'bravo', listen: true });

// --- the proxy in front of bravo -----------------------------------------------------------
const posts = new Map<string, number>();
let killOnResponse: number | null = null;
let postCount = 0;
let alpha: ChildProcess | null = null;

function messageIdOf(body: string): string | null {
  try {
    const parsed = JSON.parse(body) as { document?: { id?: string } };
    return parsed.document?.id ?? null;
  } catch {
    return null;
  }
}

const proxy: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', async () => {
    const body = Buffer.concat(chunks);
    const isMessage = req.method === 'POST' && req.url === '/federation/v1/messages';
    if (isMessage) {
      const id = messageIdOf(body.toString('utf8'));
      if (id) posts.set(id, (posts.get(id) ?? 0) + 1);
      postCount++;
    }
    try {
      const upstream = await fetch(`${bravo.url}${req.url}`, {
        method: req.method,
        headers: { 'content-type': String(req.headers['content-type'] ?? 'application/json') },
        ...(req.method === 'POST' ? { body } : {}),
      });
      const text = await upstream.text();
      if (isMessage && killOnResponse !== null && postCount >= killOnResponse && alpha) {
        // bravo has filed the message and signed its receipt; alpha dies before reading it.
        killOnResponse = null;
        alpha.kill('SIGKILL');
        res.destroy();
        return;
      }
      res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
      res.end(text);
    } catch {
      res.destroy();
    }
  });
});
const proxyPort = await freePort();
await new Promise<void>((resolve) => proxy.listen(proxyPort, '127.0.0.1', resolve));
t.teardown(() => new Promise<void>((resolve) => proxy.close(() => resolve())));
const proxyUrl = `http://127.0.0.1:${proxyPort}`;

// --- alpha, the child process ----------------------------------------------------------------
const admin = {
  authorization: `Bearer ${mintApiToken(ALPHA_TOKEN_SECRET, { role: 'admin', subject: 'crash-test', issuer: 'alpha' }).token}`,
};

async function alphaApi(method: string, url: string, payload?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${alphaUrl}/api/v1${url}`, {
    method,
    headers: { ...admin, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

async function startAlpha(): Promise<ChildProcess> {
  const started = Date.now();
  const child = await startNodeProcess({
    name: 'alpha',
    dataDir,
    port: alphaPort,
    publicUrl: alphaUrl,
    tokenSecret: ALPHA_TOKEN_SECRET,
    schema,
  });
  alpha = child;
  t.comment(`alpha started in ${Date.now() - started} ms`);
  return child;
}

async function killAlpha(): Promise<void> {
  const child = alpha;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGKILL');
  await gone;
}

function exitOf(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}

t.teardown(killAlpha);

async function share(title: string): Promise<string> {
  const created = await alphaApi('POST', '/incidents', { ...EXAMPLE_INCIDENT, title });
  if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.json)}`);
  const shared = await alphaApi('POST', `/incidents/${enc(created.json.ref)}/shares`, { peer: 'bravo' });
  if (shared.status !== 202) throw new Error(`share: ${shared.status} ${JSON.stringify(shared.json)}`);
  return created.json.ref as string;
}

async function allDelivered(refs: string[]): Promise<boolean> {
  for (const ref of refs) {
    const res = await alphaApi('GET', `/incidents/${enc(ref)}/shares`);
    const s = res.json.items[0];
    if (!s || s.state !== 'delivered' || s.pendingUpdates !== 0) return false;
  }
  return true;
}

async function bravoIncidentCount(): Promise<number> {
  const row = await bravo.database.db
    .selectFrom('incident')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

t.test('SIGKILL of the sending node at any moment loses nothing and duplicates nothing', { timeout: 600_000 }, async (t) => {
  let child = await startAlpha();
  t.equal((await fetch(`${alphaUrl}/readyz`)).status, 200);
  // bravo knows alpha's node; alpha reaches bravo through the proxy.
  const bravoAdds = await bravo.app.inject({
    method: 'POST',
    url: '/api/v1/peers',
    headers: bravo.auth.admin,
    payload: { url: alphaUrl },
  });
  t.equal(bravoAdds.statusCode, 201, bravoAdds.body);
  const added = await alphaApi('POST', '/peers', { url: proxyUrl });
  t.equal(added.status, 201, JSON.stringify(added.json));
  // The sharing policy: TLP:AMBER needs a partner whose key was confirmed.
  t.equal((await alphaApi('PATCH', '/peers/bravo', { trustLevel: 'partner' })).status, 200);
  t.equal((await alphaApi('POST', '/peers/bravo/verify', { fingerprint: bravo.signer.fingerprint })).status, 200);

  // 1. Killed after bravo filed a report and answered, before alpha stored the receipt.
  killOnResponse = postCount + 2;
  const refs: string[] = [];
  try {
    for (let i = 0; i < 5; i++) refs.push(await share(`crash test ${i}`));
  } catch {
    // the proxy killed alpha while we were still sharing
  }
  await exitOf(child);
  t.ok(child.signalCode === 'SIGKILL', 'alpha was killed by the proxy mid-delivery');
  const filedBeforeRestart = await bravoIncidentCount();
  t.ok(filedBeforeRestart >= 2, `bravo filed ${filedBeforeRestart} before the crash, the last one unacknowledged`);
  t.comment('restarting after the first crash');
  child = await startAlpha();
  await waitFor('all delivered after restart', () => allDelivered(refs), 60_000, 100);

  // 2. Killed right after a change committed (the outbox row is there, nothing sent yet).
  const noted = await alphaApi('POST', `/incidents/${enc(refs[0]!)}/journal`, {
    note: 'written just before the crash',
  });
  t.equal(noted.status, 201);
  await killAlpha();
  child = await startAlpha();
  await waitFor('the note arrives after restart', () => allDelivered(refs), 60_000, 100);

  // 3. Killed at random moments while sharing and updating.
  for (let round = 0; round < 2; round++) {
    const sharing = (async () => {
      for (let i = 0; i < 4; i++) {
        try {
          refs.push(await share(`round ${round} item ${i}`));
          await alphaApi('POST', `/incidents/${enc(refs[refs.length - 1]!)}/journal`, {
            note: `round ${round} note ${i}`,
          });
        } catch {
          return; // the node died under us; what was committed must still arrive
        }
      }
    })();
    await new Promise((r) => setTimeout(r, 50 + Math.floor(Math.random() * 400)));
    await killAlpha();
    await sharing;
    child = await startAlpha();
  }
  // What alpha committed is the truth: a share whose API answer was lost in a crash counts too.
  const listed = await alphaApi('GET', '/incidents?limit=500');
  const sharedRefs: string[] = [];
  for (const incident of listed.json.items as Array<{ ref: string }>) {
    if ((await alphaApi('GET', `/incidents/${enc(incident.ref)}/shares`)).json.items.length) sharedRefs.push(incident.ref);
  }
  t.ok(
    refs.every((r) => sharedRefs.includes(r)),
    'every share the test saw acknowledged is there',
  );
  await waitFor('everything delivered', () => allDelivered(sharedRefs), 90_000, 100);

  // Nothing lost: every incident alpha shared is on bravo; nothing doubled: exactly once each.
  for (const ref of sharedRefs) {
    const copies = await findByExternalRef(bravo, ref);
    t.equal(copies.length, 1, `${ref} filed exactly once on bravo`);
  }
  t.equal(await bravoIncidentCount(), sharedRefs.length, 'no extra incidents');
  const copy = (await findByExternalRef(bravo, refs[0]!))[0]!;
  const notes = (await journal(bravo, copy.ref)).filter((e) => e.kind === 'peer-note');
  t.same(
    notes.map((n) => n.note),
    ['written just before the crash'],
    'the update arrived once',
  );
  const received = await bravo.database.db.selectFrom('inbound_message').select(['sender', 'message_id']).execute();
  t.equal(new Set(received.map((r) => r.message_id)).size, received.length, 'each message stored once');
  const resent = [...posts.values()].filter((n) => n > 1).length;
  t.ok(resent >= 1, `alpha re-sent ${resent} message(s) after crashes, and bravo answered them from its inbox`);
  t.equal(posts.size, received.length, "every message alpha posted is in bravo's inbox");
  await killAlpha();
});
