import { createSigner } from 'fast-jwt';
import t from 'tap';
import { loadFixturePeerKey } from '../fixtures/keys/index.js';
import { openSealed, verifyDocumentSignature } from '../../src/crypto/index.js';
import { loadFixtureSigner } from '../fixtures/keys/index.js';
import { buildTestNode } from '../helpers/build-test-app.js';
import {
  api,
  auditKinds,
  createIncident,
  enc,
  fastDelivery,
  messageDocument,
  peerBoth,
  sign,
  trustPeer,
  waitFor,
} from '../helpers/federation-harness.js';

/**
 * Pulls: bravo proves who it is with a signed auth.token-request and pages through what alpha's
 * sharing policy lets it see (alpha trusts bravo as a verified partner). Peer tokens and API
 * tokens never cross over. test/federation/policy-feed.test.ts covers the policy side.
 */
fastDelivery();
const alpha = await buildTestNode(t, { key: 'alpha', listen: true });
const bravo = await buildTestNode(t, { key: 'bravo', listen: true });
await peerBoth(alpha, bravo);
await trustPeer(alpha, bravo);

async function tokenRequest(overrides: Record<string, unknown> = {}, key: 'bravo' | 'mallory' | 'alpha-2' = 'bravo', from = 'bravo') {
  return sign(messageDocument(from, 'alpha', 'auth.token-request', {}, { tlp: 'CLEAR', ...overrides }), key);
}

async function postToken(body: unknown, contentType = 'application/json') {
  const res = await fetch(`${alpha.url}/federation/v1/token`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as any };
}

