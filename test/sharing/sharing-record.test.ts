import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import t from 'tap';
import type { Incident } from '../../schemas/incident.schema.js';
import { createAuditModule } from '../../src/modules/audit/audit.module.js';
import { createIncidentService } from '../../src/modules/incidents/incident.service.js';
import { createSharingService, policyDenied, type SharingService } from '../../src/modules/sharing/index.js';
import { ProblemError } from '../../src/http/problem.js';
import { loadFixtureKey } from '../fixtures/keys/index.js';
import { buildTestNode } from '../helpers/build-test-app.js';

/**
 * decideAndRecord: every decision, allow or deny, is exactly one `disclosure.decision` audit
 * entry written in the caller's transaction, carrying the policy version, the reasons and the
 * SHA-256 of exactly what will be sent. alpha is us; bravo (partner, verified) and cc (our
 * coordinator, verified) are peers added over HTTP.
 */

const alpha = await buildTestNode(t, { key: 'alpha' });
const bravo = await buildTestNode(t, { key: 'bravo', listen: true });
const cc = await buildTestNode(t, { key: 'cc', listen: true });
const db = alpha.database.db;
const EXAMPLE = JSON.parse(readFileSync(new URL('../../docs/examples/incident.json', import.meta.url), 'utf8')) as Record<string, unknown>;

const admin = (method: 'POST' | 'PATCH' | 'GET', url: string, payload?: object) =>
  alpha.app.inject({ method, url: `/api/v1${url}`, headers: alpha.auth.admin, ...(payload ? { payload } : {}) });
for (const [node, patch] of [
  [bravo, { trustLevel: 'partner' }],
  [cc, { relationship: 'coordinator' }],
] as const) {
  const team = node.config.teamId as 'bravo' | 'cc';
  for (const res of [
    await admin('POST', '/peers', { url: node.url }),
    await admin('PATCH', `/peers/${team}`, patch),
    await admin('POST', `/peers/${team}/verify`, { fingerprint: loadFixtureKey(team).fingerprint }),
  ]) {
    if (res.statusCode >= 300) throw new Error(`peer setup: ${res.statusCode} ${res.body}`);
  }
}

const audit = createAuditModule({ db, clock: () => new Date() });
const incidents = createIncidentService({ db, clock: () => new Date(), config: alpha.config });
const sharing: SharingService = createSharingService({
  db,
  config: alpha.config,
  peers: alpha.app.federation.peers,
  audit: audit.log,
  incidents,
});

async function incident(overrides: Record<string, unknown> = {}): Promise<Incident> {
  return incidents.create({ ...EXAMPLE, ...overrides } as Parameters<typeof incidents.create>[0], {
    subject: 'handler-user',
    team: 'alpha',
  });
}

async function decisions(incidentId: string) {
  return db
    .selectFrom('audit_entry')
    .selectAll()
    .where('kind', '=', 'disclosure.decision')
    .where('incident_id', '=', incidentId)
    .orderBy('seq')
    .execute();
}

