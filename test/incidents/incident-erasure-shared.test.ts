import t from 'tap';
import { buildTestNode } from '../helpers/build-test-app.js';
import {
  api,
  createIncident,
  enc,
  fastDelivery,
  journal,
  partnersBoth,
  waitFor,
  waitForShareState,
} from '../helpers/federation-harness.js';

/**
 * Erasure on an incident shared with a peer (ADR 0013): the change listeners that follow content
 * act on the erasure's `updated` entry, so the peer gets an update notice that says which fields
 * were replaced and carries none of the erased values; the erasure itself does not fail on them.
 * Erasing the peer's own copy is the peer's business (and a later sharing listener's).
 */
fastDelivery();
const alpha = await buildTestNode(t, { key: 'alpha', listen: true, startWorker: true });
const bravo = await buildTestNode(t, { key: 'bravo', listen: true, startWorker: true });
await partnersBoth(alpha, bravo);

t.test('a shared incident is erased; the peer is told which fields were replaced, not their values', async (t) => {
  const victim = { ip: '192.0.2.188', hostname: 'intranet.shared-victim.example', role: 'target' };
  const reporter = { name: 'Quinn Sharedreporter', email: 'quinn@shared-reporter.example' };
  const created = await createIncident(alpha, { reporter, hosts: [{ ip: '203.0.113.50', role: 'source' }, victim] });
  const shared = await api(alpha, 'POST', `/incidents/${enc(created.ref)}/shares`, 'handler', { peer: 'bravo' });
  t.equal(shared.statusCode, 202, shared.body);
  const delivered = await waitForShareState(alpha, created.ref, 'bravo', 'delivered');

  const erased = await api(alpha, 'POST', `/incidents/${enc(created.ref)}/erasure`, 'admin', {
    subjects: ['reporter', 'victims'],
    reason: 'Data subject request, ticket 99',
    legalBasis: 'GDPR Art. 17(1)(a)',
  });
  t.equal(erased.statusCode, 200, erased.body);

  const update = await waitFor('the update on bravo', async () =>
    (await journal(bravo, delivered.peerRef!)).find((e) => e.team === 'alpha' && e.kind === 'peer-updated'),
  );
  const text = JSON.stringify(update);
  for (const marker of [reporter.name, reporter.email, victim.ip, 'shared-victim.example'])
    t.notOk(text.includes(marker), `the notice does not carry ${marker}`);
  const fields = [...(update.changes.fields as Array<{ field: string }>)].sort((a, b) => a.field.localeCompare(b.field));
  t.same(
    fields,
    [
      { field: 'hosts', from: 2, to: 2, unit: 'items' },
      { field: 'reporter', replaced: true },
    ],
    'it names the fields that changed',
  );
  await waitForShareState(alpha, created.ref, 'bravo', 'delivered');
  t.match((await api(alpha, 'GET', '/audit/verify', 'admin')).json(), { ok: true });
});
