import type { LightMyRequestResponse } from 'fastify';
import t, { type Test } from 'tap';
import { base32Decode, totpAt } from '../../src/modules/accounts/totp.js';
import { buildTestNode } from '../helpers/build-test-app.js';

/**
 * Sign-in for people (issue 20 item 2): sessions in cookies beside bearer tokens, CSRF on unsafe
 * methods, one answer for every wrong sign-in, sessions that end (absolute, idle, disabled).
 */
let now = new Date('2026-12-01T09:00:00.000Z');
const clock = () => new Date(now);
const advance = (ms: number) => (now = new Date(now.getTime() + ms));
const node = await buildTestNode(t, {
  clock,
  config: { sessions: { maxAgeSeconds: 3600, idleSeconds: 600, failuresPerAccount: 50, attemptsPerAddressPerMinute: 1000 } },
});
const { app } = node;
const PASSWORD = 'correct horse battery staple';

function problem(t: Test, res: LightMyRequestResponse, status: number, code: string, what = code) {
  t.equal(res.statusCode, status, `${what}: HTTP ${status} (${res.body.slice(0, 300)})`);
  t.match(res.headers['content-type'], /^application\/problem\+json/, `${what}: problem+json`);
  t.equal(res.json().code, code, `${what}: code ${code}`);
  return res.json();
}

async function addAccount(name: string, role: 'reader' | 'handler' | 'admin', password = PASSWORD) {
  const res = await app.inject({ method: 'POST', url: '/api/v1/accounts', headers: node.auth.admin, payload: { name, role, password } });
  if (res.statusCode !== 201) throw new Error(`account ${name}: ${res.body}`);
  return res.json();
}

interface SignedIn {
  cookie: string;
  csrf: string;
  body: any;
  setCookie: string;
}

async function signIn(account: string, password = PASSWORD, extra: Record<string, unknown> = {}, headers: Record<string, string> = {}) {
  return app.inject({ method: 'POST', url: '/api/v1/session', payload: { account, password, ...extra }, headers });
}

async function signedIn(account: string, password = PASSWORD, extra: Record<string, unknown> = {}): Promise<SignedIn> {
  const res = await signIn(account, password, extra);
  if (res.statusCode !== 200) throw new Error(`sign-in ${account}: ${res.body}`);
  const setCookie = String(res.headers['set-cookie']);
  const value = /^hikeshi_session=([^;]+)/.exec(setCookie)![1]!;
  return { cookie: `hikeshi_session=${value}`, csrf: res.json().csrfToken, body: res.json(), setCookie };
}

const as = (s: SignedIn, csrf: string | null = s.csrf) => ({ cookie: s.cookie, ...(csrf === null ? {} : { 'x-csrf-token': csrf }) });
const report = { title: 'Phishing wave', category: 'fraud', type: 'phishing', severity: 'low', tlp: 'GREEN', reporter: { name: 'R' } };
const incidentCount = async () =>
  (await app.inject({ method: 'GET', url: '/api/v1/incidents', headers: node.auth.reader })).json().items.length;

await addAccount('hanako', 'handler');
await addAccount('riku', 'reader');
await addAccount('aki', 'admin');

