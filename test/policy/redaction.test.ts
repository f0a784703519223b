import { readFileSync } from 'node:fs';
import t from 'tap';
import type { TSchema } from 'typebox';
import Value from 'typebox/value';
import { IncidentSchema, type Incident } from '../../schemas/incident.schema.js';
import {
  ActivitySummarySchema,
  PolicyDecisionSchema,
  PolicyExplainResponseSchema,
  type PolicyRecipient,
  type TrustLevel,
} from '../../schemas/policy.schema.js';
import {
  applyRedactions,
  decide,
  isRedactionMarker,
  policyItemFromIncident,
  PolicyPayloadError,
  preparePayload,
  REDACTED,
  scrubCorrectionNote,
  sectionsPresent,
  summarise,
} from '../../src/modules/policy/index.js';

/**
 * The documented example report (docs/examples/incident.json) as a stored Incident, plus an
 * internal host and an indicator naming the victim, so every section and every leak path shows.
 */
function exampleIncident(): Incident {
  const example = JSON.parse(readFileSync(new URL('../../docs/examples/incident.json', import.meta.url), 'utf8')) as Incident;
  return {
    ...example,
    id: '6f1c2a4e-5b7d-4c1e-9a2b-3c4d5e6f7a8b',
    ref: 'ALPHA#2026-000042',
    phase: 'analysis',
    hosts: [
      ...example.hosts,
      {
        ip: '10.20.30.40',
        hostname: 'db01.corp',
        role: 'intermediary',
        description: 'internal database the bot reached from www.example-univ.ac.jp',
      },
    ],
    indicators: [
      ...example.indicators,
      { kind: 'ipv4', value: '192.0.2.10', description: 'the compromised web server www.example-univ.ac.jp' },
    ],
    externalRefs: [{ team: 'bravo', ref: 'BRAVO#2026-17' }],
    version: 3,
    createdBy: 'handler-1',
    createdAt: '2026-11-20T03:00:00.000Z',
    updatedAt: '2026-11-21T10:00:00.000Z',
  };
}

const recipient = (trust: TrustLevel, relationship: 'peer' | 'coordinator' = 'peer'): PolicyRecipient => ({
  id: 'bravo',
  kind: 'team',
  relationship,
  trust,
});
const errorsOf = (schema: TSchema, value: unknown) => [...Value.Errors(schema, value)].map((e) => `${e.instancePath} ${e.message}`);

t.test('the example incident has every section; the fixture is a valid Incident', async (t) => {
  const incident = exampleIncident();
  t.same(errorsOf(IncidentSchema, incident), []);
  t.same(sectionsPresent(incident), ['reporter', 'poc', 'victims', 'evidence', 'internalHosts']);
  t.same(sectionsPresent({ ...incident, poc: null, evidence: [], hosts: [] }), ['reporter']);
  // The caller can widen "internal": here the public web server counts as internal too.
  const widened = policyItemFromIncident(
    { ...incident, hosts: [incident.hosts[1]!] },
    { ourTeamId: 'alpha', isInternalHost: (h) => h.ip === '192.0.2.10' },
  );
  t.same(widened.sections, ['reporter', 'poc', 'victims', 'evidence', 'internalHosts']);
});

