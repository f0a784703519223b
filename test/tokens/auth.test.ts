import { randomUUID } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { createSigner } from 'fast-jwt';
import t, { type Test } from 'tap';
import {
  API_AUDIENCE,
  DEFAULT_TOKEN_TTL_SECONDS,
  FEDERATION_AUDIENCE,
  MAX_TOKEN_TTL_SECONDS,
  mintApiToken,
  parseDuration,
} from '../../src/modules/tokens/token-codec.js';
import { buildTestNode } from '../helpers/build-test-app.js';

/** Bearer tokens on /api/v1: who may call at all (401), and which role may do what (403). */
const node = await buildTestNode(t);

function problem(t: Test, res: LightMyRequestResponse, status: number, code: string, what = code) {
  t.equal(res.statusCode, status, `${what}: HTTP ${status} (${res.body.slice(0, 300)})`);
  t.match(res.headers['content-type'], /^application\/problem\+json/, `${what}: problem+json`);
  t.equal(res.json().code, code, `${what}: code ${code}`);
  return res.json();
}

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });
const getIncidents = (headers: Record<string, string> = {}) => node.app.inject({ method: 'GET', url: '/api/v1/incidents', headers });
const report = { title: 'x', category: 'test', type: 'test', severity: 'low', tlp: 'CLEAR', reporter: { name: 'R' } };

/** A JWT signed with the node's secret but with claims of our choosing. */
function signed(claims: {
  aud?: string;
  sub?: string;
  jti?: string;
  payload?: Record<string, unknown>;
  key?: string;
  algorithm?: 'HS256' | 'HS512';
}) {
  const sign = createSigner({
    key: claims.key ?? node.tokenSecret,
    algorithm: claims.algorithm ?? 'HS256',
    ...(claims.aud ? { aud: claims.aud } : {}),
    ...(claims.sub ? { sub: claims.sub } : {}),
    ...(claims.jti ? { jti: claims.jti } : {}),
    iss: 'alpha',
    expiresIn: 3600_000,
  });
  return sign(claims.payload ?? {});
}

t.test('401 unauthenticated without a valid token', async (t) => {
  problem(t, await getIncidents(), 401, 'unauthenticated', 'no Authorization header');
  problem(t, await getIncidents({ authorization: 'Bearer ' }), 401, 'unauthenticated', 'empty bearer');
  problem(t, await getIncidents({ authorization: 'Basic YWRtaW46YWRtaW4=' }), 401, 'unauthenticated', 'Basic credentials');
  problem(t, await getIncidents(bearer('garbage')), 401, 'unauthenticated', 'garbage token');
  problem(t, await getIncidents(bearer('a.b.c')), 401, 'unauthenticated', 'three garbage parts');

  const otherSecret = mintApiToken('another-secret-'.padEnd(64, 'x'), {
    role: 'admin',
    subject: 'eve',
    issuer: 'alpha',
  });
  problem(t, await getIncidents(bearer(otherSecret.token)), 401, 'unauthenticated', 'signed with another secret');

  const expired = mintApiToken(node.tokenSecret, {
    role: 'admin',
    subject: 'old',
    issuer: 'alpha',
    now: new Date('2020-01-01T00:00:00Z'),
    ttlSeconds: 60,
  });
  problem(t, await getIncidents(bearer(expired.token)), 401, 'unauthenticated', 'expired');

  const federation = signed({ aud: FEDERATION_AUDIENCE, sub: 'bravo', jti: randomUUID(), payload: { role: 'admin' } });
  problem(t, await getIncidents(bearer(federation)), 401, 'unauthenticated', 'federation audience on /api/v1');

  const noAudience = signed({ sub: 'x', jti: randomUUID(), payload: { role: 'admin' } });
  problem(t, await getIncidents(bearer(noAudience)), 401, 'unauthenticated', 'no audience');
  problem(
    t,
    await getIncidents(bearer(signed({ aud: API_AUDIENCE, sub: 'x', jti: randomUUID(), payload: { role: 'root' } }))),
    401,
    'unauthenticated',
    'unknown role',
  );
  problem(t, await getIncidents(bearer(signed({ aud: API_AUDIENCE, sub: 'x', jti: randomUUID() }))), 401, 'unauthenticated', 'no role');
  problem(
    t,
    await getIncidents(bearer(signed({ aud: API_AUDIENCE, jti: randomUUID(), payload: { role: 'admin' } }))),
    401,
    'unauthenticated',
    'no subject',
  );
  problem(
    t,
    await getIncidents(bearer(signed({ aud: API_AUDIENCE, sub: 'x', payload: { role: 'admin' } }))),
    401,
    'unauthenticated',
    'no token id',
  );
  problem(
    t,
    await getIncidents(bearer(signed({ aud: API_AUDIENCE, sub: 'x', jti: randomUUID(), payload: { role: 'admin' }, algorithm: 'HS512' }))),
    401,
    'unauthenticated',
    'another algorithm',
  );
  const [header, payload] = mintApiToken(node.tokenSecret, {
    role: 'admin',
    subject: 'x',
    issuer: 'alpha',
  }).token.split('.');
  const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
  problem(t, await getIncidents(bearer(unsigned)), 401, 'unauthenticated', 'alg none');
  t.ok(header, 'a minted token has a header');

  const control = signed({ aud: API_AUDIENCE, sub: 'x', jti: randomUUID(), payload: { role: 'reader' } });
  t.equal((await getIncidents(bearer(control))).statusCode, 200, 'the same construction with every claim right is accepted');
});

