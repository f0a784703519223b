import type { LightMyRequestResponse } from 'fastify';
import t, { type Test } from 'tap';
import { base32Decode, totpAt } from '../../src/modules/accounts/totp.js';
import { buildTestNode } from '../helpers/build-test-app.js';

/**
 * What a signed-in person changes for themselves (own password, own TOTP, each with the current
 * password) and the guard that keeps one enabled admin account (ADR 0029).
 */
let now = new Date('2026-12-01T09:00:00.000Z');
const clock = () => new Date(now);
const advance = (ms: number) => (now = new Date(now.getTime() + ms));
const node = await buildTestNode(t, {
  clock,
  config: { sessions: { maxAgeSeconds: 3600, idleSeconds: 600, failuresPerAccount: 5, attemptsPerAddressPerMinute: 1000 } },
});
const { app } = node;
const PASSWORD = 'correct horse battery staple';
const NEW_PASSWORD = 'a new and longer passphrase';

function problem(t: Test, res: LightMyRequestResponse, status: number, code: string, what = code) {
  t.equal(res.statusCode, status, `${what}: HTTP ${status} (${res.body.slice(0, 300)})`);
  t.match(res.headers['content-type'], /^application\/problem\+json/, `${what}: problem+json`);
  t.equal(res.json().code, code, `${what}: code ${code}`);
  return res.json();
}

async function addAccount(name: string, role: 'reader' | 'handler' | 'admin', password = PASSWORD) {
  const res = await app.inject({ method: 'POST', url: '/api/v1/accounts', headers: node.auth.admin, payload: { name, role, password } });
  if (res.statusCode !== 201) throw new Error(`account ${name}: ${res.body}`);
}

interface SignedIn {
  cookie: string;
  csrf: string;
}
const signIn = (account: string, password = PASSWORD, extra: Record<string, unknown> = {}) =>
  app.inject({ method: 'POST', url: '/api/v1/session', payload: { account, password, ...extra } });
async function signedIn(account: string, password = PASSWORD, extra: Record<string, unknown> = {}): Promise<SignedIn> {
  const res = await signIn(account, password, extra);
  if (res.statusCode !== 200) throw new Error(`sign-in ${account}: ${res.body}`);
  const value = /^hikeshi_session=([^;]+)/.exec(String(res.headers['set-cookie']))![1]!;
  return { cookie: `hikeshi_session=${value}`, csrf: res.json().csrfToken };
}
const as = (s: SignedIn, csrf: string | null = s.csrf) => ({ cookie: s.cookie, ...(csrf === null ? {} : { 'x-csrf-token': csrf }) });
const alive = async (s: SignedIn) =>
  (await app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie: s.cookie } })).statusCode === 200;
const send = (s: SignedIn, method: 'PUT' | 'POST', url: string, payload?: unknown, headers = as(s)) =>
  app.inject({ method, url: `/api/v1${url}`, headers, ...(payload === undefined ? {} : { payload: payload as object }) });

async function auditEntries(kind: string) {
  const res = await app.inject({ method: 'GET', url: `/api/v1/audit?kind=${kind}&limit=500`, headers: node.auth.admin });
  if (res.statusCode !== 200) throw new Error(res.body);
  return res.json().items as Array<{ kind: string; actor: string; details: Record<string, unknown> }>;
}

await addAccount('hanako', 'handler');
await addAccount('riku', 'reader');
await addAccount('aki', 'admin');