t.test('an unknown recipient gets every section replaced by a marker, and the result stays a valid Incident', async (t) => {
  const incident = exampleIncident();
  const before = structuredClone(incident);
  const item = policyItemFromIncident({ ...incident, tlp: 'CLEAR' }, { ourTeamId: 'alpha' });
  const decision = decide(item, recipient('unknown'), 'direct');
  t.ok(decision.allow);
  const out = applyRedactions({ ...incident, tlp: 'CLEAR' }, decision);
  t.same(errorsOf(IncidentSchema, out), [], 'the closed Incident schema accepts the redacted copy');
  t.same(incident, before, 'the input is not modified');

  t.same(out.reporter, { name: '[redacted: reporter needs partner]' });
  t.same(out.poc, { name: '[redacted: poc needs community]' });
  t.ok(isRedactionMarker(out.reporter.name));

  const target = out.hosts.find((h) => h.role === 'target')!;
  t.same(target, {
    role: 'target',
    hostname: REDACTED,
    description: '[redacted: victims needs partner]',
    ports: [22],
    protocol: 'tcp',
    spoofedSource: false,
  });
  const internal = out.hosts.find((h) => h.description === '[redacted: internalHosts needs close]');
  t.ok(internal, 'the internal host is redacted');
  t.equal(internal?.role, 'intermediary');
  t.notOk(internal?.ip);
  // The attacker's side stays: that is what the recipient needs to act.
  t.ok(out.hosts.some((h) => h.ip === '203.0.113.45' && h.role === 'source'));

  for (const e of out.evidence) {
    t.same(Object.keys(e).sort(), e.collectedAt ? ['collectedAt', 'description', 'kind'] : ['description', 'kind']);
    t.equal(e.description, '[redacted: evidence needs partner]');
  }
  t.equal(out.evidence.length, incident.evidence.length, 'the recipient learns that evidence exists');

  // The victim's identity does not leak through another field.
  const text = JSON.stringify(out);
  for (const leak of ['www.example-univ.ac.jp', '192.0.2.10', '10.20.30.40', 'db01.corp', 'Hanako', 't.suzuki@', 'Accepted password']) {
    t.notOk(text.includes(leak), `no "${leak}" in the redacted copy`);
  }
  t.match(out.title, /Unauthorised access to web server \[redacted\] from a stepping stone/);
  t.notOk(
    out.indicators.some((i) => i.value === '192.0.2.10'),
    'an indicator that is the victim is dropped',
  );
  t.ok(
    out.indicators.some((i) => i.value === '203.0.113.45'),
    'attacker indicators stay',
  );
  // Boundaries: 192.0.2.0/24 in the text is a different string and stays.
  t.match(out.intruderActivity, /scanned 192\.0\.2\.0\/24/);
});

t.test('a copy redacted upstream holds markers, not the sections: passing it on needs no redaction', async (t) => {
  const incident = exampleIncident();
  const item = policyItemFromIncident({ ...incident, tlp: 'CLEAR' }, { ourTeamId: 'alpha' });
  const out = applyRedactions({ ...incident, tlp: 'CLEAR' }, decide(item, recipient('unknown'), 'direct'));
  t.same(sectionsPresent(out), [], 'every section was removed: none is left to redact');
  const chosen = policyItemFromIncident(incident, { ourTeamId: 'alpha', chosenRecipients: ['bravo'] });
  const partner = applyRedactions(incident, decide(chosen, recipient('partner'), 'direct'));
  t.same(sectionsPresent(partner), ['reporter', 'poc', 'victims', 'evidence'], 'internal hosts were removed, the rest is there');
  // A marker with something real beside it is still the section.
  t.same(sectionsPresent({ ...out, reporter: { ...out.reporter, email: 'x@example.net' } }), ['reporter']);
});

t.test('a retraction note is scrubbed of every identifier any redaction could hide', async (t) => {
  const incident = exampleIncident();
  const { note, sections } = scrubCorrectionNote(
    incident,
    'Hoax: www.example-univ.ac.jp (192.0.2.10) and db01.corp were fine, Hanako Yamada agrees; 203.0.113.45 is a scanner.',
  );
  t.same(sections, ['reporter', 'victims', 'internalHosts']);
  for (const leak of ['example-univ', '192.0.2.10', 'db01', 'Hanako']) t.notOk(note.includes(leak), `no ${leak}`);
  t.match(note, /203\.0\.113\.45 is a scanner/, 'what names nobody stays');
  t.same(scrubCorrectionNote(incident, 'Nothing to hide.'), { note: 'Nothing to hide.', sections: [] });
  t.equal(scrubCorrectionNote(incident, `${'www.example-univ.ac.jp '.repeat(86)}`).note.length <= 2000, true, 'cut to the wire limit');
});

