import t, { type Test } from 'tap';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildTestNode } from '../helpers/build-test-app.js';
import {
  api,
  EXAMPLE_INCIDENT,
  fastDelivery,
  messageDocument,
  partnersBoth,
  postMessage,
  sign,
  waitFor,
} from '../helpers/federation-harness.js';
import { foundForum } from '../helpers/forum-harness.js';
import { loadFixtureKey } from '../fixtures/keys/index.js';
import {
  accessibilityViolations,
  chromiumMissing,
  cspViolations,
  ensureConsoleBuilt,
  createAccount,
  launchBrowser,
  screenshot,
  signIn,
  watchedPage,
  type PageWatch,
} from '../helpers/console-browser.js';

// The callbacks given to page.evaluate run in the browser: its document, typed loosely here.
declare const document: any;

/**
 * The console end to end (issue 20), in Debian's chromium against two real nodes on loopback:
 * a handler at alpha signs in, records the lecture's example incident, moves it through two
 * phases, reads the policy's preview and shares it with bravo, sees bravo's receipt and reference
 * number, answers bravo's forum inquiry, drafts and publishes a roster, adds a team without a
 * node through the peers page, introduces bravo to it and withdraws that, changes its trust,
 * suspends, resumes and removes it, adds a site with its POC through the site directory, changes
 * it and pins the POC's key, writes a counter-measure template, edits a site notification's advice
 * and picks its counter-measure template, answers a site notification from bravo as our
 * coordinator, answers bravo's question to us as a vendor and reads back what we sent, shows a
 * reader the incident without the moves the node would refuse, and views the overview. Screenshots go to
 * artefacts/console/; axe-core checks the main pages. The subtests share the nodes and the page.
 */
const missing = chromiumMissing();
if (missing) {
  t.test('the console in a browser', { skip: `browser tests skipped: ${missing}` }, async () => {});
} else {
  await run();
}

