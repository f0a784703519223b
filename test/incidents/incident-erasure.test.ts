import { sql } from 'kysely';
import t from 'tap';
import { createAuditModule } from '../../src/modules/audit/audit.module.js';
import { createIncidentService } from '../../src/modules/incidents/incident.service.js';
import { buildTestNode } from '../helpers/build-test-app.js';
import { rowsNamingMarkers as scanForMarkers } from '../helpers/marker-scan.js';
import { EXAMPLE_INCIDENT, api, createIncident, enc } from '../helpers/federation-harness.js';

/**
 * Erasure of personal data (ADR 0013): every planted name, address, e-mail address and phone
 * number of the reporter, the POC and the victims is gone from the incident, from what GET
 * answers, from the search rows; the incident, its id and reference number stay; the audit
 * chain still verifies; a legal hold refuses it; roles and bad input are refused as problems.
 */
const node = await buildTestNode(t);
const db = node.database.db;

// Markers: each occurs in the incident only as the personal data of one subject.
const REPORTER = {
  name: 'Zed Markerson',
  organisation: 'Markerson Household',
  email: 'zed.markerson@reporter-mail.example',
  phone: '+81-3-7777-0199',
  postalAddress: '9-9-9 Markerdori, Nowhere-ku',
};
const POC = { name: 'Pia Pocsworth', email: 'pia.pocsworth@poc-mail.example', mobile: '+81-90-8888-0123' };
const VICTIM_IP = '192.0.2.77';
const VICTIM_HOST = 'mail.victim-marker.example';
const MARKERS = [
  ...Object.values(REPORTER),
  ...Object.values(POC),
  VICTIM_IP,
  'victim-marker.example',
  // Other spellings of the same people and hosts.
  'ZED MARKERSON',
  '192.000.002.077',
  '7777-0199',
  '8888-0123',
];
const SOURCE_IP = '203.0.113.9';

function plantedIncident(title = `Web shell on ${VICTIM_HOST}`) {
  return {
    ...EXAMPLE_INCIDENT,
    title,
    summary: `Reported by ${REPORTER.name} (${REPORTER.email}, tel. ${REPORTER.phone}); POC ${POC.name} <${POC.email}>, mobile ${POC.mobile}. Attacker ${SOURCE_IP}.`,
    reporter: REPORTER,
    poc: POC,
    hosts: [
      { ip: SOURCE_IP, role: 'source', ports: [40000], protocol: 'tcp', description: 'scanner' },
      {
        ip: VICTIM_IP,
        hostname: VICTIM_HOST,
        role: 'target',
        ports: [443],
        protocol: 'tcp',
        description: `${REPORTER.name}'s mail server`,
      },
    ],
    intruderActivity: `Upload to https://www.victim-marker.example/upload from ${SOURCE_IP}; shell reached at 192.000.002.077:443. ZED MARKERSON noticed. Call +81 3 7777 0199.`,
    systemChanges: [{ description: `Web shell written to ${VICTIM_HOST}:/var/www`, host: VICTIM_HOST }],
    installedSoftware: [{ name: 'b374k', path: `/home/zed/${VICTIM_HOST}/shell.php`, description: `on ${VICTIM_IP}` }],
    evidence: [
      {
        kind: 'log',
        description: 'access log',
        content: `${SOURCE_IP} - - "POST /upload" 200 host=${VICTIM_HOST} mailto:${POC.email}`,
        source: `${VICTIM_HOST}:/var/log/nginx`,
      },
    ],
    indicators: [
      { kind: 'ipv4', value: SOURCE_IP, description: 'scanner' },
      { kind: 'url', value: 'https://www.victim-marker.example/upload' },
      { kind: 'ipv4', value: VICTIM_IP },
      { kind: 'other', value: `session of ${POC.name}`, description: 'cookie' },
    ],
  };
}

const ERASE_ALL = {
  subjects: ['reporter', 'poc', 'victims'],
  reason: 'Data subject request of 2026-12-01, ticket 4711',
  legalBasis: 'GDPR Art. 17(1)(a)',
};

