import t from 'tap';
import { createHikeshiClient, HikeshiProblemError, unwrap } from '../../src/client/hikeshi-client.js';
import { buildTestNode } from '../helpers/build-test-app.js';

/**
 * The cookie's Secure flag as fastify sees the request's protocol (directly or through a proxy
 * the node trusts), the sign-in limits per address and per account, and the typed client's
 * cookie mode over real HTTP.
 */
const PASSWORD = 'correct horse battery staple';
let now = new Date('2026-12-01T09:00:00.000Z');
const clock = () => new Date(now);
const sessions = { maxAgeSeconds: 3600, idleSeconds: 600, failuresPerAccount: 3, attemptsPerAddressPerMinute: 6 };
const behindProxy = await buildTestNode(t, { clock, config: { trustProxy: ['127.0.0.1'], sessions } });
const direct = await buildTestNode(t, { clock, listen: true, config: { sessions } });

for (const node of [behindProxy, direct]) {
  for (const name of ['hanako', 'jiro']) {
    const res = await node.app.inject({
      method: 'POST',
      url: '/api/v1/accounts',
      headers: node.auth.admin,
      payload: { name, role: 'handler', password: PASSWORD },
    });
    if (res.statusCode !== 201) throw new Error(res.body);
  }
}

const signIn = (
  node: typeof direct,
  account: string,
  password: string,
  headers: Record<string, string> = {},
  remoteAddress = '127.0.0.1',
) => node.app.inject({ method: 'POST', url: '/api/v1/session', payload: { account, password }, headers, remoteAddress });

t.test('Secure only over https: a trusted proxy says so, an untrusted one does not', async (t) => {
  const viaProxy = await signIn(behindProxy, 'hanako', PASSWORD, { 'x-forwarded-proto': 'https' });
  t.match(String(viaProxy.headers['set-cookie']), /; HttpOnly; SameSite=Strict; Secure$/, 'trusted proxy, https');
  const plain = await signIn(behindProxy, 'hanako', PASSWORD);
  t.notMatch(String(plain.headers['set-cookie']), /Secure/, 'trusted proxy, no forwarded https');
  const forged = await signIn(direct, 'hanako', PASSWORD, { 'x-forwarded-proto': 'https' });
  t.equal(forged.statusCode, 200);
  t.notMatch(String(forged.headers['set-cookie']), /Secure/, 'no trusted proxy: the header is ignored');
  const cookie = /^hikeshi_session=[^;]+/.exec(String(viaProxy.headers['set-cookie']))![0];
  const out = await behindProxy.app.inject({
    method: 'DELETE',
    url: '/api/v1/session',
    headers: { cookie, 'x-csrf-token': viaProxy.json().csrfToken, 'x-forwarded-proto': 'https' },
  });
  t.equal(out.statusCode, 204);
  t.match(String(out.headers['set-cookie']), /Max-Age=0; HttpOnly; SameSite=Strict; Secure$/, 'cleared with the same flags');
});

t.test('failed sign-ins per account: refused for a while, even with the right password, for that name only', async (t) => {
  for (let i = 0; i < 3; i++) t.equal((await signIn(direct, 'jiro', 'wrong password!!', {}, `10.0.0.${i + 1}`)).statusCode, 401);
  const locked = await signIn(direct, 'jiro', PASSWORD, {}, '10.0.1.1');
  t.equal(locked.statusCode, 429);
  t.equal(locked.json().code, 'rate-limited');
  t.ok(Number(locked.headers['retry-after']) > 0, 'Retry-After');
  t.equal((await signIn(direct, 'no-such-name', 'x', {}, '10.0.1.2')).statusCode, 401, 'other names unaffected');
  for (let i = 0; i < 3; i++) await signIn(direct, 'no-such-name', 'x', {}, `10.0.2.${i}`);
  t.equal((await signIn(direct, 'no-such-name', 'x', {}, '10.0.3.1')).statusCode, 429, 'unknown names lock the same way (no enumeration)');
  now = new Date(now.getTime() + 15 * 60_000);
  t.equal((await signIn(direct, 'jiro', PASSWORD, {}, '10.0.1.3')).statusCode, 200, 'after 15 minutes');
});

t.test('attempts per address per minute', async (t) => {
  for (let i = 0; i < 6; i++) t.equal((await signIn(direct, `probe-${i}`, 'x', {}, '192.0.2.7')).statusCode, 401);
  const limited = await signIn(direct, 'hanako', PASSWORD, {}, '192.0.2.7');
  t.equal(limited.statusCode, 429, 'the seventh from the address, right password or not');
  t.equal((await signIn(direct, 'hanako', PASSWORD, {}, '192.0.2.8')).statusCode, 200, 'another address');
  now = new Date(now.getTime() + 60_000);
  t.equal((await signIn(direct, 'hanako', PASSWORD, {}, '192.0.2.7')).statusCode, 200, 'the next minute');
});