async function run() {
  fastDelivery();
  await ensureConsoleBuilt();
  const alpha = await buildTestNode(t, { key: 'alpha', listen: true, startWorker: true });
  const bravo = await buildTestNode(t, { key: 'bravo', listen: true, startWorker: true });
  await partnersBoth(alpha, bravo);

  const browser: Browser = await launchBrowser();
  t.teardown(() => browser.close());
  // The viewer is in Europe: times written in JST show both ways.
  const context: BrowserContext = await browser.newContext({ locale: 'en-GB', timezoneId: 'Europe/Berlin' });
  const hanako = await createAccount(alpha, { name: 'hanako', displayName: 'Hanako Yamada', role: 'admin', language: 'en' });
  const { page, watch }: { page: Page; watch: PageWatch } = await watchedPage(context);
  page.setDefaultTimeout(15_000);
  let ref = '';

  const axe = async (tt: Test, name: string) => {
    const violations = await accessibilityViolations(page);
    tt.same(violations, [], `${name}: no serious or critical accessibility violations`);
  };

  t.test('/console answers with a strict Content-Security-Policy', async (t) => {
    const res = await fetch(`${alpha.url}/console/`);
    t.equal(res.status, 200);
    const csp = res.headers.get('content-security-policy') ?? '';
    t.match(csp, /default-src 'self'/);
    t.match(csp, /script-src 'self'(;|$)/);
    t.match(csp, /style-src 'self'(;|$)/);
    t.match(csp, /frame-ancestors 'none'/);
    t.notMatch(csp, /unsafe-inline|unsafe-eval/);
    t.equal(res.headers.get('x-content-type-options'), 'nosniff');
    t.equal(res.headers.get('referrer-policy'), 'no-referrer');
    t.equal((await fetch(`${alpha.url}/console/..%2Fpackage.json`)).status, 404, 'only the build files are served');
  });

  t.test('a wrong password is refused; the right one signs in and lands on the incidents', async (t) => {
    await page.goto(`${alpha.url}/console/`);
    await screenshot(page, 'sign-in');
    await axe(t, 'sign-in');
    await page.getByLabel('Account').fill(hanako.name);
    await page.getByLabel('Password').fill('not the password at all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await t.resolves(page.getByRole('alert').getByText('sign-in-failed').waitFor());
    await signIn(page, alpha, hanako);
    t.match(await page.getByTestId('account-name').textContent(), /Hanako Yamada/);
    const cookies = await context.cookies(alpha.url);
    const session = cookies.find((c) => c.name === 'hikeshi_session');
    t.ok(session?.httpOnly, 'the session cookie is HttpOnly');
    t.equal(session?.sameSite, 'Strict');
    await page.getByRole('heading', { name: 'Incidents' }).waitFor();
    await screenshot(page, 'incidents-empty');
    await axe(t, 'incidents');
  });

  t.test("records the lecture's example incident through the form", async (t) => {
    const x = EXAMPLE_INCIDENT as Record<string, any>;
    await page.getByRole('link', { name: 'Record an incident' }).click();
    await page.getByLabel('Title').fill(x.title);
    await page.getByLabel('Summary').fill(x.summary);
    await page.getByLabel('Category').selectOption(x.category);
    await page.getByLabel('Type').fill(x.type);
    await page.getByLabel('Severity').selectOption(x.severity);
    await page.getByLabel('TLP label').selectOption(x.tlp);
    await page.getByLabel('First seen').fill(x.firstSeen);
    await page.getByLabel('Last seen').fill(x.lastSeen);
    for (const [who, contact] of [
      ['reporter', x.reporter],
      ['poc', x.poc],
    ] as const) {
      for (const [field, value] of Object.entries(contact as Record<string, string>)) await page.locator(`#f-${who}-${field}`).fill(value);
    }
    await page.getByLabel("Intruder's activity").fill(x.intruderActivity);
    // Every list row by row, through the row editors.
    for (const list of ['hosts', 'indicators', 'evidence', 'vulnerabilities', 'systemChanges', 'installedSoftware']) {
      for (const [n, item] of (x[list] as Array<Record<string, unknown>>).entries()) {
        await page.getByTestId(`add-${list}`).click();
        for (const [key, value] of Object.entries(item)) {
          const cell = page.locator(`#row-${list}-${n}-${key}`);
          if (key === 'role' || key === 'kind') await cell.selectOption(String(value));
          else if (typeof value === 'boolean') await cell.setChecked(value);
          else await cell.fill(Array.isArray(value) ? value.join(', ') : String(value));
        }
      }
    }
    await page.getByTestId('add-hosts').click();
    await page.getByRole('button', { name: 'Remove host 4' }).click();
    await axe(t, 'record an incident');
    await screenshot(page, 'incident-new');
    await page.getByRole('button', { name: 'Record' }).click();
    await page.locator('.problem, [data-testid=incident-ref]').first().waitFor();
    t.equal(
      await page.locator('.problem').count(),
      0,
      (await page
        .locator('.problem')
        .first()
        .textContent()
        .catch(() => '')) ?? '',
    );
    ref = (await page.getByTestId('incident-ref').textContent()) ?? '';
    t.match(ref, /^ALPHA#\d{4}-\d+$/, 'the node assigned a reference number');
    const stored = (await api(alpha, 'GET', `/incidents/${encodeURIComponent(ref)}`, 'reader')).json();
    for (const key of ['title', 'summary', 'category', 'type', 'severity', 'tlp', 'firstSeen', 'lastSeen', 'intruderActivity']) {
      t.equal(stored[key], x[key], `${key} stored as typed`);
    }
    t.same(stored.reporter, x.reporter);
    t.same(stored.poc, x.poc);
    for (const list of ['hosts', 'indicators', 'evidence', 'vulnerabilities', 'systemChanges', 'installedSoftware'])
      t.same(stored[list], x[list], `${list} stored as entered`);
    // The evidence's times: as written (JST) and in the viewer's zone (Berlin, CET in November).
    const evidence = page.getByTestId('list-evidence');
    await t.resolves(evidence.getByText('2026-11-21 10:00:00 UTC+09:00').waitFor());
    t.match(await evidence.textContent(), /21 Nov 2026, 02:00 CET/);
    t.match(await evidence.textContent(), /Asia\/Tokyo/, 'the time zone the log was written in');
    await screenshot(page, 'incident-detail');
    await axe(t, 'incident detail');
  });

  t.test('moves it through two phases', async (t) => {
    for (const [button, now] of [
      ['Move to 3 Analysis', 'Now: 3 Analysis'],
      ['Move to 4 Notification', 'Now: 4 Notification'],
    ] as const) {
      await page.getByRole('button', { name: button }).click();
      await page.getByTestId('phase').getByText(now).waitFor();
    }
    const stored = (await api(alpha, 'GET', `/incidents/${encodeURIComponent(ref)}`, 'reader')).json();
    t.equal(stored.phase, 'notification');
    await t.resolves(page.getByTestId('journal').getByText('phase-changed').first().waitFor());
  });

  t.test("shares it with bravo after reading the policy's preview; bravo's receipt and reference number", async (t) => {
    await page.getByRole('link', { name: 'Share with…' }).click();
    await page.getByLabel('Peer').selectOption('bravo');
    t.equal(await page.getByTestId('share-send').count(), 0, 'nothing can be sent before the preview');
    await page.getByRole('button', { name: 'Show what the policy decides' }).click();
    await page.getByTestId('policy-decision').waitFor();
    t.match(await page.getByTestId('policy-allow').textContent(), /^Allowed/);
    t.ok((await page.getByTestId('policy-reasons').locator('li').count()) > 0, 'the reasons are listed');
    await screenshot(page, 'share-preview');
    await axe(t, 'share preview');
    await page.getByTestId('share-send').click();
    await page.getByTestId('shares').waitFor();
    const peerRef = page.getByTestId('share-peer-ref-bravo');
    await waitFor('bravo reference number in the console', async () => /^BRAVO#/.test((await peerRef.textContent()) ?? ''), 60_000, 250);
    t.match(await page.getByTestId('share-state-bravo').textContent(), /delivered/);
    const atBravo = (await api(bravo, 'GET', '/incidents?limit=5', 'reader')).json().items;
    t.equal(atBravo[0].ref, (await peerRef.textContent())?.trim(), 'the number shown is the one bravo assigned');
    await screenshot(page, 'incident-shared');
  });

  t.test('re-labels the report everywhere it went; bravo acknowledges', async (t) => {
    const form = page.getByTestId('correction-form');
    await form.getByLabel('Correction').selectOption('relabel');
    await form.getByLabel('New TLP label').selectOption('GREEN');
    await form.getByRole('button', { name: 'Send the correction' }).click();
    const list = page.getByTestId('corrections');
    await list.getByText('issued by us').waitFor();
    await waitFor(
      'bravo acknowledges the relabel',
      async () => {
        await page.reload();
        // The page loads, then fetches the corrections: isVisible does not wait, so wait for the
        // list first, or under load every check runs before it is drawn.
        await list.getByText('issued by us').waitFor();
        return list.getByRole('cell', { name: 'acknowledged', exact: true }).isVisible();
      },
      60_000,
      500,
    );
    const atBravo = (await api(bravo, 'GET', '/incidents?team=alpha', 'reader')).json().items;
    t.equal(atBravo[0].tlp, 'GREEN', "bravo's copy carries the new label");
    await axe(t, 'incident with a correction');
    await screenshot(page, 'incident-corrected');
  });

  t.test("answers bravo's forum inquiry about the same host", async (t) => {
    await foundForum(t, { operator: alpha, members: [alpha, bravo] });
    const posted = await api(bravo, 'POST', '/forums/first/inquiries', 'handler', {
      question: 'Do you see SSH brute force from this host?',
      hosts: [{ ip: '203.0.113.45' }],
      tlp: 'AMBER',
    });
    t.equal(posted.statusCode, 202, posted.body);
    const id = posted.json().id as string;
    await page.getByRole('link', { name: 'Inquiries' }).click();
    await waitFor(
      'the inquiry in the inbox',
      async () => {
        await page.reload();
        return (await page.getByTestId('inquiries').count()) > 0;
      },
      60_000,
      500,
    );
    await page.getByRole('button', { name: 'asked of us' }).click();
    await page.getByTestId('inquiry-matches').getByText(ref).waitFor();
    await screenshot(page, 'inquiry');
    await axe(t, 'inquiries');
    await page.getByLabel('seen here too').check();
    await page.getByLabel('Note').fill('Same source seen here; see our report.');
    await page.getByRole('button', { name: 'Send the answer' }).click();
    await page.getByTestId('inquiry-answers').getByText('seen here too').waitFor();
    const answered = await waitFor('the answer at bravo', async () => {
      const res = await api(bravo, 'GET', `/inquiries/${id}`, 'reader');
      const body = res.json();
      return body.members?.find((m: any) => m.team === 'alpha')?.answer ?? null;
    });
    t.equal(answered.answer, 'seen');
    t.equal(answered.ref, ref);
  });

  t.test("shows the forum's signed roster and what this node pins for each member", async (t) => {
    await page.getByRole('link', { name: 'Forums' }).click();
    await page.getByRole('heading', { name: 'Forums and their rosters' }).waitFor();
    const forum = page.getByTestId('forum-first');
    await forum.waitFor({ timeout: 5000 }).catch(async () => t.fail(`no forum: ${await page.locator('main').textContent()}`));
    await forum.getByTestId('member-bravo').waitFor();
    t.match(await forum.getByTestId('member-bravo').textContent(), /pinned, same key/);
    t.match(await forum.getByTestId('member-alpha').textContent(), /our team/);
    t.match(await forum.getByTestId('member-bravo').textContent(), new RegExp(bravo.signer.fingerprint));
    await axe(t, 'forums');
    await screenshot(page, 'forums');
  });

  t.test('drafts a roster as the operator: a new forum, admit, suspend, publish, remove', async (t) => {
    const create = page.getByTestId('forum-create');
    await create.getByLabel('Forum id').fill('second');
    await create.getByLabel('Forum name').fill('Second circle');
    await create.getByRole('button', { name: 'Create the forum' }).click();
    const draft = page.getByTestId('draft-second');
    await draft.waitFor();
    const admit = page.getByTestId('admit-second');
    await admit.getByLabel('Team to admit').fill('bravo');
    await admit.getByRole('button', { name: 'Admit' }).click();
    const row = draft.getByTestId('draft-member-bravo');
    await row.getByRole('button', { name: 'Suspend bravo' }).click();
    await row.getByRole('button', { name: 'Reinstate bravo' }).waitFor();
    await draft.getByRole('button', { name: 'Sign and publish the next roster of second' }).click();
    t.match(await page.getByTestId('published-second').textContent(), /Version 1 signed and sent to: bravo/);
    const roster = (await api(alpha, 'GET', '/forums/second/members', 'reader')).json().items;
    t.match(roster, [{ team: 'bravo', status: 'suspended' }], 'the signed roster lists bravo, suspended');
    await axe(t, 'forum drafting');
    await screenshot(page, 'forum-drafting');
    await row.getByRole('button', { name: 'Remove bravo' }).click();
    await row.waitFor({ state: 'detached' });
    t.same((await api(alpha, 'GET', '/forums/second/draft', 'admin')).json().items, [], 'gone from the next version');
  });

  t.test('adds a team without a node through the peers page; a malformed URL is refused', async (t) => {
    const cc = loadFixtureKey('cc');
    await page.getByRole('link', { name: 'Peers' }).click();
    const byNode = page.getByTestId('peer-add-node');
    await byNode.getByLabel("Base URL of the team's node").fill('cc.example');
    await byNode.getByRole('button', { name: 'Fetch its signed profile and add it' }).click();
    t.match(await byNode.getByRole('alert').textContent(), /validation-failed.*\/url/, 'the refusal names the field');
    const byMail = page.getByTestId('peer-add-mail');
    await byMail.getByLabel('Team id').fill(cc.teamId);
    await byMail.getByLabel("Team's name").fill('CC by mail');
    await byMail.getByLabel('E-mail address').fill('cert@cc.example');
    await byMail.getByLabel('Its OpenPGP public key (armored)').fill(cc.armoredPublicKey);
    await byMail.getByLabel('Fingerprint you expect').fill(cc.fingerprint.toLowerCase());
    await byMail.getByLabel('Trust level').selectOption('partner');
    await axe(t, 'adding a peer');
    await byMail.getByRole('button', { name: 'Add the team' }).click();
    const added = page.getByTestId('peer-added');
    t.equal(
      (await added.locator('code.fingerprint').textContent())?.replace(/ /g, ''),
      cc.fingerprint,
      'the pinned fingerprint, to confirm',
    );
    t.match(await added.textContent(), /Added CC by mail/);
    await page.getByTestId(`peer-${cc.teamId}`).waitFor();
    t.match((await api(alpha, 'GET', `/peers/${cc.teamId}`, 'reader')).json(), {
      kind: 'mail',
      name: 'CC by mail',
      email: 'cert@cc.example',
      fingerprint: cc.fingerprint,
      assurance: 'unverified',
      trustLevel: 'partner',
    });
    await screenshot(page, 'peer-added');
  });

  t.test('introduces bravo to a third team, then withdraws the introduction', async (t) => {
    const cc = loadFixtureKey('cc');
    const card = page.getByTestId('peer-bravo');
    await card.getByRole('button', { name: 'Introductions' }).click();
    const form = page.getByTestId('introduce-bravo');
    await form.getByLabel(`tell ${cc.teamId}`).check();
    await form.getByLabel('What we vouch for').fill('fingerprint confirmed in person');
    await form.getByRole('button', { name: 'Sign and send the introductions of bravo' }).click();
    await card.getByTestId(`sent-${cc.teamId}`).getByText('in force').waitFor();
    const sent = async () => (await api(alpha, 'GET', '/peers/bravo/vouches', 'reader')).json().sent;
    t.match(await sent(), [{ to: cc.teamId, vouchesFor: 'fingerprint confirmed in person', withdrawnAt: null }]);
    await axe(t, 'peer introductions');
    await screenshot(page, 'peer-introductions');
    await card.getByRole('button', { name: 'Withdraw our introductions of bravo' }).click();
    await card.getByRole('button', { name: /Really withdraw/ }).click();
    await page.getByTestId('intro-done-bravo').waitFor();
    await card.getByTestId(`sent-${cc.teamId}`).getByText('in force').waitFor({ state: 'detached' });
    t.ok((await sent())[0].withdrawnAt, 'withdrawn at the node');
  });

  t.test('manages a peer: its trust, suspended and resumed; removal after a second click, refused while deliveries name it', async (t) => {
    const cc = loadFixtureKey('cc').teamId;
    const admin = page.getByTestId(`peer-admin-${cc}`);
    const stored = async () => (await api(alpha, 'GET', `/peers/${cc}`, 'reader')).json();
    await admin.getByLabel('Trust level').selectOption('community');
    await admin.getByRole('button', { name: `Save the relationship and trust of ${cc}` }).click();
    await admin.getByText(`Saved for ${cc}.`).waitFor();
    t.equal((await stored()).trustLevel, 'community');
    const status = page.getByTestId(`peer-status-${cc}`);
    await admin.getByRole('button', { name: `Suspend ${cc}` }).click();
    await status.getByText('suspended', { exact: true }).waitFor();
    t.equal((await stored()).status, 'suspended');
    await admin.getByRole('button', { name: `Resume ${cc}` }).click();
    await status.getByText('active', { exact: true }).waitFor();
    await admin.getByRole('button', { name: `Remove ${cc}` }).click();
    await axe(t, 'peer management');
    await admin.getByRole('button', { name: `Really remove ${cc} and its pinned keys` }).click();
    // Our introductions to cc are deliveries that name it: the node keeps it, and the page says why.
    await page.getByTestId(`peer-conflict-${cc}`).waitFor();
    t.match(await admin.getByRole('alert').textContent(), /^conflict/);
    t.equal((await api(alpha, 'GET', `/peers/${cc}`, 'reader')).statusCode, 200, 'kept at the node');
    const delta = loadFixtureKey('delta');
    const spare = { teamId: delta.teamId, name: 'Delta by mail', email: 'cert@delta.example', publicKey: delta.armoredPublicKey };
    t.equal((await api(alpha, 'POST', '/peers/mail', 'admin', spare)).statusCode, 201);
    await page.reload();
    const other = page.getByTestId(`peer-admin-${delta.teamId}`);
    await other.getByRole('button', { name: `Remove ${delta.teamId}` }).click();
    await other.getByRole('button', { name: `Really remove ${delta.teamId} and its pinned keys` }).click();
    await page.getByTestId(`peer-${delta.teamId}`).waitFor({ state: 'detached' });
    t.equal((await api(alpha, 'GET', `/peers/${delta.teamId}`, 'reader')).statusCode, 404, 'a peer nothing refers to is gone');
  });

  let siteId = '';
  t.test('adds a site with its POC through the site directory, changes it and pins the POC key', async (t) => {
    await page.getByRole('link', { name: 'Sites' }).click();
    await page.getByRole('button', { name: 'Add a site' }).click();
    const form = page.getByTestId('site-new');
    await form.getByLabel('Site name').fill('Example University');
    await form.getByLabel('Networks').fill('203.0.113.0/24');
    await form.getByLabel('AS numbers').fill('AS64500');
    await form.getByTestId('site-new-add-poc').click();
    await form.getByLabel('Name (person').fill('SOC');
    await form.getByLabel('Languages').fill('en, ja');
    await form.locator('#row-site-new-poc-0-channels-0-value').fill('soc@example-univ.test');
    await form.getByTestId('add-site-new-poc-0-channels').click();
    await form.locator('#row-site-new-poc-0-channels-1-kind').selectOption('hotline');
    await form.locator('#row-site-new-poc-0-channels-1-value').fill('+81-3-0000-0000');
    await form.locator('#row-site-new-poc-0-channels-1-note').fill('ask for the duty officer');
    await axe(t, 'adding a site');
    await form.getByRole('button', { name: 'Add the site' }).click();
    await form.waitFor({ state: 'detached' });
    const [site] = (await api(alpha, 'GET', '/sites?q=Example', 'reader')).json().items;
    t.match(site, {
      name: 'Example University',
      networks: ['203.0.113.0/24'],
      asns: [64500],
      pocs: [
        {
          name: 'SOC',
          languages: ['en', 'ja'],
          channels: [
            { kind: 'email', value: 'soc@example-univ.test' },
            { kind: 'hotline', value: '+81-3-0000-0000', note: 'ask for the duty officer' },
          ],
        },
      ],
      version: 1,
    });
    siteId = site.id;
    const card = page.getByTestId(`site-${site.id}`);
    await card.getByRole('button', { name: 'Change Example University' }).click();
    const edit = page.getByTestId(`site-form-${site.id}`);
    await edit.getByLabel('Description').fill('Main campus; the SOC answers 24x7.');
    await edit.getByRole('button', { name: 'Save Example University' }).click();
    await card.getByText('Main campus; the SOC answers 24x7.').waitFor();
    t.match((await api(alpha, 'GET', `/sites/${site.id}`, 'reader')).json(), {
      description: 'Main campus; the SOC answers 24x7.',
      version: 2,
    });
    // An edit over a newer version is refused (If-Match), not silently undone.
    t.equal((await api(alpha, 'PATCH', `/sites/${site.id}`, 'handler', { domains: ['example-univ.test'] })).statusCode, 200);
    await card.getByRole('button', { name: 'Change Example University' }).click();
    await edit.getByLabel('Description').fill('A stale edit');
    await edit.getByRole('button', { name: 'Save Example University' }).click();
    t.match(await edit.getByRole('alert').textContent(), /version-mismatch/);
    await edit.getByRole('button', { name: 'Cancel' }).click();

    const key = loadFixtureKey('delta');
    const contact = card.getByTestId('contact-soc@example-univ.test');
    t.match(await contact.textContent(), /no OpenPGP key pinned/);
    await contact.getByRole('button', { name: 'Pin the key of soc@example-univ.test' }).click();
    await contact.getByLabel('OpenPGP public key of soc@example-univ.test').fill(key.armoredPublicKey);
    await contact.getByRole('button', { name: 'Pin this key' }).click();
    await contact.getByText(`OpenPGP key pinned: ${key.fingerprint}`).waitFor();
    const contacts = (await api(alpha, 'GET', '/site-contacts', 'reader')).json().items;
    t.match(contacts, [{ email: 'soc@example-univ.test', fingerprint: key.fingerprint }]);
    await screenshot(page, 'sites');

    const spare = await api(alpha, 'POST', '/sites', 'handler', { name: 'Spare site' });
    t.equal(spare.statusCode, 201, spare.body);
    await page.reload();
    const spareCard = page.getByTestId(`site-${spare.json().id}`);
    await spareCard.getByRole('button', { name: 'Remove Spare site' }).click();
    await spareCard.getByRole('button', { name: 'Really remove Spare site and its scopes' }).click();
    await spareCard.waitFor({ state: 'detached' });
    t.equal((await api(alpha, 'GET', `/sites/${spare.json().id}`, 'reader')).statusCode, 404);
  });

  t.test('writes, changes and removes a counter-measure template', async (t) => {
    await page.getByRole('link', { name: 'Counter-measures' }).click();
    await page.getByTestId('template-card-infected-system').waitFor();
    await page.getByRole('button', { name: 'Write a new template' }).click();
    const form = page.getByTestId('template-new');
    await form.getByLabel('Template id').fill('ssh-brute-force');
    await form.getByLabel('Template title').fill('SSH brute force from your network');
    await form.getByLabel('Category').selectOption('intrusion-attempts');
    await form.getByLabel('Advice in English').fill('Block {{hosts}} at the border and check the host for compromise.');
    await form.getByLabel('Advice in Japanese').fill('{{hosts}} を境界で遮断し、侵害の有無を確認してください。');
    await axe(t, 'counter-measure template');
    await form.getByRole('button', { name: 'Save the template' }).click();
    const card = page.getByTestId('template-card-ssh-brute-force');
    await card.waitFor();
    t.match((await api(alpha, 'GET', '/counter-measures/ssh-brute-force', 'reader')).json(), {
      title: 'SSH brute force from your network',
      category: 'intrusion-attempts',
      source: 'team',
      texts: { en: 'Block {{hosts}} at the border and check the host for compromise.' },
    });
    await card.getByRole('button', { name: 'Change SSH brute force from your network' }).click();
    await page.getByTestId('template-edit-ssh-brute-force').getByLabel('Template title').fill('SSH brute force');
    await page.getByTestId('template-edit-ssh-brute-force').getByRole('button', { name: 'Save the template' }).click();
    // The form closes once saved; until then its own heading also names the template.
    await page.getByTestId('template-edit-ssh-brute-force').waitFor({ state: 'detached' });
    await card.getByRole('heading', { level: 2, name: 'SSH brute force', exact: true }).waitFor();
    t.equal((await api(alpha, 'GET', '/counter-measures/ssh-brute-force', 'reader')).json().title, 'SSH brute force');
    await screenshot(page, 'counter-measures');
    await card.getByRole('button', { name: 'Remove SSH brute force' }).click();
    await card.getByRole('button', { name: 'Really remove SSH brute force' }).click();
    await card.waitFor({ state: 'detached' });
    t.equal((await api(alpha, 'GET', '/counter-measures/ssh-brute-force', 'reader')).statusCode, 404);
  });

  t.test("edits a drafted site notification's advice, then picks another template and language", async (t) => {
    await page.goto(`${alpha.url}/console/#/incidents/${encodeURIComponent(ref)}`);
    await page.getByRole('button', { name: 'Propose notifications to the sites involved' }).click();
    const row = page.getByTestId(`notification-${siteId}`);
    await row.getByRole('button', { name: 'Edit the advice' }).click();
    await row.getByLabel('Advice to the site').fill('Re-install www from known-good media.');
    await row.getByRole('button', { name: 'Save the advice' }).click();
    await row.getByText('Advice saved').waitFor();
    const stored = (await api(alpha, 'GET', `/incidents/${encodeURIComponent(ref)}/notifications`, 'reader')).json().items;
    t.match(stored, [{ state: 'drafted', advice: 'Re-install www from known-good media.' }], 'kept on the draft');
    await row.getByText('What the site would read').click();
    await row
      .getByTestId(/^advice-rendered-/)
      .getByText('Re-install www from known-good media.', { exact: false })
      .waitFor();
    await axe(t, 'notification advice');
    await screenshot(page, 'notification-advice');

    // Another template, in Japanese: the node drops the edited advice and the template writes it.
    const picker = row.getByTestId(/^template-/);
    await picker.getByLabel('Counter-measure template').selectOption('infected-system');
    await picker.getByLabel('Language of the notification').selectOption('ja');
    await picker.getByRole('button', { name: 'Use this template and language' }).click();
    await row.getByText('Template changed: it writes the advice now.').waitFor();
    await row
      .getByTestId(/^advice-rendered-/)
      .getByText('ボットネット', { exact: false })
      .waitFor();
    t.equal(await row.getByLabel('Advice to the site').inputValue(), '', 'the edited advice is gone from the form too');
    const picked = (await api(alpha, 'GET', `/incidents/${encodeURIComponent(ref)}/notifications`, 'reader')).json().items;
    t.match(picked, [{ state: 'drafted', counterMeasure: 'infected-system', language: 'ja', advice: null }], 'kept on the draft');
  });

  t.test('reads a site notification from our coordinator, acknowledges and answers it', async (t) => {
    const before = (await api(alpha, 'GET', '/peers/bravo', 'reader')).json().relationship;
    t.equal((await api(alpha, 'PATCH', '/peers/bravo', 'admin', { relationship: 'coordinator' })).statusCode, 200);
    t.teardown(() => api(alpha, 'PATCH', '/peers/bravo', 'admin', { relationship: before }));
    const body = {
      notification: '7d1f6a52-3c1e-4a8e-9b43-2f6f0c1d9e10',
      ref: 'BRAVO#2026-000777',
      language: 'en',
      content: {
        ref: 'BRAVO#2026-000777',
        category: 'intrusions',
        type: null,
        severity: 'high',
        tlp: 'GREEN',
        firstSeen: '2026-11-20T02:40:00+09:00',
        lastSeen: null,
        hosts: [{ ip: '192.0.2.10', role: 'target', description: 'your web server' }],
        indicators: [],
        cves: ['CVE-2016-5195'],
        callBack: { teamId: 'bravo', teamName: 'Bravo CSIRT', email: 'csirt@bravo.test' },
      },
      text: 'Your web server 192.0.2.10 was used in an intrusion. Please patch it.',
      follows: null,
    };
    const sent = await postMessage(
      alpha,
      await sign(messageDocument('bravo', 'alpha', 'site.notification', body, { tlp: 'GREEN' }), 'bravo'),
    );
    t.equal(sent.status, 200, sent.text);
    await page.getByRole('link', { name: 'Notices to us' }).click();
    const notice = page.getByTestId('notice-BRAVO#2026-000777');
    await notice.getByRole('button', { name: 'Read the text they wrote for us' }).click();
    await notice.getByText('Please patch it.', { exact: false }).waitFor();
    t.match(await notice.textContent(), /2026-11-20 02:40:00 UTC\+09:00/, 'the time as written, with its offset');
    await axe(t, 'site notices');
    await screenshot(page, 'site-notices');
    await notice.getByRole('button', { name: 'Acknowledge' }).click();
    await notice.getByRole('heading', { name: /acknowledged/ }).waitFor();
    await notice.getByLabel('Answer to the sender').fill('Patched and re-installed on 2026-11-22.');
    await notice.getByRole('button', { name: 'Send the answer' }).click();
    await notice.getByRole('heading', { name: /answered/ }).waitFor();
    const stored = (await api(alpha, 'GET', '/received-site-notifications', 'reader')).json().items;
    t.match(stored, [{ senderRef: 'BRAVO#2026-000777', state: 'answered' }]);
  });

  t.test("answers bravo's question to us as a vendor; bravo's case gets the signed statement", async (t) => {
    const vendor = await api(bravo, 'POST', '/vendors', 'handler', { id: 'alpha-soft', name: 'Alpha Software', teamId: 'alpha' });
    t.equal(vendor.statusCode, 201, vendor.body);
    const opened = await api(bravo, 'POST', '/cases', 'handler', {
      id: 'vc-bravo-1',
      title: 'Path traversal in the Alpha file server',
      description: 'A ../ in the download path reads any file.',
      tlp: 'GREEN',
      products: [{ vendor: 'alpha-soft', product: 'Alpha Files', versions: ['2.0'] }],
    });
    t.equal(opened.statusCode, 201, opened.body);
    t.equal((await api(bravo, 'POST', '/cases/vc-bravo-1/questions', 'handler', {})).statusCode, 202);
    const question = await waitFor('the question at alpha', async () => {
      const items = (await api(alpha, 'GET', '/vendor-questions', 'reader')).json().items as any[];
      return items.find((q) => q.caseId === 'vc-bravo-1') ?? null;
    });
    await page.getByRole('link', { name: 'Vendor cases' }).click();
    await page.getByRole('button', { name: 'Answer bravo vc-bravo-1' }).click();
    const form = page.getByTestId(`answer-${question.id}`);
    await form.getByText('A ../ in the download path reads any file.').waitFor();
    await form.getByLabel('Status').selectOption('affected');
    await form.getByLabel('Fixed versions').fill('2.1');
    await form.getByLabel('Statement').fill('Fixed in 2.1, released today.');
    await axe(t, 'answering a vendor question');
    await screenshot(page, 'vendor-question-answer');
    await form.getByRole('button', { name: 'Sign and send the statement' }).click();
    await page.getByTestId(`answered-${question.id}`).waitFor();
    await page.getByTestId(`vendor-question-${question.id}`).getByRole('cell', { name: 'answered', exact: true }).waitFor();
    const statement = await waitFor("the statement in bravo's case", async () => {
      const kase = (await api(bravo, 'GET', '/cases/vc-bravo-1', 'reader')).json();
      return kase.statements?.[0] ?? null;
    });
    t.match(statement, {
      vendor: 'alpha-soft',
      product: 'Alpha Files',
      status: 'affected',
      fixedVersions: ['2.1'],
      text: 'Fixed in 2.1, released today.',
      provenance: 'federation',
      signed: true,
    });
    // What we sent reads back on our side, per product.
    await page.getByRole('button', { name: 'Our statement to bravo vc-bravo-1' }).click();
    const sent = page.getByTestId(`sent-statements-${question.id}`);
    await sent.getByRole('cell', { name: 'Fixed in 2.1, released today.' }).waitFor();
    t.match(await sent.textContent(), /Alpha Files.*affected.*2\.1/);
    t.match(await sent.textContent(), /account:hanako/);
    await axe(t, 'our vendor statement');
  });

  t.test('a reader sees the incident without the moves and buttons the node would refuse', async (t) => {
    const yuki = await createAccount(alpha, { name: 'yuki', displayName: 'Yuki Sato', role: 'reader', language: 'en' });
    const readerContext = await browser.newContext({ locale: 'en-GB' });
    t.teardown(() => readerContext.close());
    const reader = await readerContext.newPage();
    reader.setDefaultTimeout(15_000);
    await signIn(reader, alpha, yuki);
    await reader.goto(`${alpha.url}/console/#/incidents/${encodeURIComponent(ref)}`);
    await reader.getByTestId('phase').waitFor();
    await reader.getByTestId('read-only').waitFor();
    t.equal(await reader.getByRole('button', { name: /^Move to/ }).count(), 0, 'no phase moves');
    t.equal(await reader.getByRole('link', { name: 'Share with…' }).count(), 0, 'no share');
    t.equal(await reader.locator('#journal-note').count(), 0, 'no note form');
    t.equal(await reader.getByTestId('correction-form').count(), 0, 'no correction form');
    t.equal(await reader.getByRole('link', { name: 'Audit log' }).count(), 0, 'no link to the admin-only audit log');
    t.equal(await reader.getByRole('link', { name: 'Quarantine' }).count(), 0, 'no link to the quarantine');
    await reader.getByRole('link', { name: 'Incidents', exact: true }).click();
    await reader.getByRole('heading', { name: 'Incidents' }).waitFor();
    t.equal(await reader.getByRole('link', { name: 'Record an incident' }).count(), 0, 'no record link');
    await reader.getByRole('link', { name: 'Peers' }).click();
    await reader.getByTestId('peer-bravo').waitFor();
    t.equal(await reader.getByTestId('peer-add-node').count(), 0, 'no peer forms');
    t.equal(await reader.getByRole('button', { name: 'Suspend bravo' }).count(), 0);
    await reader.getByRole('link', { name: 'Sites' }).click();
    await reader.getByTestId(`site-${siteId}`).waitFor();
    t.equal(await reader.getByRole('button', { name: /^(Add a site|Change |Remove |Pin the key)/ }).count(), 0, 'the directory, read only');
    await reader.getByRole('link', { name: 'Counter-measures' }).click();
    await reader.getByTestId('template-card-infected-system').waitFor();
    t.equal(await reader.getByRole('button', { name: /^(Write a new template|Change )/ }).count(), 0, 'templates, read only');
    await reader.getByRole('link', { name: 'Vendor cases' }).click();
    await reader.getByRole('button', { name: 'Our statement to bravo vc-bravo-1' }).click();
    await reader.getByRole('cell', { name: 'Fixed in 2.1, released today.' }).waitFor();
    t.equal(await reader.getByRole('button', { name: /^Answer / }).count(), 0, 'a reader reads our answer, does not answer');
    await screenshot(reader, 'incident-reader');
  });

  t.test('views the overview, its charts and the peers page', async (t) => {
    await page.getByRole('link', { name: 'Overview' }).click();
    await page.getByTestId('overview-total').waitFor();
    t.equal(await page.locator('figure.chart svg').count(), 4, 'four SVG charts');
    t.ok((await page.locator('svg rect.chart-bar').count()) >= 4, 'bars drawn as SVG elements');
    await screenshot(page, 'overview');
    await axe(t, 'overview');
    await page.getByRole('link', { name: 'Peers' }).click();
    await page.getByTestId('peer-bravo').waitFor();
    t.match(await page.getByTestId('peer-bravo').textContent(), new RegExp(bravo.signer.fingerprint.slice(0, 4)));
    await page.getByTestId('peer-bravo').getByRole('button', { name: 'Explain the effective trust' }).click();
    await page.getByTestId('effective-trust').waitFor();
    await screenshot(page, 'peers');
    await axe(t, 'peers');
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.getByRole('button', { name: 'Verify the chain' }).click();
    t.match(await page.getByTestId('audit-verify').textContent(), /The chain verifies/);
    await screenshot(page, 'audit');
  });

  t.test('the language switch: Japanese for this person', async (t) => {
    await page.getByTestId('language').selectOption('ja');
    await page.getByRole('link', { name: 'インシデント' }).first().waitFor();
    t.equal(await page.evaluate(() => document.documentElement.lang), 'ja');
    const account = (await api(alpha, 'GET', '/accounts', 'admin')).json().items.find((a: any) => a.name === 'hanako');
    t.equal(account.language, 'ja', "kept as the person's own choice");
    await page.reload();
    await page.getByRole('link', { name: '概況' }).click();
    await page.getByTestId('overview-total').waitFor();
    await screenshot(page, 'overview-ja');
  });

  t.test('audit entries name the person; signing out ends the session', async (t) => {
    const audit = (await api(alpha, 'GET', '/audit?kind=disclosure.decision&limit=50', 'admin')).json().items;
    t.ok(
      audit.some((e: any) => e.actor === 'account:hanako'),
      'the share decision is attributed to account:hanako',
    );
    await page.getByRole('button', { name: 'サインアウト' }).click();
    await page.getByRole('heading', { name: 'サインイン' }).waitFor();
    const after = await page.evaluate(async () => (await fetch('/api/v1/session')).status);
    t.equal(after, 401, 'the session is over at the node');
  });

  t.test('nothing on the way broke the CSP or opened a dialog', async (t) => {
    t.same(watch.dialogs, []);
    t.same(watch.violations, []);
    t.same(await cspViolations(page), []);
    t.same(
      watch.errors.filter((e) => !/status of 4\d\d/.test(e)),
      [],
      'no script errors',
    );
  });
}