const markersIn = (text: string): string[] => MARKERS.filter((m) => text.toLowerCase().includes(m.toLowerCase()));

async function search(query: string): Promise<string[]> {
  const res = await api(node, 'GET', `/incidents?${query}`, 'reader');
  if (res.statusCode !== 200) throw new Error(`search ${query}: ${res.statusCode} ${res.body}`);
  return (res.json().items as Array<{ ref: string }>).map((i) => i.ref);
}

async function storedText(id: string): Promise<string> {
  const { rows } = await sql<{ t: string }>`
    select (select row_to_json(i)::text from incident i where i.id = ${id}) ||
           coalesce((select json_agg(h)::text from incident_host h where h.incident_id = ${id}), '') ||
           coalesce((select json_agg(x)::text from incident_indicator x where x.incident_id = ${id}), '') as t`.execute(db);
  return rows[0]!.t;
}

/** Rows of every table that name a marker, as `table: row` (the node's whole database, not only the incident). */
const rowsNamingMarkers = () => scanForMarkers(db, markersIn, Infinity);

async function auditFor(
  id: string,
): Promise<Array<{ kind: string; actor: string; decision: string | null; details: Record<string, unknown> }>> {
  const res = await api(node, 'GET', `/audit?incident=${id}&limit=500`, 'admin');
  if (res.statusCode !== 200) throw new Error(`audit: ${res.statusCode} ${res.body}`);
  return res.json().items;
}

