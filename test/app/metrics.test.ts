import t from 'tap';
import { ConfigError, loadConfig } from '../../src/config.js';
import { createRegistry, EXPOSITION_CONTENT_TYPE } from '../../src/modules/metrics/metrics-registry.js';
import { buildTestNode, type TestNode } from '../helpers/build-test-app.js';
import {
  api,
  createIncident,
  enc,
  fastDelivery,
  messageDocument,
  partnersBoth,
  postMessage,
  reportBody,
  sign,
  waitFor,
  waitForShareState,
} from '../helpers/federation-harness.js';

/**
 * GET /metrics (issue 16 part 6): admin only, the Prometheus text format 0.0.4 line by line (a
 * strict parser below: a malformed line fails), the inbox's decisions, deliveries, the outbox's
 * depth for a peer that is down, the audit chain, HTTP latency by route pattern, and never a
 * marker planted in an incident, a message or a URL.
 */
fastDelivery();

// ---------------------------------------------------------------------------------------------
// A strict reader of the exposition format (text format 0.0.4)

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}
interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
  errors: string[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const FLOAT = /^(?:[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|[+-]Inf|NaN)$/;

const toNumber = (s: string): number => (s === '+Inf' ? Infinity : s === '-Inf' ? -Infinity : Number(s));

/** `{a="x",b="y\"z"}` -> labels; null when it breaks the grammar (escapes: \\, \", \n only). */
function parseLabels(text: string): Record<string, string> | null {
  const labels: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    if (eq < 0) return null;
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name) || name in labels || text[eq + 1] !== '"') return null;
    let value = '';
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === '\n') return null;
      if (text[j] === '\\') {
        const next = text[++j];
        if (next === '\\') value += '\\';
        else if (next === '"') value += '"';
        else if (next === 'n') value += '\n';
        else return null;
      } else value += text[j];
    }
    if (j >= text.length) return null;
    labels[name] = value;
    i = j + 1;
    if (i < text.length) {
      if (text[i] !== ',') return null;
      i++;
    }
  }
  return labels;
}

/** The family a sample belongs to: histograms' _bucket/_sum/_count belong to their base name. */
function familyOf(name: string, types: Map<string, string>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.slice(0, -suffix.length);
    if (name.endsWith(suffix) && types.get(base) === 'histogram') return base;
  }
  return name;
}

function parseExposition(text: string): Exposition {
  const out: Exposition = { samples: [], types: new Map(), errors: [] };
  const helped = new Set<string>();
  const seenSeries = new Set<string>();
  const closed = new Set<string>();
  let current: string | null = null;
  if (!text.endsWith('\n')) out.errors.push('the text does not end with a newline');
  const lines = text.split('\n').slice(0, -1);
  lines.forEach((line, n) => {
    const err = (why: string) => out.errors.push(`line ${n + 1}: ${why}: ${line.slice(0, 200)}`);
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      if (!m) return err('a comment that is neither HELP nor TYPE');
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (!METRIC_NAME.test(name)) return err('invalid metric name');
      if (kind === 'HELP') {
        if (helped.has(name)) return err('second HELP');
        if (/\\[^\\n]/.test(rest.replace(/\\\\/g, ''))) return err('invalid escape in HELP');
        helped.add(name);
      } else {
        if (out.types.has(name)) return err('second TYPE');
        if (!['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(rest)) return err('unknown type');
        if (rest === 'counter' && !name.endsWith('_total')) return err('a counter not named _total');
        out.types.set(name, rest);
      }
      return;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: -?\d+)?$/.exec(line);
    if (!m) return err('not a sample line');
    const [, name, labelText, valueText] = m as unknown as [string, string, string | undefined, string];
    const labels = labelText === undefined ? {} : parseLabels(labelText);
    if (!labels) return err('malformed labels');
    if (!FLOAT.test(valueText)) return err('malformed value');
    const family = familyOf(name, out.types);
    const type = out.types.get(family);
    if (!type) return err('a sample before its TYPE');
    if (type === 'counter' && name !== family) return err('a counter sample under another name');
    if (type === 'histogram' && name === family) return err('a histogram sample without _bucket, _sum or _count');
    if (name.endsWith('_bucket') && type === 'histogram' && labels['le'] === undefined) return err('a bucket without le');
    // A family's samples come together.
    if (family !== current) {
      if (closed.has(family)) return err('the family was interrupted');
      if (current) closed.add(current);
      current = family;
    }
    const key = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seenSeries.has(key)) return err('the same series twice');
    seenSeries.add(key);
    out.samples.push({ name, labels, value: toNumber(valueText) });
  });
  checkHistograms(out);
  return out;
}