t.test('sign in, use the cookie, sign out', async (t) => {
  const s = await signedIn('hanako');
  t.same(s.body.account, { name: 'hanako', displayName: 'hanako', role: 'handler', language: 'en', totp: false });
  t.match(s.body.csrfToken, /^[A-Za-z0-9_-]{20,}$/);
  t.equal(s.body.expiresAt, new Date(now.getTime() + 3600_000).toISOString(), 'absolute end: sign-in + max age');
  t.match(s.setCookie, /; HttpOnly/);
  t.match(s.setCookie, /; SameSite=Strict/);
  t.match(s.setCookie, /; Path=\//);
  t.notMatch(s.setCookie, /Secure/, 'plain http: no Secure flag');

  const again = await app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie: s.cookie } });
  t.equal(again.statusCode, 200);
  t.same(again.json(), s.body, 'GET answers the same body, csrf token included');
  t.equal(again.headers['cache-control'], 'no-store');

  t.equal(
    (await app.inject({ method: 'GET', url: '/api/v1/incidents', headers: { cookie: s.cookie } })).statusCode,
    200,
    'GET needs no CSRF token',
  );
  const before = await incidentCount();
  const created = await app.inject({ method: 'POST', url: '/api/v1/incidents', headers: as(s), payload: report });
  t.equal(created.statusCode, 201, created.body);
  t.equal(await incidentCount(), before + 1);

  const out = await app.inject({ method: 'DELETE', url: '/api/v1/session', headers: as(s) });
  t.equal(out.statusCode, 204);
  t.match(String(out.headers['set-cookie']), /^hikeshi_session=; Path=\/; Max-Age=0; HttpOnly; SameSite=Strict/);
  problem(
    t,
    await app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie: s.cookie } }),
    401,
    'unauthenticated',
    'after sign-out',
  );
  problem(
    t,
    await app.inject({ method: 'GET', url: '/api/v1/incidents', headers: { cookie: s.cookie } }),
    401,
    'unauthenticated',
    'API after sign-out',
  );
});

t.test('CSRF: unsafe methods with the cookie need the session token; nothing changes without it', async (t) => {
  const s = await signedIn('hanako');
  const other = await signedIn('aki');
  const before = await incidentCount();
  problem(
    t,
    await app.inject({ method: 'POST', url: '/api/v1/incidents', headers: as(s, null), payload: report }),
    403,
    'csrf-token-invalid',
    'missing',
  );
  problem(
    t,
    await app.inject({ method: 'POST', url: '/api/v1/incidents', headers: as(s, 'x'.repeat(43)), payload: report }),
    403,
    'csrf-token-invalid',
    'wrong',
  );
  problem(
    t,
    await app.inject({ method: 'POST', url: '/api/v1/incidents', headers: as(s, other.csrf), payload: report }),
    403,
    'csrf-token-invalid',
    "another session's",
  );
  problem(
    t,
    await app.inject({ method: 'POST', url: '/api/v1/incidents', headers: as(s, ''), payload: report }),
    403,
    'csrf-token-invalid',
    'empty',
  );
  t.equal(await incidentCount(), before, 'no incident was created');
  problem(
    t,
    await app.inject({ method: 'PATCH', url: '/api/v1/session', headers: as(s, null), payload: { language: 'ja' } }),
    403,
    'csrf-token-invalid',
    'PATCH session',
  );
  problem(
    t,
    await app.inject({ method: 'DELETE', url: '/api/v1/session', headers: as(s, null) }),
    403,
    'csrf-token-invalid',
    'DELETE session',
  );
  t.equal(
    (await app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie: s.cookie } })).json().account.language,
    'en',
    'language unchanged',
  );
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie: s.cookie } })).statusCode, 200, 'still signed in');
});

t.test('PATCH /session sets the language, read fresh by GET', async (t) => {
  const s = await signedIn('hanako');
  const res = await app.inject({ method: 'PATCH', url: '/api/v1/session', headers: as(s), payload: { language: 'ja' } });
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.json().account.language, 'ja');
  t.equal((await app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie: s.cookie } })).json().account.language, 'ja');
  const list = await app.inject({ method: 'GET', url: '/api/v1/accounts', headers: node.auth.admin });
  t.equal(list.json().items.find((a: any) => a.name === 'hanako').language, 'ja');
});

