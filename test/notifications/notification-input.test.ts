import t, { type Test } from 'tap';
import { buildTestNode } from '../helpers/build-test-app.js';
import { api, createIncident, enc, fastDelivery, waitFor } from '../helpers/federation-harness.js';
import { mailConfig, startMailRelay } from '../helpers/mail-relay.js';
import { runCli } from '../helpers/cli-runner.js';
import { ConfigError, loadConfig } from '../../src/config.js';

/**
 * Issue 19 part 5: bad input to the notification routes answers problem+json 4xx with a stable
 * code, roles are enforced, and the state machine refuses transitions it does not have; the
 * counter-measure library is edited by admins and picked by handlers.
 */
fastDelivery();
const relay = await startMailRelay();
t.teardown(() => relay.close());
const node = await buildTestNode(t, {
  key: 'alpha',
  listen: true,
  startWorker: true,
  config: { mail: mailConfig(relay.url, 'csirt@alpha.test') },
});

const siteRes = await api(node, 'POST', '/sites', 'handler', {
  name: 'Site E',
  networks: ['198.51.100.0/24'],
  pocs: [{ name: 'E desk', channels: [{ kind: 'email', value: 'desk@site-e.test' }], languages: ['en'] }],
});
if (siteRes.statusCode !== 201) throw new Error(siteRes.body);
const incident = await createIncident(node, {
  tlp: 'GREEN',
  category: 'vulnerable',
  type: 'ddos-amplifier',
  hosts: [{ ip: '198.51.100.53', role: 'intermediary', ports: [53], protocol: 'udp' }],
  indicators: [],
});
const proposed = await api(node, 'POST', `/incidents/${enc(incident.ref)}/notifications/propose`, 'handler');
if (proposed.statusCode !== 200) throw new Error(proposed.body);
const draft = proposed.json().items[0] as { id: string; counterMeasure: string };

const problem = (
  t: Test,
  res: { statusCode: number; headers: Record<string, unknown>; json(): any },
  status: number,
  code: string,
  what: string,
) => {
  t.equal(res.statusCode, status, `${what}: ${status}`);
  t.match(res.headers['content-type'], /application\/problem\+json/, `${what}: problem+json`);
  t.equal(res.json().code, code, `${what}: ${code}`);
};

t.test('a POC e-mail channel that is not an address makes the site unreachable, stated', async (t) => {
  const res = await api(node, 'POST', '/sites', 'handler', {
    name: 'Site F',
    networks: ['192.0.2.0/26'],
    pocs: [{ name: 'F desk', channels: [{ kind: 'email', value: 'ask the front desk' }], languages: [] }],
  });
  t.equal(res.statusCode, 201, res.body);
  const other = await createIncident(node, { tlp: 'GREEN', hosts: [{ ip: '192.0.2.9', role: 'target' }], indicators: [] });
  const items = (await api(node, 'POST', `/incidents/${enc(other.ref)}/notifications/propose`, 'handler')).json().items;
  t.match(items, [{ state: 'unreachable', reason: 'no-poc-email', poc: null }]);
});

t.test('a label changed after the proposal: approval asks for a new proposal', async (t) => {
  const changed = await createIncident(node, { tlp: 'GREEN', hosts: [{ ip: '198.51.100.77', role: 'target' }], indicators: [] });
  const [n] = (await api(node, 'POST', `/incidents/${enc(changed.ref)}/notifications/propose`, 'handler')).json().items;
  t.equal(n.state, 'drafted');
  const relabel = await api(node, 'PATCH', `/incidents/${enc(changed.ref)}`, 'handler', { tlp: 'CLEAR' });
  t.equal(relabel.statusCode, 200, relabel.body);
  problem(t, await api(node, 'POST', `/notifications/${n.id}/approve`, 'handler'), 409, 'notification-state', 'approving a stale label');
  const again = (await api(node, 'POST', `/incidents/${enc(changed.ref)}/notifications/propose`, 'handler')).json().items;
  t.match(again, [{ id: n.id, state: 'drafted', tlp: 'CLEAR' }], 'proposing again refreshes it under the new label');
});

t.test('the built-in counter-measure for the type is picked, and the text renders it', async (t) => {
  t.equal(draft.counterMeasure, 'ddos-amplifier');
  const text = (await api(node, 'GET', `/notifications/${draft.id}`, 'reader')).json().text as string;
  t.match(text, /amplify denial-of-service/);
  t.match(text, /198\.51\.100\.53 \[intermediary\] ports 53 udp/);
  t.match(text, new RegExp(`Reference: ${incident.ref.replace(/[#]/g, '\\#')}`));
});

