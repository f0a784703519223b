import t, { type Test } from 'tap';
import { buildApp } from '../../src/app.js';
import { reportContent } from '../../src/modules/sharing/share.service.js';
import { payloadDigest } from '../../src/modules/sharing/index.js';
import type { TestNode } from '../helpers/build-test-app.js';
import { api, createIncident, EXAMPLE_INCIDENT, enc, postMessage, waitFor } from '../helpers/federation-harness.js';
import { buildPolicyNodes, explain, peerToken, pullAll, pullPage, settle, type FeedItemView } from '../helpers/policy-nodes.js';

/**
 * The pull feed widens (issue 4 item 6): GET /federation/v1/feed serves everything cc's policy
 * lets the calling peer see for the pull-feed purpose, not only what was shared with it, shaped
 * exactly as explain previews it, never RED, in cc's order of changes, with a cursor that
 * survives a restart. Nodes: test/helpers/policy-nodes.ts. Subtests share them, in order.
 */
const root = t;
const nodes = await buildPolicyNodes(t);
const { alpha, bravo } = nodes;
let cc: TestNode = nodes.cc;

const INTERNAL_HOST = {
  ip: '10.20.30.40',
  hostname: 'build.corp',
  role: 'intermediary',
  description: 'internal jump host',
};
const withInternalHost = { hosts: [...(EXAMPLE_INCIDENT['hosts'] as unknown[]), INTERNAL_HOST] };

const made: Record<string, { ref: string; id: string }> = {};

/** Every feed item is what explain (pull-feed) previews for that peer; every incident left out, explain refuses. */
async function checkAgainstExplain(t: Test, node: TestNode, peer: string, items: FeedItemView[], refs: string[]): Promise<void> {
  const latest = new Map<string, FeedItemView>();
  for (const item of items) latest.set(item.report?.ref ?? String(item.summary?.['ref']), item);
  for (const ref of refs) {
    const answer = await explain(node, ref, peer, 'pull-feed');
    const item = latest.get(ref);
    if (!answer.allow) {
      t.notOk(item, `${ref}: explain refuses it to ${peer}, and the feed does not serve it`);
      continue;
    }
    if (!t.ok(item, `${ref}: explain allows it to ${peer}, and the feed serves it`)) continue;
    t.equal(item!.tlp, answer.tlp, `${ref}: same label`);
    t.equal(item!.detail, answer.detail, `${ref}: same detail`);
    if (answer.detail === 'summary') {
      t.same(item!.summary, answer.preview, `${ref}: the summary explain previews`);
      continue;
    }
    t.same(
      item!.report!.incident,
      JSON.parse(JSON.stringify(reportContent(answer.preview))),
      `${ref}: exactly the redacted incident explain previews`,
    );
    t.same(
      (item!.report!.redactions ?? []).map((r) => r.section),
      answer.redactions.map((r: { section: string }) => r.section),
      `${ref}: the same sections redacted`,
    );
  }
}

t.test('setup: incidents of every label on cc; some shared', async (t) => {
  made['amberShared'] = await createIncident(cc, { title: 'AMBER shared with alpha', ...withInternalHost });
  made['amberAlone'] = await createIncident(cc, { title: 'AMBER nobody chose' });
  made['green'] = await createIncident(cc, { title: 'GREEN for the community', tlp: 'GREEN', ...withInternalHost });
  made['clear'] = await createIncident(cc, { title: 'CLEAR for anyone', tlp: 'CLEAR' });
  made['red'] = await createIncident(cc, { title: 'RED for alpha only', tlp: 'RED' });
  made['strict'] = await createIncident(cc, { title: 'AMBER+STRICT for alpha', tlp: 'AMBER+STRICT' });
  t.equal(
    (
      await api(cc, 'PUT', `/incidents/${enc(made['red']!.ref)}/policy`, 'handler', {
        redRecipients: ['alpha'],
        sectionMinimums: {},
      })
    ).statusCode,
    200,
  );
  for (const key of ['amberShared', 'red', 'strict']) {
    const res = await api(cc, 'POST', `/incidents/${enc(made[key]!.ref)}/shares`, 'handler', { peer: 'alpha' });
    t.equal(res.statusCode, 202, `${key} shared with alpha`);
  }
});