t.test('erasure removes every planted marker from the incident, GET and search, and keeps the incident', async (t) => {
  const created = await createIncident(node, plantedIncident());
  const before = (await api(node, 'GET', `/incidents/${enc(created.ref)}`, 'reader')).json();
  t.same(markersIn(JSON.stringify(before)).sort(), [...MARKERS].sort(), 'every marker is planted before the erasure (the check can fail)');
  for (const q of [
    `host=${VICTIM_IP}`,
    `host=${VICTIM_HOST}`,
    'host=192.0.2.0/24',
    `indicator=${enc('https://www.victim-marker.example/upload')}`,
  ]) {
    t.ok((await search(q)).includes(created.ref), `found by ${q} before`);
  }
  const note = await api(node, 'POST', `/incidents/${enc(created.ref)}/journal`, 'handler', {
    note: `Phoned ${POC.name} about ${VICTIM_IP}.`,
  });
  t.equal(note.statusCode, 201);

  const res = await api(node, 'POST', `/incidents/${enc(created.ref)}/erasure`, 'admin', ERASE_ALL);
  t.equal(res.statusCode, 200, res.body);
  const result = res.json();
  t.equal(result.ref, created.ref);
  t.same(result.subjects, ['reporter', 'poc', 'victims']);
  t.equal(result.version, before.version + 1, 'one new version');
  for (const f of [
    'title',
    'summary',
    'reporter',
    'poc',
    'hosts',
    'intruderActivity',
    'systemChanges',
    'installedSoftware',
    'evidence',
    'indicators',
  ]) {
    t.ok(result.fields.includes(f), `reports ${f} as changed`);
  }
  t.notOk(result.fields.includes('vulnerabilities'), 'an untouched field is not reported');
  t.same(result.earlierJournalEntries, [note.json().id], 'the earlier note naming them is listed, not rewritten');

  const got = await api(node, 'GET', `/incidents/${enc(created.ref)}`, 'reader');
  t.equal(got.statusCode, 200);
  const after = got.json();
  t.same(markersIn(got.body), [], 'GET names none of them');
  t.same(markersIn(await storedText(created.id)), [], 'nor do the stored row and its search rows');
  t.match(after, {
    id: created.id,
    ref: created.ref,
    phase: before.phase,
    category: before.category,
    type: before.type,
    severity: before.severity,
    tlp: before.tlp,
    createdAt: before.createdAt,
  });
  t.same(after.reporter, { name: '[erased]' });
  t.same(after.poc, { name: '[erased]' });
  t.same(after.hosts[1], { role: 'target', hostname: '[erased]', ports: [443], protocol: 'tcp' }, 'the victim keeps role, ports, protocol');
  t.match(after.hosts[0], { ip: SOURCE_IP, role: 'source' }, 'the attacking host stays');
  t.ok(after.summary.includes(SOURCE_IP), "the attacker's address stays in the text");
  t.same(
    after.indicators.map((i: { value: string }) => i.value),
    [SOURCE_IP, 'session of [redacted]'],
    'indicators naming a victim go; a free-form one is rewritten',
  );
  t.same(after.vulnerabilities, before.vulnerabilities);

  for (const q of [
    `host=${VICTIM_IP}`,
    `host=${VICTIM_HOST}`,
    'host=192.0.2.0/24',
    `indicator=${enc('https://www.victim-marker.example/upload')}`,
    'host=%5Berased%5D',
  ]) {
    t.notOk((await search(q)).includes(created.ref), `not found by ${q} after`);
  }
  t.ok((await search(`host=${SOURCE_IP}`)).includes(created.ref), 'still found by the attacking host');
  t.ok((await search(`externalRef=${enc('nothing')}`)).length === 0);

  const journal = (await api(node, 'GET', `/incidents/${enc(created.ref)}/journal`, 'reader')).json().items as Array<{
    id: number;
    kind: string;
    actor: string;
    changes: Record<string, unknown> | null;
    note: string | null;
  }>;
  const entry = journal.at(-1)!;
  t.match(entry, {
    id: result.journalEntry,
    kind: 'personal-data-erased',
    actor: 'admin-user',
    changes: { subjects: ['reporter', 'poc', 'victims'], legalBasis: ERASE_ALL.legalBasis },
  });
  t.same(markersIn(JSON.stringify(entry)), [], 'the journal entry names none of them');
  const updated = journal.at(-2)!;
  t.match(
    updated,
    {
      kind: 'updated',
      changes: {
        reporter: { replaced: true },
        title: { replaced: true },
        hosts: { from: 2, to: 2, unit: 'items' },
        indicators: { from: 4, to: 2, unit: 'items' },
      },
    },
    'an updated entry, for the listeners that follow content',
  );
  t.same(markersIn(JSON.stringify(updated)), [], 'which names no value either');
  t.ok(journal.find((e) => e.id === note.json().id)?.note?.includes(POC.name), 'the earlier note is kept as written (append-only journal)');

  const entries = await auditFor(created.id);
  const erased = entries.filter((e) => e.kind === 'incident.personal-data-erased');
  t.equal(erased.length, 1, 'one audit entry');
  t.match(erased[0], {
    actor: 'admin-user',
    decision: 'allow',
    details: {
      ref: created.ref,
      subjects: ['reporter', 'poc', 'victims'],
      reason: ERASE_ALL.reason,
      legalBasis: ERASE_ALL.legalBasis,
      journalEntry: result.journalEntry,
    },
  });
  t.same(markersIn(JSON.stringify(entries)), [], 'no audit entry names an erased value');

  const verify = await api(node, 'GET', '/audit/verify', 'admin');
  t.match(verify.json(), { ok: true }, 'the audit chain still verifies');

  // The whole database: this is the node's only incident so far, so any marker left is this one's.
  const { rows } = await sql<{ n: number }>`select count(*)::int as n from incident`.execute(db);
  t.equal(rows[0]!.n, 1, 'one incident on the node');
  const left = await rowsNamingMarkers();
  t.comment(left.map((row) => row.slice(0, row.indexOf(':'))).join(', '));
  t.equal(left.length, 1, 'one row in the whole database still names them');
  t.match(left[0], /^journal_entry: /, 'the earlier note, which the append-only journal keeps (ADR 0013)');
});

