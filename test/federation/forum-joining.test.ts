import t from 'tap';
import { verifyDocumentSignature } from '../../src/crypto/index.js';
import { verifyAuditChain } from '../../src/modules/audit/audit-chain.js';
import { loadFixtureKey, loadFixturePeerKey } from '../fixtures/keys/index.js';
import { addPeer, api, auditKinds, messageDocument, postMessage, sign, waitFor } from '../helpers/federation-harness.js';
import { buildForumNodes, forumCli, foundForum } from '../helpers/forum-harness.js';

/**
 * Joining a forum (issue 14 part 3): bravo applies to cc, the operator of "first"; alpha, a
 * member that verified bravo's key, sponsors it with a signed forum.sponsorship; cc admits bravo
 * only once it holds enough signed sponsorships by active members for the key it pins itself.
 * Sponsorships from non-members, for another key, or for an unverified key are refused.
 */
const { cc, alpha, bravo, mallory } = await buildForumNodes(t, {
  partners: [
    ['cc', 'alpha'],
    ['cc', 'bravo'],
    ['alpha', 'bravo'],
  ],
  pins: [
    ['cc', 'mallory'],
    ['mallory', 'cc'],
  ],
});

type Candidate = {
  team: string;
  appliedAt: string | null;
  verified: boolean;
  sponsorships: Array<{ sponsor: string; counts: boolean; withdrawn: boolean }>;
};
const candidates = async () => (await api(cc, 'GET', '/forums/first/applications', 'admin')).json().items as Candidate[];
const candidate = async (team: string) => (await candidates()).find((c) => c.team === team);

t.test('the forum is founded: cc and alpha in version 1', async (t) => {
  // Founders need no sponsors; bravo and mallory join but are not listed; alpha holds version 1.
  const published = await foundForum(t, { operator: cc, sponsorsNeeded: 2, members: [cc, alpha], joiners: [alpha, bravo, mallory] });
  t.same(published, { version: 1, sentTo: ['alpha'] });
});

t.test('bravo applies; alpha sponsors it; cc admits it on the signed sponsorships alone', async (t) => {
  const applied = await api(bravo, 'POST', '/forums/first/application', 'admin', {
    statement: 'The CSIRT of the Bravo sector since 2019.',
  });
  t.equal(applied.statusCode, 202, applied.body);
  t.equal(applied.json().to, 'cc');
  await waitFor('cc has the application', async () => (await candidate('bravo'))?.appliedAt);
  t.match(await candidate('bravo'), { verified: true, sponsorships: [] });

  const early = await api(cc, 'PUT', '/forums/first/draft/bravo', 'admin', { kind: 'full', sponsors: ['cc', 'alpha'] });
  t.equal(early.statusCode, 400, early.body);
  t.match(early.json().detail, /sponsor "alpha" has sent no signed sponsorship of "bravo"/);

  const sponsored = await api(alpha, 'POST', '/forums/first/sponsorships', 'admin', { candidate: 'bravo' });
  t.equal(sponsored.statusCode, 202, sponsored.body);
  await waitFor('the sponsorship counts', async () =>
    (await candidate('bravo'))?.sponsorships.some((s) => s.sponsor === 'alpha' && s.counts),
  );
  // Kept as signed: the operator can show alpha's own signature on it.
  const row = await cc.database.db.selectFrom('forum_sponsorship').selectAll().where('sponsor', '=', 'alpha').executeTakeFirstOrThrow();
  const verified = await verifyDocumentSignature(
    { document: JSON.parse(row.document), signature: row.signature },
    await loadFixturePeerKey('alpha'),
  );
  t.ok(verified.ok, 'the stored sponsorship verifies against alpha’s key');

  const admitted = await api(cc, 'PUT', '/forums/first/draft/bravo', 'admin', { kind: 'full', sponsors: ['cc', 'alpha'] });
  t.equal(admitted.statusCode, 201, admitted.body);
  t.same(admitted.json().sponsors, ['cc', 'alpha']);
  t.match(await auditKinds(cc, { kind: 'forum.sponsorship-received' }), [{ details: { sponsor: 'alpha', withdrawn: false } }]);
  t.match(await auditKinds(alpha, { kind: 'disclosure.forum-sponsorship' }), [{ decision: 'allow', details: { candidate: 'bravo' } }]);
  t.match(await auditKinds(cc, { kind: 'forum.application-received' }), [{ details: { forum: 'first' } }]);
});

