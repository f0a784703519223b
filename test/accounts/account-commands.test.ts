import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t from 'tap';
import { main } from '../../src/cli/main.js';
import { buildTestNode, freePort } from '../helpers/build-test-app.js';
import { TEST_DATABASE_URL } from '../helpers/test-database.js';

/**
 * `hikeshi account ...` through a running node (as beside `npm start`), and with no node
 * running, on the data directory's embedded database: how the first admin gets an account.
 */
t.setTimeout(300_000);
const node = await buildTestNode(t, { listen: true });
const flags = ['--data-dir', node.config.dataDir, '--url', node.url, '--team-id', node.config.teamId];

async function run(...argv: string[]): Promise<{ code: number; text: string }> {
  const lines: string[] = [];
  const code = await main(argv, (s) => lines.push(s));
  return { code, text: lines.join('\n') };
}

const signIn = (account: string, password: string) =>
  node.app.inject({ method: 'POST', url: '/api/v1/session', payload: { account, password } });

t.test('add prints a generated password once; the person signs in with it', async (t) => {
  const added = await run('account', 'add', '--name', 'admin', '--role', 'admin', '--display-name', 'First Admin', ...flags);
  t.equal(added.code, 0, added.text);
  t.match(added.text, /created account admin \(admin\)/);
  const password = /password \(shown once\): (\S+)/.exec(added.text)?.[1];
  t.ok(password, 'a password is printed');
  const res = await signIn('admin', password!);
  t.equal(res.statusCode, 200, res.body);
  t.same(res.json().account, { name: 'admin', displayName: 'First Admin', role: 'admin', language: 'en', totp: false });
  const audit = await node.database.db.selectFrom('audit_entry').selectAll().where('kind', '=', 'account.created').execute();
  t.equal(audit[0]?.actor, 'cli', 'audited as the CLI');
  t.notOk(JSON.stringify(audit).includes(password!), 'the password is not in the audit log');
});

t.test('list, set, totp, remove', async (t) => {
  t.equal((await run('account', 'add', '--name', 'kenji', '--role', 'reader', '--language', 'ja', ...flags)).code, 0);
  const listed = await run('account', 'list', ...flags);
  t.match(listed.text, /^NAME\s+ROLE\s+LANG/);
  t.match(listed.text, /\nkenji\s+reader\s+ja\s+-\s+kenji/);
  const set = await run('account', 'set', 'kenji', '--role', 'handler', '--disable', ...flags);
  t.equal(set.code, 0, set.text);
  t.match(set.text, /kenji\s+handler\s+ja\s+disabled/);
  const totp = await run('account', 'totp', 'kenji', ...flags);
  t.match(totp.text, /^otpauth:\/\/totp\/.+secret=[A-Z2-7]{32}/m);
  t.match((await run('account', 'list', ...flags)).text, /kenji\s+handler\s+ja\s+disabled,totp/);
  t.match((await run('account', 'totp', 'kenji', '--remove', ...flags)).text, /removed TOTP/);
  t.equal((await run('account', 'remove', 'kenji', ...flags)).code, 0);
  t.notMatch((await run('account', 'list', ...flags)).text, /kenji/);
});

t.test('refusals and usage mistakes: non-zero exit, nothing changed', async (t) => {
  t.equal((await run('account', 'add', '--name', 'admin', '--role', 'admin', ...flags)).code, 1, 'name taken (409)');
  t.equal((await run('account', 'add', '--name', 'Bad Name', '--role', 'admin', ...flags)).code, 1, 'bad name (400)');
  t.equal((await run('account', 'add', '--name', 'x', '--role', 'root', ...flags)).code, 2, 'unknown role');
  t.equal((await run('account', 'set', 'nobody', '--role', 'admin', ...flags)).code, 1, 'unknown account (404)');
  t.equal((await run('account', 'set', 'admin', ...flags)).code, 2, 'nothing to change');
  t.equal((await run('account', 'frobnicate', ...flags)).code, 2, 'unknown subcommand');
});

t.test(
  'with no node running: the embedded database in the data directory',
  { skip: TEST_DATABASE_URL ? 'embedded engine only' : false },
  async (t) => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), 'hikeshi-account-'));
    t.teardown(() => rm(dataDir, { recursive: true, force: true }));
    const offline = ['--data-dir', dataDir, '--team-id', 'offline-team', '--url', `http://127.0.0.1:${await freePort()}`];
    t.equal(await main(['init', ...offline], () => {}), 0);
    const added = await run('account', 'add', '--name', 'first', '--role', 'admin', ...offline);
    t.equal(added.code, 0, added.text);
    t.match(added.text, /password \(shown once\): [A-Za-z0-9]{24}/);
    t.match((await run('account', 'list', ...offline)).text, /\nfirst\s+admin\s+en/);
  },
);