t.test('roles: reader reads, handler writes incidents, admin manages profile and tokens', async (t) => {
  const { reader, handler, admin } = node.auth;
  t.equal((await getIncidents(reader)).statusCode, 200, 'reader lists incidents');
  problem(
    t,
    await node.app.inject({ method: 'POST', url: '/api/v1/incidents', headers: reader, payload: report }),
    403,
    'forbidden',
    'reader creates an incident',
  );
  t.equal(
    (await node.app.inject({ method: 'POST', url: '/api/v1/incidents', headers: handler, payload: report })).statusCode,
    201,
    'handler creates an incident',
  );
  t.equal(
    (await node.app.inject({ method: 'POST', url: '/api/v1/incidents', headers: admin, payload: report })).statusCode,
    201,
    'admin creates an incident',
  );

  const profile = (await node.app.inject({ method: 'GET', url: '/api/v1/profile', headers: reader })).json();
  const { teamId, referencePrefix, publicKey, fingerprint, publicUrl, updatedAt, ...editable } = profile;
  t.ok(teamId && referencePrefix && publicKey && fingerprint && publicUrl && updatedAt, 'reader reads the profile');
  problem(
    t,
    await node.app.inject({ method: 'PUT', url: '/api/v1/profile', headers: reader, payload: editable }),
    403,
    'forbidden',
    'reader replaces the profile',
  );
  problem(
    t,
    await node.app.inject({ method: 'PUT', url: '/api/v1/profile', headers: handler, payload: editable }),
    403,
    'forbidden',
    'handler replaces the profile',
  );
  const put = await node.app.inject({
    method: 'PUT',
    url: '/api/v1/profile',
    headers: admin,
    payload: { ...editable, mission: 'Changed by the admin.' },
  });
  t.equal(put.statusCode, 200, put.body.slice(0, 300));
  t.equal(put.json().mission, 'Changed by the admin.');

  problem(
    t,
    await node.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: handler,
      payload: { role: 'reader', subject: 'x' },
    }),
    403,
    'forbidden',
    'handler mints a token',
  );
  problem(
    t,
    await node.app.inject({ method: 'DELETE', url: `/api/v1/tokens/${randomUUID()}`, headers: handler }),
    403,
    'forbidden',
    'handler revokes a token',
  );
  const forbidden = problem(
    t,
    await node.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: reader,
      payload: { role: 'admin', subject: 'x' },
    }),
    403,
    'forbidden',
    'reader mints a token',
  );
  t.match(forbidden.detail, /admin/, 'says which role is needed');
});

t.test('POST /api/v1/tokens mints a working token; DELETE revokes it', async (t) => {
  const res = await node.app.inject({
    method: 'POST',
    url: '/api/v1/tokens',
    headers: node.auth.admin,
    payload: { role: 'handler', subject: 'bob', ttl: '2h' },
  });
  t.equal(res.statusCode, 201, res.body.slice(0, 300));
  const minted = res.json();
  t.match(minted, { role: 'handler', subject: 'bob' });
  t.match(minted.id, /^[0-9a-f-]{36}$/);
  const claims = JSON.parse(Buffer.from(minted.token.split('.')[1], 'base64url').toString());
  t.match(claims, { sub: 'bob', role: 'handler', jti: minted.id, aud: API_AUDIENCE, iss: 'alpha' }, 'claims');
  t.equal(claims.exp - claims.iat, 7200, 'ttl 2h');
  t.equal(new Date(minted.expiresAt).getTime(), claims.exp * 1000, 'expiresAt matches exp');

  const created = await node.app.inject({
    method: 'POST',
    url: '/api/v1/incidents',
    headers: bearer(minted.token),
    payload: report,
  });
  t.equal(created.statusCode, 201, 'the new token works');
  t.equal(created.json().createdBy, 'bob', 'and acts as its subject');

  const defaultTtl = (
    await node.app.inject({
      method: 'POST',
      url: '/api/v1/tokens',
      headers: node.auth.admin,
      payload: { role: 'reader', subject: 'carol' },
    })
  ).json();
  const dc = JSON.parse(Buffer.from(defaultTtl.token.split('.')[1], 'base64url').toString());
  t.equal(dc.exp - dc.iat, DEFAULT_TOKEN_TTL_SECONDS, 'default ttl');

  const revoke = await node.app.inject({
    method: 'DELETE',
    url: `/api/v1/tokens/${minted.id}`,
    headers: node.auth.admin,
  });
  t.equal(revoke.statusCode, 204);
  t.equal(revoke.body, '');
  problem(
    t,
    await node.app.inject({ method: 'POST', url: '/api/v1/incidents', headers: bearer(minted.token), payload: report }),
    401,
    'token-revoked',
    'a revoked token',
  );
  problem(t, await getIncidents(bearer(minted.token)), 401, 'token-revoked', 'a revoked token, reading');
  t.equal(
    (await node.app.inject({ method: 'DELETE', url: `/api/v1/tokens/${minted.id}`, headers: node.auth.admin })).statusCode,
    204,
    'revoking again is fine',
  );
  t.equal((await getIncidents(bearer(defaultTtl.token))).statusCode, 200, 'other tokens keep working');

  problem(
    t,
    await node.app.inject({ method: 'DELETE', url: '/api/v1/tokens/not-a-uuid', headers: node.auth.admin }),
    400,
    'validation-failed',
    'revoke a non-uuid',
  );
  for (const payload of [
    { role: 'root', subject: 'x' },
    { role: 'reader' },
    { role: 'reader', subject: '' },
    { role: 'reader', subject: 'x', ttl: '1w' },
    { role: 'reader', subject: 'x', ttl: '0' },
    { role: 'reader', subject: 'x', ttl: '367d' },
    { role: 'reader', subject: 'x', scope: 'all' },
  ]) {
    problem(
      t,
      await node.app.inject({ method: 'POST', url: '/api/v1/tokens', headers: node.auth.admin, payload }),
      400,
      'validation-failed',
      `mint ${JSON.stringify(payload)}`,
    );
  }
});

