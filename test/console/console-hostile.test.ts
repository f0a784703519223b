import t from 'tap';
import { buildTestNode } from '../helpers/build-test-app.js';
import { api, EXAMPLE_INCIDENT, fastDelivery, partnersBoth } from '../helpers/federation-harness.js';
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
 * incident page, its journal and the share preview: no dialog opens, the browser reports no CSP
 * violation (nothing even tried to run), no element from the data appears in the DOM, and the
 * strings show as the text they are.
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
