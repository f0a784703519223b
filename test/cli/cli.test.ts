import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createVerifier } from 'fast-jwt';
import t from 'tap';
import { main } from '../../src/cli/main.js';
import { loadNodeSigner } from '../../src/crypto/index.js';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { API_AUDIENCE } from '../../src/modules/tokens/token-codec.js';
import { createAuditModule } from '../../src/modules/audit/audit.module.js';
import { freePort } from '../helpers/build-test-app.js';
import { dropServerSchema, TEST_DATABASE_URL } from '../helpers/test-database.js';

/**
 * The `hikeshi` command, run from source (in child processes where the process itself is
 * tested, else through main() in this process), on a temporary data directory (and, with HIKESHI_TEST_DATABASE_URL, a fresh schema on the server).
 * Subtests run in order: init first, then the commands that need an initialised node.
 */
// Child processes pay for TypeScript compilation and, on the first init, a fresh embedded database.
t.setTimeout(480_000);
const root = fileURLToPath(new URL('../../', import.meta.url));
const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hikeshi-cli-'));
const schema = TEST_DATABASE_URL ? `t_cli_${randomBytes(5).toString('hex')}` : null;
t.teardown(async () => {
  await rm(dataDir, { recursive: true, force: true });
  if (schema) await dropServerSchema(schema);
});

// The child sees only our HIKESHI_* settings, and none of tap's loaders.
const baseEnv: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([k]) => !k.startsWith('HIKESHI_') && k !== 'NODE_OPTIONS'),
);
Object.assign(baseEnv, {
  HIKESHI_DATA_DIR: dataDir,
  HIKESHI_TEAM_ID: 'cli-team',
  HIKESHI_LOG_LEVEL: 'silent',
  ...(schema ? { HIKESHI_DATABASE_URL: TEST_DATABASE_URL!, HIKESHI_DATABASE_SCHEMA: schema } : {}),
});
// Nothing listens here: commands that try the running node first fall back to the database.
const noNode = `http://127.0.0.1:${await freePort()}`;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}
/**
 * `hikeshi <args>` through main() in this process, with the child's environment set for the
 * call: the command's own code path, without a process start (and a TypeScript compilation) for
 * each. The subtests that are about the process itself (exit codes as a shell sees them, a lock
 * another process holds) run `childHikeshi`. Calls must not overlap: they share process.env and
 * stderr.
 */
function hikeshi(...args: string[]): Promise<Run> {
  return hikeshiWith({}, ...args);
}
async function hikeshiWith(env: NodeJS.ProcessEnv, ...args: string[]): Promise<Run> {
  const saved = { ...process.env };
  for (const key of Object.keys(process.env)) if (key.startsWith('HIKESHI_')) delete process.env[key];
  for (const [key, value] of Object.entries({ ...baseEnv, ...env }))
    if (key.startsWith('HIKESHI_') && value !== undefined) process.env[key] = value;
  try {
    return await inProcess(...args);
  } finally {
    for (const key of Object.keys(process.env)) if (key.startsWith('HIKESHI_')) delete process.env[key];
    Object.assign(process.env, saved);
  }
}
/** The command as a user runs it: a child process from source, its exit code as a shell sees it. */
function childHikeshi(...args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'src/cli/run.ts', ...args],
      { cwd: root, env: baseEnv, timeout: 90_000 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

function openNodeDatabase(): Promise<DatabaseHandle> {
  return schema ? openDatabase({ url: TEST_DATABASE_URL, schema }) : openDatabase({ dataDir });
}

t.test('help and usage errors, as a child process', async (t) => {
  const [help, unknown, badFlag, badRole] = await Promise.all([
    childHikeshi('--help'),
    childHikeshi('frobnicate'),
    childHikeshi('init', '--colour', 'blue'),
    childHikeshi('token', 'create', '--role', 'root', '--subject', 'x'),
  ]);
  t.equal(help.code, 0, '--help exits 0');
  for (const command of ['init', 'serve', 'migrate', 'token', 'profile'])
    t.match(help.stdout, new RegExp(`^  ${command} `, 'm'), `--help lists ${command}`);
  t.equal(unknown.code, 2, 'unknown command: 2');
  t.match(unknown.stderr, /unknown command "frobnicate"/);
  t.equal(badFlag.code, 2, 'unknown flag: 2');
  t.match(badFlag.stderr, /--colour/, 'names the flag');
  t.equal(badRole.code, 2, 'bad role: 2');
  t.match(badRole.stderr, /--role must be one of reader, handler, admin/);
  t.equal(badRole.stdout, '', 'nothing on stdout');
});

/** More usage errors through main() in this process: the same code path, without a process each. */
async function inProcess(...args: string[]): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const write = process.stderr.write;
  process.stderr.write = ((chunk: string | Uint8Array) => ((stderr += String(chunk)), true)) as typeof process.stderr.write;
  try {
    const code = await main(args, (s) => (stdout += s + '\n'));
    return { code, stdout, stderr };
  } finally {
    process.stderr.write = write;
  }
}