t.test('a partner sees what explain allows it, redacted as explain shows, and never RED', async (t) => {
  const items = await settle([cc, alpha, bravo], { from: alpha, to: cc, token: await peerToken(alpha, cc) });
  const refs = items.map((i) => i.report!.ref);
  t.same(
    [...refs].sort(),
    [made['amberShared']!.ref, made['green']!.ref, made['clear']!.ref, made['strict']!.ref].sort(),
    'shared AMBER and AMBER+STRICT, and GREEN and CLEAR nobody shared: the feed widened',
  );
  t.notOk(
    items.some((i) => i.tlp === 'RED'),
    'RED never, although alpha is named and it was shared',
  );
  await checkAgainstExplain(
    t,
    cc,
    'alpha',
    items,
    Object.values(made).map((m) => m.ref),
  );
  const green = items.find((i) => i.report!.ref === made['green']!.ref)!;
  t.same(
    green.report!.redactions!.map((r) => r.section),
    ['internalHosts'],
    'a partner: the internal host only',
  );
  t.notOk(JSON.stringify(green).includes('10.20.30.40'));
  t.equal(
    green.report!.incident['evidence'][0].content,
    (EXAMPLE_INCIDENT['evidence'] as Array<{ content: string }>)[0]!.content,
    'with the logs',
  );
});

t.test('a community member sees less: GREEN and CLEAR only, reporter, victims, logs and internal hosts redacted', async (t) => {
  const items = await settle([cc, alpha, bravo], { from: bravo, to: cc, token: await peerToken(bravo, cc) });
  t.same(items.map((i) => i.report!.ref).sort(), [made['green']!.ref, made['clear']!.ref].sort());
  await checkAgainstExplain(
    t,
    cc,
    'bravo',
    items,
    Object.values(made).map((m) => m.ref),
  );
  const green = items.find((i) => i.report!.ref === made['green']!.ref)!;
  t.same(
    green.report!.redactions!.map((r) => r.section),
    ['reporter', 'victims', 'evidence', 'internalHosts'],
  );
  const text = JSON.stringify(green);
  for (const secret of ['security@example-univ.ac.jp', '192.0.2.10', 'Accepted password', '10.20.30.40'])
    t.notOk(text.includes(secret), `no ${secret}`);
});

t.test('each page served is one audit entry: the items with their payload digests, the refusals counted', async (t) => {
  const token = await peerToken(bravo, cc);
  await settle([cc, alpha, bravo], { from: bravo, to: cc, token });
  const before = await cc.database.db
    .selectFrom('audit_entry')
    .select('seq')
    .where('kind', '=', 'disclosure.feed-page')
    .where('peer', '=', 'bravo')
    .execute();
  const page = await pullPage(bravo, cc, token, { limit: 500 });
  const entries = await cc.database.db
    .selectFrom('audit_entry')
    .select(['decision', 'details', 'incident_id'])
    .where('kind', '=', 'disclosure.feed-page')
    .where('peer', '=', 'bravo')
    .orderBy('seq')
    .execute();
  t.equal(entries.length, before.length + 1, 'one entry for the page');
  const entry = entries.at(-1)! as { decision: string; details: any; incident_id: string | null };
  t.match(entry, {
    decision: 'allow',
    incident_id: null,
    details: {
      purpose: 'pull-feed',
      recipient: { kind: 'team', id: 'bravo' },
      trust: 'community',
      pageId: page.envelope.document.id,
    },
  });
  t.same(
    entry.details.items.map((i: { ref: string; payloadSha256: string; position: string }) => [i.ref, i.payloadSha256, i.position]),
    page.items.map((i) => [i.report!.ref, payloadDigest(i.report), i.position]),
    'each item, with the digest of exactly what was served',
  );
  t.equal(entry.details.denied.count, 4, 'four incidents refused to bravo');
  t.ok(entry.details.denied.byRule['red-channel'] === 1 && entry.details.denied.byRule['tlp-trust'] >= 3);
  t.notOk(JSON.stringify(entry.details).includes('Accepted password'), 'no incident content in the log');
  // Polling an empty feed writes nothing.
  const again = await pullPage(bravo, cc, token, { cursor: page.nextCursor });
  t.same(again.items, []);
  t.equal(
    (
      await cc.database.db
        .selectFrom('audit_entry')
        .select('seq')
        .where('kind', '=', 'disclosure.feed-page')
        .where('peer', '=', 'bravo')
        .execute()
    ).length,
    entries.length,
  );
});

t.test('a changed incident comes again at the end, as it is now', async (t) => {
  const token = await peerToken(bravo, cc);
  await settle([cc, alpha, bravo], { from: bravo, to: cc, token });
  const start = await pullAll(bravo, cc, token);
  t.equal((await api(cc, 'PATCH', `/incidents/${enc(made['clear']!.ref)}`, 'handler', { severity: 'critical' })).statusCode, 200);
  await settle([cc, alpha, bravo], { from: bravo, to: cc, token });
  const next = await pullAll(bravo, cc, token, { cursor: start.cursor });
  t.same(
    next.items.map((i) => [i.report!.ref, i.version, i.report!.incident['severity']]),
    [[made['clear']!.ref, 2, 'critical']],
  );
  // Shared with bravo now (GREEN, chosen): it moves to the end too, and stays redacted for bravo.
  t.equal((await api(cc, 'POST', `/incidents/${enc(made['green']!.ref)}/shares`, 'handler', { peer: 'bravo' })).statusCode, 202);
  await settle([cc, alpha, bravo], { from: bravo, to: cc, token });
  const after = await pullAll(bravo, cc, token, { cursor: next.cursor });
  t.same(
    after.items.map((i) => i.report!.ref),
    [made['green']!.ref],
  );
  t.same(
    after.items[0]!.report!.redactions!.map((r) => r.section),
    ['reporter', 'victims', 'evidence', 'internalHosts'],
  );
});