t.test('wrong password, unknown account, wrong or missing TOTP, disabled: one answer', async (t) => {
  await addAccount('totp-user', 'handler');
  await addAccount('gone-quiet', 'handler');
  const enrol = await app.inject({ method: 'POST', url: '/api/v1/accounts/totp-user/totp', headers: node.auth.admin });
  t.equal(enrol.statusCode, 201);
  await app.inject({ method: 'PATCH', url: '/api/v1/accounts/gone-quiet', headers: node.auth.admin, payload: { disabled: true } });
  const strip = (body: any) => body;
  const answers = [
    await signIn('hanako', 'wrong password!!'),
    await signIn('nobody-here', PASSWORD),
    await signIn('totp-user', PASSWORD),
    await signIn('totp-user', PASSWORD, { totp: '000000' }),
    await signIn('gone-quiet', PASSWORD),
  ];
  for (const res of answers) problem(t, res, 401, 'sign-in-failed');
  t.equal(new Set(answers.map((r) => JSON.stringify(strip(r.json())))).size, 1, 'the same body whichever was wrong');
  for (const res of answers) t.notOk(res.headers['set-cookie'], 'no cookie on refusal');

  const secret = new URL(enrol.json().uri).searchParams.get('secret')!;
  t.equal(secret, enrol.json().secret);
  const code = totpAt(base32Decode(secret), now);
  const ok = await signIn('totp-user', PASSWORD, { totp: code });
  t.equal(ok.statusCode, 200, 'the right code signs in');
  problem(t, await signIn('totp-user', PASSWORD, { totp: code }), 401, 'sign-in-failed', 'the same code again (replay)');
  const previous = totpAt(base32Decode(secret), new Date(now.getTime() - 30_000));
  problem(t, await signIn('totp-user', PASSWORD, { totp: previous }), 401, 'sign-in-failed', "an older step's code after a newer one");
  advance(30_000);
  t.equal((await signIn('totp-user', PASSWORD, { totp: totpAt(base32Decode(secret), now) })).statusCode, 200, "the next step's code");

  t.equal((await app.inject({ method: 'DELETE', url: '/api/v1/accounts/totp-user/totp', headers: node.auth.admin })).statusCode, 204);
  t.equal((await signIn('totp-user', PASSWORD)).statusCode, 200, 'without TOTP the password is enough');
});

t.test('sessions end: absolute lifetime and idle timeout, by the clock', async (t) => {
  const s = await signedIn('hanako');
  advance(590_000);
  t.equal(
    (await app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie: s.cookie } })).statusCode,
    200,
    'used within the idle timeout',
  );
  advance(590_000);
  t.equal(
    (await app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie: s.cookie } })).statusCode,
    200,
    'idle time counts from the last use',
  );
  advance(601_000);
  problem(
    t,
    await app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie: s.cookie } }),
    401,
    'unauthenticated',
    'idle too long',
  );

  const busy = await signedIn('hanako');
  for (let i = 0; i < 6; i++) {
    advance(500_000);
    t.equal(
      (await app.inject({ method: 'GET', url: '/api/v1/incidents', headers: { cookie: busy.cookie } })).statusCode,
      200,
      `busy, ${i}`,
    );
  }
  advance(600_000);
  problem(
    t,
    await app.inject({ method: 'GET', url: '/api/v1/incidents', headers: { cookie: busy.cookie } }),
    401,
    'unauthenticated',
    'past the absolute end, busy or not',
  );
});

t.test('a disabled or removed account: its live sessions are refused at once', async (t) => {
  await addAccount('temp-one', 'handler');
  await addAccount('temp-two', 'handler');
  const one = await signedIn('temp-one');
  const two = await signedIn('temp-two');
  await app.inject({ method: 'PATCH', url: '/api/v1/accounts/temp-one', headers: node.auth.admin, payload: { disabled: true } });
  problem(
    t,
    await app.inject({ method: 'GET', url: '/api/v1/incidents', headers: { cookie: one.cookie } }),
    401,
    'unauthenticated',
    'disabled',
  );
  await app.inject({ method: 'PATCH', url: '/api/v1/accounts/temp-one', headers: node.auth.admin, payload: { disabled: false } });
  problem(
    t,
    await app.inject({ method: 'GET', url: '/api/v1/incidents', headers: { cookie: one.cookie } }),
    401,
    'unauthenticated',
    'enabled again: the old session stays ended',
  );
  t.equal((await app.inject({ method: 'DELETE', url: '/api/v1/accounts/temp-two', headers: node.auth.admin })).statusCode, 204);
  problem(
    t,
    await app.inject({ method: 'GET', url: '/api/v1/incidents', headers: { cookie: two.cookie } }),
    401,
    'unauthenticated',
    'removed',
  );
});