t.test('typed client, cookie mode: the cookie by the browser, X-CSRF-Token on unsafe methods only', async (t) => {
  // Node's fetch keeps no cookies: this stands in for the browser's jar, and records what was sent.
  let jar = '';
  const sent: Array<{ method: string; csrf: string | null; credentials: string }> = [];
  const browserFetch = async (request: Request) => {
    sent.push({ method: request.method, csrf: request.headers.get('x-csrf-token'), credentials: request.credentials });
    const headers = new Headers(request.headers);
    if (jar) headers.set('cookie', jar);
    const response = await fetch(new Request(request, { headers }));
    const setCookie = response.headers.get('set-cookie');
    if (setCookie) jar = setCookie.split(';')[0]!;
    return response;
  };
  const state: { csrf?: string } = {};
  const client = createHikeshiClient({ baseUrl: direct.url, csrfToken: () => state.csrf, fetch: browserFetch });
  const session = await unwrap(client.POST('/api/v1/session', { body: { account: 'hanako', password: PASSWORD } }));
  state.csrf = session.csrfToken;
  t.equal(sent[0]!.csrf, null, 'no token before sign-in');
  t.equal(sent[0]!.credentials, 'same-origin');
  const incidents = await unwrap(client.GET('/api/v1/incidents', {}));
  t.ok(Array.isArray(incidents.items));
  t.equal(sent[1]!.csrf, null, 'GET carries no CSRF token');
  const created = await unwrap(
    client.POST('/api/v1/incidents', {
      body: { title: 'x', category: 'test', type: 'test', severity: 'low', tlp: 'CLEAR', reporter: { name: 'R' } },
    }),
  );
  t.ok(created.id);
  t.equal(sent[2]!.csrf, state.csrf, 'POST carries the session token');
  await unwrap(client.DELETE('/api/v1/session', {}));
  const refused = await client.GET('/api/v1/session', {}).catch((e: unknown) => e);
  t.ok(refused instanceof HikeshiProblemError && refused.code === 'unauthenticated', 'signed out');
});

t.test('no password, TOTP secret, session id or CSRF token in any log line, at trace level', async (t) => {
  const lines: string[] = [];
  const logged = await buildTestNode(t, { config: { logLevel: 'trace' }, logStream: { write: (line) => void lines.push(line) } });
  const created = await logged.app.inject({
    method: 'POST',
    url: '/api/v1/accounts',
    headers: logged.auth.admin,
    payload: { name: 'yui', role: 'handler', password: 'Marker-Password-0001' },
  });
  t.equal(created.statusCode, 201);
  const generated = await logged.app.inject({
    method: 'POST',
    url: '/api/v1/accounts',
    headers: logged.auth.admin,
    payload: { name: 'gen', role: 'reader' },
  });
  const totp = await logged.app.inject({ method: 'POST', url: '/api/v1/accounts/yui/totp', headers: logged.auth.admin });
  await logged.app.inject({ method: 'POST', url: '/api/v1/session', payload: { account: 'yui', password: 'Marker-Wrong-0002' } });
  await logged.app.inject({ method: 'POST', url: '/api/v1/session', payload: { account: 'Marker-Typed-As-Name-0003', password: 'x' } });
  await logged.app.inject({ method: 'DELETE', url: '/api/v1/accounts/yui/totp', headers: logged.auth.admin });
  const ok = await logged.app.inject({
    method: 'POST',
    url: '/api/v1/session',
    payload: { account: 'yui', password: 'Marker-Password-0001' },
  });
  t.equal(ok.statusCode, 200);
  const cookie = /^hikeshi_session=([^;]+)/.exec(String(ok.headers['set-cookie']))![1]!;
  await logged.app.inject({ method: 'GET', url: '/api/v1/incidents', headers: { cookie: `hikeshi_session=${cookie}` } });
  await logged.app.inject({
    method: 'POST',
    url: '/api/v1/session',
    payload: '{"account":"yui","password":"Marker-Malformed-0004"',
    headers: { 'content-type': 'application/json' },
  });
  t.ok(lines.length > 5, `${lines.length} log lines`);
  const text = lines.join('\n');
  for (const secret of [
    'Marker-Password-0001',
    'Marker-Wrong-0002',
    'Marker-Malformed-0004',
    generated.json().password,
    totp.json().secret,
    cookie,
    ok.json().csrfToken,
  ])
    t.notOk(text.includes(secret), `not logged: ${String(secret).slice(0, 8)}...`);
});