t.test('bad input: malformed JSON, wrong types, unknown fields, unknown ids and refs', async (t) => {
  const malformed = await node.app.inject({
    method: 'PATCH',
    url: `/api/v1/notifications/${draft.id}`,
    headers: { ...node.auth.handler, 'content-type': 'application/json' },
    payload: '{"advice": ',
  });
  problem(t, malformed, 400, 'malformed-json', 'malformed JSON');
  problem(
    t,
    await api(node, 'PATCH', `/notifications/${draft.id}`, 'handler', { language: 'fr' }),
    400,
    'validation-failed',
    'unknown language',
  );
  problem(
    t,
    await api(node, 'PATCH', `/notifications/${draft.id}`, 'handler', { advice: 42 }),
    400,
    'validation-failed',
    'advice a number',
  );
  problem(
    t,
    await api(node, 'PATCH', `/notifications/${draft.id}`, 'handler', { colour: 'red' }),
    400,
    'validation-failed',
    'unknown field',
  );
  problem(t, await api(node, 'PATCH', `/notifications/${draft.id}`, 'handler', {}), 400, 'validation-failed', 'empty patch');
  problem(t, await api(node, 'GET', '/notifications/not-a-uuid', 'reader'), 400, 'validation-failed', 'id not a uuid');
  problem(t, await api(node, 'GET', '/notifications/00000000-0000-4000-8000-000000000000', 'reader'), 404, 'not-found', 'unknown id');
  problem(
    t,
    await api(node, 'POST', '/notifications/00000000-0000-4000-8000-000000000000/approve', 'handler'),
    404,
    'not-found',
    'approve unknown',
  );
  problem(
    t,
    await api(node, 'POST', `/incidents/${enc('ALPHA#1999-999999')}/notifications/propose`, 'handler'),
    404,
    'not-found',
    'unknown ref',
  );
  problem(
    t,
    await api(node, 'GET', `/incidents/${enc('ALPHA#1999-999999')}/notifications`, 'reader'),
    404,
    'not-found',
    'list unknown ref',
  );
  problem(
    t,
    await api(node, 'PATCH', `/notifications/${draft.id}`, 'handler', { counterMeasure: 'no-such-advice' }),
    404,
    'not-found',
    'unknown template',
  );
  problem(
    t,
    await api(node, 'PUT', `/site-contacts/${enc('desk@site-e.test')}/key`, 'admin', { publicKey: 'not a key' }),
    400,
    'validation-failed',
    'not a key',
  );
  problem(
    t,
    await api(node, 'PUT', `/site-contacts/${enc('no address')}/key`, 'admin', { publicKey: 'x' }),
    400,
    'validation-failed',
    'not an address',
  );
  problem(t, await api(node, 'GET', '/site-contacts?failing=maybe', 'reader'), 400, 'validation-failed', 'failing not a boolean');
  problem(
    t,
    await api(node, 'POST', `/notifications/${draft.id}/acknowledge`, 'handler', { via: 7 }),
    400,
    'validation-failed',
    'via a number',
  );
});

t.test('roles: readers read, handlers act, admins keep the library and the keys', async (t) => {
  problem(
    t,
    await api(node, 'POST', `/incidents/${enc(incident.ref)}/notifications/propose`, 'reader'),
    403,
    'forbidden',
    'reader proposing',
  );
  problem(t, await api(node, 'POST', `/notifications/${draft.id}/approve`, 'reader'), 403, 'forbidden', 'reader approving');
  problem(t, await api(node, 'PATCH', `/notifications/${draft.id}`, 'reader', { language: 'ja' }), 403, 'forbidden', 'reader editing');
  const body = { title: 'Ours', texts: { en: 'Do this, {{site}}.' } };
  problem(t, await api(node, 'PUT', '/counter-measures/our-advice', 'handler', body), 403, 'forbidden', 'handler writing the library');
  problem(
    t,
    await api(node, 'PUT', `/site-contacts/${enc('desk@site-e.test')}/key`, 'handler', { publicKey: 'x' }),
    403,
    'forbidden',
    'handler pinning a key',
  );
  problem(t, await api(node, 'GET', `/notifications/${draft.id}`, null), 401, 'unauthenticated', 'no token');
});