t.test('own password: the current one required, the other sessions end, this one stays', async (t) => {
  const desk = await signedIn('hanako');
  const laptop = await signedIn('hanako');

  problem(
    t,
    await send(desk, 'PUT', '/session/password', { currentPassword: 'not my password!', newPassword: NEW_PASSWORD }),
    403,
    'current-password-wrong',
  );
  t.ok(await alive(laptop), 'a refused change ends nothing');
  problem(
    t,
    await send(desk, 'PUT', '/session/password', { currentPassword: PASSWORD, newPassword: 'short' }),
    400,
    'validation-failed',
    'too short',
  );
  problem(
    t,
    await send(desk, 'PUT', '/session/password', { currentPassword: PASSWORD, newPassword: 'x'.repeat(1025) }),
    400,
    'validation-failed',
    'too long',
  );
  problem(t, await send(desk, 'PUT', '/session/password', { currentPassword: PASSWORD }), 400, 'validation-failed', 'no new password');
  problem(
    t,
    await send(desk, 'PUT', '/session/password', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD, role: 'admin' }),
    400,
    'validation-failed',
    'unknown field',
  );
  problem(
    t,
    await send(desk, 'PUT', '/session/password', { currentPassword: 1, newPassword: NEW_PASSWORD }),
    400,
    'validation-failed',
    'wrong type',
  );
  const malformed = await app.inject({
    method: 'PUT',
    url: '/api/v1/session/password',
    headers: { ...as(desk), 'content-type': 'application/json' },
    payload: '{"currentPassword": ',
  });
  problem(t, malformed, 400, 'malformed-json');
  problem(
    t,
    await send(desk, 'PUT', '/session/password', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD }, as(desk, null)),
    403,
    'csrf-token-invalid',
    'no CSRF token',
  );
  problem(
    t,
    await app.inject({
      method: 'PUT',
      url: '/api/v1/session/password',
      headers: node.auth.admin,
      payload: { currentPassword: PASSWORD, newPassword: NEW_PASSWORD },
    }),
    401,
    'unauthenticated',
    "a bearer token is nobody's own account",
  );

  const res = await send(desk, 'PUT', '/session/password', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
  t.equal(res.statusCode, 204, res.body);
  t.ok(await alive(desk), 'the session that changed it stays');
  t.notOk(await alive(laptop), 'the other session ended');
  t.equal((await signIn('hanako')).statusCode, 401, 'the old password no longer signs in');
  t.equal((await signIn('hanako', NEW_PASSWORD)).statusCode, 200, 'the new one does');

  const [changed] = (await auditEntries('account.password-changed')).slice(-1);
  t.match(changed, { actor: 'account:hanako', details: { account: 'hanako', self: true, sessionsEnded: 1 } });
  const refused = await auditEntries('account.self-service-refused');
  t.match(refused.at(-1), { actor: 'account:hanako', details: { change: 'password', reason: 'current-password' } });
  const log = JSON.stringify(await auditEntries('account.password-changed')) + JSON.stringify(refused);
  for (const secret of [PASSWORD, NEW_PASSWORD, 'not my password!']) t.notOk(log.includes(secret), 'no password in the audit log');
});

t.test('wrong current passwords count against the account limit', async (t) => {
  await addAccount('guess', 'reader');
  const s = await signedIn('guess');
  for (let i = 0; i < 5; i++)
    await send(s, 'PUT', '/session/password', { currentPassword: `wrong guess ${i}!`, newPassword: NEW_PASSWORD });
  const limited = await send(s, 'PUT', '/session/password', { currentPassword: PASSWORD, newPassword: NEW_PASSWORD });
  problem(t, limited, 429, 'rate-limited', 'the sixth try, even right, waits');
  t.ok(limited.headers['retry-after'], 'with Retry-After');
  t.equal((await signIn('guess')).statusCode, 429, 'sign-in for the account waits too');
  advance(16 * 60_000);
});