/** Each histogram series: ascending le, cumulative counts, +Inf equal to _count, a _sum. */
function checkHistograms(out: Exposition): void {
  for (const [family, type] of out.types) {
    if (type !== 'histogram') continue;
    const groups = new Map<string, Sample[]>();
    for (const s of out.samples.filter((s) => s.name === `${family}_bucket`)) {
      const { le: _le, ...rest } = s.labels;
      const key = JSON.stringify(Object.entries(rest).sort());
      groups.set(key, [...(groups.get(key) ?? []), s]);
    }
    for (const [key, buckets] of groups) {
      const les = buckets.map((b) => toNumber(b.labels['le']!));
      if (les.some((le, i) => i > 0 && le <= les[i - 1]!)) out.errors.push(`${family} ${key}: le not ascending`);
      if (buckets.some((b, i) => i > 0 && b.value < buckets[i - 1]!.value)) out.errors.push(`${family} ${key}: buckets not cumulative`);
      if (les.at(-1) !== Infinity) out.errors.push(`${family} ${key}: no +Inf bucket`);
      const match = (name: string) => out.samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === key);
      const count = match(`${family}_count`);
      if (!count || count.value !== buckets.at(-1)!.value) out.errors.push(`${family} ${key}: _count differs from the +Inf bucket`);
      if (!match(`${family}_sum`)) out.errors.push(`${family} ${key}: no _sum`);
    }
  }
}

/** The value of the one sample named so with exactly these labels (0 when absent). */
function valueOf(exposition: Exposition, name: string, labels: Record<string, string> = {}): number {
  const want = JSON.stringify(Object.entries(labels).sort());
  return exposition.samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value ?? 0;
}

async function scrape(node: TestNode): Promise<{ text: string; exposition: Exposition }> {
  const res = await node.app.inject({ method: 'GET', url: '/metrics', headers: node.auth.admin });
  if (res.statusCode !== 200) throw new Error(`scrape: ${res.statusCode} ${res.body}`);
  if (res.headers['content-type'] !== EXPOSITION_CONTENT_TYPE) throw new Error(`scrape: content type ${res.headers['content-type']}`);
  const exposition = parseExposition(res.body);
  if (exposition.errors.length) throw new Error(`malformed exposition:\n${exposition.errors.join('\n')}`);
  return { text: res.body, exposition };
}

// ---------------------------------------------------------------------------------------------

const MARKER = 'ZQXMETRICSMARKER';

t.test('the parser is strict, and the registry escapes what it must', async (t) => {
  const registry = createRegistry();
  const c = registry.counter('x_total', 'help with \\ and\nnewline', ['v']);
  c.inc({ v: 'quote " backslash \\ newline \n end' });
  const h = registry.histogram('h_seconds', 'h', ['p'], [1, 0.5]);
  h.observe({ p: 'a' }, 0.7);
  h.observe({ p: 'a' }, 3);
  const parsed = parseExposition(await registry.render());
  t.same(parsed.errors, []);
  t.equal(valueOf(parsed, 'x_total', { v: 'quote " backslash \\ newline \n end' }), 1, 'the label value round-trips');
  t.equal(valueOf(parsed, 'h_seconds_bucket', { p: 'a', le: '0.5' }), 0);
  t.equal(valueOf(parsed, 'h_seconds_bucket', { p: 'a', le: '1' }), 1);
  t.equal(valueOf(parsed, 'h_seconds_bucket', { p: 'a', le: '+Inf' }), 2);
  t.equal(valueOf(parsed, 'h_seconds_sum', { p: 'a' }), 3.7);
  t.throws(() => registry.counter('no_suffix', 'x'), 'a counter must end in _total');
  t.throws(() => registry.histogram('h2', 'x', ['le'], [1]), 'le is reserved');

  // The parser refuses what the format does not allow.
  for (const bad of [
    'x_total 1\n', // no TYPE
    '# TYPE x_total counter\nx_total{v="a} 1\n', // unterminated label
    '# TYPE x_total counter\nx_total{v="\\x"} 1\n', // unknown escape
    '# TYPE x_total counter\nx_total one\n', // not a number
    '# TYPE x counter\nx 1\n', // counter without _total
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', // not cumulative
    '# TYPE g gauge\ng 1', // no final newline
    '# a comment\n',
  ]) {
    t.not(parseExposition(bad).errors.length, 0, JSON.stringify(bad));
  }
});