t.test("a new password ends the account's other sessions, not the changer's", async (t) => {
  await addAccount('boss', 'admin');
  const mine = await signedIn('boss');
  const elsewhere = await signedIn('boss');
  const res = await app.inject({
    method: 'PATCH',
    url: '/api/v1/accounts/boss',
    headers: as(mine),
    payload: { password: 'a brand new passphrase' },
  });
  t.equal(res.statusCode, 200, res.body);
  t.equal(
    (await app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie: mine.cookie } })).statusCode,
    200,
    'own session kept',
  );
  problem(
    t,
    await app.inject({ method: 'GET', url: '/api/v1/session', headers: { cookie: elsewhere.cookie } }),
    401,
    'unauthenticated',
    'other session ended',
  );
  problem(t, await signIn('boss', PASSWORD), 401, 'sign-in-failed', 'old password');
  t.equal((await signIn('boss', 'a brand new passphrase')).statusCode, 200, 'new password');
});

t.test('roles: a session gets its account role, read on every request', async (t) => {
  const reader = await signedIn('riku');
  const handler = await signedIn('hanako');
  const body = { name: 'mallory', role: 'admin' };
  problem(
    t,
    await app.inject({ method: 'POST', url: '/api/v1/accounts', headers: as(reader), payload: body }),
    403,
    'forbidden',
    'reader creates an account',
  );
  problem(
    t,
    await app.inject({ method: 'POST', url: '/api/v1/accounts', headers: as(handler), payload: body }),
    403,
    'forbidden',
    'handler creates an account',
  );
  problem(
    t,
    await app.inject({ method: 'POST', url: '/api/v1/incidents', headers: as(reader), payload: report }),
    403,
    'forbidden',
    'reader records an incident',
  );
  problem(
    t,
    await app.inject({ method: 'GET', url: '/api/v1/accounts', headers: { cookie: reader.cookie } }),
    403,
    'forbidden',
    'reader lists accounts',
  );
  t.equal(
    (await app.inject({ method: 'GET', url: '/api/v1/accounts/mallory', headers: node.auth.admin })).statusCode,
    404,
    'no such route or account',
  );
  const admin = await signedIn('aki');
  const created = await app.inject({
    method: 'POST',
    url: '/api/v1/accounts',
    headers: as(admin),
    payload: { name: 'new-hand', role: 'handler' },
  });
  t.equal(created.statusCode, 201, created.body);
  t.match(created.json().password, /^[A-Za-z0-9]{24}$/, 'generated password answered once');
  t.equal((await signIn('new-hand', created.json().password)).statusCode, 200);
  await app.inject({ method: 'PATCH', url: '/api/v1/accounts/riku', headers: node.auth.admin, payload: { role: 'handler' } });
  t.equal(
    (await app.inject({ method: 'POST', url: '/api/v1/incidents', headers: as(reader), payload: report })).statusCode,
    201,
    'role change applies at once',
  );
  await app.inject({ method: 'PATCH', url: '/api/v1/accounts/riku', headers: node.auth.admin, payload: { role: 'reader' } });
});

t.test('bearer tokens work as before, and win over a cookie', async (t) => {
  t.equal(
    (await app.inject({ method: 'POST', url: '/api/v1/incidents', headers: node.auth.handler, payload: report })).statusCode,
    201,
    'no CSRF token needed',
  );
  const reader = await signedIn('riku');
  const res = await app.inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: { ...node.auth.handler, cookie: reader.cookie },
    payload: report,
  });
  t.equal(res.statusCode, 201, 'the bearer token decides');
  problem(
    t,
    await app.inject({ method: 'GET', url: '/api/v1/session', headers: node.auth.admin }),
    401,
    'unauthenticated',
    'a token has no session',
  );
  problem(
    t,
    await app.inject({ method: 'GET', url: '/api/v1/incidents', headers: { cookie: 'hikeshi_session=forged' } }),
    401,
    'unauthenticated',
    'forged cookie',
  );
  problem(
    t,
    await app.inject({ method: 'GET', url: '/api/v1/incidents', headers: { cookie: `hikeshi_session=${'A'.repeat(43)}` } }),
    401,
    'unauthenticated',
    'unknown session',
  );
});