t.test("counter-measures: the team's template overrides a built-in, is picked, and goes again when deleted", async (t) => {
  const saved = await api(node, 'PUT', '/counter-measures/ddos-amplifier', 'admin', {
    title: 'Our amplifier advice',
    category: 'vulnerable',
    types: ['ddos-amplifier'],
    texts: { en: 'TEAM-ADVICE for {{site}} about {{ref}}:\n{{hosts}}', ja: 'チームの助言 {{ref}}' },
  });
  t.equal(saved.statusCode, 200, saved.body);
  t.match(saved.json(), { id: 'ddos-amplifier', source: 'team' });
  problem(
    t,
    await api(node, 'PUT', '/counter-measures/Bad_Id', 'admin', { title: 'x', texts: { en: 'x' } }),
    400,
    'validation-failed',
    'bad id',
  );
  problem(t, await api(node, 'PUT', '/counter-measures/empty', 'admin', { title: 'x', texts: {} }), 400, 'validation-failed', 'no text');
  const list = (await api(node, 'GET', '/counter-measures', 'reader')).json().items as Array<{ id: string; source: string }>;
  t.equal(list.filter((c) => c.id === 'ddos-amplifier').length, 1, 'one template per id');
  t.ok(
    ['system-compromise', 'brute-force', 'infected-system', 'scanner', 'phishing', 'vulnerable-system', 'generic'].every((id) =>
      list.some((c) => c.id === id),
    ),
  );
  let text = (await api(node, 'GET', `/notifications/${draft.id}`, 'reader')).json().text as string;
  t.match(text, /TEAM-ADVICE for Site E/, "the team's text renders");
  const ja = await api(node, 'PATCH', `/notifications/${draft.id}`, 'handler', { language: 'ja' });
  t.equal(ja.statusCode, 200, ja.body);
  text = (await api(node, 'GET', `/notifications/${draft.id}`, 'reader')).json().text as string;
  t.match(text, /チームの助言/, 'Japanese text and headings');
  t.match(text, /推奨する対策/);
  t.equal((await api(node, 'DELETE', '/counter-measures/ddos-amplifier', 'admin')).statusCode, 204);
  problem(t, await api(node, 'DELETE', '/counter-measures/ddos-amplifier', 'admin'), 404, 'not-found', 'a built-in cannot be deleted');
  const edited = await api(node, 'PATCH', `/notifications/${draft.id}`, 'handler', { advice: 'HAND-WRITTEN advice', language: 'en' });
  t.equal(edited.json().advice, 'HAND-WRITTEN advice');
  t.match((await api(node, 'GET', `/notifications/${draft.id}`, 'reader')).json().text, /HAND-WRITTEN advice/);
});

t.test('hikeshi notify: list, show, counter-measures, propose, and a usage error', async (t) => {
  const listed = await runCli(node, 'notify', 'list', incident.ref);
  t.equal(listed.code, 0, listed.stderr);
  t.match(listed.stdout, new RegExp(`${draft.id}\\s+drafted\\s+Site E  desk@site-e\\.test`));
  const shown = await runCli(node, 'notify', 'show', draft.id);
  t.equal(shown.code, 0, shown.stderr);
  t.match(shown.stdout, /HAND-WRITTEN advice/);
  const library = await runCli(node, 'notify', 'counter-measures');
  t.match(library.stdout, /ddos-amplifier\s+built-in/);
  const proposed = await runCli(node, 'notify', 'propose', incident.ref);
  t.equal(proposed.code, 0, proposed.stderr);
  t.match(proposed.stdout, /drafted/);
  const missing = await runCli(node, 'notify', 'show');
  t.equal(missing.code, 2, 'a usage error');
  const unknown = await runCli(node, 'notify', 'show', '00000000-0000-4000-8000-000000000000');
  t.not(unknown.code, 0);
  t.match(unknown.stderr, /not-found|No such resource|no notification/);
});

t.test('transitions: approve once, no edit after approval, acknowledge only what was sent or tried', async (t) => {
  problem(
    t,
    await api(node, 'POST', `/notifications/${draft.id}/acknowledge`, 'handler', {}),
    409,
    'notification-state',
    'acknowledging a draft',
  );
  const approved = await api(node, 'POST', `/notifications/${draft.id}/approve`, 'handler');
  t.equal(approved.statusCode, 200, approved.body);
  problem(t, await api(node, 'POST', `/notifications/${draft.id}/approve`, 'handler'), 409, 'notification-state', 'approving twice');
  problem(
    t,
    await api(node, 'PATCH', `/notifications/${draft.id}`, 'handler', { advice: 'late' }),
    409,
    'notification-state',
    'editing after approval',
  );
  await waitFor('sent', async () => (await api(node, 'GET', `/notifications/${draft.id}`, 'reader')).json().state === 'sent');
  const again = await api(node, 'POST', `/incidents/${enc(incident.ref)}/notifications/propose`, 'handler');
  t.same(
    again.json().items.map((n: { state: string; follows: string | null }) => [n.state, n.follows]),
    [
      ['sent', null],
      ['drafted', draft.id],
    ],
    'proposing again after sending drafts a follow-up; the first stays sent',
  );
  t.equal(relay.messages.length, 1, 'one mail: the follow-up waits for its own approval');
  const ack = await api(node, 'POST', `/notifications/${draft.id}/acknowledge`, 'handler', { via: 'phone' });
  t.equal(ack.json().state, 'acknowledged');
  const states = (await node.database.db.selectFrom('audit_entry').select(['kind']).where('kind', 'like', 'notification.%').execute()).map(
    (e) => e.kind,
  );
  t.same(
    states.sort(),
    ['notification.acknowledged', 'notification.edited', 'notification.edited', 'notification.sent'].sort(),
    'every change audited',
  );
});

t.test('HIKESHI_MAIL_CONCURRENCY: 4 by default, a whole number from 1 to 32, anything else refused at start', async (t) => {
  t.equal(loadConfig({}).mail.concurrency, 4);
  t.equal(loadConfig({ HIKESHI_MAIL_CONCURRENCY: '12' }).mail.concurrency, 12);
  for (const bad of ['0', '33', '-1', '2.5', 'many']) t.throws(() => loadConfig({ HIKESHI_MAIL_CONCURRENCY: bad }), ConfigError, bad);
});