t.test('more usage errors: exit 2 and a message naming the problem', async (t) => {
  const cases: Array<[string[], number, RegExp]> = [
    [['token', '--help'], 0, /token create --role <admin\|handler\|reader> --subject <name>/],
    [['init', '-h'], 0, /Usage: hikeshi init/],
    [[], 2, /Usage: hikeshi <command>/],
    [['token', 'create', '--role', 'reader'], 2, /--subject <name> is required/],
    [['token', 'create', '--role', 'reader', '--subject', 'x', '--ttl', '1w'], 2, /--ttl must look like/],
    [['token', 'create', '--role', 'reader', '--subject', 'x', '--ttl', '367d'], 2, /at most 366d/],
    [['token', 'create', '--role', '--subject', 'x'], 2, /--role/],
    [['token'], 2, /token needs a subcommand: create or revoke/],
    [['token', 'rotate'], 2, /token needs a subcommand/],
    [['token', 'revoke'], 2, /token revoke <token-id>/],
    [['token', 'revoke', 'not-a-uuid'], 2, /token revoke <token-id>/],
    [['token', 'revoke', '00000000-0000-4000-8000-000000000000', 'extra'], 2, /unexpected argument "extra"/],
    [['profile'], 2, /profile needs a subcommand: show/],
    [['migrate', 'now'], 2, /unexpected argument 'now'/i],
  ];
  for (const [args, code, message] of cases) {
    const res = await inProcess(...args);
    t.equal(res.code, code, `hikeshi ${args.join(' ')}: exit ${code}`);
    t.match(code === 0 ? res.stdout : res.stdout + res.stderr, message, `hikeshi ${args.join(' ')}: ${message}`);
  }
});

let fingerprint = '';

t.test('init prints the fingerprint and is idempotent', async (t) => {
  // The first start of a node, as a user runs it: a child process.
  const first = await childHikeshi('init');
  t.equal(first.code, 0, first.stderr);
  const fp = /^key fingerprint: ([0-9A-F]{40}) \(new key\)$/m.exec(first.stdout);
  t.ok(fp, `prints a new key's fingerprint:\n${first.stdout}`);
  fingerprint = fp?.[1] ?? '';
  const boot = /^bootstrap admin token \(shown once\): (\S+)$/m.exec(first.stdout);
  t.ok(boot, 'first run prints a bootstrap admin token');
  const secret = (await readFile(path.join(dataDir, 'token-secret'), 'utf8')).trim();
  const claims = createVerifier({ key: secret, allowedAud: API_AUDIENCE })(boot?.[1] ?? '');
  t.match(claims, { role: 'admin', sub: 'bootstrap-admin', iss: 'cli-team' }, 'the bootstrap token is an admin token of this node');

  const keyFile = path.join(dataDir, 'node-key.asc');
  t.equal(statSync(keyFile).mode & 0o777, 0o600, 'the key is readable by the node user only');
  t.equal(statSync(path.join(dataDir, 'token-secret')).mode & 0o777, 0o600, 'so is the token secret');
  const key = await readFile(keyFile, 'utf8');
  t.equal((await loadNodeSigner(key)).fingerprint, fingerprint, 'the printed fingerprint is the stored key');

  const second = await hikeshi('init');
  t.equal(second.code, 0, second.stderr);
  t.match(second.stdout, new RegExp(`^key fingerprint: ${fingerprint}$`, 'm'), 'same fingerprint, not a new key');
  t.notMatch(second.stdout, /bootstrap/, 'no second bootstrap token');
  t.match(second.stdout, /\(up to date\)/, 'no migrations to apply');
  t.equal(await readFile(keyFile, 'utf8'), key, 'the key file is untouched');
  t.equal((await readFile(path.join(dataDir, 'token-secret'), 'utf8')).trim(), secret, 'and the token secret');
});