t.test('own TOTP: propose, confirm with a code, sign in with it, remove it', async (t) => {
  const s = await signedIn('riku');
  const proposed = await send(s, 'POST', '/session/totp-secret');
  t.equal(proposed.statusCode, 200, proposed.body);
  const { secret, uri } = proposed.json();
  t.match(secret, /^[A-Z2-7]{32}$/);
  t.match(uri, /^otpauth:\/\/totp\/Hikeshi%20alpha%3Ariku\?secret=/);
  t.equal(proposed.headers['cache-control'], 'no-store');
  t.equal((await signIn('riku')).statusCode, 200, 'a proposal alone changes nothing: the password still signs in');

  const key = base32Decode(secret);
  const code = totpAt(key, now);
  problem(
    t,
    await send(s, 'PUT', '/session/totp', { currentPassword: PASSWORD, secret, code: code === '000000' ? '000001' : '000000' }),
    422,
    'totp-code-wrong',
  );
  problem(t, await send(s, 'PUT', '/session/totp', { currentPassword: 'wrong password!!', secret, code }), 403, 'current-password-wrong');
  problem(
    t,
    await send(s, 'PUT', '/session/totp', { currentPassword: PASSWORD, secret: 'not base32 at all', code }),
    400,
    'validation-failed',
    'bad secret',
  );
  problem(
    t,
    await send(s, 'PUT', '/session/totp', { currentPassword: PASSWORD, secret, code: '12345' }),
    400,
    'validation-failed',
    'five digits',
  );
  problem(
    t,
    await send(s, 'PUT', '/session/totp', { currentPassword: PASSWORD, secret, code }, as(s, 'forged')),
    403,
    'csrf-token-invalid',
  );
  t.equal((await signIn('riku')).statusCode, 200, 'refusals enrolled nothing');

  t.equal((await send(s, 'PUT', '/session/totp', { currentPassword: PASSWORD, secret, code })).statusCode, 204);
  const account = (await app.inject({ method: 'GET', url: '/api/v1/accounts', headers: node.auth.admin }))
    .json()
    .items.find((a: { name: string }) => a.name === 'riku');
  t.equal(account.totp, true, 'the account shows TOTP');
  const own = await app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie: s.cookie } });
  t.equal(own.json().account.totp, true, 'so does the session, for the console');
  t.equal((await signIn('riku')).statusCode, 401, 'the password alone no longer signs in');
  t.equal((await signIn('riku', PASSWORD, { totp: code })).statusCode, 401, 'the confirming code is spent');
  advance(30_000);
  t.equal((await signIn('riku', PASSWORD, { totp: totpAt(key, now) })).statusCode, 200, "the app's next code signs in");

  problem(t, await send(s, 'POST', '/session/totp/removal', { currentPassword: 'wrong password!!' }), 403, 'current-password-wrong');
  problem(t, await send(s, 'POST', '/session/totp/removal', {}), 400, 'validation-failed', 'no password');
  t.equal((await send(s, 'POST', '/session/totp/removal', { currentPassword: PASSWORD })).statusCode, 204);
  t.equal((await signIn('riku')).statusCode, 200, 'the password alone signs in again');

  const enrolled = (await auditEntries('account.totp-enrolled')).at(-1);
  t.match(enrolled, { actor: 'account:riku', details: { account: 'riku', self: true } });
  t.match((await auditEntries('account.totp-removed')).at(-1), { actor: 'account:riku', details: { self: true } });
  t.notOk(JSON.stringify(enrolled).includes(secret), 'the secret is not audited');
});

t.test('the last enabled admin cannot be demoted, disabled or removed', async (t) => {
  const patch = (name: string, payload: unknown, headers: Record<string, string> = node.auth.admin) =>
    app.inject({ method: 'PATCH', url: `/api/v1/accounts/${name}`, headers, payload: payload as object });
  const remove = (name: string) => app.inject({ method: 'DELETE', url: `/api/v1/accounts/${name}`, headers: node.auth.admin });

  // aki is the only admin account (the test's bearer tokens are not accounts).
  problem(t, await patch('aki', { role: 'handler' }), 409, 'last-active-admin', 'demote');
  problem(t, await patch('aki', { disabled: true }), 409, 'last-active-admin', 'disable');
  problem(t, await remove('aki'), 409, 'last-active-admin', 'remove');
  const aki = await signedIn('aki');
  problem(t, await patch('aki', { role: 'reader' }, as(aki)), 409, 'last-active-admin', 'demote oneself');
  t.equal((await patch('aki', { displayName: 'Aki (admin)' })).statusCode, 200, 'other changes pass');
  t.equal((await patch('aki', { role: 'admin', disabled: false })).statusCode, 200, 'staying admin passes');
  problem(
    t,
    await patch('hanako', { role: 'admin' }, as(await signedIn('hanako', NEW_PASSWORD))),
    403,
    'forbidden',
    'a handler cannot make admins',
  );

  await addAccount('mei', 'admin');
  t.equal((await patch('aki', { disabled: true })).statusCode, 200, 'with a second admin, the first can be disabled');
  problem(t, await patch('mei', { role: 'handler' }), 409, 'last-active-admin', 'a disabled admin does not count');
  t.equal((await patch('aki', { disabled: false })).statusCode, 200);
  t.equal((await patch('mei', { role: 'handler' })).statusCode, 200, 'now mei may step down');
  t.equal((await remove('mei')).statusCode, 204, 'a non-admin is removed freely');
  problem(t, await remove('aki'), 409, 'last-active-admin', 'still the last');
  problem(t, await patch('nobody', { disabled: true }), 404, 'not-found');
});