t.test('erasing again changes nothing but is recorded; one subject leaves the others', async (t) => {
  const created = await createIncident(node, plantedIncident('Phishing kit'));
  const victims = await api(node, 'POST', `/incidents/${enc(created.ref)}/erasure`, 'admin', {
    ...ERASE_ALL,
    subjects: ['victims'],
  });
  t.equal(victims.statusCode, 200, victims.body);
  const after = (await api(node, 'GET', `/incidents/${enc(created.ref)}`, 'reader')).json();
  t.equal(after.reporter.name, REPORTER.name, 'the reporter stays when only victims are erased');
  t.notOk(JSON.stringify(after).includes('victim-marker.example'), 'the victims go');
  t.notOk((await search(`host=${VICTIM_IP}`)).includes(created.ref));

  const again = await api(node, 'POST', `/incidents/${enc(created.ref)}/erasure`, 'admin', {
    ...ERASE_ALL,
    subjects: ['victims'],
  });
  t.equal(again.statusCode, 200);
  t.same(again.json().fields, [], 'nothing left to erase');
  t.equal(again.json().version, victims.json().version, 'no new version');
  const kinds = (await auditFor(created.id)).map((e) => e.kind);
  t.same(kinds.filter((k) => k === 'incident.personal-data-erased').length, 2, 'both requests are audited');
});

t.test('a reason or legal basis that names the erased data is refused, and nothing is erased', async (t) => {
  const created = await createIncident(node, plantedIncident('Defacement'));
  for (const [body, pointer] of [
    [{ ...ERASE_ALL, reason: `Request by ${REPORTER.name.toLowerCase()}` }, '/reason'],
    [{ ...ERASE_ALL, legalBasis: `Art. 17 for ${VICTIM_IP}` }, '/legalBasis'],
  ] as const) {
    const res = await api(node, 'POST', `/incidents/${enc(created.ref)}/erasure`, 'admin', body);
    t.equal(res.statusCode, 400);
    t.match(res.json(), { code: 'validation-failed', errors: [{ pointer }] });
  }
  const still = (await api(node, 'GET', `/incidents/${enc(created.ref)}`, 'reader')).json();
  t.equal(still.reporter.name, REPORTER.name, 'not erased');
  t.same(
    (await auditFor(created.id)).filter((e) => e.kind.startsWith('incident.personal-data')),
    [],
    'and nothing audited',
  );
});

t.test('legal hold: set and cleared with a reason, audited; refuses erasure with 409 legal-hold', async (t) => {
  const created = await createIncident(node, plantedIncident('Ransomware'));
  const url = `/incidents/${enc(created.ref)}/legal-hold`;
  t.same((await api(node, 'GET', url, 'reader')).json(), { hold: false, reason: null, setBy: null, setAt: null }, 'not held at first');

  const set = await api(node, 'PUT', url, 'handler', {
    hold: true,
    reason: 'Preservation order of the district court, case 12/2026',
  });
  t.equal(set.statusCode, 200, set.body);
  t.match(set.json(), {
    hold: true,
    reason: 'Preservation order of the district court, case 12/2026',
    setBy: 'handler-user',
  });
  t.match((await api(node, 'GET', url, 'reader')).json(), { hold: true, setBy: 'handler-user' }, 'visible to readers');

  const refused = await api(node, 'POST', `/incidents/${enc(created.ref)}/erasure`, 'admin', ERASE_ALL);
  t.equal(refused.statusCode, 409);
  t.match(refused.headers['content-type'], /^application\/problem\+json/);
  t.match(refused.json(), {
    code: 'legal-hold',
    type: 'urn:hikeshi:problem:legal-hold',
    status: 409,
    heldSince: set.json().setAt,
  });
  const held = (await api(node, 'GET', `/incidents/${enc(created.ref)}`, 'reader')).json();
  t.equal(held.reporter.name, REPORTER.name, 'nothing erased');
  t.ok(held.hosts.some((h: { ip?: string }) => h.ip === VICTIM_IP));
  t.ok((await search(`host=${VICTIM_IP}`)).includes(created.ref), 'still found');

  const cleared = await api(node, 'PUT', url, 'admin', { hold: false, reason: 'Order lifted on 2026-12-03' });
  t.equal(cleared.statusCode, 200);
  t.same(cleared.json(), { hold: false, reason: null, setBy: null, setAt: null });
  const clearedAgain = await api(node, 'PUT', url, 'admin', { hold: false, reason: 'again' });
  t.equal(clearedAgain.statusCode, 200, 'clearing a hold that is not set is no error');

  const erased = await api(node, 'POST', `/incidents/${enc(created.ref)}/erasure`, 'admin', ERASE_ALL);
  t.equal(erased.statusCode, 200, 'erasure works once the hold is cleared');

  const audit = await auditFor(created.id);
  t.same(
    audit.map((e) => [e.kind, e.decision]),
    [
      ['incident.legal-hold-set', null],
      ['incident.personal-data-erasure-refused', 'deny'],
      ['incident.legal-hold-cleared', null],
      ['incident.personal-data-erased', 'allow'],
    ],
    'every step audited, the refusal included',
  );
  t.match(audit[0], {
    actor: 'handler-user',
    details: { ref: created.ref, reason: 'Preservation order of the district court, case 12/2026' },
  });
  t.match(audit[2], {
    actor: 'admin-user',
    details: { reason: 'Order lifted on 2026-12-03', previous: { setBy: 'handler-user' } },
  });
  const kinds = ((await api(node, 'GET', `/incidents/${enc(created.ref)}/journal`, 'reader')).json().items as Array<{ kind: string }>).map(
    (e) => e.kind,
  );
  t.same(
    kinds.filter((k) => k.startsWith('legal-hold') || k === 'personal-data-erased'),
    ['legal-hold-set', 'legal-hold-cleared', 'personal-data-erased'],
    'journalled',
  );
  t.match((await api(node, 'GET', '/audit/verify', 'admin')).json(), { ok: true });
});