let tokenId = '';

t.test('token create prints only the token', async (t) => {
  const res = await hikeshi('token', 'create', '--role', 'handler', '--subject', 'alice', '--ttl', '12h');
  const profile = await hikeshi('profile', 'show', '--url', noNode);
  t.equal(res.code, 0, res.stderr);
  t.match(res.stdout, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\n$/, 'stdout is one JWT and a newline');
  const id = /token id ([0-9a-f-]{36})/.exec(res.stderr);
  t.ok(id, 'the token id goes to stderr');
  tokenId = id?.[1] ?? '';
  const secret = (await readFile(path.join(dataDir, 'token-secret'), 'utf8')).trim();
  const claims = createVerifier({ key: secret, allowedAud: API_AUDIENCE })(res.stdout.trim());
  t.match(claims, { role: 'handler', sub: 'alice', jti: tokenId, iss: 'cli-team' });
  t.equal(claims.exp - claims.iat, 12 * 3600, '--ttl 12h');

  t.equal(profile.code, 0, `profile show with no node running reads the database: ${profile.stderr}`);
  t.match(JSON.parse(profile.stdout), { teamId: 'cli-team', fingerprint });
});

t.test('token revoke with no node running writes the revocation to the database', async (t) => {
  const res = await hikeshi('token', 'revoke', tokenId, '--url', noNode);
  t.equal(res.code, 0, res.stderr);
  t.match(res.stdout, new RegExp(`revoked ${tokenId} \\(no node running: written to the database\\)`));
  const database = await openNodeDatabase();
  try {
    const row = await database.db.selectFrom('token_revocation').selectAll().where('token_id', '=', tokenId).executeTakeFirst();
    t.match(row, { token_id: tokenId, revoked_by: 'cli' }, 'the revocation row exists');
    const others = await database.db.selectFrom('token_revocation').select('token_id').where('token_id', '!=', tokenId).execute();
    t.strictSame(others, [], 'and nothing else was revoked');
  } finally {
    await database.close(); // releases the data-dir lock for the next subtest
  }
});

t.test(
  'migrate while another process holds the embedded database',
  { skip: schema ? 'the data-dir lock belongs to the embedded engine' : false },
  async (t) => {
    const held = await openDatabase({ dataDir });
    let res: Run;
    try {
      res = await childHikeshi('migrate');
    } finally {
      await held.close();
    }
    t.equal(res.code, 1, 'exit 1');
    t.match(res.stderr, new RegExp(`in use by process ${process.pid}`), `a clear message: ${res.stderr.trim()}`);
    t.equal(res.stdout, '');
    const after = await hikeshi('migrate');
    t.equal(after.code, 0, after.stderr);
    t.match(after.stdout, /database is up to date/, 'works once the lock is released');
  },
);

