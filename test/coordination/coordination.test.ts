import { randomUUID } from 'node:crypto';
import t from 'tap';
import { upsertMemberActivities, type ActivityWrite } from '../../src/modules/coordination/coordination.repository.js';
import { buildTestNode, type TestNode } from '../helpers/build-test-app.js';
import {
  api,
  createIncident,
  enc,
  fastDelivery,
  journal,
  messageDocument,
  postMessage,
  sign,
  waitFor,
} from '../helpers/federation-harness.js';

/**
 * The coordinator scenario of issue 4 (items 5 and 7), over real HTTP between three nodes: cc
 * coordinates alpha and bravo. Both members record an incident involving 203.0.113.45; their
 * nodes send cc an activity.summary each; cc's overview counts them and shows the shared host
 * with both reference numbers; cc warns both members once (activity.related), each naming the
 * other's report. The subtests share the nodes and run in order.
 */
fastDelivery();
const cc = await buildTestNode(t, { key: 'cc', listen: true, startWorker: true });
const alpha = await buildTestNode(t, { key: 'alpha', listen: true, startWorker: true });
const bravo = await buildTestNode(t, { key: 'bravo', listen: true, startWorker: true });

/** As a handler would: add the peer by URL, confirm its fingerprint out of band, set the relationship. */
async function connect(from: TestNode, to: TestNode, relationship: string, trustLevel: string): Promise<void> {
  const added = await api(from, 'POST', '/peers', 'admin', { url: to.url });
  if (added.statusCode !== 201) throw new Error(`add peer: ${added.statusCode} ${added.body}`);
  const teamId = to.config.teamId;
  const verified = await api(from, 'POST', `/peers/${teamId}/verify`, 'admin', {
    fingerprint: added.json().fingerprint,
  });
  if (verified.statusCode !== 200) throw new Error(`verify: ${verified.statusCode} ${verified.body}`);
  const patched = await api(from, 'PATCH', `/peers/${teamId}`, 'admin', { relationship, trustLevel });
  if (patched.statusCode !== 200) throw new Error(`patch: ${patched.statusCode} ${patched.body}`);
}

await connect(alpha, cc, 'coordinator', 'partner');
await connect(bravo, cc, 'coordinator', 'partner');
await connect(cc, alpha, 'member', 'partner');
await connect(cc, bravo, 'member', 'partner');

const HOST = '203.0.113.45';
/** bravo's own report about the same attacking host: a scan seen from its side. */
const SCAN = {
  title: 'SSH scanning from a customer host',
  category: 'information-gathering',
  type: 'scanner',
  hosts: [{ ip: HOST, role: 'source' }],
  indicators: [{ kind: 'ipv4', value: HOST }],
};

async function overview(query = '', role: 'reader' | 'handler' | 'admin' | null = 'reader') {
  return api(cc, 'GET', `/overview${query}`, role);
}

async function settled(...nodes: TestNode[]): Promise<void> {
  for (const node of nodes) {
    await waitFor(`${node.config.teamId}: outbox empty`, async () => {
      const row = await node.database.db
        .selectFrom('outbound_message')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('state', '=', 'pending')
        .executeTakeFirstOrThrow();
      return Number(row.n) === 0;
    });
  }
}

async function relatedEntries(node: TestNode, ref: string) {
  return (await journal(node, ref)).filter((e) => e.kind === 'related-activity');
}