t.test('roles: erasure needs admin, the hold needs handler, reading it reader', async (t) => {
  const created = await createIncident(node);
  const erasure = `/incidents/${enc(created.ref)}/erasure`;
  const hold = `/incidents/${enc(created.ref)}/legal-hold`;
  for (const role of ['reader', 'handler'] as const) {
    const res = await api(node, 'POST', erasure, role, ERASE_ALL);
    t.equal(res.statusCode, 403, `${role} may not erase`);
    t.equal(res.json().code, 'forbidden');
  }
  const readerHold = await api(node, 'PUT', hold, 'reader', { hold: true, reason: 'x' });
  t.equal(readerHold.statusCode, 403, 'a reader may not set a hold');
  t.equal(readerHold.json().code, 'forbidden');
  for (const [method, url] of [
    ['POST', erasure],
    ['PUT', hold],
    ['GET', hold],
  ] as const) {
    const res = await api(node, method, url, null, method === 'GET' ? undefined : ERASE_ALL);
    t.equal(res.statusCode, 401, `${method} ${url} without a token`);
    t.equal(res.json().code, 'unauthenticated');
  }
  const still = (await api(node, 'GET', `/incidents/${enc(created.ref)}`, 'reader')).json();
  t.equal(still.reporter.name, (EXAMPLE_INCIDENT.reporter as { name: string }).name, 'nothing was erased');
});