t.test('the cursor survives a restart of the node: the pages before and after are the whole feed, once', async (t) => {
  const token = await peerToken(alpha, cc);
  const whole = { items: await settle([cc, alpha, bravo], { from: alpha, to: cc, token }) };
  t.ok(whole.items.length >= 4);
  const first = await pullPage(alpha, cc, token, { limit: 2 });
  t.equal(first.items.length, 2);
  t.equal(first.hasMore, true);

  // Restart: a new app on the same database (and port), as after a crash or an upgrade.
  await cc.app.close();
  const app = await buildApp({
    config: cc.config,
    database: cc.database,
    signer: cc.signer,
    tokenSecret: cc.tokenSecret,
    logger: false,
  });
  await app.listen({ port: cc.config.port, host: '127.0.0.1' });
  app.federation.start();
  root.teardown(() => app.close()); // the later subtests use the restarted node
  cc = { ...cc, app };

  const rest = await pullAll(alpha, cc, token, { cursor: first.nextCursor, limit: 2 });
  const positions = [...first.items, ...rest.items].map((i) => i.position);
  t.same(
    positions,
    whole.items.map((i) => i.position),
    'nothing skipped, nothing repeated',
  );
  t.same(new Set(positions).size, positions.length);

  // And the node goes on serving new changes after it.
  const fresh = await createIncident(cc, { title: 'after the restart', tlp: 'GREEN' });
  const tail = await waitFor('the new incident served', async () => {
    const read = await pullAll(alpha, cc, token, { cursor: rest.cursor });
    return read.items.length > 0 ? read : null;
  });
  t.same(
    tail.items.map((i) => i.report!.ref),
    [fresh.ref],
  );
});

t.test('our coordinator pulling: AMBER it has no other need to know for comes as a summary, as explain says', async (t) => {
  const own = await createIncident(alpha, { title: "alpha's own AMBER incident", ...withInternalHost });
  const green = await createIncident(alpha, { title: "alpha's GREEN incident", tlp: 'GREEN' });
  const token = await peerToken(cc, alpha);
  const items = await waitFor('both served', async () => {
    const read = await pullAll(cc, alpha, token);
    const refs = read.items.map((i) => i.report?.ref ?? String(i.summary?.['ref']));
    return refs.includes(own.ref) && refs.includes(green.ref) ? read.items : null;
  });
  // By reference number, not by place: the feed follows the order of changes, and the
  // coordinator's related-activity notes on the AMBER incident (journal entries) may move it
  // after the GREEN one at any time.
  const refOf = (i: FeedItemView) => i.report?.ref ?? String(i.summary?.['ref']);
  const mine = [own.ref, green.ref].map((ref) => items.find((i) => refOf(i) === ref)!);
  t.same(
    mine.map((i) => i.detail),
    ['summary', 'full'],
  );
  t.notOk(mine[0]!.report, 'no report at summary detail');
  t.notOk(
    JSON.stringify(mine[0]).includes('10.20.30.40') || JSON.stringify(mine[0]).includes('Hanako'),
    'a summary has no contacts, no internal hosts',
  );
  await checkAgainstExplain(t, alpha, 'cc', mine, [own.ref, green.ref]);
});

t.test('feed input: bad cursors and limits are refused', async (t) => {
  const token = await peerToken(bravo, cc);
  for (const cursor of [
    '!!!',
    Buffer.from('{"x":"1"}').toString('base64url'),
    Buffer.from('{"x":"1; drop","s":"2"}').toString('base64url'),
  ]) {
    const page = await pullPage(bravo, cc, token, { cursor });
    t.equal(page.status, 400, cursor);
    t.equal(page.problem?.code, 'validation-failed');
  }
  t.equal((await pullPage(bravo, cc, token, { limit: 501 })).status, 400);

  // A page is an answer, never a message: posted to the peer's inbox it is refused.
  const page = await pullPage(alpha, cc, await peerToken(alpha, cc), { limit: 1 });
  t.equal(page.envelope.document.type, 'feed.page');
  const posted = await postMessage(alpha, page.envelope);
  t.equal(posted.status, 400, posted.text);
  t.equal(posted.json.code, 'validation-failed');
});