const alpha = await buildTestNode(t, { key: 'alpha', listen: true, startWorker: true });
const bravo = await buildTestNode(t, { key: 'bravo', listen: true, startWorker: true });
await partnersBoth(alpha, bravo);
const auditAtStart = valueOf((await scrape(alpha)).exposition, 'hikeshi_audit_chain_length');

t.test('a scrape needs an admin token: 401 without one, 403 for reader and handler, problem+json', async (t) => {
  const none = await alpha.app.inject({ method: 'GET', url: '/metrics' });
  t.equal(none.statusCode, 401);
  t.match(none.headers['content-type'], /^application\/problem\+json/);
  t.equal(none.json().code, 'unauthenticated');
  const forged = await alpha.app.inject({ method: 'GET', url: '/metrics', headers: { authorization: 'Bearer not.a.token' } });
  t.equal(forged.statusCode, 401);
  for (const role of ['reader', 'handler'] as const) {
    const res = await alpha.app.inject({ method: 'GET', url: '/metrics', headers: alpha.auth[role] });
    t.equal(res.statusCode, 403, role);
    t.equal(res.json().code, 'forbidden', role);
  }
  const post = await alpha.app.inject({ method: 'POST', url: '/metrics', headers: alpha.auth.admin, payload: {} });
  t.ok(post.statusCode >= 400 && post.statusCode < 500, `POST: ${post.statusCode}`);
  t.match(post.headers['content-type'], /^application\/problem\+json/);

  const ok = await alpha.app.inject({ method: 'GET', url: '/metrics', headers: alpha.auth.admin });
  t.equal(ok.statusCode, 200);
  t.equal(ok.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  const { exposition } = await scrape(alpha);
  for (const [name, type] of [
    ['hikeshi_inbox_messages_total', 'counter'],
    ['hikeshi_outbox_pending', 'gauge'],
    ['hikeshi_delivery_seconds', 'histogram'],
    ['hikeshi_audit_chain_length', 'gauge'],
    ['hikeshi_http_request_duration_seconds', 'histogram'],
    ['process_resident_memory_bytes', 'gauge'],
    ['nodejs_eventloop_lag_seconds', 'gauge'],
  ]) {
    t.equal(exposition.types.get(name!), type, String(name));
  }
  t.ok(valueOf(exposition, 'process_resident_memory_bytes') > 0);
});

let sharedRef = '';

t.test('a delivered share: accepted at the receiver, timed at the sender', async (t) => {
  const accepted = { outcome: 'accepted', reason: '', type: 'incident.report' };
  const before = valueOf((await scrape(bravo)).exposition, 'hikeshi_inbox_messages_total', accepted);
  const incident = await createIncident(alpha, { title: `Defacement ${MARKER} title`, summary: `A ${MARKER} summary` });
  sharedRef = incident.ref;
  t.equal((await api(alpha, 'POST', `/incidents/${enc(incident.ref)}/shares`, 'handler', { peer: 'bravo' })).statusCode, 202);
  await waitForShareState(alpha, incident.ref, 'bravo', 'delivered');

  const atBravo = await waitFor('the accepted report counted', async () => {
    const { exposition } = await scrape(bravo);
    return valueOf(exposition, 'hikeshi_inbox_messages_total', accepted) === before + 1 ? exposition : null;
  });
  t.equal(valueOf(atBravo, 'hikeshi_inbox_messages_total', accepted), before + 1);
  const atAlpha = await waitFor('the delivery timed', async () => {
    const { exposition } = await scrape(alpha);
    return valueOf(exposition, 'hikeshi_delivery_seconds_count', { peer: 'bravo' }) >= 1 ? exposition : null;
  });
  t.ok(valueOf(atAlpha, 'hikeshi_delivery_seconds_bucket', { peer: 'bravo', le: '+Inf' }) >= 1);
  t.ok(valueOf(atAlpha, 'hikeshi_delivery_attempts_total', { peer: 'bravo', outcome: 'delivered' }) >= 1);
  t.equal(valueOf(atAlpha, 'hikeshi_outbox_pending', { peer: 'bravo' }), 0, 'nothing waits for bravo');
});

t.test('refused and quarantined messages: counted with their reason codes, hostile types as unknown', async (t) => {
  const metric = 'hikeshi_inbox_messages_total';
  const { exposition: before } = await scrape(bravo);
  const tamperedKey = { outcome: 'rejected', reason: 'signature-invalid', type: 'incident.report' };

  const signed = await sign(messageDocument('alpha', 'bravo', 'incident.report', reportBody('ALPHA#2026-990001')), 'alpha');
  const tampered = structuredClone(signed) as any;
  tampered.document.body.incident.severity = 'low';
  const refused = await postMessage(bravo, tampered);
  t.equal(refused.status, 401);
  t.equal(refused.json.code, 'signature-invalid');

  // A type nobody registered, chosen by the sender: refused, and not a label.
  const hostile = await sign(messageDocument('alpha', 'bravo', `x.${MARKER}`, {}), 'alpha');
  const hostileAnswer = await postMessage(bravo, hostile);
  t.equal(hostileAnswer.status, 400);

  // An unknown sender: held in the quarantine.
  const stranger = await sign(messageDocument('mallory', 'bravo', 'incident.report', reportBody('MALLORY#1')), 'mallory');
  t.equal((await postMessage(bravo, stranger)).status, 202);

  // A peer's name with another key: a claim, held too.
  const claim = await sign(messageDocument('alpha', 'bravo', 'incident.report', reportBody('ALPHA#2026-990002')), 'mallory');
  t.equal((await postMessage(bravo, claim)).status, 202);

  // Not JSON at all: refused before anything is known of it.
  t.equal((await postMessage(bravo, `{"${MARKER}":`)).status, 400);

  const { exposition: after } = await scrape(bravo);
  const delta = (labels: Record<string, string>) => valueOf(after, metric, labels) - valueOf(before, metric, labels);
  t.equal(delta(tamperedKey), 1, 'signature-invalid');
  t.equal(delta({ outcome: 'quarantined', reason: 'unknown-sender', type: 'incident.report' }), 1, 'quarantined');
  t.equal(delta({ outcome: 'quarantined', reason: 'wrong-key', type: 'incident.report' }), 1, 'quarantined: another key');
  const refusedUnknown = after.samples.filter(
    (s) => s.name === metric && s.labels['outcome'] === 'rejected' && s.labels['type'] === 'unknown',
  );
  t.ok(refusedUnknown.length >= 1, 'the hostile type and the broken body are counted under type="unknown"');
  for (const s of after.samples.filter((s) => s.name === metric)) {
    t.match(s.labels['reason'], /^[a-z-]*$/, `reason ${s.labels['reason']} is a code`);
    t.match(s.labels['type'], /^(unknown|[a-z]+\.[a-z-]+)$/, `type ${s.labels['type']}`);
  }
});

t.test('the outbox shows a peer that is down', async (t) => {
  const cc = await buildTestNode(t, { key: 'cc', listen: true, startWorker: true });
  await partnersBoth(alpha, cc);
  await cc.app.close(); // gone; its database stays until teardown
  const incident = await createIncident(alpha);
  t.equal((await api(alpha, 'POST', `/incidents/${enc(incident.ref)}/shares`, 'handler', { peer: 'cc' })).statusCode, 202);
  const exposition = await waitFor('a retry for cc', async () => {
    const { exposition } = await scrape(alpha);
    return valueOf(exposition, 'hikeshi_delivery_attempts_total', { peer: 'cc', outcome: 'retry' }) >= 1 ? exposition : null;
  });
  t.ok(valueOf(exposition, 'hikeshi_outbox_pending', { peer: 'cc' }) >= 1, 'pending for cc');
  t.ok(exposition.samples.some((s) => s.name === 'hikeshi_outbox_oldest_pending_age_seconds' && s.labels['peer'] === 'cc'));
  t.equal(valueOf(exposition, 'hikeshi_metrics_source_up', { source: 'outbox' }), 1);
});

t.test('the audit chain length: the newest seq, and it grows', async (t) => {
  const { exposition } = await scrape(alpha);
  const length = valueOf(exposition, 'hikeshi_audit_chain_length');
  t.ok(length > auditAtStart, `${auditAtStart} -> ${length}`);
  const head = await alpha.database.db
    .selectFrom('audit_entry')
    .select((eb) => eb.fn.max('seq').as('seq'))
    .executeTakeFirstOrThrow();
  t.equal(length, Number(head.seq));
});

t.test('HTTP latency by route pattern: never a reference number, unknown routes as unmatched', async (t) => {
  t.equal((await api(alpha, 'GET', `/incidents/${enc(sharedRef)}`, 'reader')).statusCode, 200);
  t.equal((await alpha.app.inject({ method: 'GET', url: `/no/such/${MARKER}?q=${MARKER}` })).statusCode, 404);
  const { text, exposition } = await scrape(alpha);
  const http = exposition.samples.filter((s) => s.name === 'hikeshi_http_request_duration_seconds_count');
  t.ok(
    http.some((s) => s.labels['route'] === '/api/v1/incidents/:ref' && s.labels['method'] === 'GET' && s.labels['status_class'] === '2xx'),
    'the route pattern',
  );
  t.ok(
    http.some((s) => s.labels['route'] === 'unmatched' && s.labels['status_class'] === '4xx'),
    'unmatched',
  );
  const atBravo = (await scrape(bravo)).exposition.samples;
  t.ok(
    atBravo.some((s) => s.name === 'hikeshi_http_request_duration_seconds_count' && s.labels['route'] === '/federation/v1/messages'),
    "the peers' requests too",
  );
  const number = sharedRef.split('#')[1]!;
  t.notOk(text.includes(number), `no ${number} in the scrape`);
  t.notOk(text.includes(enc(sharedRef)), 'nor the encoded reference');
  for (const s of http) t.match(s.labels['route'], /^(unmatched|\/[A-Za-z0-9/:_.*-]*)$/, String(s.labels['route']));
});

t.test('a marker planted in an incident, a message and a URL never appears in a scrape', async (t) => {
  for (const node of [alpha, bravo]) {
    const { text } = await scrape(node);
    t.notOk(text.includes(MARKER), `${node.config.teamId}: no marker`);
  }
});

t.test('HIKESHI_METRICS_PORT: the token-less listener on 127.0.0.1 serves GET /metrics only', async (t) => {
  const listener = await bravo.app.metrics.listen(0);
  t.teardown(() => listener.close());
  const base = `http://127.0.0.1:${listener.port}`;
  const res = await fetch(`${base}/metrics`);
  t.equal(res.status, 200);
  t.equal(res.headers.get('content-type'), EXPOSITION_CONTENT_TYPE);
  const parsed = parseExposition(await res.text());
  t.same(parsed.errors, []);
  t.ok(parsed.types.has('hikeshi_inbox_messages_total'));
  const other = await fetch(`${base}/api/v1/incidents`);
  t.equal(other.status, 404);
  t.match(other.headers.get('content-type'), /^application\/problem\+json/);
  const post = await fetch(`${base}/metrics`, { method: 'POST', body: 'x' });
  t.equal(post.status, 405);
  t.equal(((await post.json()) as { code: string }).code, 'method-not-allowed');
});

t.test('HIKESHI_METRICS_PORT: off unless set, a port number when set', async (t) => {
  t.equal(loadConfig({}).metricsPort, null);
  t.equal(loadConfig({ HIKESHI_METRICS_PORT: '9464' }).metricsPort, 9464);
  t.throws(() => loadConfig({ HIKESHI_METRICS_PORT: 'yes' }), ConfigError);
  t.throws(() => loadConfig({ HIKESHI_METRICS_PORT: '70000' }), ConfigError);
});