async function feed(token: string | null, query = '') {
  const res = await fetch(`${alpha.url}/federation/v1/feed${query}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: res.status, json: (await res.json()) as any };
}

let token: string;

t.test('a fresh signed token request gets a short-lived peer token; replays and stale requests do not', async (t) => {
  const request = await tokenRequest();
  const res = await postToken(request);
  t.equal(res.status, 200, JSON.stringify(res.json));
  t.match(res.json, { tokenType: 'Bearer', token: /^ey/ });
  const ttl = Date.parse(res.json.expiresAt) - Date.now();
  t.ok(ttl > 0 && ttl <= 10 * 60 * 1000, 'at most 10 minutes');
  token = res.json.token;

  const replay = await postToken(request);
  t.equal(replay.status, 409);
  t.equal(replay.json.code, 'replayed');

  const stale = await postToken(await tokenRequest({ created: new Date(Date.now() - 10 * 60 * 1000).toISOString() }));
  t.equal(stale.status, 400);
  t.equal(stale.json.code, 'stale-or-future');
  const future = await postToken(await tokenRequest({ created: new Date(Date.now() + 10 * 60 * 1000).toISOString() }));
  t.equal(future.json.code, 'stale-or-future');

  const stranger = await postToken(await tokenRequest({}, 'mallory', 'mallory'));
  t.equal(stranger.status, 403);
  t.equal(stranger.json.code, 'unknown-sender');
  const forged = await postToken(await tokenRequest({}, 'mallory'));
  t.equal(forged.status, 409, 'a token request signed by another key is refused');
  t.equal(forged.json.code, 'key-changed');
  const peerAfterForgery = (await api(alpha, 'GET', '/peers/bravo', 'reader')).json();
  t.equal(peerAfterForgery.status, 'active', 'token requests never flag the peer');

  const tampered = structuredClone(await tokenRequest()) as any;
  tampered.document.to = 'cc';
  t.equal((await postToken(tampered)).json.code, 'signature-invalid');
  t.equal((await postToken(await tokenRequest({ to: 'cc' }))).json.code, 'wrong-recipient');
  t.equal((await postToken(await sign(messageDocument('bravo', 'alpha', 'incident.report', {}), 'bravo'))).json.code, 'validation-failed');
  t.equal((await postToken(await tokenRequest({}, 'bravo'), 'text/plain')).status, 415);
  t.equal((await postToken('{nope')).json.code, 'malformed-json');
  t.equal((await postToken({ sealed: 'x' })).json.code, 'envelope-invalid');
  t.ok((await auditKinds(alpha, { kind: 'peer-token' })).some((e) => e.decision === 'allow'));
});

t.test('the feed: signed pages of what the policy lets bravo see, in order of changes, with an opaque cursor', async (t) => {
  const empty = await feed(token);
  t.equal(empty.status, 200);
  const alphaKey = await loadFixturePeerKey('alpha');
  t.match(empty.json, {
    document: { type: 'feed.page', from: 'alpha', to: 'bravo', tlp: 'CLEAR', body: { items: [], hasMore: false } },
  });
  t.match(await verifyDocumentSignature(empty.json, alphaKey), { ok: true }, 'a page is signed by alpha');
  const start = empty.json.document.body.nextCursor;
  t.type(start, 'string');

  const first = await createIncident(alpha, { title: 'first' });
  const second = await createIncident(alpha, { title: 'second' });
  const red = await createIncident(alpha, { title: 'third', tlp: 'RED' });
  const green = await createIncident(alpha, { title: 'fourth', tlp: 'GREEN' });
  const unshared = await createIncident(alpha, { title: 'fifth' });
  t.equal(
    (
      await api(alpha, 'PUT', `/incidents/${enc(red.ref)}/policy`, 'handler', {
        redRecipients: ['bravo'],
        sectionMinimums: {},
      })
    ).statusCode,
    200,
  );
  for (const i of [first, second, red])
    t.equal((await api(alpha, 'POST', `/incidents/${enc(i.ref)}/shares`, 'handler', { peer: 'bravo' })).statusCode, 202);
  t.equal((await api(alpha, 'POST', `/incidents/${enc(first.ref)}/journal`, 'handler', { note: 'later' })).statusCode, 201);

  // Order of latest changes: fourth (created), fifth (created), second (shared), third (shared),
  // first (noted). fifth is AMBER without a need to know for bravo; third is RED: never in a feed.
  // (On a server a change shows once every older write transaction has finished: wait for it.)
  await waitFor('every change visible', async () => {
    const all = await feed(token, `?cursor=${enc(start)}&limit=500`);
    return all.json.document.body.items.map((i: any) => i.report.incident.title).join() === 'fourth,second,first';
  });
  const page1 = await feed(token, `?cursor=${enc(start)}&limit=2`);
  t.equal(page1.status, 200);
  t.match(await verifyDocumentSignature(page1.json, alphaKey), { ok: true });
  const body1 = page1.json.document.body;
  t.same(
    body1.items.map((i: any) => i.report.incident.title),
    ['fourth', 'second'],
  );
  t.equal(body1.hasMore, true);
  t.equal(page1.json.document.tlp, 'AMBER', 'the page carries the strictest label of its items');
  t.match(body1.items[0], {
    detail: 'full',
    tlp: 'GREEN',
    version: 1,
    report: { ref: green.ref, phase: 'triage', provenance: [{ team: 'alpha', tlp: 'GREEN' }] },
  });
  const page2 = await feed(token, `?cursor=${enc(body1.nextCursor)}&limit=2`);
  const body2 = page2.json.document.body;
  t.same(
    body2.items.map((i: any) => i.report.incident.title),
    ['first'],
    'the note moved first to the end; the AMBER one nobody chose and the RED one are not served',
  );
  t.equal(body2.hasMore, false);
  t.notOk(JSON.stringify(page2.json).includes(unshared.ref) || JSON.stringify(page1.json).includes(red.ref));
  const end = await feed(token, `?cursor=${enc(body2.nextCursor)}`);
  t.same(end.json.document.body.items, []);
  t.equal(end.json.document.body.nextCursor, body2.nextCursor, 'an empty page keeps the position');

  // An AMBER+STRICT item makes the page travel sealed, as a push would.
  const strict = await createIncident(alpha, { title: 'sixth', tlp: 'AMBER+STRICT' });
  t.equal((await api(alpha, 'POST', `/incidents/${enc(strict.ref)}/shares`, 'handler', { peer: 'bravo' })).statusCode, 202);
  const sealedPage = await waitFor('the strict one visible', async () => {
    const page = await feed(token, `?cursor=${enc(body2.nextCursor)}`);
    return page.json.sealed || page.json.document.body.items.length > 0 ? page : null;
  });
  t.equal(sealedPage.status, 200);
  t.notOk(sealedPage.json.document, 'served sealed');
  const opened = JSON.parse(await openSealed(sealedPage.json.sealed, await loadFixtureSigner('bravo')));
  t.match(await verifyDocumentSignature(opened, alphaKey), { ok: true });
  t.same(
    opened.document.body.items.map((i: any) => [i.report.incident.title, i.tlp]),
    [['sixth', 'AMBER+STRICT']],
  );

  t.equal((await feed(token, '?cursor=!!!')).status, 400);
  t.equal(
    (await feed(token, `?cursor=${enc(Buffer.from('{"f":3}').toString('base64url'))}`)).status,
    400,
    'a cursor of the old per-peer feed',
  );
  t.equal((await feed(token, '?limit=0')).status, 400);
  t.equal((await feed(token, '?other=1')).status, 400);
});

t.test('peer tokens and API tokens never cross over', async (t) => {
  const none = await feed(null);
  t.equal(none.status, 401);
  t.equal(none.json.code, 'unauthenticated');
  const apiToken = alpha.auth.admin.authorization.slice('Bearer '.length);
  const withApiToken = await feed(apiToken);
  t.equal(withApiToken.status, 401, 'an API token does not open the feed');
  const onApi = await api(alpha, 'GET', '/incidents', null);
  t.equal(onApi.statusCode, 401);
  const peerOnApi = await alpha.app.inject({
    method: 'GET',
    url: '/api/v1/incidents',
    headers: { authorization: `Bearer ${token}` },
  });
  t.equal(peerOnApi.statusCode, 401, 'a peer token does not open /api/v1');
  // A token of another node (its own secret) is not a token of this one.
  const bravoToken = await fetch(`${bravo.url}/federation/v1/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(await sign(messageDocument('alpha', 'bravo', 'auth.token-request', {}, { tlp: 'CLEAR' }), 'alpha')),
  });
  t.equal(bravoToken.status, 200);
  t.equal((await feed(((await bravoToken.json()) as any).token)).status, 401);

  // Signed with alpha's own secret, but not what alpha issues: each claim the check requires.
  const forged = (claims: Record<string, unknown>) =>
    createSigner({ key: alpha.tokenSecret, algorithm: 'HS256', clockTimestamp: Date.now() })({
      kind: 'peer',
      iss: 'alpha',
      sub: 'bravo',
      ...claims,
    });
  const inAnHour = Math.floor(Date.now() / 1000) + 3600;
  t.equal(
    (await feed(forged({ aud: 'hikeshi:federation', exp: inAnHour }))).status,
    200,
    'the forms below differ from this one only as said',
  );
  t.equal((await feed(forged({ exp: inAnHour }))).status, 401, 'no audience');
  t.equal((await feed(forged({ aud: 'hikeshi:federation' }))).status, 401, 'no expiry');
  t.equal((await feed(forged({ aud: 'hikeshi:federation', exp: Math.floor(Date.now() / 1000) - 60 }))).status, 401, 'expired');
  t.equal((await feed(forged({ aud: 'hikeshi:api', exp: inAnHour }))).status, 401, 'the API audience');
  const headerForm = async (authorization: string) =>
    (await fetch(`${alpha.url}/federation/v1/feed`, { headers: { authorization } })).status;
  t.equal(await headerForm(`bearer ${token}`), 200, 'the scheme in any case');
  t.equal(await headerForm(`Bearer ${token} ${token}`), 401, 'two tokens');
  t.equal(await headerForm(`Basic ${token}`), 401, 'another scheme');

  t.equal((await api(alpha, 'POST', '/peers/bravo/suspend', 'admin')).statusCode, 200);
  const suspended = await feed(token);
  t.equal(suspended.status, 403);
  t.equal(suspended.json.code, 'peer-suspended');
  t.equal((await postToken(await tokenRequest())).json.code, 'peer-suspended');
});
