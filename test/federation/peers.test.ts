import { sql } from 'kysely';
import t from 'tap';
import { readPeerKey, verifyDocumentSignature } from '../../src/crypto/index.js';
import { verifySignedProfile } from '../../src/modules/peers/signed-profile.js';
import { loadFixtureKey, loadFixturePeerKey } from '../fixtures/keys/index.js';
import { buildTestNode, freePort, type TestNode } from '../helpers/build-test-app.js';

/**
 * Peers over real HTTP: alpha adds bravo (and cc) by URL, as a handler would. The nodes are
 * shared by the subtests, which run in order and build on each other's state.
 */

const alpha = await buildTestNode(t, { key: 'alpha', listen: true });
const bravo = await buildTestNode(t, { key: 'bravo', listen: true });
const cc = await buildTestNode(t, { key: 'cc', listen: true });
const BRAVO_FPR = loadFixtureKey('bravo').fingerprint;

async function auditKinds(node: TestNode, peer: string): Promise<string[]> {
  const rows = await node.database.db.selectFrom('audit_entry').select('kind').where('peer', '=', peer).orderBy('seq').execute();
  return rows.map((r) => r.kind);
}

function api(
  node: TestNode,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  role: 'reader' | 'handler' | 'admin' | null,
  payload?: unknown,
) {
  return node.app.inject({
    method,
    url: `/api/v1${url}`,
    headers: role ? node.auth[role] : {},
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
}

t.test('GET /federation/v1/profile serves a self-signed profile that verifies', async (t) => {
  const res = await fetch(`${bravo.url}/federation/v1/profile`);
  t.equal(res.status, 200);
  t.match(res.headers.get('content-type'), /^application\/json/);
  const envelope = (await res.json()) as { document: Record<string, any>; signature: string };
  t.same(Object.keys(envelope).sort(), ['document', 'signature']);
  const { document } = envelope;
  t.equal(document['v'], 1);
  t.equal(document['type'], 'profile');
  t.equal(document['from'], 'bravo');
  t.equal(document['profile'].teamId, 'bravo');
  t.equal(document['profile'].fingerprint, BRAVO_FPR);
  t.equal(document['profile'].publicUrl, bravo.url);
  t.same(document['profile'].federation, { requiresSealed: false, endpoint: `${bravo.url}/federation/v1` });
  // Against the fixture's public key, independently of the key the document carries.
  const verdict = await verifyDocumentSignature(envelope, await loadFixturePeerKey('bravo'));
  t.equal(verdict.ok, true);
  const checked = await verifySignedProfile(envelope, new Date());
  t.equal(checked.key.fingerprint, BRAVO_FPR);
  // Not signed by anyone else's key.
  t.same(await verifyDocumentSignature(envelope, await loadFixturePeerKey('alpha')), {
    ok: false,
    reason: 'wrong-key',
  });
});

t.test('requiresSealed is part of the team profile and of the signed profile', async (t) => {
  const profile = (await api(cc, 'GET', '/profile', 'reader')).json();
  const { teamId: _t, referencePrefix: _r, publicKey: _k, fingerprint: _f, publicUrl: _u, updatedAt: _d, ...editable } = profile;
  const bad = await api(cc, 'PUT', '/profile', 'admin', { ...editable, federation: { requiresSealed: 'yes' } });
  t.equal(bad.statusCode, 400);
  const unknown = await api(cc, 'PUT', '/profile', 'admin', { ...editable, federation: { sealed: true } });
  t.equal(unknown.statusCode, 400);
  t.equal(unknown.json().code, 'validation-failed');
  const put = await cc.app.inject({
    method: 'PUT',
    url: '/api/v1/profile',
    headers: cc.auth.admin,
    payload: { ...editable, federation: { requiresSealed: true } },
  });
  t.equal(put.statusCode, 200, put.body);
  t.same(put.json().federation, { requiresSealed: true });
  const handlerPut = await cc.app.inject({
    method: 'PUT',
    url: '/api/v1/profile',
    headers: cc.auth.handler,
    payload: editable,
  });
  t.equal(handlerPut.statusCode, 403);
  const served = (await (await fetch(`${cc.url}/federation/v1/profile`)).json()) as {
    document: { profile: { federation: unknown } };
  };
  t.same(served.document.profile.federation, { requiresSealed: true, endpoint: `${cc.url}/federation/v1` });
});

t.test('POST /api/v1/peers pins the key of the profile at the URL', async (t) => {
  const res = await api(alpha, 'POST', '/peers', 'admin', { url: `${bravo.url}/` });
  t.equal(res.statusCode, 201, res.body);
  const peer = res.json();
  t.equal(res.headers['location'], '/api/v1/peers/bravo');
  t.equal(peer.teamId, 'bravo');
  t.equal(peer.name, 'Team bravo');
  t.equal(peer.url, bravo.url, 'trailing slash dropped');
  t.equal(peer.fingerprint, BRAVO_FPR);
  t.equal((await readPeerKey(peer.publicKey)).fingerprint, BRAVO_FPR);
  t.equal(peer.relationship, 'peer');
  t.equal(peer.trustLevel, 'unknown');
  t.equal(peer.assurance, 'unverified');
  t.equal(peer.status, 'active');
  t.equal(peer.requiresSealed, false);
  t.equal(peer.verifiedAt, null);
  t.equal(peer.addedBy, 'admin-user');
  t.match(peer.confirm, /out of band/);
  t.match(peer.confirm, BRAVO_FPR.slice(0, 4) + ' ' + BRAVO_FPR.slice(4, 8));

  const read = await api(alpha, 'GET', '/peers/bravo', 'reader');
  t.equal(read.statusCode, 200);
  t.equal(read.json().fingerprint, BRAVO_FPR);
  t.notOk('confirm' in read.json());
  const list = await api(alpha, 'GET', '/peers', 'reader');
  t.same(
    list.json().items.map((p: { teamId: string }) => p.teamId),
    ['bravo'],
  );

  // The signed profile is kept exactly as received and still verifies.
  const stored = await api(alpha, 'GET', '/peers/bravo/profile', 'reader');
  t.equal(stored.statusCode, 200);
  t.equal(stored.body, await (await fetch(`${bravo.url}/federation/v1/profile`)).text());
  t.equal((await verifySignedProfile(JSON.parse(stored.body), new Date())).key.fingerprint, BRAVO_FPR);

  const keys = await api(alpha, 'GET', '/peers/bravo/keys', 'reader');
  t.same(
    keys.json().items.map((k: { fingerprint: string; how: string; retiredAt: null }) => [k.fingerprint, k.how, k.retiredAt]),
    [[BRAVO_FPR, 'added', null]],
  );
  t.same(await auditKinds(alpha, 'bravo'), ['peer.added']);
});

t.test('a peer whose profile asks for sealing is marked requiresSealed; the relationship can be given when adding', async (t) => {
  const res = await api(alpha, 'POST', '/peers', 'admin', {
    url: cc.url,
    relationship: 'coordinator',
    trustLevel: 'community',
  });
  t.equal(res.statusCode, 201, res.body);
  t.equal(res.json().requiresSealed, true);
  t.equal(res.json().profileRequiresSealed, true);
  t.equal(res.json().sealAlways, false);
  t.equal(res.json().relationship, 'coordinator');
  t.equal(res.json().trustLevel, 'community');
  const filtered = await api(alpha, 'GET', '/peers?relationship=coordinator', 'reader');
  t.same(
    filtered.json().items.map((p: { teamId: string }) => p.teamId),
    ['cc'],
  );
  const badFilter = await api(alpha, 'GET', '/peers?status=gone', 'reader');
  t.equal(badFilter.statusCode, 400);
});

t.test('adding the same team twice, or this node itself, is a conflict', async (t) => {
  const again = await api(alpha, 'POST', '/peers', 'admin', { url: bravo.url });
  t.equal(again.statusCode, 409);
  t.equal(again.json().code, 'conflict');
  const self = await api(alpha, 'POST', '/peers', 'admin', { url: alpha.url });
  t.equal(self.statusCode, 409);
  t.equal(self.json().code, 'conflict');
  t.match(self.json().detail, /own profile/);
  t.equal((await api(alpha, 'GET', '/peers/alpha', 'reader')).statusCode, 404);
});

t.test('bad URLs are 400; unreachable nodes are peer-unreachable', async (t) => {
  for (const url of ['ftp://127.0.0.1/', 'not a url', `http://user:pw@127.0.0.1:1`, `${bravo.url}/?x=1`, `${bravo.url}/#frag`]) {
    const res = await api(alpha, 'POST', '/peers', 'admin', { url });
    t.equal(res.statusCode, 400, url);
    t.equal(res.json().code, 'validation-failed', url);
  }
  const bodies = [{}, { url: bravo.url, extra: 1 }, { url: 42 }, { url: bravo.url, relationship: 'boss' }];
  for (const payload of bodies) {
    const res = await api(alpha, 'POST', '/peers', 'admin', payload);
    t.equal(res.statusCode, 400, JSON.stringify(payload));
  }
  const malformed = await alpha.app.inject({
    method: 'POST',
    url: '/api/v1/peers',
    headers: { ...alpha.auth.admin, 'content-type': 'application/json' },
    payload: '{"url":',
  });
  t.equal(malformed.json().code, 'malformed-json');

  const closedPort = await freePort();
  const down = await api(alpha, 'POST', '/peers', 'admin', { url: `http://127.0.0.1:${closedPort}` });
  t.equal(down.statusCode, 502);
  t.equal(down.json().code, 'peer-unreachable');
  // A node that answers, but not with a profile (404 at that path).
  const wrongPath = await api(alpha, 'POST', '/peers', 'admin', { url: `${bravo.url}/somewhere` });
  t.equal(wrongPath.statusCode, 502);
  t.equal(wrongPath.json().code, 'peer-unreachable');
  t.match(wrongPath.json().detail, /HTTP 404/);
});

t.test('only admins change peers; every route needs a token', async (t) => {
  const asReader = await api(alpha, 'POST', '/peers', 'reader', { url: bravo.url });
  t.equal(asReader.statusCode, 403);
  t.equal(asReader.json().code, 'forbidden');
  const asHandler = await api(alpha, 'POST', '/peers', 'handler', { url: bravo.url });
  t.equal(asHandler.statusCode, 403);
  const noToken = await api(alpha, 'POST', '/peers', null, { url: bravo.url });
  t.equal(noToken.statusCode, 401);
  t.equal(noToken.json().code, 'unauthenticated');
  t.equal((await api(alpha, 'GET', '/peers', null)).statusCode, 401);
  const forbidden: Array<[Parameters<typeof api>[1], string, unknown]> = [
    ['PATCH', '/peers/bravo', { trustLevel: 'close' }],
    ['POST', '/peers/bravo/verify', { fingerprint: BRAVO_FPR }],
    ['POST', '/peers/bravo/suspend', undefined],
    ['POST', '/peers/bravo/resume', undefined],
    ['POST', '/peers/bravo/refresh', undefined],
    ['DELETE', '/peers/bravo', undefined],
  ];
  for (const [method, url, payload] of forbidden) {
    const res = await api(alpha, method, url, 'handler', payload);
    t.equal(res.statusCode, 403, `${method} ${url}`);
  }
  t.equal((await api(alpha, 'GET', '/peers/bravo', 'reader')).json().trustLevel, 'unknown', 'nothing changed');
});

t.test('verify: a wrong fingerprint is refused, the right one records the confirmation', async (t) => {
  const wrong = await api(alpha, 'POST', '/peers/bravo/verify', 'admin', {
    fingerprint: loadFixtureKey('mallory').fingerprint,
  });
  t.equal(wrong.statusCode, 409);
  t.equal(wrong.json().code, 'fingerprint-mismatch');
  t.equal((await api(alpha, 'GET', '/peers/bravo', 'reader')).json().assurance, 'unverified');

  for (const fingerprint of ['XYZ', BRAVO_FPR.slice(0, 39), `${BRAVO_FPR}00`]) {
    const bad = await api(alpha, 'POST', '/peers/bravo/verify', 'admin', { fingerprint });
    t.equal(bad.statusCode, 400, fingerprint);
    t.equal(bad.json().code, 'validation-failed');
  }
  const unknownPeer = await api(alpha, 'POST', '/peers/nobody/verify', 'admin', { fingerprint: BRAVO_FPR });
  t.equal(unknownPeer.statusCode, 404);
  const badTeam = await api(alpha, 'POST', '/peers/NOT_A_TEAM/verify', 'admin', { fingerprint: BRAVO_FPR });
  t.equal(badTeam.statusCode, 400);

  // As read aloud: groups of four, lower case.
  const spoken = BRAVO_FPR.toLowerCase()
    .replace(/(.{4})/g, '$1 ')
    .trim();
  const ok = await api(alpha, 'POST', '/peers/bravo/verify', 'admin', { fingerprint: spoken });
  t.equal(ok.statusCode, 200, ok.body);
  t.equal(ok.json().assurance, 'verified');
  t.equal(ok.json().verifiedBy, 'admin-user');
  t.type(ok.json().verifiedAt, 'string');
  t.same(await auditKinds(alpha, 'bravo'), ['peer.added', 'peer.verified']);
});

t.test('PATCH changes relationship, trust level, sealing; bad input is 400', async (t) => {
  const cases: unknown[] = [
    { relationship: 'boss' },
    { trustLevel: 'total' },
    {},
    { name: 'x' },
    { sealAlways: 'yes' },
    { url: 'mailto:x@y' },
  ];
  for (const payload of cases) {
    const res = await api(alpha, 'PATCH', '/peers/bravo', 'admin', payload);
    t.equal(res.statusCode, 400, JSON.stringify(payload));
    t.equal(res.json().code, 'validation-failed');
  }
  const res = await api(alpha, 'PATCH', '/peers/bravo', 'admin', {
    relationship: 'member',
    trustLevel: 'partner',
    sealAlways: true,
  });
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.json().relationship, 'member');
  t.equal(res.json().trustLevel, 'partner');
  t.equal(res.json().sealAlways, true);
  t.equal(res.json().requiresSealed, true, 'sealAlways makes the exchange seal');
  t.equal(res.json().assurance, 'verified', 'unchanged');
  const merge = await alpha.app.inject({
    method: 'PATCH',
    url: '/api/v1/peers/bravo',
    headers: { ...alpha.auth.admin, 'content-type': 'application/merge-patch+json' },
    payload: JSON.stringify({ sealAlways: false }),
  });
  t.equal(merge.statusCode, 200, merge.body);
  t.equal(merge.json().requiresSealed, false);
  // The same values again change nothing and record nothing.
  const kindsBefore = await auditKinds(alpha, 'bravo');
  t.equal((await api(alpha, 'PATCH', '/peers/bravo', 'admin', { trustLevel: 'partner' })).statusCode, 200);
  t.same(await auditKinds(alpha, 'bravo'), kindsBefore);
  t.same(kindsBefore.slice(-2), ['peer.updated', 'peer.updated']);
  t.equal((await api(alpha, 'PATCH', '/peers/nobody', 'admin', { trustLevel: 'partner' })).statusCode, 404);
});

t.test('PATCH url: the new URL must serve the same team with the pinned key', async (t) => {
  const elsewhere = await api(alpha, 'PATCH', '/peers/bravo', 'admin', { url: cc.url });
  t.equal(elsewhere.statusCode, 422);
  t.equal(elsewhere.json().code, 'peer-profile-invalid');
  const closedPort = await freePort();
  const down = await api(alpha, 'PATCH', '/peers/bravo', 'admin', { url: `http://127.0.0.1:${closedPort}` });
  t.equal(down.json().code, 'peer-unreachable');
  // The same node under another spelling of its address (localhost) is accepted.
  const sameNode = bravo.url.replace('127.0.0.1', 'localhost');
  const moved = await api(alpha, 'PATCH', '/peers/bravo', 'admin', { url: sameNode });
  if (moved.statusCode === 502) {
    // localhost may resolve to ::1 only on some machines; the rule under test needs a reachable alias.
    t.comment('localhost does not reach the loopback node here; skipping the positive case');
  } else {
    t.equal(moved.statusCode, 200, moved.body);
    t.equal(moved.json().url, sameNode);
    t.equal((await api(alpha, 'PATCH', '/peers/bravo', 'admin', { url: bravo.url })).json().url, bravo.url);
  }
  t.equal((await api(alpha, 'GET', '/peers/bravo', 'reader')).json().url, bravo.url);
});

t.test('refresh picks up profile changes (sealing) from the same key', async (t) => {
  const profile = (await api(bravo, 'GET', '/profile', 'reader')).json();
  const { teamId: _t, referencePrefix: _r, publicKey: _k, fingerprint: _f, publicUrl: _u, updatedAt: _d, ...editable } = profile;
  const put = await bravo.app.inject({
    method: 'PUT',
    url: '/api/v1/profile',
    headers: bravo.auth.admin,
    payload: { ...editable, name: 'Bravo CSIRT', federation: { requiresSealed: true } },
  });
  t.equal(put.statusCode, 200, put.body);
  const res = await api(alpha, 'POST', '/peers/bravo/refresh', 'admin');
  t.equal(res.statusCode, 200, res.body);
  t.equal(res.json().name, 'Bravo CSIRT');
  t.equal(res.json().profileRequiresSealed, true);
  t.equal(res.json().requiresSealed, true);
  t.equal(res.json().status, 'active');
  t.equal(res.json().fingerprint, BRAVO_FPR);
  t.notOk(res.json().confirm);
  t.equal((await auditKinds(alpha, 'bravo')).at(-1), 'peer.profile-refreshed');
});

t.test('suspend and resume', async (t) => {
  const suspended = await api(alpha, 'POST', '/peers/bravo/suspend', 'admin');
  t.equal(suspended.statusCode, 200, suspended.body);
  t.equal(suspended.json().status, 'suspended');
  t.equal((await api(alpha, 'POST', '/peers/bravo/suspend', 'admin')).json().status, 'suspended', 'idempotent');
  t.equal((await api(alpha, 'GET', '/peers?status=suspended', 'reader')).json().items.length, 1);
  const resumed = await api(alpha, 'POST', '/peers/bravo/resume', 'admin');
  t.equal(resumed.statusCode, 200);
  t.equal(resumed.json().status, 'active');
  t.equal((await api(alpha, 'POST', '/peers/bravo/resume', 'admin')).json().status, 'active', 'idempotent');
  t.equal((await api(alpha, 'POST', '/peers/nobody/suspend', 'admin')).statusCode, 404);
  const kinds = await auditKinds(alpha, 'bravo');
  t.same(
    kinds.filter((k) => k === 'peer.suspended' || k === 'peer.resumed'),
    ['peer.suspended', 'peer.resumed'],
  );
});

t.test('delete refuses while other records refer to the peer', async (t) => {
  // Stands in for the exchange's shares and deliveries, which reference peer ON DELETE RESTRICT.
  const db = alpha.database.db;
  await sql`CREATE TABLE test_peer_ref (peer_team text NOT NULL REFERENCES peer (team_id) ON DELETE RESTRICT)`.execute(db);
  await sql`INSERT INTO test_peer_ref VALUES ('bravo')`.execute(db);
  const res = await api(alpha, 'DELETE', '/peers/bravo', 'admin');
  t.equal(res.statusCode, 409);
  t.equal(res.json().code, 'conflict');
  t.match(res.json().detail, /suspend it instead/);
  t.equal((await api(alpha, 'GET', '/peers/bravo', 'reader')).statusCode, 200);
  t.notOk((await auditKinds(alpha, 'bravo')).includes('peer.removed'));
  await sql`DROP TABLE test_peer_ref`.execute(db);
});

t.test('delete removes the peer and its keys; the audit keeps the record', async (t) => {
  const res = await api(alpha, 'DELETE', '/peers/bravo', 'admin');
  t.equal(res.statusCode, 204);
  t.equal(res.body, '');
  t.equal((await api(alpha, 'GET', '/peers/bravo', 'reader')).statusCode, 404);
  t.equal((await api(alpha, 'GET', '/peers/bravo/keys', 'reader')).statusCode, 404);
  t.equal((await api(alpha, 'DELETE', '/peers/bravo', 'admin')).statusCode, 404);
  t.equal((await auditKinds(alpha, 'bravo')).at(-1), 'peer.removed');
  const keys = await alpha.database.db.selectFrom('peer_key').select('fingerprint').where('team_id', '=', 'bravo').execute();
  t.same(keys, []);
  // And it can be added again.
  t.equal((await api(alpha, 'POST', '/peers', 'admin', { url: bravo.url })).statusCode, 201);
});

t.test('the OpenAPI document describes the peer routes', async (t) => {
  const doc = (await alpha.app.inject({ method: 'GET', url: '/openapi.json' })).json();
  for (const path of ['/api/v1/peers', '/api/v1/peers/{teamId}', '/api/v1/peers/{teamId}/verify', '/federation/v1/profile']) {
    t.ok(doc.paths[path], path);
  }
  t.ok(doc.paths['/api/v1/peers'].post.requestBody);
  t.ok(doc.paths['/federation/v1/profile'].get.responses['200']);
});