t.test('a partner gets everything but internal hosts; close gets the incident unchanged', async (t) => {
  const incident = exampleIncident();
  const item = policyItemFromIncident(incident, { ourTeamId: 'alpha', chosenRecipients: ['bravo'] });
  const partner = applyRedactions(incident, decide(item, recipient('partner'), 'direct'));
  t.same(partner.reporter, incident.reporter);
  t.same(partner.evidence, incident.evidence, 'the partner gets the logs');
  t.ok(partner.hosts.some((h) => h.hostname === 'www.example-univ.ac.jp'));
  t.notOk(JSON.stringify(partner).includes('10.20.30.40'));
  t.notOk(JSON.stringify(partner).includes('db01.corp'));
  t.match(partner.hosts.find((h) => h.role === 'intermediary' && h.hostname === REDACTED)?.description, /internalHosts needs close/);
  t.same(errorsOf(IncidentSchema, partner), []);
  const close = applyRedactions(incident, decide(item, recipient('close'), 'direct'));
  t.same(close, incident);
  t.not(close, incident, 'always a copy');
});

t.test('the redacted copy carries the label the recipient must honour', async (t) => {
  const incident = { ...exampleIncident(), tlp: 'GREEN' as const };
  const item = policyItemFromIncident(incident, {
    ourTeamId: 'alpha',
    chosenRecipients: ['site-1'],
    provenance: {
      originator: 'charlie',
      originatorTlp: 'AMBER',
      receivedFrom: 'charlie',
      chain: [{ team: 'charlie', tlp: 'AMBER' }],
    },
  });
  const d = decide(item, { id: 'site-1', kind: 'site', trust: 'close' }, 'direct');
  t.equal(applyRedactions(incident, d).tlp, 'AMBER');
});

t.test('per-incident override shows in the redacted copy', async (t) => {
  const incident = exampleIncident();
  const item = policyItemFromIncident(incident, {
    ourTeamId: 'alpha',
    chosenRecipients: ['bravo'],
    sectionMinimums: { evidence: 'close' },
  });
  const d = decide(item, recipient('partner'), 'direct');
  const out = applyRedactions(incident, d);
  t.equal(out.evidence[0]?.description, '[redacted: evidence needs close]');
  t.notOk(JSON.stringify(out).includes('Accepted password'));
});

t.test('evidence that stays is scrubbed of the victims it would otherwise name', async (t) => {
  const incident: Incident = { ...exampleIncident(), tlp: 'GREEN' };
  incident.evidence = [
    ...incident.evidence,
    {
      kind: 'log',
      content: 'conn 203.0.113.45:51234 -> 192.0.2.10:22 ok; 192.0.2.100 untouched; www.example-univ.ac.jp.evil.net untouched',
      source: 'fw',
    },
  ];
  incident.hosts = [...incident.hosts, { ip: '2001:db8::1', role: 'target' }];
  incident.summary = 'Targets 2001:db8::1 and 192.0.2.10; 2001:db8::1:5 is another host.';
  const item = policyItemFromIncident(incident, {
    ourTeamId: 'alpha',
    sectionMinimums: { evidence: 'community', reporter: 'community' },
  });
  const d = decide(item, recipient('community'), 'direct');
  t.same(
    d.redactions.map((r) => r.section),
    ['victims', 'internalHosts'],
  );
  const out = applyRedactions(incident, d);
  t.equal(out.evidence[0]?.source, '[redacted]:/var/log/auth.log', 'host:path still matches');
  t.equal(
    out.evidence[2]?.content,
    'conn 203.0.113.45:51234 -> [redacted]:22 ok; 192.0.2.100 untouched; www.example-univ.ac.jp.evil.net untouched',
  );
  // "2001:db8::1:5" may be 2001:db8::1 with a port: redaction errs on the side of hiding.
  t.equal(out.summary, 'Targets [redacted] and [redacted]; [redacted] is another host.');
  const { email: _email, ...rest } = incident.reporter;
  t.same(
    out.reporter,
    rest,
    "the reporter stays (its minimum was lowered on this incident), but not its e-mail address at the hidden victim's domain",
  );
  t.same(errorsOf(IncidentSchema, out), []);
});

