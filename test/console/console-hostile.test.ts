import t, { type Test } from 'tap';
import { loadFixtureKey } from '../fixtures/keys/index.js';
import { buildTestNode } from '../helpers/build-test-app.js';
import { api, EXAMPLE_INCIDENT, fastDelivery, messageDocument, partnersBoth, postMessage, sign } from '../helpers/federation-harness.js';
import {
  chromiumMissing,
  cspViolations,
  ensureConsoleBuilt,
  createAccount,
  launchBrowser,
  screenshot,
  signIn,
  watchedPage,
} from '../helpers/console-browser.js';

// The callbacks given to page.evaluate run in the browser: its document, typed loosely here.
declare const document: any;

/**
 * Hostile content renders inert (issue 20): incident fields come from other teams and from
 * attackers. An incident whose every free-text field carries script (a <script> element, an
 * <img onerror>, an <svg onload>, a javascript: URL, template syntax) is shown in the list, the
 * incident page, its journal and the share preview, and other teams' strings planted in every
 * field of the later pages (accounts, introductions, forum drafts and applications, vendor cases
 * and their edit forms, questions asked of us, their answer form and our statement, counter-measure
 * templates and their page and form, peers added through the form, sites with their POCs and edit
 * form, advisories, law-enforcement requests, press statements, received site notifications) are
 * shown on those pages: no dialog opens, the browser reports no CSP violation (nothing even
 * tried to run), no element from the data appears in the DOM, and the strings show as the text
 * they are.
 */
const PAYLOADS = [
  '<script>alert("script-1")</script>',
  '<img src=x onerror=alert("img-2")>',
  '"><svg onload=alert("svg-3")>',
  'javascript:alert("js-4")',
  "{{constructor.constructor('alert(5)')()}}",
  '<a href="javascript:alert(6)">click</a><iframe src="javascript:alert(7)"></iframe>',
];
let payloadCount = 0;
const hostile = (n: number) => `${PAYLOADS[n % PAYLOADS.length]} #${n}`;

/** The lecture's example with a payload in every free-text field the schema takes as text. */
function hostileIncident(): Record<string, unknown> {
  let n = 0;
  const next = () => hostile(n++);
  const contact = () => ({ name: next(), organisation: next(), postalAddress: next(), phone: next(), mobile: next(), fax: next() });
  const incident = {
    ...EXAMPLE_INCIDENT,
    title: next(),
    summary: next(),
    intruderActivity: next(),
    reporter: contact(),
    poc: contact(),
    hosts: [{ ip: '203.0.113.45', role: 'source', protocol: 'tcp', description: next() }],
    indicators: [
      { kind: 'other', value: next(), description: next() },
      { kind: 'url', value: 'javascript:alert("url-8")', description: next() },
    ],
    vulnerabilities: [{ description: next() }],
    systemChanges: [{ description: next(), host: 'www.example-univ.ac.jp', at: '2026-11-20T02:52:00+09:00' }],
    installedSoftware: [{ name: next(), version: next(), path: next(), description: next() }],
    evidence: [{ kind: 'log', description: next(), content: next(), source: next(), timeZone: 'Asia/Tokyo' }],
  };
  payloadCount = n;
  return incident;
}