t.test('bad bodies are 400 problems, unknown incidents 404', async (t) => {
  const created = await createIncident(node);
  const erasure = `/api/v1/incidents/${enc(created.ref)}/erasure`;
  const hold = `/api/v1/incidents/${enc(created.ref)}/legal-hold`;
  const raw = (url: string, method: 'POST' | 'PUT', payload: string) =>
    node.app.inject({ method, url, headers: { ...node.auth.admin, 'content-type': 'application/json' }, payload });
  for (const [url, method] of [
    [erasure, 'POST'],
    [hold, 'PUT'],
  ] as const) {
    const res = await raw(url, method, '{"subjects": [');
    t.equal(res.statusCode, 400, `${method} malformed JSON`);
    t.equal(res.json().code, 'malformed-json');
    t.match(res.headers['content-type'], /^application\/problem\+json/);
  }
  const badErasures: Array<[string, unknown]> = [
    ['no subjects', { reason: 'r', legalBasis: 'b' }],
    ['empty subjects', { ...ERASE_ALL, subjects: [] }],
    ['unknown subject', { ...ERASE_ALL, subjects: ['attacker'] }],
    ['subjects as a string', { ...ERASE_ALL, subjects: 'reporter' }],
    ['a subject twice', { ...ERASE_ALL, subjects: ['poc', 'poc'] }],
    ['no reason', { subjects: ['poc'], legalBasis: 'b' }],
    ['empty reason', { ...ERASE_ALL, reason: '' }],
    ['reason as a number', { ...ERASE_ALL, reason: 42 }],
    ['no legal basis', { subjects: ['poc'], reason: 'r' }],
    ['an unknown field', { ...ERASE_ALL, force: true }],
    ['not an object', ['reporter']],
  ];
  for (const [what, body] of badErasures) {
    const res = await api(node, 'POST', erasure.slice('/api/v1'.length), 'admin', body);
    t.equal(res.statusCode, 400, `erasure: ${what}`);
    t.equal(res.json().code, 'validation-failed', `erasure: ${what}: code`);
  }
  const badHolds: Array<[string, unknown]> = [
    ['hold as a string', { hold: 'yes', reason: 'r' }],
    ['no reason', { hold: true }],
    ['empty reason', { hold: true, reason: '' }],
    ['reason too long', { hold: true, reason: 'x'.repeat(2001) }],
    ['an unknown field', { hold: true, reason: 'r', until: '2027-01-01' }],
  ];
  for (const [what, body] of badHolds) {
    const res = await api(node, 'PUT', hold.slice('/api/v1'.length), 'handler', body);
    t.equal(res.statusCode, 400, `hold: ${what}`);
    t.equal(res.json().code, 'validation-failed', `hold: ${what}: code`);
  }
  for (const ref of ['ALPHA#1999-999999', '00000000-0000-4000-8000-000000000000']) {
    const e = await api(node, 'POST', `/incidents/${enc(ref)}/erasure`, 'admin', ERASE_ALL);
    const g = await api(node, 'GET', `/incidents/${enc(ref)}/legal-hold`, 'reader');
    const p = await api(node, 'PUT', `/incidents/${enc(ref)}/legal-hold`, 'handler', { hold: true, reason: 'r' });
    for (const res of [e, g, p]) {
      t.equal(res.statusCode, 404, `${ref}: 404`);
      t.equal(res.json().code, 'not-found');
    }
  }
});

t.test('erasure listeners run inside the erasure transaction: a failing one rolls it back', async (t) => {
  const audit = createAuditModule({ db, clock: () => new Date() });
  const incidents = createIncidentService({ db, clock: () => new Date(), config: node.config, audit: audit.log });
  const actor = { subject: 'listener-test', team: node.config.teamId };
  const created = await incidents.create(plantedIncident('Listener') as never, actor);

  let fail = true;
  const seen: Array<{
    subjects: readonly string[];
    inTx: boolean;
    reporterBefore: string;
    reporterAfter: string;
    scrubbed: string;
  }> = [];
  incidents.addErasureListener(async (tx, incident, erasure) => {
    seen.push({
      subjects: erasure.subjects,
      inTx: tx.isTransaction,
      reporterBefore: erasure.before.reporter.name,
      reporterAfter: incident.reporter.name,
      scrubbed: erasure.scrub(`copy for ${VICTIM_HOST}`).text,
    });
    if (fail) throw new Error('the copy could not be erased');
  });

  await t.rejects(
    incidents.erasePersonalData(created.ref, { ...ERASE_ALL, subjects: ['reporter', 'victims'] }, actor),
    /could not be erased/,
  );
  t.equal((await incidents.get(created.ref)).reporter.name, REPORTER.name, 'rolled back: the incident is as it was');
  t.same(
    (await auditFor(created.id)).filter((e) => e.kind === 'incident.personal-data-erased'),
    [],
    'and nothing audited',
  );

  fail = false;
  const result = await incidents.erasePersonalData(created.ref, { ...ERASE_ALL, subjects: ['victims', 'reporter'] }, actor);
  t.same(result.subjects, ['reporter', 'victims'], 'subjects in one order');
  t.equal(seen.length, 2);
  t.match(seen[1], {
    subjects: ['reporter', 'victims'],
    inTx: true,
    reporterBefore: REPORTER.name,
    reporterAfter: '[erased]',
    scrubbed: 'copy for [redacted]',
  });
  t.equal((await incidents.get(created.ref)).reporter.name, '[erased]');
});