t.test('audit verify with no node running checks the database and prints the head', async (t) => {
  const res = await hikeshi('audit', 'verify', '--url', noNode);
  t.equal(res.code, 0, res.stderr);
  t.match(res.stdout, /^audit chain intact: \d+ entries/, res.stdout);
  // With an entry, the head: its number and its hash (it printed [object Object] before).
  const database = await openNodeDatabase();
  try {
    await createAuditModule({ db: database.db, clock: () => new Date() }).log.append(database.db, {
      kind: 'token-revoked',
      actor: 'cli-test',
      details: {},
    });
  } finally {
    await database.close();
  }
  const again = await hikeshi('audit', 'verify', '--url', noNode);
  t.equal(again.code, 0, again.stderr);
  t.match(again.stdout, /^audit chain intact: [1-9]\d* entries, head #[1-9]\d* [0-9a-f]{64}\n$/, again.stdout);
  t.notMatch(again.stdout, /object Object/);
});

t.test('backup and restore: a new data directory (or schema) gets every row, the key and a chain that verifies', async (t) => {
  const file = path.join(dataDir, 'node.backup.gz');
  const backup = await hikeshi('backup', '--out', file);
  t.equal(backup.code, 0, backup.stderr);
  t.match(backup.stdout, /^backup written to .*: \d+ rows, 2 node files/);
  t.equal(statSync(file).mode & 0o777, 0o600, 'readable by its owner only: it holds the node key');
  const original = await hikeshi('audit', 'verify', '--url', noNode);

  const restoredDir = await mkdtemp(path.join(os.tmpdir(), 'hikeshi-restored-'));
  const restoredSchema = schema ? `${schema}_r` : null;
  t.teardown(async () => {
    await rm(restoredDir, { recursive: true, force: true });
    if (restoredSchema) await dropServerSchema(restoredSchema);
  });
  const target = { HIKESHI_DATA_DIR: restoredDir, ...(restoredSchema ? { HIKESHI_DATABASE_SCHEMA: restoredSchema } : {}) };
  const restore = await hikeshiWith(target, 'restore', file);
  t.equal(restore.code, 0, restore.stderr);
  t.match(restore.stdout, /^restored \d+ rows/);
  t.equal(
    await readFile(path.join(restoredDir, 'node-key.asc'), 'utf8'),
    await readFile(path.join(dataDir, 'node-key.asc'), 'utf8'),
    'the node key',
  );
  const verified = await hikeshiWith(target, 'audit', 'verify', '--url', noNode);
  t.equal(verified.code, 0, verified.stderr);
  t.equal(verified.stdout, original.stdout, 'the same chain, the same head');
  // A second restore into the same place is refused: it is not empty.
  const again = await hikeshiWith(target, 'restore', file);
  t.not(again.code, 0);
  t.match(again.stderr, /not empty/);
});

t.test('key rotate: a new key in place, the old one retired, the profile follows at the next start, backups carry both', async (t) => {
  const before = await hikeshi('key', 'list');
  t.equal(before.code, 0, before.stderr);
  const [, oldFingerprint] = /^current: ([0-9A-F]{40})\n$/.exec(before.stdout) ?? [];
  t.ok(oldFingerprint, before.stdout);

  const rotated = await hikeshi('key', 'rotate');
  t.equal(rotated.code, 0, rotated.stderr);
  const [, newFingerprint] = /new key: ([0-9A-F]{40})/.exec(rotated.stdout) ?? [];
  t.ok(newFingerprint, rotated.stdout);
  t.not(newFingerprint, oldFingerprint);
  t.match(rotated.stdout, /no peers: nobody to tell/);
  t.equal(statSync(path.join(dataDir, 'retired-keys', `${oldFingerprint}.asc`)).mode & 0o777, 0o600);

  const listed = await hikeshi('key', 'list');
  t.equal(listed.stdout, `current: ${newFingerprint}\nretired: ${oldFingerprint}\n`);
  const init = await hikeshi('init');
  t.equal(init.code, 0, init.stderr);
  t.match(init.stdout, new RegExp(`key fingerprint: ${newFingerprint}`));
  const profile = await hikeshi('profile', 'show', '--url', noNode);
  t.equal(JSON.parse(profile.stdout).fingerprint, newFingerprint, 'the profile carries the new key');

  const file = path.join(dataDir, 'rotated.backup.gz');
  const backup = await hikeshi('backup', '--out', file);
  t.match(backup.stdout, /3 node files/, 'the key, the token secret and the retired key');
  const bad = await hikeshi('key', 'spin');
  t.equal(bad.code, 2);
});
