import os from 'node:os';
import t from 'tap';
import type { Incident } from '../../schemas/incident.schema.js';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createAuditModule } from '../../src/modules/audit/audit.module.js';
import { FEED_ITEM_RENDERER } from '../../src/modules/feeds/feed-item.renderer.js';
import { TAXII_OBJECT_RENDERER } from '../../src/modules/formats/taxii-object.renderer.js';
import { createIncidentService } from '../../src/modules/incidents/incident.service.js';
import { createSharingService, type FeedRenderer, type SharingService } from '../../src/modules/sharing/index.js';
import * as failingRenderer from '../fixtures/failing-feed.renderer.js';
import { buildTestNode } from '../helpers/build-test-app.js';
import { createIncident, partnersBoth } from '../helpers/federation-harness.js';

/**
 * Disclosure threads (ADR 0034): a large feed batch decided in worker threads gets exactly the
 * outcomes the node's own thread gives it (the same decisions, redactions, digests and kept
 * content, in the same order), and each matches what `evaluate` decides for the incident alone.
 * A renderer that throws fails the batch with its own error; a thread that dies fails its batch
 * and is replaced, so the next batch is decided; after close, batches are decided in place.
 */
const alpha = await buildTestNode(t, { key: 'alpha', listen: true });
const bravo = await buildTestNode(t, { key: 'bravo', listen: true });
await partnersBoth(alpha, bravo);

const db = alpha.database.db;
const clock = () => new Date('2026-12-07T12:00:00Z');
const audit = createAuditModule({ db, clock });
const incidents = createIncidentService({ db, clock, config: alpha.config });
const service = (disclosureThreads: number): SharingService => {
  const s = createSharingService({
    db,
    config: alpha.config,
    peers: alpha.app.federation.peers,
    audit: audit.log,
    incidents,
    clock,
    disclosureThreads,
  });
  t.teardown(() => s.close());
  return s;
};
const inPlace = service(0);
const threaded = service(2);

// Every label, internal and outside hosts, a marker in free text: some refused, some redacted.
const LABELS = ['CLEAR', 'GREEN', 'AMBER', 'AMBER+STRICT', 'RED'];
const list: Incident[] = [];
for (let i = 0; i < 100; i++) {
  const created = await createIncident(alpha, {
    title: `Batch incident ${i} MARKER-TITLE-${i}`,
    tlp: LABELS[i % LABELS.length],
    hosts: [
      { ip: `10.1.${i}.7`, hostname: `build${i}.corp`, role: 'intermediary', description: `internal MARKER-HOST-${i}` },
      { ip: `203.0.113.${i % 250}`, role: 'source' },
    ],
  });
  list.push(await incidents.get(created.ref));
}

const taxii: FeedRenderer = {
  ...TAXII_OBJECT_RENDERER,
  options: { teamId: 'alpha', recipient: 'bravo', extensionSchemaUrl: `${alpha.url}/schemas/hikeshi-extension.json` },
};
const feed: FeedRenderer = FEED_ITEM_RENDERER;

t.test('a batch decided in the threads is the batch decided in place, item by item', async (t) => {
  for (const [name, renderer] of [
    ['TAXII objects', taxii],
    ['feed items', feed],
  ] as const) {
    const here = await inPlace.decideFeed(db, list, { teamId: 'bravo' }, 'pull-feed', renderer);
    const there = await threaded.decideFeed(db, list, { teamId: 'bravo' }, 'pull-feed', renderer);
    t.equal(there.length, list.length, `${name}: one outcome per incident`);
    t.same(there, here, `${name}: the same outcomes and kept content, in order`);
    const allowed = here.filter((d) => d.outcome.allow).length;
    t.ok(allowed > 0 && allowed < list.length, `${name}: some allowed (${allowed}), some refused`);
  }
  // Each as evaluate decides it alone (the digest of the same rendering).
  const there = await threaded.decideFeed(db, list, { teamId: 'bravo' }, 'pull-feed', feed);
  for (const [n, incident] of list.entries()) {
    const alone = await inPlace.evaluate(db, incident, { teamId: 'bravo' }, 'pull-feed');
    const d = there[n]!.outcome;
    if (d.allow !== alone.allow || d.decision.tlp !== alone.decision.tlp || d.decision.detail !== alone.decision.detail) {
      t.fail(`${incident.ref}: ${JSON.stringify(d.decision)} against ${JSON.stringify(alone.decision)}`);
      return;
    }
    t.same(
      d.decision.redactions.map((r) => r.section),
      alone.decision.redactions.map((r) => r.section),
    );
  }
  const kept = there.find((d) => d.outcome.allow && d.outcome.decision.redactions.length > 0);
  t.ok(kept, 'an allowed item with redactions');
  t.notMatch(
    (kept!.content as { text: string }).text,
    /MARKER-HOST|10\.1\.\d+\.7|\.corp/,
    'the internal host is not in what the thread kept',
  );
  t.same(
    Object.keys(kept!.outcome).sort(),
    ['allow', 'decision', 'deniedBy', 'payloadSha256', 'trust'],
    'a page keeps the audit fields only',
  );
});

t.test("a renderer's error fails its batch; a thread that dies is replaced; closed, the batch is decided in place", async (t) => {
  // The node's thread calls the functions; a thread loads the module by its URL.
  const failing = (mode: string): FeedRenderer => ({
    module: new URL('../fixtures/failing-feed.renderer.ts', import.meta.url).href,
    options: { mode },
    functions: failingRenderer,
  });
  await t.rejects(threaded.decideFeed(db, list, { teamId: 'bravo' }, 'pull-feed', failing('throw')), {
    name: 'TypeError',
    message: 'the renderer refused this item',
  });
  await t.rejects(
    threaded.decideFeed(db, list, { teamId: 'bravo' }, 'pull-feed', failing('exit')),
    /a disclosure thread stopped \(exit code 3\)/,
  );
  const again = await threaded.decideFeed(db, list, { teamId: 'bravo' }, 'pull-feed', feed);
  t.same(again, await inPlace.decideFeed(db, list, { teamId: 'bravo' }, 'pull-feed', feed), 'the next batch is decided alike');

  const closing = service(2);
  await closing.close();
  t.equal(
    (await closing.decideFeed(db, list, { teamId: 'bravo' }, 'pull-feed', feed)).length,
    list.length,
    'after close: decided in place',
  );
});

t.test('HIKESHI_DISCLOSURE_THREADS: a count from 0 up; by default none on two cores or fewer', async (t) => {
  t.equal(loadConfig({ HIKESHI_DISCLOSURE_THREADS: '3' }).disclosureThreads, 3);
  t.equal(loadConfig({ HIKESHI_DISCLOSURE_THREADS: '0' }).disclosureThreads, 0);
  t.throws(() => loadConfig({ HIKESHI_DISCLOSURE_THREADS: '-1' }), ConfigError);
  t.throws(() => loadConfig({ HIKESHI_DISCLOSURE_THREADS: 'many' }), ConfigError);
  const cores = os.availableParallelism();
  t.equal(loadConfig({}).disclosureThreads, cores > 2 ? Math.min(4, cores - 1) : 0);
});