t.test('requests arriving together: only the revoked tokens among them are refused', async (t) => {
  const mint = async (subject: string) =>
    (
      await node.app.inject({
        method: 'POST',
        url: '/api/v1/tokens',
        headers: node.auth.admin,
        payload: { role: 'reader', subject },
      })
    ).json() as { id: string; token: string };
  const tokens = await Promise.all(['r1', 'r2', 'r3', 'r4'].map(mint));
  for (const revoked of [tokens[1]!, tokens[3]!]) {
    t.equal((await node.app.inject({ method: 'DELETE', url: `/api/v1/tokens/${revoked.id}`, headers: node.auth.admin })).statusCode, 204);
  }
  // The checks of requests that arrive together are one statement (group-read.ts): each
  // request still gets its own token's answer.
  const order = [0, 1, 2, 3, 1, 0, 3, 2, 0, 1];
  const answers = await Promise.all(order.map((i) => getIncidents(bearer(tokens[i]!.token))));
  answers.forEach((res, k) => {
    const revoked = order[k] === 1 || order[k] === 3;
    if (revoked) problem(t, res, 401, 'token-revoked', `token ${order[k]} (revoked), request ${k}`);
    else t.equal(res.statusCode, 200, `token ${order[k]} (live), request ${k}`);
  });
  // A revocation committed just before a request is seen by that request.
  t.equal((await node.app.inject({ method: 'DELETE', url: `/api/v1/tokens/${tokens[0]!.id}`, headers: node.auth.admin })).statusCode, 204);
  const after = await Promise.all([getIncidents(bearer(tokens[0]!.token)), getIncidents(bearer(tokens[2]!.token))]);
  problem(t, after[0]!, 401, 'token-revoked', 'revoked a moment before');
  t.equal(after[1]!.statusCode, 200, 'the live one beside it');
});

t.test('the Authorization header: the scheme in any case, exactly one token after it', async (t) => {
  const token = node.auth.reader.authorization.split(' ')[1]!;
  t.equal((await getIncidents({ authorization: `bearer ${token}` })).statusCode, 200, 'lower-case scheme');
  t.equal((await getIncidents({ authorization: `BEARER ${token}` })).statusCode, 200, 'upper-case scheme');
  problem(t, await getIncidents({ authorization: `Bearer ${token} extra` }), 401, 'unauthenticated', 'a second word');
  problem(t, await getIncidents({ authorization: `Bearer  ${token}` }), 401, 'unauthenticated', 'two spaces');
  problem(t, await getIncidents({ authorization: `Token ${token}` }), 401, 'unauthenticated', 'another scheme');
  problem(t, await getIncidents({ authorization: token }), 401, 'unauthenticated', 'no scheme');
});

t.test('parseDuration', async (t) => {
  const cases: Array<[string, number | null]> = [
    ['90d', 90 * 86400],
    ['12h', 12 * 3600],
    ['15m', 900],
    ['3600s', 3600],
    ['3600', 3600],
    ['1', 1],
    [' 30d ', 30 * 86400],
    ['366d', MAX_TOKEN_TTL_SECONDS],
    ['367d', null],
    [String(MAX_TOKEN_TTL_SECONDS + 1), null],
    ['0', null],
    ['0d', null],
    ['', null],
    ['d', null],
    ['-5m', null],
    ['1.5h', null],
    ['1w', null],
    ['5 m', null],
    ['12H', null],
    ['1h30m', null],
    ['99999999', null],
  ];
  for (const [text, expected] of cases) t.equal(parseDuration(text), expected, JSON.stringify(text));
});
