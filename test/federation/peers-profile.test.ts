import { createServer } from 'node:http';
import t from 'tap';
import { signDocument } from '../../src/crypto/index.js';
import { loadFixtureKey, loadFixtureSigner } from '../fixtures/keys/index.js';
import { buildTestNode } from '../helpers/build-test-app.js';

/**
 * Hostile profiles: alpha's outgoing HTTP goes through a fetch that can rewrite what bravo's
 * node serves, the way a machine in the middle (or a lying node) would. Every variant must be
 * refused with a stable problem code and nothing pinned.
 */

type Rewrite = (body: string) => Promise<Response>;
let rewrite: Rewrite | null = null;

const tamperingFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
  if (!rewrite || !url.endsWith('/federation/v1/profile')) return response;
  return rewrite(await response.text());
};

const bravo = await buildTestNode(t, { key: 'bravo', listen: true });
const alpha = await buildTestNode(t, { key: 'alpha', listen: true, fetch: tamperingFetch });
const mallory = loadFixtureKey('mallory');
const json = (value: unknown, status = 200) =>
  new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } });

/** Bravo's real profile, re-issued under mallory's key after `edit`: a valid self-signature over whatever mallory likes. */
async function malloryProfile(body: string, edit: (doc: any) => void = () => {}): Promise<Response> {
  const { document } = JSON.parse(body);
  document.from = 'mallory';
  document.profile.teamId = 'mallory';
  document.profile.name = 'Team mallory';
  document.profile.publicKey = mallory.armoredPublicKey;
  document.profile.fingerprint = mallory.fingerprint;
  edit(document);
  return json(await signDocument(document, await loadFixtureSigner('mallory')));
}

async function addBravo(): Promise<{ statusCode: number; code: string; detail: string }> {
  const res = await alpha.app.inject({
    method: 'POST',
    url: '/api/v1/peers',
    headers: alpha.auth.admin,
    payload: { url: bravo.url },
  });
  const body = res.json();
  return { statusCode: res.statusCode, code: body.code, detail: body.detail };
}

const refusals: Array<[string, Rewrite, number, string, RegExp]> = [
  [
    'a field changed after signing',
    async (body) => {
      const envelope = JSON.parse(body);
      envelope.document.profile.name = 'Totally bravo';
      return json(envelope);
    },
    422,
    'peer-profile-invalid',
    /does not verify/,
  ],
  [
    'the signed text with one key swapped for another',
    async (body) => {
      const envelope = JSON.parse(body);
      envelope.document.profile.publicKey = mallory.armoredPublicKey;
      return json(envelope);
    },
    422,
    'peer-profile-invalid',
    /not signed by the key it carries/,
  ],
  [
    "a self-signed profile naming bravo's fingerprint for mallory's key",
    (body) => malloryProfile(body, (doc) => (doc.profile.fingerprint = loadFixtureKey('bravo').fingerprint)),
    422,
    'peer-profile-invalid',
    /names fingerprint/,
  ],
  [
    'a validly signed profile with an unknown field',
    (body) => malloryProfile(body, (doc) => (doc.profile.extra = true)),
    422,
    'peer-profile-invalid',
    /schema/,
  ],
  [
    'a validly signed profile of another version',
    (body) => malloryProfile(body, (doc) => (doc.v = 2)),
    422,
    'peer-profile-invalid',
    /schema/,
  ],
  [
    'a document from one team describing another',
    (body) => malloryProfile(body, (doc) => (doc.from = 'bravo')),
    422,
    'peer-profile-invalid',
    /describes team/,
  ],
  [
    'a profile created in the future',
    (body) => malloryProfile(body, (doc) => (doc.created = new Date(Date.now() + 86_400_000).toISOString())),
    422,
    'peer-profile-invalid',
    /future/,
  ],
  [
    'a key that is not a key',
    (body) => malloryProfile(body, (doc) => (doc.profile.publicKey = 'hello')),
    422,
    'peer-profile-invalid',
    /not usable/,
  ],
  [
    'an envelope with an extra member',
    async (body) => json({ ...JSON.parse(body), note: 'trust me' }),
    422,
    'peer-profile-invalid',
    /malformed/,
  ],
  ['a document without signature', async (body) => json({ document: JSON.parse(body).document }), 422, 'peer-profile-invalid', /malformed/],
  ['an array', async () => json([1, 2, 3]), 422, 'peer-profile-invalid', /signed document/],
  ['not JSON', async () => new Response('<html>hello</html>', { status: 200 }), 422, 'peer-profile-invalid', /not JSON/],
  ['not UTF-8', async () => new Response(new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), { status: 200 }), 422, 'peer-profile-invalid', /UTF-8/],
  ['more than a megabyte', async () => new Response('x'.repeat(1024 * 1024 + 1), { status: 200 }), 422, 'peer-profile-invalid', /larger/],
  ['an error status', async () => json({ code: 'internal-error' }, 500), 502, 'peer-unreachable', /HTTP 500/],
];

for (const [name, fn, status, code, detail] of refusals) {
  t.test(`refused: ${name}`, async (t) => {
    rewrite = fn;
    const res = await addBravo();
    t.equal(res.statusCode, status, res.detail);
    t.equal(res.code, code);
    t.match(res.detail, detail);
    const peers = await alpha.app.inject({ method: 'GET', url: '/api/v1/peers', headers: alpha.auth.reader });
    t.same(peers.json().items, [], 'nothing pinned');
    // Keep one failure from cascading into the next case.
    for (const peer of peers.json().items) {
      await alpha.app.inject({ method: 'DELETE', url: `/api/v1/peers/${peer.teamId}`, headers: alpha.auth.admin });
    }
  });
}

t.test('a redirect is not followed', async (t) => {
  const redirector = createServer((_req, res) => {
    res.writeHead(302, { location: `${bravo.url}/federation/v1/profile` }).end();
  });
  await new Promise<void>((resolve) => redirector.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => redirector.close(() => resolve())));
  const address = redirector.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  rewrite = null;
  const res = await alpha.app.inject({
    method: 'POST',
    url: '/api/v1/peers',
    headers: alpha.auth.admin,
    payload: { url: `http://127.0.0.1:${port}` },
  });
  t.equal(res.statusCode, 502);
  t.equal(res.json().code, 'peer-unreachable');
});

t.test('control: the same path with an honest (if unexpected) profile is accepted', async (t) => {
  // Mallory's own profile, correctly self-signed, served at bravo's address: the signature
  // proves only key possession, so the node pins it as mallory, unverified, and the human
  // check of the fingerprint is what catches the swap.
  rewrite = (body) => malloryProfile(body);
  const fake = await addBravo();
  t.equal(fake.statusCode, 201);
  const peer = (await alpha.app.inject({ method: 'GET', url: '/api/v1/peers/mallory', headers: alpha.auth.reader })).json();
  t.equal(peer.fingerprint, mallory.fingerprint);
  t.equal(peer.assurance, 'unverified');
  const refused = await alpha.app.inject({
    method: 'POST',
    url: '/api/v1/peers/mallory/verify',
    headers: alpha.auth.admin,
    payload: { fingerprint: loadFixtureKey('bravo').fingerprint },
  });
  t.equal(refused.json().code, 'fingerprint-mismatch');

  rewrite = null;
  const real = await addBravo();
  t.equal(real.statusCode, 201);
});
