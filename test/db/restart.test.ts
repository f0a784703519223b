import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import pg from 'pg';
import t from 'tap';
import { loadConfig, type Config } from '../../src/config.js';
import { DataDirLockedError } from '../../src/db/data-dir-lock.js';
import { openDatabase } from '../../src/db/database.js';
import { KEY_FILE } from '../../src/modules/profile/node-identity.js';
import { openConfiguredDatabase } from '../../src/node-init.js';
import { BOOTSTRAP_TOKEN_FILE, startServer } from '../../src/server.js';
import { loadFixtureKey } from '../fixtures/keys/index.js';
import { freePort } from '../helpers/build-test-app.js';
import { TEST_DATABASE_URL } from '../helpers/test-database.js';

/**
 * A node started the way `npm start` starts it (startServer), over real HTTP, stopped and
 * started again on the same data directory: everything is still there. On the embedded engine
 * by default; with HIKESHI_TEST_DATABASE_URL on a fresh schema of that server.
 */
t.setTimeout(300_000);
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hikeshi-restart-'));
const schema = TEST_DATABASE_URL ? `t_restart_${randomBytes(5).toString('hex')}` : null;
t.teardown(async () => {
  await rm(dataDir, { recursive: true, force: true });
  if (schema) {
    const client = new pg.Client({ connectionString: TEST_DATABASE_URL! });
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).finally(() => client.end());
  }
});
// The fixture key where init looks for it: no key generation in the test.
await writeFile(path.join(dataDir, KEY_FILE), loadFixtureKey('alpha').armoredPrivateKey, { mode: 0o600 });

async function configFor(): Promise<Config> {
  const port = await freePort();
  return loadConfig(
    {},
    {
      dataDir,
      port,
      host: '127.0.0.1',
      publicUrl: `http://127.0.0.1:${port}`,
      teamId: 'alpha',
      teamName: 'Team alpha',
      referencePrefix: 'ALPHA',
      logLevel: 'silent',
      ...(schema ? { databaseUrl: TEST_DATABASE_URL!, databaseSchema: schema } : {}),
    },
  );
}

const report = {
  title: 'Survives a restart',
  category: 'intrusion-attempts',
  type: 'brute-force',
  severity: 'medium',
  tlp: 'GREEN',
  reporter: { name: 'Restart tester', email: 'restart@example.org' },
  hosts: [{ ip: '198.51.100.20', role: 'source' as const }],
};

async function call(base: string, token: string, method: string, url: string, body?: unknown) {
  const res = await fetch(base + url, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: res.status, headers: res.headers, json: (await res.json().catch(() => null)) as any };
}

let handlerToken = '';
let first: { ref: string; id: string; body: unknown } | undefined;