async function run() {
  fastDelivery();
  await ensureConsoleBuilt();
  const alpha = await buildTestNode(t, { key: 'alpha', listen: true });
  const bravo = await buildTestNode(t, { key: 'bravo', listen: true });
  await partnersBoth(alpha, bravo);
  const created = await api(alpha, 'POST', '/incidents', 'handler', hostileIncident());
  if (created.statusCode !== 201) throw new Error(`the hostile incident was refused: ${created.body}`);
  const ref = created.json().ref as string;
  const note = await api(alpha, 'POST', `/incidents/${encodeURIComponent(ref)}/journal`, 'handler', { note: hostile(99) });
  if (note.statusCode !== 201) throw new Error(`the hostile note was refused: ${note.body}`);

  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const context = await browser.newContext({ locale: 'en-GB' });
  const { page, watch } = await watchedPage(context);
  page.setDefaultTimeout(15_000);
  await signIn(page, alpha, await createAccount(alpha, { name: 'taro', displayName: hostile(50), role: 'handler', language: 'en' }));

  /** Nothing from the data became an element: only the console's own script, no image, frame or handler attribute. */
  async function injected(): Promise<string[]> {
    return page.evaluate(() => {
      const found: string[] = [];
      for (const s of Array.from(document.scripts) as any[])
        if (!/\/console\/app\.js/.test(s.src)) found.push(`script ${s.outerHTML.slice(0, 80)}`);
      for (const e of Array.from(document.querySelectorAll('img, iframe, object, embed')) as any[]) found.push(e.outerHTML.slice(0, 80));
      for (const e of Array.from(document.querySelectorAll('*')) as any[])
        for (const a of Array.from(e.attributes) as any[])
          if (/^on/i.test(a.name) || /^\s*javascript:/i.test(a.value)) found.push(`${e.tagName} ${a.name}=${a.value.slice(0, 40)}`);
      return found;
    });
  }

  /** Every marker shows as text in the page's main part, and none became an element. */
  async function showsInert(t: Test, markers: string[]): Promise<void> {
    const text = (await page.locator('main').textContent()) ?? '';
    for (const marker of markers) t.ok(text.includes(marker), `${marker.slice(0, 30)}… shown as text`);
    t.same(await injected(), []);
  }
  const ok = <R extends { statusCode: number; body: string }>(res: R, what: string): R => {
    if (res.statusCode >= 300) throw new Error(`${what}: ${res.statusCode} ${res.body}`);
    return res;
  };
  const noted = async (envelope: unknown, what: string) => {
    const res = await postMessage(alpha, envelope);
    if (res.status !== 200) throw new Error(`${what}: ${res.status} ${res.text}`);
  };

  t.test('the list shows the title as text', async (t) => {
    await page.goto(`${alpha.url}/console/#/incidents`);
    await page.getByTestId('incident-list').waitFor();
    t.ok(await page.getByText(hostile(0), { exact: true }).isVisible(), 'the title, literally');
    t.same(await injected(), []);
    await screenshot(page, 'hostile-list');
  });

  t.test('the incident page shows every field as text', async (t) => {
    await page.goto(`${alpha.url}/console/#/incidents/${encodeURIComponent(ref)}`);
    await page.getByTestId('journal').waitFor();
    const text = (await page.locator('main').textContent()) ?? '';
    for (let n = 0; n < payloadCount; n++) t.ok(text.includes(hostile(n)), `payload #${n} shown as text`);
    t.ok(text.includes(hostile(99)), 'the journal note as text');
    t.ok(text.includes('javascript:alert("url-8")'), 'a javascript: URL is text, not a link');
    t.same(await injected(), []);
    await screenshot(page, 'hostile-detail');
  });

  t.test('the share preview shows the redacted payloads as text', async (t) => {
    await page.goto(`${alpha.url}/console/#/incidents/${encodeURIComponent(ref)}/share`);
    await page.getByLabel('Peer').selectOption('bravo');
    await page.getByRole('button', { name: 'Show what the policy decides' }).click();
    await page.getByTestId('policy-decision').waitFor();
    await page.getByText('Exactly what the peer would get').click();
    t.match(await page.getByTestId('policy-preview').textContent(), /alert/);
    t.same(await injected(), []);
  });

  t.test("a site's name in the incident's notifications shows as text", async (t) => {
    const site = await api(alpha, 'POST', '/sites', 'handler', { name: hostile(97), networks: ['203.0.113.0/24'] });
    t.equal(site.statusCode, 201, site.body);
    await page.goto(`${alpha.url}/console/#/incidents/${encodeURIComponent(ref)}`);
    await page.getByRole('button', { name: 'Propose notifications to the sites involved' }).click();
    const list = page.getByTestId('notifications');
    await list.waitFor();
    t.ok(((await list.textContent()) ?? '').includes(hostile(97)), 'the site name, literally');
    t.match(await list.textContent(), /unreachable/, 'a site without a POC address is unreachable, and says so');
    t.same(await injected(), []);

    // Told through its own node (bravo's), the site gets a draft: its template picker lists the
    // team's own template by its title.
    const template = { title: hostile(96), texts: { en: `${hostile(95)} {{hosts}}`, ja: `${hostile(95)} {{hosts}}` } };
    ok(await api(alpha, 'PUT', '/counter-measures/team-advice', 'admin', template), 'template');
    ok(await api(alpha, 'PATCH', `/sites/${site.json().id}`, 'handler', { teamId: 'bravo' }), 'site node');
    await page.getByRole('button', { name: 'Propose notifications to the sites involved' }).click();
    await list.getByRole('button', { name: 'Edit the advice' }).click();
    const picker = list.getByTestId(/^template-/);
    await picker.getByLabel('Counter-measure template').selectOption('team-advice');
    await picker.getByRole('button', { name: 'Use this template and language' }).click();
    await list.getByText('What the site would read').click();
    await list
      .getByTestId(/^advice-rendered-/)
      .getByText(hostile(95), { exact: false })
      .waitFor();
    t.ok(((await picker.textContent()) ?? '').includes(hostile(96)), 'the template title, literally');
    t.same(await injected(), []);
  });

  t.test("a retraction's note shows as text", async (t) => {
    const retracted = await api(alpha, 'POST', `/incidents/${encodeURIComponent(ref)}/corrections`, 'handler', {
      kind: 'retract',
      reason: 'hoax',
      note: hostile(98),
    });
    t.equal(retracted.statusCode, 202, retracted.body);
    await page.goto(`${alpha.url}/console/#/incidents/${encodeURIComponent(ref)}`);
    // The page was already at this address: only a reload reads the incident again.
    await page.reload();
    await page.getByTestId('corrections').waitFor();
    t.ok(((await page.getByTestId('corrections').textContent()) ?? '').includes(hostile(98)), 'the note, literally');
    t.same(await injected(), []);
  });

  t.test('accounts, peer introductions and roster drafting show the strings as text', async (t) => {
    // taro becomes admin (the session follows from its next request): every admin part is drawn.
    ok(await api(alpha, 'PATCH', '/accounts/taro', 'admin', { role: 'admin' }), 'taro admin');
    const cc = loadFixtureKey('cc');
    ok(
      await api(alpha, 'POST', '/peers/mail', 'admin', {
        teamId: cc.teamId,
        name: hostile(200),
        email: 'cert@cc.example',
        publicKey: cc.armoredPublicKey,
      }),
      'mail peer',
    );
    const introduction = { team: cc.teamId, fingerprint: cc.fingerprint, vouchesFor: hostile(201) };
    await noted(
      await sign(messageDocument('bravo', 'alpha', 'peer.introduction', introduction, { tlp: 'GREEN' }), 'bravo'),
      'introduction',
    );
    ok(await api(alpha, 'POST', '/peers/bravo/introductions', 'admin', { to: [cc.teamId], vouchesFor: hostile(202) }), 'introduce');
    ok(await api(alpha, 'POST', '/forums', 'admin', { id: 'inert', name: hostile(203), role: 'operator' }), 'forum');
    ok(await api(alpha, 'PUT', '/forums/inert/draft/bravo', 'admin', { kind: 'full' }), 'admit');
    const application = { forum: 'inert', statement: hostile(204), contact: { name: hostile(205), organisation: hostile(206) } };
    await noted(await sign(messageDocument('bravo', 'alpha', 'forum.application', application, { tlp: 'GREEN' }), 'bravo'), 'application');

    await page.goto(`${alpha.url}/console/#/accounts`);
    await page.reload();
    await page.getByTestId('account-taro').waitFor();
    await showsInert(t, [hostile(50)]);
    await page.getByRole('link', { name: 'Peers' }).click();
    for (const team of [cc.teamId, 'bravo']) await page.getByTestId(`peer-${team}`).getByRole('button', { name: 'Introductions' }).click();
    await page.getByTestId(`vouch-bravo`).waitFor();
    await page.getByTestId(`sent-${cc.teamId}`).waitFor();
    await showsInert(t, [hostile(200), hostile(201), hostile(202)]);
    await page.getByRole('link', { name: 'Forums' }).click();
    await page.getByTestId('application-bravo').waitFor();
    await showsInert(t, [hostile(203), hostile(204), hostile(205), hostile(206)]);
    await screenshot(page, 'hostile-forum-drafting');
  });

  t.test('vendor cases, advisories and questions asked of us show the strings as text', async (t) => {
    const delta = loadFixtureKey('delta');
    const vendor = {
      id: 'acme',
      name: hostile(210),
      email: 'psirt@acme.example',
      publicKey: delta.armoredPublicKey,
      fingerprint: delta.fingerprint,
    };
    ok(await api(alpha, 'POST', '/vendors', 'handler', vendor), 'vendor');
    const product = { vendor: 'acme', product: hostile(211), versions: [hostile(212)] };
    ok(
      await api(alpha, 'POST', '/cases', 'handler', {
        id: 'vc-1',
        title: hostile(213),
        description: hostile(214),
        tlp: 'AMBER',
        products: [product],
      }),
      'case',
    );
    ok(
      await api(alpha, 'POST', '/cases/vc-1/statements', 'handler', {
        vendor: 'acme',
        product: hostile(211),
        status: 'affected',
        text: hostile(215),
      }),
      'statement',
    );
    ok(await api(alpha, 'POST', '/cases/vc-1/advisory', 'handler'), 'advisory');
    const remediation = { vendor: 'acme', product: hostile(211), details: hostile(218) };
    ok(
      await api(alpha, 'PUT', '/cases/vc-1/advisory/edits', 'handler', {
        notes: [{ category: 'summary', title: hostile(216), text: hostile(217) }],
        remediations: [remediation],
      }),
      'edits',
    );
    const question = {
      case: 'bravo-case',
      question: '0b0e6c55-8f5e-4a4e-a2f1-3d7e1c6b2a90',
      title: hostile(219),
      description: hostile(220),
      products: [{ product: hostile(221), versions: [hostile(222)] }],
      cveIds: [],
    };
    await noted(await sign(messageDocument('bravo', 'alpha', 'vendor.question', question, { tlp: 'GREEN' }), 'bravo'), 'question');

    await page.getByRole('link', { name: 'Vendor cases' }).click();
    await page.getByTestId('vendor-questions').waitFor();
    await page.getByRole('button', { name: 'Answer bravo bravo-case' }).click();
    await page.getByRole('button', { name: 'Edit acme' }).click();
    await showsInert(t, [hostile(210), hostile(213), hostile(219), hostile(220), `${hostile(221)} ${hostile(222)}`]);
    t.ok(((await page.getByRole('combobox', { name: 'Product' }).textContent()) ?? '').includes(hostile(221)), 'the product to answer for');
    t.equal(await page.locator('#vendor-acme-name').inputValue(), hostile(210), "the vendor's name in its form");
    await page.getByRole('link', { name: 'vc-1' }).click();
    await page.getByRole('button', { name: 'Change case vc-1' }).click();
    const edit = page.getByTestId('case-edit');
    t.equal(await edit.getByLabel('Title').inputValue(), hostile(213), 'the case in its form, as typed');
    t.equal(await edit.getByLabel('Description').inputValue(), hostile(214));
    t.equal(await edit.locator('#row-case-edit-products-0-product').inputValue(), hostile(211));
    t.equal(await edit.locator('#row-case-edit-products-0-versions').inputValue(), hostile(212));
    await page.getByTestId('advisory-edits').waitFor();
    await page.getByText('The CSAF document as publishing it now would make it').click();
    await showsInert(t, [hostile(211), hostile(212), hostile(213), hostile(214), hostile(215)]);
    // The advisory's document carries the notes JSON-encoded (quotes escaped): the form shows them as typed.
    t.equal(await page.locator('#row-notes-0-text').inputValue(), hostile(217));
    t.equal(await page.locator('#row-remediations-0-details').inputValue(), hostile(218));
    t.match(await page.getByTestId('advisory-document').textContent(), /onerror=alert/);
    await screenshot(page, 'hostile-case');
  });

  t.test('law-enforcement requests, press statements and received site notifications show the strings as text', async (t) => {
    // A fresh incident: the hostile one was retracted above, and the policy shares a retracted report with nobody.
    const amber = ok(await api(alpha, 'POST', '/incidents', 'handler', { ...EXAMPLE_INCIDENT }), 'incident').json().ref as string;
    const request = {
      agency: { id: 'npa-cyber', name: hostile(230) },
      officer: { name: hostile(231), contact: hostile(232) },
      legalBasis: hostile(233),
      scope: { incidents: [amber], information: hostile(234) },
      text: hostile(235),
    };
    const recorded = ok(await api(alpha, 'POST', '/law-enforcement/requests', 'handler', request), 'request').json();
    ok(
      await api(alpha, 'POST', `/law-enforcement/requests/${recorded.id}/decision`, 'handler', {
        decision: 'approve',
        legalBasis: hostile(236),
      }),
      'decision',
    );
    ok(await api(alpha, 'POST', `/law-enforcement/requests/${recorded.id}/packages`, 'handler'), 'package');
    const clear = await api(alpha, 'POST', '/incidents', 'handler', { ...EXAMPLE_INCIDENT, tlp: 'CLEAR', title: hostile(237) });
    ok(
      await api(alpha, 'POST', '/press/statements', 'handler', { title: hostile(238), text: hostile(239), incidents: [clear.json().ref] }),
      'press',
    );

    await page.getByRole('link', { name: 'Police and press' }).click();
    await page.getByRole('button', { name: 'Show the package' }).click();
    await page.getByTestId('le-package').waitFor();
    await showsInert(t, [
      hostile(230),
      hostile(231),
      hostile(232),
      hostile(233),
      hostile(234),
      hostile(235),
      hostile(236),
      hostile(238),
      hostile(239),
    ]);
    await screenshot(page, 'hostile-outside');

    // bravo as our coordinator: its site.notification about our hosts, every text field hostile.
    ok(await api(alpha, 'PATCH', '/peers/bravo', 'admin', { relationship: 'coordinator' }), 'coordinator');
    const content = {
      ref: hostile(240),
      category: 'intrusions',
      type: null,
      severity: 'high',
      tlp: 'GREEN',
      firstSeen: null,
      lastSeen: null,
      hosts: [{ ip: '192.0.2.10', role: 'target', hostname: 'www.example.jp', description: hostile(241) }],
      indicators: [{ kind: 'other', value: hostile(242), description: hostile(243) }],
      cves: [],
      callBack: { teamId: 'bravo', teamName: hostile(244), email: 'csirt@bravo.test' },
    };
    const body = {
      notification: 'c5a1f0de-2b7d-4c1e-9f3a-6d2b8e4a1c07',
      ref: hostile(240),
      language: 'en',
      content,
      text: hostile(245),
      follows: null,
    };
    await noted(await sign(messageDocument('bravo', 'alpha', 'site.notification', body, { tlp: 'GREEN' }), 'bravo'), 'site notification');
    await page.getByRole('link', { name: 'Notices to us' }).click();
    await page.getByRole('button', { name: 'Read the text they wrote for us' }).click();
    await page.getByTestId(/^notice-text-/).waitFor();
    await showsInert(t, [hostile(240), hostile(241), hostile(242), hostile(243), hostile(244), hostile(245)]);
    await screenshot(page, 'hostile-site-notice');
  });

  t.test('peers added, the site directory, counter-measure templates and our vendor statement show the strings as text', async (t) => {
    // taro is an admin since the accounts subtest: every form of these pages is drawn.
    const mallory = loadFixtureKey('mallory');
    await page.getByRole('link', { name: 'Peers' }).click();
    const byMail = page.getByTestId('peer-add-mail');
    await byMail.getByLabel('Team id').fill(mallory.teamId);
    await byMail.getByLabel("Team's name").fill(hostile(300));
    await byMail.getByLabel('E-mail address').fill('cert@mallory.example');
    await byMail.getByLabel('Its OpenPGP public key (armored)').fill(mallory.armoredPublicKey);
    await byMail.getByRole('button', { name: 'Add the team' }).click();
    await page.getByTestId('peer-added').waitFor();
    await page.getByTestId(`peer-admin-${mallory.teamId}`).waitFor();
    await showsInert(t, [hostile(200), hostile(300)]);

    const poc = {
      name: hostile(303),
      role: hostile(304),
      channels: [
        { kind: 'phone', value: hostile(305), note: hostile(306) },
        { kind: 'email', value: 'soc@hostile.test', note: hostile(307) },
      ],
      languages: ['ja'],
      timeZone: hostile(312),
      hours: hostile(309),
    };
    const site = ok(
      await api(alpha, 'POST', '/sites', 'handler', {
        name: hostile(301),
        description: hostile(302),
        pocs: [poc],
        domains: ['hostile.test'],
      }),
      'site',
    ).json();
    ok(
      await api(alpha, 'PUT', '/site-contacts/soc@hostile.test/key', 'admin', { publicKey: loadFixtureKey('delta').armoredPublicKey }),
      'contact key',
    );
    await page.getByRole('link', { name: 'Sites' }).click();
    const card = page.getByTestId(`site-${site.id}`);
    await card.getByTestId('contact-soc@hostile.test').getByText('OpenPGP key pinned', { exact: false }).waitFor();
    await showsInert(t, [
      hostile(97),
      hostile(301),
      hostile(302),
      hostile(303),
      hostile(304),
      hostile(305),
      hostile(306),
      hostile(307),
      hostile(309),
      hostile(312),
    ]);
    await card.getByRole('button', { name: /^Change / }).click();
    const form = page.getByTestId(`site-form-${site.id}`);
    t.equal(await form.getByLabel('Site name').inputValue(), hostile(301), 'the site in its form, as typed');
    t.equal(await form.getByLabel('Description').inputValue(), hostile(302));
    t.equal(await form.getByLabel('Name (person').inputValue(), hostile(303));
    t.equal(await form.locator(`#row-site-${site.id}-poc-0-channels-0-value`).inputValue(), hostile(305));
    t.equal(await form.locator(`#row-site-${site.id}-poc-0-channels-1-note`).inputValue(), hostile(307));
    t.same(await injected(), []);
    await screenshot(page, 'hostile-sites');

    await page.getByRole('link', { name: 'Counter-measures' }).click();
    const template = page.getByTestId('template-card-team-advice');
    await template.waitFor();
    await showsInert(t, [hostile(95), hostile(96)]);
    await template.getByRole('button', { name: /^Change / }).click();
    const edit = page.getByTestId('template-edit-team-advice');
    t.equal(await edit.getByLabel('Template title').inputValue(), hostile(96), 'the template in its form, as typed');
    t.equal(await edit.getByLabel('Advice in English').inputValue(), `${hostile(95)} {{hosts}}`);
    t.same(await injected(), []);

    const question = (await api(alpha, 'GET', '/vendor-questions', 'reader')).json().items.find((q: any) => q.caseId === 'bravo-case');
    ok(
      await api(alpha, 'POST', `/vendor-questions/${question.id}/statement`, 'handler', {
        product: hostile(221),
        status: 'affected',
        text: hostile(310),
      }),
      'our statement',
    );
    await page.getByRole('link', { name: 'Vendor cases' }).click();
    await page.getByRole('button', { name: 'Our statement to bravo bravo-case' }).click();
    await page.getByTestId(`sent-statements-${question.id}`).getByText(hostile(310)).waitFor();
    await showsInert(t, [hostile(219), hostile(221), hostile(310)]);
    await screenshot(page, 'hostile-our-statement');
  });

  t.test('nothing ran: no dialog, no CSP violation, no script error', async (t) => {
    t.same(watch.dialogs, [], 'no alert() ran');
    t.same(watch.violations, [], 'the browser reported no CSP violation');
    t.same(await cspViolations(page), [], 'no securitypolicyviolation event');
    t.same(
      watch.errors.filter((e) => !/status of 401/.test(e)),
      [],
      'no script error (the 401 is the session read before signing in)',
    );
  });
}

const missing = chromiumMissing();
if (missing) t.test('hostile content in a browser', { skip: `browser tests skipped: ${missing}` }, async () => {});
else await run();