t.test('summarise: counts, category, phase, indicators; nothing that names people or victims', async (t) => {
  const incident = exampleIncident();
  const s = summarise(incident);
  t.same(errorsOf(ActivitySummarySchema, s), []);
  t.equal(s.ref, 'ALPHA#2026-000042');
  t.equal(s.category, 'intrusions');
  t.equal(s.phase, 'analysis');
  t.same(s.counts, {
    sourceHosts: 1,
    targetHosts: 1,
    intermediaryHosts: 2,
    indicators: 4,
    vulnerabilities: 2,
    systemChanges: 2,
    installedSoftware: 1,
    evidence: 2,
  });
  t.same(s.indicators, [
    { kind: 'ipv4', value: '203.0.113.45' },
    { kind: 'ipv4', value: '198.51.100.7' },
    { kind: 'sha256', value: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08' },
  ]);
  t.same(s.cves, ['CVE-2016-5195']);
  t.same(s.hosts, [
    { role: 'source', ip: '203.0.113.45', hostname: 'dialup-45.example-isp.net' },
    { role: 'intermediary', ip: '198.51.100.7' },
  ]);
  const text = JSON.stringify(s);
  for (const leak of ['www.example-univ.ac.jp', '192.0.2.10', '10.20.30.40', 'Hanako', 'Taro', 'Unauthorised access', 'sshd']) {
    t.notOk(text.includes(leak), `no "${leak}" in the summary`);
  }
});

t.test('preparePayload follows the decision and refuses a deny', async (t) => {
  const incident = exampleIncident();
  const item = policyItemFromIncident(incident, { ourTeamId: 'alpha' });
  const summary = preparePayload(incident, decide(item, recipient('partner', 'coordinator'), 'coordinator-feed'));
  t.equal(summary.detail, 'summary');
  if (summary.detail === 'summary') t.equal(summary.summary.tlp, 'AMBER');
  const full = preparePayload(incident, decide(item, recipient('close', 'coordinator'), 'coordinator-feed'));
  t.equal(full.detail, 'full');
  const denied = decide(item, recipient('close'), 'direct');
  t.notOk(denied.allow);
  t.throws(() => preparePayload(incident, denied), PolicyPayloadError);
  t.throws(() => applyRedactions(incident, denied), PolicyPayloadError);
  t.throws(() => applyRedactions(incident, decide(item, recipient('partner', 'coordinator'), 'coordinator-feed')), /summarise/);
});

t.test('decisions and explain answers match their wire schemas', async (t) => {
  const incident = exampleIncident();
  const item = policyItemFromIncident(incident, { ourTeamId: 'alpha', chosenRecipients: ['bravo'] });
  const allowed = decide(item, recipient('partner'), 'direct', { now: new Date('2026-11-21T00:00:00Z') });
  const denied = decide(item, recipient('community'), 'direct');
  t.same(errorsOf(PolicyDecisionSchema, allowed), []);
  t.same(errorsOf(PolicyDecisionSchema, denied), []);
  const preview = preparePayload(incident, allowed);
  const answer = {
    decision: allowed,
    effectiveTrust: null,
    preview: preview.detail === 'full' ? preview.incident : preview.summary,
  };
  t.same(errorsOf(PolicyExplainResponseSchema, answer), []);
  t.same(errorsOf(PolicyExplainResponseSchema, { decision: denied, effectiveTrust: null, preview: null }), []);
  t.not(errorsOf(PolicyDecisionSchema, { ...allowed, extra: 1 }).length, 0, 'the decision schema is closed');
});