async function outbound(node: TestNode, type: string): Promise<number> {
  const row = await node.database.db
    .selectFrom('outbound_message')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('type', '=', type)
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

let a1: { ref: string; id: string };
let b1: { ref: string; id: string };

t.test('both members report the same host: the overview relates them and both are warned', async (t) => {
  a1 = await createIncident(alpha); // the lecture's example: AMBER, 203.0.113.45 as the source
  b1 = await createIncident(bravo, SCAN);

  const body = await waitFor('related activity at cc', async () => {
    const res = await overview();
    const o = res.json();
    return o.related?.length && o.total === 2 ? o : null;
  });
  t.equal(body.team, 'cc');
  t.same(body.byTeam, { alpha: 1, bravo: 1 });
  t.same(body.byCategory, { 'information-gathering': 1, intrusions: 1 });
  t.same(body.byPhase, { triage: 2 });
  // firstSeen 2026-11-20T02:13+09:00 is a Thursday in UTC: ISO week 47.
  t.same(body.byPeriod, { '2026-W47': 2 });
  t.equal(body.period, 'week');
  t.equal(
    body.related.length,
    1,
    "only the shared host: the other hosts and indicators are alpha's alone, and one address is not a network match",
  );
  t.match(body.related[0], {
    kind: 'ip',
    value: HOST,
    teams: ['alpha', 'bravo'],
    reports: [
      { team: 'alpha', ref: a1.ref, own: false, category: 'intrusions', phase: 'triage', tlp: 'AMBER' },
      { team: 'bravo', ref: b1.ref, own: false, category: 'information-gathering', phase: 'triage', tlp: 'AMBER' },
    ],
  });

  // AMBER to a coordinator at partner: the summary only (never the title, free text or targets).
  const stored = await cc.database.db.selectFrom('member_activity').selectAll().where('team', '=', 'alpha').executeTakeFirstOrThrow();
  t.equal(stored.detail, 'summary');
  t.notOk(JSON.stringify(stored.summary).includes('192.0.2.10'), 'the target host is not in the summary');
  t.notOk(JSON.stringify(stored.summary).includes('Hanako'), 'nor the reporter');

  // Both members get the warning on their incident, attributed to cc, naming the other's report.
  const onAlpha = await waitFor('warning at alpha', async () => (await relatedEntries(alpha, a1.ref))[0]);
  t.match(onAlpha, {
    kind: 'related-activity',
    team: 'cc',
    actor: 'cc',
    changes: {
      observable: { kind: 'ip', value: HOST },
      related: [{ team: 'bravo', ref: b1.ref, category: 'information-gathering', tlp: 'AMBER' }],
      withheld: 0,
      coordinator: 'cc',
    },
  });
  t.ok(onAlpha.note?.includes(`ip ${HOST} is also in bravo ${b1.ref}`), onAlpha.note ?? 'no note');
  const onBravo = await waitFor('warning at bravo', async () => (await relatedEntries(bravo, b1.ref))[0]);
  t.match(onBravo, {
    team: 'cc',
    changes: {
      observable: { kind: 'ip', value: HOST },
      related: [{ team: 'alpha', ref: a1.ref, category: 'intrusions' }],
      withheld: 0,
    },
  });

  // Each disclosure was decided and recorded: the summaries at the members, the warnings at cc.
  const decisions = (await api(alpha, 'GET', `/audit?kind=disclosure.decision&incident=${a1.id}`, 'admin'))
    .json()
    .items.filter((d: any) => d.details.purpose === 'coordinator-feed');
  t.equal(decisions.length, 1);
  t.match(decisions, [
    {
      decision: 'allow',
      peer: 'cc',
      details: { purpose: 'coordinator-feed', type: 'activity.summary', detail: 'summary', ref: a1.ref },
    },
  ]);
  const warnings = (await api(cc, 'GET', '/audit?kind=coordination.warning', 'admin')).json().items;
  t.equal(warnings.length, 2);
  t.match(
    warnings.find((w: any) => w.peer === 'alpha'),
    {
      decision: 'allow',
      details: {
        type: 'activity.related',
        observableKind: 'ip',
        refs: [a1.ref],
        named: [{ team: 'bravo', ref: b1.ref }],
        withheld: 0,
      },
    },
  );
  t.notOk(JSON.stringify(warnings).includes(HOST), 'the audit log names reports, not the observable');
});

t.test('later updates reach the overview and never repeat a warning', async (t) => {
  t.equal((await api(alpha, 'PATCH', `/incidents/${enc(a1.ref)}`, 'handler', { severity: 'critical' })).statusCode, 200);
  t.equal((await api(bravo, 'PATCH', `/incidents/${enc(b1.ref)}`, 'handler', { phase: 'analysis' })).statusCode, 200);
  t.equal((await api(bravo, 'POST', `/incidents/${enc(b1.ref)}/journal`, 'handler', { note: 'owner contacted' })).statusCode, 201);
  await waitFor('both updates at cc', async () => {
    const o = (await overview()).json();
    const severity = await cc.database.db.selectFrom('member_activity').select('severity').where('team', '=', 'alpha').executeTakeFirst();
    return o.byPhase?.analysis === 1 && severity?.severity === 'critical';
  });
  await settled(alpha, bravo, cc);
  t.equal((await relatedEntries(alpha, a1.ref)).length, 1, 'alpha was warned once');
  t.equal((await relatedEntries(bravo, b1.ref)).length, 1, 'bravo was warned once');
  t.equal(await outbound(cc, 'activity.related'), 2, 'cc sent two warnings in all');
  // A note does not change the summary: bravo sent two summaries (created, phase change), not three.
  t.equal(await outbound(bravo, 'activity.summary'), 2);
});

t.test('a report the coordinator may not name is counted, not named (AMBER+STRICT)', async (t) => {
  const strict = await createIncident(bravo, { ...SCAN, title: 'Strictly internal scan report', tlp: 'AMBER+STRICT' });
  const second = await waitFor('a second warning at alpha', async () => {
    const entries = await relatedEntries(alpha, a1.ref);
    return entries.length === 2 ? entries[1] : null;
  });
  t.match(second.changes, { observable: { kind: 'ip', value: HOST }, related: [], withheld: 1 });
  t.notOk(JSON.stringify(second).includes(strict.ref), "bravo's AMBER+STRICT reference number is not disclosed");
  await settled(bravo, cc);
  // bravo's new report relates to alpha's, about which bravo was told already: no new warning.
  t.equal((await relatedEntries(bravo, strict.ref)).length, 0);
  t.equal((await relatedEntries(bravo, b1.ref)).length, 1);
  const o = (await overview()).json();
  t.same(o.byTeam, { alpha: 1, bravo: 2 });
  t.same(o.related[0].teams, ['alpha', 'bravo'], "cc's own overview shows every report");
  t.equal(o.related[0].reports.length, 3);
});

t.test("the coordinator's own incident: members are told as far as the policy allows; its journal names theirs", async (t) => {
  // A GREEN incident of cc's own, about the same host: GREEN may go to a member at partner.
  const own = await createIncident(cc, {
    ...SCAN,
    title: 'Scan against the national research network',
    tlp: 'GREEN',
  });
  const toAlpha = await waitFor("alpha told of cc's incident", async () => {
    const entries = await relatedEntries(alpha, a1.ref);
    return entries.length === 3 ? entries[2] : null;
  });
  t.match(toAlpha.changes, { related: [{ team: 'cc', ref: own.ref, tlp: 'GREEN' }], withheld: 0 });
  const direct = (await api(cc, 'GET', `/audit?kind=disclosure.decision&incident=${own.id}`, 'admin')).json().items;
  t.match(
    direct.filter((d: any) => d.details.type === 'activity.related'),
    [
      { decision: 'allow', details: { purpose: 'direct' } },
      { decision: 'allow', details: { purpose: 'direct' } },
    ],
  );
  const o = (await overview()).json();
  t.same(o.byTeam, { alpha: 1, bravo: 2, cc: 1 });
  t.match(o.related[0], { teams: ['alpha', 'bravo', 'cc'] });

  // The next member summary about the host notes the related reports on cc's own incident.
  await settled(alpha, bravo, cc);
  t.equal((await api(alpha, 'PATCH', `/incidents/${enc(a1.ref)}`, 'handler', { phase: 'analysis' })).statusCode, 200);
  const notes = await waitFor("the note on cc's incident", async () => {
    const entries = await relatedEntries(cc, own.ref);
    return entries.length > 0 ? entries : null;
  });
  t.equal(notes.length, 1);
  t.match(notes[0], { team: 'cc', actor: 'coordination', changes: { observable: { kind: 'ip', value: HOST } } });
  const named = notes[0]!.changes.related.map((r: any) => `${r.team} ${r.ref}`).sort();
  t.ok(
    named.includes(`alpha ${a1.ref}`) && named.includes(`bravo ${b1.ref}`),
    "it names the members' reports, the strict one too: it stays inside cc",
  );
  await settled(alpha, cc);
  t.equal((await relatedEntries(alpha, a1.ref)).length, 3, 'alpha is not warned again');
});

t.test('a RED incident is never summarised; the deny is audited', async (t) => {
  const red = await createIncident(alpha, { title: 'Named recipients only', tlp: 'RED' });
  const decisions = (await api(alpha, 'GET', `/audit?kind=disclosure.decision&incident=${red.id}`, 'admin'))
    .json()
    .items.filter((d: any) => d.details.purpose === 'coordinator-feed');
  t.equal(decisions.length, 1);
  t.match(decisions[0], {
    decision: 'deny',
    peer: 'cc',
    details: { purpose: 'coordinator-feed', tlp: 'RED', payloadSha256: null },
  });
  t.ok(decisions[0].details.deniedBy.includes('red-channel'));
  const queued = await alpha.database.db.selectFrom('outbound_message').select('id').where('incident_id', '=', red.id).execute();
  t.equal(queued.length, 0, 'nothing queued for the RED incident');
});

/** An activity.summary document as a member node would send it. */
function summaryDocument(from: string, ref: string, overrides: Record<string, unknown> = {}) {
  const summary = {
    ref,
    category: 'intrusions',
    type: null,
    severity: 'high',
    tlp: 'AMBER',
    phase: 'triage',
    firstSeen: null,
    lastSeen: null,
    updatedAt: new Date().toISOString(),
    version: 1,
    counts: {
      sourceHosts: 1,
      targetHosts: 0,
      intermediaryHosts: 0,
      indicators: 0,
      vulnerabilities: 0,
      systemChanges: 0,
      installedSoftware: 0,
      evidence: 0,
    },
    hosts: [{ role: 'source', ip: '198.51.100.99' }],
    indicators: [],
    cves: [],
  };
  return messageDocument(from, 'cc', 'activity.summary', { detail: 'summary', summary, links: [], ...overrides });
}

t.test('the coordinator takes summaries from its members only, well formed, never RED', async (t) => {
  // cc no longer counts bravo as a member: bravo's summary is refused and the refusal audited.
  t.equal((await api(cc, 'PATCH', '/peers/bravo', 'admin', { relationship: 'peer' })).statusCode, 200);
  t.teardown(async () => {
    await api(cc, 'PATCH', '/peers/bravo', 'admin', { relationship: 'member' });
  });
  const refused = await postMessage(cc, await sign(summaryDocument('bravo', 'BRAVO#2026-999999'), 'bravo'));
  t.equal(refused.status, 403);
  t.equal(refused.json.code, 'not-a-member');
  const rejections = (await api(cc, 'GET', '/audit?kind=inbox-rejection&peer=bravo', 'admin')).json().items;
  t.match(rejections.at(-1), { decision: 'deny', details: { code: 'not-a-member', type: 'activity.summary' } });
  t.notOk(await cc.database.db.selectFrom('member_activity').select('ref').where('ref', '=', 'BRAVO#2026-999999').executeTakeFirst());

  const full = await postMessage(cc, await sign(summaryDocument('alpha', 'ALPHA#2026-999998', { detail: 'full' }), 'alpha'));
  t.equal(full.status, 400);
  t.equal(full.json.code, 'validation-failed', 'detail full without the incident');
  const applied = await postMessage(cc, await sign(summaryDocument('alpha', 'ALPHA#2026-999997'), 'alpha'));
  t.equal(applied.status, 200, 'a well-formed summary from a member is applied');
  t.match(JSON.parse(applied.text), { document: { type: 'receipt', body: { status: 'applied' } } });
  const redDoc = summaryDocument('alpha', 'ALPHA#2026-999996');
  (redDoc['body'] as any).summary.tlp = 'RED';
  const redRefused = await postMessage(cc, await sign(redDoc, 'alpha'));
  t.equal(redRefused.status, 400, 'TLP:RED never goes in a feed');
  t.equal(redRefused.json.code, 'validation-failed');
  const extra = await postMessage(cc, await sign(summaryDocument('alpha', 'ALPHA#2026-999995', { title: 'x' }), 'alpha'));
  t.equal(extra.status, 400);
  t.equal(extra.json.code, 'validation-failed', 'unknown members are refused');
});

t.test('members take warnings from their coordinator only', async (t) => {
  const notice = (from: string) =>
    messageDocument(from, 'alpha', 'activity.related', {
      refs: [a1.ref],
      observable: { kind: 'ip', value: HOST },
      related: [],
      withheld: 1,
    });
  t.equal((await api(alpha, 'PATCH', '/peers/cc', 'admin', { relationship: 'peer' })).statusCode, 200);
  const refused = await postMessage(alpha, await sign(notice('cc'), 'cc'));
  t.equal((await api(alpha, 'PATCH', '/peers/cc', 'admin', { relationship: 'coordinator' })).statusCode, 200);
  t.equal(refused.status, 403);
  t.equal(refused.json.code, 'not-our-coordinator');

  // A reference number alpha never reported to cc: nothing to file it on.
  const unknown = await postMessage(
    alpha,
    await sign(
      {
        ...notice('cc'),
        body: { refs: ['ALPHA#1999-000001'], observable: { kind: 'ip', value: HOST }, related: [], withheld: 1 },
      },
      'cc',
    ),
  );
  t.equal(unknown.status, 409);
  t.equal(unknown.json.code, 'unknown-incident');
  const before = (await relatedEntries(alpha, a1.ref)).length;
  const ok = await postMessage(alpha, await sign(notice('cc'), 'cc'));
  t.equal(ok.status, 200);
  t.match(JSON.parse(ok.text), { document: { body: { status: 'noted', ref: a1.ref } } });
  t.equal((await relatedEntries(alpha, a1.ref)).length, before + 1);
});

t.test('GET /overview: filters, bad input, roles', async (t) => {
  const all = (await overview()).json();
  const onlyAlpha = (await overview('?team=alpha')).json();
  t.same(onlyAlpha.byTeam, { alpha: all.byTeam.alpha });
  t.ok(onlyAlpha.related.every((r: any) => r.teams.includes('alpha')));
  const nobody = (await overview('?team=zulu')).json();
  t.same(nobody, { ...nobody, total: 0, byTeam: {}, byCategory: {}, byPhase: {}, byPeriod: {}, related: [] });
  const future = (await overview(`?since=${enc('2999-01-01T00:00:00Z')}`)).json();
  t.equal(future.total, 0);
  t.equal(future.since, '2999-01-01T00:00:00.000Z');
  const past = (await overview(`?until=${enc('2000-01-01T00:00:00Z')}`)).json();
  t.equal(past.total, 0);
  const days = (await overview('?period=day&limit=1')).json();
  t.ok(
    Object.keys(days.byPeriod).every((k) => /^\d{4}-\d{2}-\d{2}$/.test(k)),
    'UTC days',
  );
  t.ok(days.related.length <= 1);

  for (const [query, pointer] of [
    ['?since=yesterday', 'since'],
    ['?period=month', 'period'],
    ['?team=Not%20A%20Team', 'team'],
    ['?limit=0', 'limit'],
    ['?limit=abc', 'limit'],
    ['?colour=red', ''],
    [`?since=${enc('2026-11-20T00:00:00Z')}&until=${enc('2026-11-19T00:00:00Z')}`, 'until'],
  ] as const) {
    const res = await overview(query);
    t.equal(res.statusCode, 400, query);
    t.match(res.headers['content-type'], /^application\/problem\+json/);
    t.equal(res.json().code, 'validation-failed', query);
    if (pointer) t.match(JSON.stringify(res.json().errors ?? []), pointer, `${query}: names ${pointer}`);
  }

  t.equal((await overview('', 'reader')).statusCode, 200);
  t.equal((await overview('', 'handler')).statusCode, 200);
  const anonymous = await overview('', null);
  t.equal(anonymous.statusCode, 401);
  t.equal(anonymous.json().code, 'unauthenticated');
  const forged = await cc.app.inject({
    method: 'GET',
    url: '/api/v1/overview',
    headers: { authorization: 'Bearer not-a-token' },
  });
  t.equal(forged.statusCode, 401);
});

t.test('activity.withdrawn: the coordinator forgets the report, an older summary does not bring it back, bad values are 400', async (t) => {
  const ref = 'ALPHA#2026-999990';
  const summary = (version: number, updatedAt: string) => {
    const doc = summaryDocument('alpha', ref);
    Object.assign((doc['body'] as any).summary, { version, updatedAt });
    return doc;
  };
  const held = () =>
    cc.database.db.selectFrom('member_activity').select('version').where('team', '=', 'alpha').where('ref', '=', ref).executeTakeFirst();
  const withdrawal = (body: Record<string, unknown>) => messageDocument('alpha', 'cc', 'activity.withdrawn', body, { tlp: 'AMBER' });

  t.equal((await postMessage(cc, await sign(summary(2, '2026-12-01T10:00:00.000Z'), 'alpha'))).status, 200);
  t.match(await held(), { version: 2 });
  const forgot = await postMessage(
    cc,
    await sign(withdrawal({ ref, version: 3, updatedAt: '2026-12-01T11:00:00.000Z', reason: 'label' }), 'alpha'),
  );
  t.equal(forgot.status, 200, forgot.text);
  t.notOk(await held(), 'the report is forgotten');
  t.equal((await postMessage(cc, await sign(summary(2, '2026-12-01T10:00:00.000Z'), 'alpha'))).status, 200);
  t.notOk(await held(), 'an older summary still in flight does not bring it back');
  t.equal((await postMessage(cc, await sign(summary(4, '2026-12-01T12:00:00.000Z'), 'alpha'))).status, 200);
  t.match(await held(), { version: 4 }, 'a newer summary does');

  for (const [what, body] of [
    ['a leap second', { ref, version: 5, updatedAt: '2026-12-31T23:59:60Z', reason: 'label' }],
    ['a version past the integer range', { ref, version: 2 ** 40, updatedAt: '2026-12-01T13:00:00.000Z', reason: 'label' }],
    ['an unknown reason', { ref, version: 5, updatedAt: '2026-12-01T13:00:00.000Z', reason: 'whim' }],
  ] as const) {
    const res = await postMessage(cc, await sign(withdrawal(body), 'alpha'));
    t.equal(res.status, 400, `${what}: ${res.text}`);
    t.equal(res.json.code, 'validation-failed', what);
  }
  // The same classes in an activity.summary (issue 13: a 5xx before, then a retry for a day).
  for (const [what, version, updatedAt] of [
    ['a summary version past the integer range', 2 ** 40, '2026-12-01T13:00:00.000Z'],
    ['a summary at a leap second', 5, '2026-12-31T23:59:60Z'],
    ['a summary in year 0', 5, '0000-12-31T00:00:00Z'],
  ] as const) {
    const res = await postMessage(cc, await sign(summary(version, updatedAt), 'alpha'));
    t.equal(res.status, 400, `${what}: ${res.text}`);
    t.equal(res.json.code, 'validation-failed', what);
  }
  t.match(await held(), { version: 4 }, 'nothing refused changed what the coordinator holds');

  const fromBravo = await api(cc, 'PATCH', '/peers/bravo', 'admin', { relationship: 'peer' });
  t.equal(fromBravo.statusCode, 200);
  t.teardown(async () => {
    await api(cc, 'PATCH', '/peers/bravo', 'admin', { relationship: 'member' });
  });
  const notMember = await postMessage(
    cc,
    await sign(
      messageDocument(
        'bravo',
        'cc',
        'activity.withdrawn',
        { ref: 'BRAVO#2026-000001', version: 9, updatedAt: '2026-12-01T13:00:00.000Z', reason: 'label' },
        { tlp: 'AMBER' },
      ),
      'bravo',
    ),
  );
  t.equal(notMember.status, 403);
  t.equal(notMember.json.code, 'not-a-member');
});

t.test('summaries arriving together: each kept or refused on its own, the newest version and its observables win', async (t) => {
  // Sent at once. The handler takes a group of summaries as one run (ADR 0031); whether these meet
  // in one group depends on timing (the coordinator bench's 32 clients make groups), and either
  // way a refused one must not take the others with it, and an older version must not leave its
  // observables behind.
  const ref = (n: number) => `ALPHA#2026-98${String(n).padStart(4, '0')}`;
  const versioned = (version: number, ip: string) => {
    const doc = summaryDocument('alpha', ref(0));
    Object.assign((doc['body'] as any).summary, {
      version,
      updatedAt: `2026-12-02T10:0${version}:00.000Z`,
      hosts: [{ role: 'source', ip }],
    });
    return doc;
  };
  const red = summaryDocument('alpha', ref(99));
  (red['body'] as any).summary.tlp = 'RED';
  const docs = [
    ...Array.from({ length: 6 }, (_, i) => summaryDocument('alpha', ref(i + 1))),
    red,
    versioned(1, '198.51.100.1'),
    versioned(2, '198.51.100.2'),
    versioned(3, '198.51.100.3'),
  ];
  const signed = await Promise.all(docs.map((doc) => sign(doc, 'alpha')));
  const answers = await Promise.all(signed.map((envelope) => postMessage(cc, envelope)));
  t.same(
    answers.map((a) => a.status),
    [...Array<number>(6).fill(200), 400, 200, 200, 200],
  );
  t.equal(answers[6]!.json.code, 'validation-failed');
  const held = await cc.database.db
    .selectFrom('member_activity')
    .select(['ref', 'version'])
    .where('team', '=', 'alpha')
    .where('ref', 'like', 'ALPHA#2026-98%')
    .orderBy('ref')
    .execute();
  t.same(
    held.map((r) => r.ref),
    Array.from({ length: 7 }, (_, i) => ref(i)),
    'every member summary kept, the RED one not',
  );
  t.equal(held[0]!.version, 3, 'the newest version of the report is held');
  const observed = await cc.database.db
    .selectFrom('activity_observable')
    .select(['kind', 'value'])
    .where('team', '=', 'alpha')
    .where('ref', '=', ref(0))
    .where('kind', '=', 'ip')
    .execute();
  t.same(
    observed.map((o) => o.value),
    ['198.51.100.3'],
    "the report's observables are its newest version's",
  );
});

t.test('a group of summaries is written as one by one would: the newest per report, withdrawals kept or forgotten', async (t) => {
  // The repository call the handler makes for a group, driven directly so the group is certain
  // (over HTTP, whether messages meet in one group depends on timing).
  const team = 'group-member';
  const row = (ref: string, version: number, minute: number, tag: string): ActivityWrite => ({
    team,
    ref,
    own: false,
    incidentId: null,
    detail: 'summary',
    category: 'information-gathering',
    type: null,
    phase: 'triage',
    severity: 'low',
    tlp: 'GREEN',
    firstSeen: null,
    lastSeen: null,
    updated: `2026-12-03T10:${String(minute).padStart(2, '0')}:00.000Z`,
    version,
    summary: { tag },
    links: [],
    messageId: randomUUID(),
    at: new Date(),
    firstReceivedAt: new Date(),
  });
  const withdraw = (ref: string, version: number, minute: number) =>
    cc.database.db
      .insertInto('activity_withdrawal')
      .values({
        team,
        ref,
        version,
        updated: new Date(`2026-12-03T10:${String(minute).padStart(2, '0')}:00.000Z`),
        reason: 'label',
        message_id: randomUUID(),
        withdrawn_at: new Date(),
      })
      .execute();
  // Stored before the group: R1 at version 5; R2, R3 and R4 withdrawn at version 3.
  await cc.database.db.transaction().execute((tx) => upsertMemberActivities(tx, [row('R1', 5, 5, 'stored')]));
  await withdraw('R2', 3, 3);
  await withdraw('R3', 3, 3);
  await withdraw('R4', 3, 3);
  const group = [
    row('R1', 4, 9, 'older than stored'),
    row('R2', 4, 1, 'newer than the withdrawal'),
    row('R2', 2, 9, 'older, after it'),
    row('R3', 3, 3, 'as new as the withdrawal'),
    row('R4', 3, 4, 'same version, later'),
    row('R5', 1, 1, 'first'),
    row('R5', 1, 1, 'a tie, later'),
    row('R6', 2, 2, 'newest'),
    row('R6', 1, 7, 'older version, later time'),
  ];
  const written = await cc.database.db.transaction().execute((tx) => upsertMemberActivities(tx, group));
  t.same([...written.keys()].map((k) => k.split('\0')[1]).sort(), ['R2', 'R4', 'R5', 'R6'], 'the reports written');
  const held = await cc.database.db
    .selectFrom('member_activity')
    .select(['ref', 'version', 'summary'])
    .where('team', '=', team)
    .orderBy('ref')
    .execute();
  const tags = Object.fromEntries(
    held.map((r) => [r.ref, `${r.version}:${(typeof r.summary === 'string' ? JSON.parse(r.summary) : r.summary).tag}`]),
  );
  t.same(tags, {
    R1: '5:stored',
    R2: '4:newer than the withdrawal',
    R4: '3:same version, later',
    R5: '1:a tie, later',
    R6: '2:newest',
  });
  const withdrawn = await cc.database.db.selectFrom('activity_withdrawal').select('ref').where('team', '=', team).orderBy('ref').execute();
  t.same(
    withdrawn.map((w) => w.ref),
    ['R3'],
    'a withdrawal stays only where no summary of the group is newer',
  );
});