/** An auditor's own digest, sharing no code with the node: sorted-keys compact JSON, SHA-256. */
function sortedJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(sortedJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${sortedJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}
const sha256 = (value: unknown) => createHash('sha256').update(sortedJson(value)).digest('hex');

t.test('an allowed share: one entry, with the hash of exactly what the sender renders', async (t) => {
  const item = await incident();
  const render = (p: { detail: string; incident?: Incident }) => ({
    report: p.incident ? { title: p.incident.title, evidence: p.incident.evidence } : null,
  });
  const outcome = await db.transaction().execute((tx) =>
    sharing.decideAndRecord(tx, item, { teamId: 'bravo' }, 'direct', {
      actor: 'handler-user',
      chosenByHandler: true,
      render,
      details: { type: 'incident.report' },
    }),
  );
  t.equal(outcome.allow, true);
  t.same(outcome.content, render(outcome.payload as { detail: string; incident: Incident }));
  t.equal(outcome.payloadSha256, sha256(outcome.content), 'the digest is of the rendered content');

  const entries = await decisions(item.id);
  t.equal(entries.length, 1, 'exactly one entry');
  const entry = entries[0]!;
  t.match(entry, { actor: 'handler-user', peer: 'bravo', decision: 'allow' });
  t.match(entry.details, {
    type: 'incident.report',
    ref: item.ref,
    purpose: 'direct',
    recipient: { kind: 'team', id: 'bravo' },
    policyVersion: 'hikeshi-policy/1',
    tlp: 'AMBER',
    trust: 'partner',
    detail: 'full',
    redactions: [],
    chosenByHandler: true,
    deniedBy: [],
    payloadSha256: sha256(outcome.content),
  });
  t.ok((entry.details['reasons'] as string[]).length > 3, 'the reasons in words');
  t.notOk(JSON.stringify(entry.details).includes('Accepted password'), 'no incident content in the log');

  // The choice is remembered: later automatic paths (updates, the pull feed) see the need to know.
  const facts = await db.selectFrom('incident_policy').select('chosen_recipients').where('incident_id', '=', item.id).executeTakeFirst();
  t.same(facts?.chosen_recipients, ['bravo']);
  const later = await sharing.evaluate(db, item, { teamId: 'bravo' }, 'pull-feed');
  t.equal(later.allow, true);
  t.equal((await decisions(item.id)).length, 1, 'evaluate records nothing');

  // Without a render, the digest is of the payload itself: what explain previews.
  const plain = await db.transaction().execute((tx) => sharing.decideAndRecord(tx, item, { teamId: 'bravo' }, 'direct'));
  t.same(plain.content, plain.payload?.detail === 'full' ? plain.payload.incident : null);
  t.equal(plain.payloadSha256, sha256(plain.content));
  const explained = await alpha.app.inject({
    method: 'POST',
    url: '/api/v1/policy/explain',
    headers: alpha.auth.reader,
    payload: { incident: item.ref, peer: 'bravo', purpose: 'direct' },
  });
  t.equal(explained.json().payloadSha256, plain.payloadSha256, 'explain shows the same digest');
  t.match((await decisions(item.id))[1], { actor: 'node', decision: 'allow' });
});

t.test('a deny: one entry with the reasons, no payload and no digest; the choice is not remembered', async (t) => {
  const red = await incident({ tlp: 'RED' });
  const outcome = await db
    .transaction()
    .execute((tx) => sharing.decideAndRecord(tx, red, { teamId: 'bravo' }, 'direct', { actor: 'handler-user', chosenByHandler: true }));
  t.match(outcome, { allow: false, payload: null, content: null, payloadSha256: null, deniedBy: ['red-not-named'] });
  const entries = await decisions(red.id);
  t.equal(entries.length, 1);
  t.match(entries[0], { decision: 'deny', peer: 'bravo' });
  t.match(entries[0]!.details, { detail: 'none', deniedBy: ['red-not-named'], payloadSha256: null, tlp: 'RED' });
  t.ok((entries[0]!.details['reasons'] as string[]).some((r) => /TLP:RED goes only to recipients a handler named/.test(r)));
  t.equal(await db.selectFrom('incident_policy').select('incident_id').where('incident_id', '=', red.id).executeTakeFirst(), undefined);

  const problem = policyDenied(outcome);
  t.ok(problem instanceof ProblemError);
  t.equal(problem.status, 403);
  t.equal(problem.code, 'policy-denied');
  t.same(problem.extensions['deniedBy'], ['red-not-named']);
  t.same(problem.extensions['reasons'], outcome.decision.reasons);
});

t.test('the coordinator feed: a summary, hashed; unknown and suspended recipients are denied and recorded', async (t) => {
  const item = await incident();
  const feed = await db.transaction().execute((tx) => sharing.decideAndRecord(tx, item, { teamId: 'cc' }, 'coordinator-feed'));
  t.match(feed, { allow: true, payload: { detail: 'summary' } });
  t.equal(feed.payloadSha256, sha256(feed.payload?.detail === 'summary' ? feed.payload.summary : null));

  const unknown = await db
    .transaction()
    .execute((tx) => sharing.decideAndRecord(tx, item, { teamId: 'zulu' }, 'direct', { chosenByHandler: true }));
  t.match(unknown, { allow: false, blockedBy: ['recipient-unknown'], deniedBy: ['recipient-unknown', 'tlp-trust'] });
  const site = await db
    .transaction()
    .execute((tx) => sharing.decideAndRecord(tx, item, { siteId: '00000000-0000-4000-8000-000000000000' }, 'direct'));
  t.match(site, { allow: false, blockedBy: ['recipient-unknown'] });

  await admin('POST', '/peers/bravo/suspend');
  const suspended = await db
    .transaction()
    .execute((tx) => sharing.decideAndRecord(tx, item, { teamId: 'bravo' }, 'direct', { chosenByHandler: true }));
  t.match(suspended, {
    allow: false,
    blockedBy: ['peer-suspended'],
    deniedBy: ['peer-suspended'],
    payloadSha256: null,
  });
  await admin('POST', '/peers/bravo/resume');

  const entries = await decisions(item.id);
  t.same(
    entries.map((e) => [e.peer, e.decision, (e.details as { deniedBy: string[] }).deniedBy]),
    [
      ['cc', 'allow', []],
      ['zulu', 'deny', ['recipient-unknown', 'tlp-trust']],
      [null, 'deny', ['recipient-unknown', 'tlp-need-to-know', 'tlp-trust']],
      ['bravo', 'deny', ['peer-suspended']],
    ],
    'one entry per decision, in order',
  );
  t.match(entries[2]!.details, { recipient: { kind: 'site', id: '00000000-0000-4000-8000-000000000000' } });
});

t.test("the entry is part of the caller's transaction: a rollback takes it back", async (t) => {
  const item = await incident();
  await t.rejects(
    db.transaction().execute(async (tx) => {
      await sharing.decideAndRecord(tx, item, { teamId: 'bravo' }, 'direct', { chosenByHandler: true });
      throw new Error('enqueue failed');
    }),
    /enqueue failed/,
  );
  t.same(await decisions(item.id), [], 'nothing was sent, nothing recorded');
  t.equal(await db.selectFrom('incident_policy').select('incident_id').where('incident_id', '=', item.id).executeTakeFirst(), undefined);
});

t.test('GET /api/v1/audit shows the decisions; the chain verifies', async (t) => {
  const listed = await alpha.app.inject({
    method: 'GET',
    url: '/api/v1/audit?kind=disclosure.decision&limit=500',
    headers: alpha.auth.admin,
  });
  t.equal(listed.statusCode, 200, listed.body);
  const items = listed.json().items as Array<{ decision: string; details: { payloadSha256: string | null } }>;
  t.equal(items.length, 7, '2 + 1 + 4 decisions above; the rolled-back one is not there');
  t.equal(
    items.filter((i) => i.decision === 'allow').every((i) => /^[0-9a-f]{64}$/.test(i.details.payloadSha256 ?? '')),
    true,
  );
  t.equal(
    items.filter((i) => i.decision === 'deny').every((i) => i.details.payloadSha256 === null),
    true,
  );
  const forbidden = await alpha.app.inject({
    method: 'GET',
    url: '/api/v1/audit?kind=disclosure.decision',
    headers: alpha.auth.reader,
  });
  t.equal(forbidden.statusCode, 403);
  t.match(await audit.service.verify(), { ok: true });
});