t.test('malformed bodies are 400, never 5xx', async (t) => {
  const admin = await signedIn('aki');
  const raw = (url: string, method: 'POST' | 'PATCH', payload: string, headers: Record<string, string> = {}) =>
    app.inject({ method, url, payload, headers: { 'content-type': 'application/json', ...headers } });
  problem(t, await raw('/api/v1/session', 'POST', '{"account":'), 400, 'malformed-json', 'truncated JSON');
  problem(t, await raw('/api/v1/session', 'POST', '{"account":1,"password":"x"}'), 400, 'validation-failed', 'number as name');
  problem(
    t,
    await raw('/api/v1/session', 'POST', '{"account":"a","password":"x","role":"admin"}'),
    400,
    'validation-failed',
    'unknown field',
  );
  problem(t, await raw('/api/v1/session', 'POST', '{"account":"a"}'), 400, 'validation-failed', 'no password');
  problem(t, await raw('/api/v1/session', 'POST', '[]'), 400, 'validation-failed', 'array');
  problem(t, await raw('/api/v1/session', 'PATCH', '{"language":"fr"}', as(admin)), 400, 'validation-failed', 'unknown language');
  problem(t, await raw('/api/v1/accounts', 'POST', '{"name":"Bad Name","role":"admin"}', as(admin)), 400, 'validation-failed', 'bad name');
  problem(
    t,
    await raw('/api/v1/accounts', 'POST', '{"name":"short-pw","role":"admin","password":"short"}', as(admin)),
    400,
    'validation-failed',
    'short password',
  );
  problem(t, await raw('/api/v1/accounts', 'POST', '{"name":"x","role":"root"}', as(admin)), 400, 'validation-failed', 'unknown role');
  problem(t, await raw('/api/v1/accounts/hanako', 'PATCH', '{}', as(admin)), 400, 'validation-failed', 'empty patch');
  problem(t, await raw('/api/v1/accounts/hanako', 'PATCH', '{"disabled":"yes"}', as(admin)), 400, 'validation-failed', 'string as boolean');
  problem(
    t,
    await app.inject({ method: 'PATCH', url: '/api/v1/accounts/nobody', headers: as(admin), payload: { role: 'admin' } }),
    404,
    'not-found',
    'unknown account',
  );
  problem(
    t,
    await app.inject({ method: 'POST', url: '/api/v1/accounts/nobody/totp', headers: as(admin) }),
    404,
    'not-found',
    'totp for unknown account',
  );
  problem(
    t,
    await app.inject({ method: 'POST', url: '/api/v1/accounts', headers: as(admin), payload: { name: 'hanako', role: 'admin' } }),
    409,
    'conflict',
    'duplicate name',
  );
});

t.test('audit: sign-in, refusals, sign-out, account changes, TOTP; no password, secret or session id', async (t) => {
  const s = await signedIn('hanako');
  await app.inject({ method: 'DELETE', url: '/api/v1/session', headers: as(s) });
  const rows = await node.database.db.selectFrom('audit_entry').selectAll().orderBy('seq').execute();
  const kinds = new Set(rows.map((r) => r.kind));
  for (const kind of [
    'account.created',
    'account.updated',
    'account.removed',
    'account.signed-in',
    'account.sign-in-refused',
    'account.signed-out',
    'account.totp-enrolled',
    'account.totp-removed',
  ])
    t.ok(kinds.has(kind), `audited: ${kind}`);
  const signedInRow = rows.find((r) => r.kind === 'account.signed-in' && r.actor === 'account:hanako');
  t.ok(signedInRow, 'the actor names the person');
  const text = JSON.stringify(rows);
  for (const secret of [PASSWORD, 'a brand new passphrase', 'wrong password!!', s.cookie.split('=')[1]!, s.csrf])
    t.notOk(text.includes(secret), `audit free of ${secret.slice(0, 6)}...`);
  t.notMatch(text, /scrypt/, 'no password hash');
  const hashes = await node.database.db.selectFrom('handler_account').select(['totp_secret']).execute();
  for (const { totp_secret } of hashes) if (totp_secret) t.notOk(text.includes(totp_secret), 'no TOTP secret');
  const actionByCookie = rows.find((r) => r.actor === 'account:aki' && r.kind === 'account.created');
  t.ok(actionByCookie, "an admin's change through the session is audited under the person's name");
});