t.test('first start: bootstrap token, an incident over HTTP', async (t) => {
  const config = await configFor();
  const lines: string[] = [];
  const node = await startServer(config, (l) => lines.push(l));
  try {
    t.match(lines.join('\n'), /listening on http:\/\/127\.0\.0\.1:\d+/);
    // The bootstrap admin token is printed on a terminal, or written to a file otherwise.
    const file = path.join(dataDir, BOOTSTRAP_TOKEN_FILE);
    const bootstrap = existsSync(file)
      ? (await readFile(file, 'utf8')).trim()
      : (lines.find((l) => /^ey[\w-]+\.[\w-]+\.[\w-]+$/.test(l)) ?? '');
    t.ok(bootstrap, 'a bootstrap admin token was shown once');

    const minted = await call(config.publicUrl, bootstrap, 'POST', '/api/v1/tokens', {
      role: 'handler',
      subject: 'restart-handler',
    });
    t.equal(minted.status, 201, 'the bootstrap token is an admin token');
    handlerToken = minted.json.token;

    const created = await call(config.publicUrl, handlerToken, 'POST', '/api/v1/incidents', report);
    t.equal(created.status, 201, JSON.stringify(created.json));
    t.match(created.json.ref, /^ALPHA#\d{4}-000001$/);
    first = { ref: created.json.ref, id: created.json.id, body: created.json };
    const note = await call(config.publicUrl, handlerToken, 'POST', `/api/v1/incidents/${encodeURIComponent(first.ref)}/journal`, {
      note: 'written before the restart',
    });
    t.equal(note.status, 201);

    // While this node runs, nobody else may open its embedded database.
    if (!schema) {
      await t.rejects(openDatabase({ dataDir }), DataDirLockedError, 'a second open of the locked data dir throws DataDirLockedError');
      t.ok(existsSync(path.join(dataDir, 'hikeshi.lock')), 'and the running node keeps its lock');
    }
  } finally {
    await node.close();
  }
  t.notOk(existsSync(path.join(dataDir, 'hikeshi.lock')), 'closing releases the lock');
});

t.test('second start on the same data dir: everything is still there', async (t) => {
  t.ok(first, 'the first start created an incident');
  const config = await configFor();
  const lines: string[] = [];
  await rm(path.join(dataDir, BOOTSTRAP_TOKEN_FILE), { force: true });
  const node = await startServer(config, (l) => lines.push(l));
  try {
    t.notMatch(lines.join('\n'), /bootstrap/i, 'no second bootstrap token');
    t.notOk(existsSync(path.join(dataDir, BOOTSTRAP_TOKEN_FILE)), 'and no token file');

    const got = await call(config.publicUrl, handlerToken, 'GET', `/api/v1/incidents/${encodeURIComponent(first!.ref)}`);
    t.equal(got.status, 200, 'the token minted before the restart still works, and the incident is there');
    t.strictSame(got.json, first!.body, 'every field as it was');
    const journal = await call(config.publicUrl, handlerToken, 'GET', `/api/v1/incidents/${encodeURIComponent(first!.ref)}/journal`);
    t.strictSame(
      journal.json.items.map((e: { kind: string }) => e.kind),
      ['created', 'note'],
      'and its journal',
    );

    const next = await call(config.publicUrl, handlerToken, 'POST', '/api/v1/incidents', {
      ...report,
      title: 'After the restart',
    });
    t.equal(next.status, 201);
    t.equal(next.json.ref, first!.ref.replace(/000001$/, '000002'), 'the next incident gets the next number');
    const profile = await call(config.publicUrl, handlerToken, 'GET', '/api/v1/profile');
    t.equal(profile.json.fingerprint, loadFixtureKey('alpha').fingerprint, 'the same node key');
  } finally {
    await node.close();
  }
});

t.test(
  'a data dir locked by another live process',
  { skip: schema ? 'the data-dir lock belongs to the embedded engine' : false },
  async (t) => {
    const lockFile = path.join(dataDir, 'hikeshi.lock');
    // The parent of this test process is alive and is not us: its pid in the lock file means "in use".
    await writeFile(lockFile, String(process.ppid));
    try {
      const err = await openDatabase({ dataDir }).then(
        async (h) => {
          await h.close();
          return null;
        },
        (e: unknown) => e,
      );
      t.type(err, DataDirLockedError);
      t.equal((err as DataDirLockedError).pid, process.ppid, 'names the holder');
      t.match((err as Error).message, /in use by process/);
    } finally {
      await rm(lockFile, { force: true });
    }
    // A lock left by a process that is gone is taken over.
    await writeFile(lockFile, '999999999');
    const handle = await openDatabase({ dataDir });
    t.equal(await readFile(lockFile, 'utf8'), String(process.pid), 'a stale lock is taken over');
    await handle.close();
    t.notOk(existsSync(lockFile), 'and released on close');
  },
);

t.test(
  'buffer pool: a one-shot command opens the data dir with a small pool, a serving node with the default',
  { skip: schema ? 'the buffer pool of the embedded engine' : false },
  async (t) => {
    const config = await configFor();
    const poolOf = async (use: 'command' | 'serve') => {
      const handle = await openConfiguredDatabase(config, use);
      try {
        const shown = await sql<{ shared_buffers: string }>`show shared_buffers`.execute(handle.db);
        const incidents = await sql<{ n: number }>`select count(*)::int as n from incident`.execute(handle.db);
        return { pool: shown.rows[0]!.shared_buffers, incidents: incidents.rows[0]!.n };
      } finally {
        await handle.close();
      }
    };
    t.same(await poolOf('command'), { pool: '16MB', incidents: 2 }, 'a command: 16 MB, and the data is all there');
    t.same(await poolOf('serve'), { pool: '128MB', incidents: 2 }, "a serving node: PostgreSQL's default");
  },
);