t.test('sponsorships that cannot count are refused at the sender or at the operator', async (t) => {
  // At the sender: a member vouches only for a key it verified; a non-member cannot sponsor.
  await addPeer(alpha, mallory);
  const unverified = await api(alpha, 'POST', '/forums/first/sponsorships', 'admin', { candidate: 'mallory' });
  t.equal(unverified.statusCode, 409, unverified.body);
  t.equal(unverified.json().code, 'peer-not-verified');
  t.equal((await api(alpha, 'POST', '/forums/first/sponsorships', 'admin', { candidate: 'alpha' })).statusCode, 400);
  const notMember = await api(mallory, 'POST', '/forums/first/sponsorships', 'admin', { candidate: 'cc' });
  t.equal(notMember.statusCode, 409, notMember.body);

  // At the operator, signed documents that a patched node could send anyway.
  const post = async (from: 'alpha' | 'mallory', type: string, body: unknown) =>
    postMessage(cc, await sign(messageDocument(from, 'cc', type, body, { tlp: 'AMBER' }), from));
  const cases: Array<[string, () => ReturnType<typeof post>, number, string]> = [
    [
      'by a team that is not a member',
      () => post('mallory', 'forum.sponsorship', { forum: 'first', candidate: 'bravo', fingerprint: loadFixtureKey('bravo').fingerprint }),
      403,
      'not-a-forum-member',
    ],
    [
      'for another key than the one pinned',
      () => post('alpha', 'forum.sponsorship', { forum: 'first', candidate: 'bravo', fingerprint: loadFixtureKey('mallory').fingerprint }),
      409,
      'fingerprint-mismatch',
    ],
    [
      'of the sponsor itself',
      () => post('alpha', 'forum.sponsorship', { forum: 'first', candidate: 'alpha', fingerprint: loadFixtureKey('alpha').fingerprint }),
      400,
      'validation-failed',
    ],
    [
      'in a forum cc does not operate',
      () => post('alpha', 'forum.sponsorship', { forum: 'other', candidate: 'bravo', fingerprint: loadFixtureKey('bravo').fingerprint }),
      404,
      'not-found',
    ],
    [
      'with a fingerprint that is not one',
      () => post('alpha', 'forum.sponsorship', { forum: 'first', candidate: 'bravo', fingerprint: 'abc' }),
      400,
      'validation-failed',
    ],
    [
      'with a field too many',
      () =>
        post('alpha', 'forum.sponsorship', {
          forum: 'first',
          candidate: 'bravo',
          fingerprint: loadFixtureKey('bravo').fingerprint,
          weight: 2,
        }),
      400,
      'validation-failed',
    ],
    ['an application without a statement', () => post('mallory', 'forum.application', { forum: 'first' }), 400, 'validation-failed'],
    [
      'an application to a forum cc does not operate',
      () => post('mallory', 'forum.application', { forum: 'other', statement: 'x' }),
      404,
      'not-found',
    ],
  ];
  for (const [name, attempt, status, code] of cases) {
    const res = await attempt();
    t.equal(res.status, status, `${name}: ${res.text}`);
    t.equal(res.json?.code, code, name);
  }
  t.same(
    (await candidate('bravo'))?.sponsorships.map((s) => s.sponsor),
    ['alpha'],
    'nothing refused was stored',
  );
  t.match(await verifyAuditChain(cc.database.db), { ok: true });
});

t.test('a withdrawn sponsorship stops counting; the CLI shows the candidates', async (t) => {
  t.equal((await api(alpha, 'POST', '/forums/first/sponsorships', 'admin', { candidate: 'bravo', withdrawn: true })).statusCode, 202);
  await waitFor('withdrawn', async () =>
    (await candidate('bravo'))?.sponsorships.some((s) => s.sponsor === 'alpha' && s.withdrawn && !s.counts),
  );
  t.match((await forumCli(cc, 'applications', 'first')).at(-1), /^bravo\s+applied \S+\s+key verified here\s+sponsors that count: none$/);
  t.match((await forumCli(alpha, 'sponsor', 'first', 'bravo')).at(-1), /^sponsorship of bravo sent to the operator cc$/);
  await waitFor('counts again', async () => (await candidate('bravo'))?.sponsorships.some((s) => s.sponsor === 'alpha' && s.counts));
});
