import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { buildNode } from '../../scripts/build-node.js';
import { mintApiToken } from '../../src/modules/tokens/token-codec.js';
import { projectRoot } from '../../src/project-root.js';
import { loadFixtureSigner } from '../fixtures/keys/index.js';
import { buildTestNode, freePort, type TestNode } from '../helpers/build-test-app.js';
import { assertMarkers, markedIncident } from '../helpers/marker-scan.js';
import { alphaProcessStorage, startNodeProcess } from '../helpers/node-process.js';
import { peerToken, pullAll } from '../helpers/policy-nodes.js';

/**
 * The node as `npm start` runs it: one bundle (scripts/build-node.ts, ADR 0031), not the sources
 * the rest of the suite runs through tsx. Built afresh from the sources, the bundled node starts,
 * serves its API, and hands a large feed page to a disclosure thread (HIKESHI_DISCLOSURE_THREADS),
 * which loads its renderers from the bundle's own files: the pull feed's and TAXII's pages come out
 * whole, signed and redacted. Its CLI prints the OpenAPI document in full.
 */
t.setTimeout(300_000);

const outDir = path.join(projectRoot(), 'dist', `bundle-test-${randomBytes(4).toString('hex')}`);
t.teardown(() => rm(outDir, { recursive: true, force: true }));
const built = await buildNode(outDir);

t.test('the bundle: the CLI and every module a thread loads by URL, each a file of its own', async (t) => {
  t.same([...built.entries].sort(), ['disclosure.worker.js', 'feed-item.renderer.js', 'run.js', 'taxii-object.renderer.js']);
  const openapi = spawnSync(process.execPath, [path.join(outDir, 'run.js'), 'openapi'], { encoding: 'utf8', maxBuffer: 64 << 20 });
  t.equal(openapi.status, 0, openapi.stderr);
  const document = JSON.parse(openapi.stdout) as { openapi: string; paths: Record<string, unknown> };
  t.match(document.openapi, /^3\.1\./);
  t.ok(Object.keys(document.paths).length > 100, 'every route');
});

t.test('the bundled node serves; a page decided in a disclosure thread is whole, signed and redacted', async (t) => {
  const tokenSecret = randomBytes(32).toString('hex');
  // On the server engine the node runs in a schema of its own, migrated as the suite's are.
  const { dataDir, schema } = await alphaProcessStorage(t, 'hikeshi-bundle-');

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = await startNodeProcess({
    name: 'alpha (bundled)',
    dataDir,
    port,
    publicUrl: url,
    tokenSecret,
    schema,
    script: path.join(outDir, 'run.js'),
    env: { HIKESHI_DISCLOSURE_THREADS: '1' },
  });
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  const admin = { authorization: `Bearer ${mintApiToken(tokenSecret, { role: 'admin', subject: 'bundle-test', issuer: 'alpha' }).token}` };
  const alphaApi = async (method: string, route: string, payload?: unknown) => {
    const res = await fetch(`${url}/api/v1${route}`, {
      method,
      headers: { ...admin, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
      ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
    });
    return { status: res.status, json: (await res.json()) as any };
  };

  const bravo = await buildTestNode(t, { key: 'bravo', listen: true });
  const bravoKey = await loadFixtureSigner('bravo');
  t.equal((await alphaApi('POST', '/peers', { url: bravo.url })).status, 201);
  t.equal((await alphaApi('PATCH', '/peers/bravo', { trustLevel: 'community' })).status, 200);
  t.equal((await alphaApi('POST', '/peers/bravo/verify', { fingerprint: bravoKey.fingerprint })).status, 200);

  // A page over twice the smallest part a thread takes (32), so the thread decides some of it.
  const created: Array<{ ref: string; markers: ReturnType<typeof markedIncident>['markers'] }> = [];
  for (let i = 0; i < 80; i++) {
    const marked = markedIncident(i % 8 === 7 ? 'RED' : 'GREEN');
    const res = await alphaApi('POST', '/incidents', marked.incident);
    t.equal(res.status, 201);
    created.push({ ref: res.json.ref as string, markers: marked.markers });
  }
  const alpha = { url, config: { teamId: 'alpha' }, signer: await loadFixtureSigner('alpha') } as unknown as TestNode;
  const token = await peerToken(bravo, alpha);

  const feed = await pullAll(bravo, alpha, token, { limit: 100 });
  t.equal(feed.pages, 1, 'one page of 80');
  const served = feed.items.map((i) => i.report?.ref ?? i.summary?.ref);
  const red = created.filter((_, i) => i % 8 === 7).map((c) => c.ref);
  t.same(
    [...served].sort(),
    created
      .map((c) => c.ref)
      .filter((ref) => !red.includes(ref))
      .sort(),
    'every GREEN incident, no RED one',
  );
  const feedText = JSON.stringify(feed.items).toLowerCase();
  for (const c of created.slice(0, 7))
    assertMarkers(t, feedText, c.markers, ['victims', 'internalHosts', 'reporter', 'evidence'], 'feed items');

  const taxii = await fetch(`${url}/taxii2/api/collections/967bb541-c7cb-4001-aeab-19ff33a1c309/objects/?limit=5000`, {
    headers: { accept: 'application/taxii+json;version=2.1', authorization: `Bearer ${token}` },
  });
  t.equal(taxii.status, 200);
  const text = await taxii.text();
  const objects = (JSON.parse(text) as { objects: Array<{ type: string }> }).objects;
  t.equal(objects.filter((o) => o.type === 'incident').length, served.length, 'one STIX incident per item the feed served');
  for (const c of created.slice(0, 7))
    assertMarkers(t, text.toLowerCase(), c.markers, ['victims', 'internalHosts', 'reporter', 'evidence'], 'TAXII');
});
