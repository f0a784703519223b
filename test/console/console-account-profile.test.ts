import t, { type Test } from 'tap';
import { base32Decode, totpAt } from '../../src/modules/accounts/totp.js';
import { buildTestNode } from '../helpers/build-test-app.js';
import { loadFixtureKey } from '../fixtures/keys/index.js';
import { api, createIncident } from '../helpers/federation-harness.js';
import {
  accessibilityViolations,
  chromiumMissing,
  createAccount,
  cspViolations,
  ensureConsoleBuilt,
  launchBrowser,
  screenshot,
  signIn,
  watchedPage,
} from '../helpers/console-browser.js';

// The callbacks given to page.evaluate run in the browser: its document, typed loosely here.
declare const document: any;

/**
 * "My account" (own password, own TOTP) and the team profile editor with its preview, in a real
 * browser against one node: each change goes through the page's form, script-bearing strings in
 * the profile render inert in the preview and in the published documents, and axe finds no
 * serious or critical issue on either page.
 */
const PAYLOADS = [
  '<script>alert("script-1")</script>',
  '<img src=x onerror=alert("img-2")>',
  '"><svg onload=alert("svg-3")>',
  'javascript:alert("js-4")',
  '<iframe src="javascript:alert(5)"></iframe>',
];
const hostile = (n: number) => `${PAYLOADS[n % PAYLOADS.length]} #${n}`;
/** Profile fields (by their label) that take free text, each given a payload. */
const HOSTILE_FIELDS = [
  'Team name',
  'Mission statement',
  'Constituency',
  'Products',
  'Sponsorship',
  'Postal address',
  'Business hours',
  'Team members',
  'Press',
  'Incident triage',
  'Disclaimers',
];

async function run() {
  await ensureConsoleBuilt();
  const alpha = await buildTestNode(t, { key: 'alpha', listen: true });
  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const context = await browser.newContext({ locale: 'en-GB' });
  const { page, watch } = await watchedPage(context);
  page.setDefaultTimeout(15_000);
  const aki = await createAccount(alpha, { name: 'aki', displayName: 'Aki Tanaka', role: 'admin', language: 'en' });
  await signIn(page, alpha, aki);
  const newPassword = 'a brand new passphrase for aki';

  const axe = async (tt: Test, name: string) =>
    tt.same(await accessibilityViolations(page), [], `${name}: no serious or critical violation`);
  async function injected(): Promise<string[]> {
    return page.evaluate(() => {
      const found: string[] = [];
      for (const s of Array.from(document.scripts) as any[])
        if (!/\/console\/app\.js/.test(s.src)) found.push(`script ${s.outerHTML.slice(0, 80)}`);
      for (const e of Array.from(document.querySelectorAll('img, iframe, object, embed, svg:not(.chart svg)')) as any[])
        found.push(e.outerHTML.slice(0, 80));
      for (const e of Array.from(document.querySelectorAll('*')) as any[])
        for (const a of Array.from(e.attributes) as any[])
          if (/^on/i.test(a.name) || /^\s*javascript:/i.test(a.value)) found.push(`${e.tagName} ${a.name}=${a.value.slice(0, 40)}`);
      return found;
    });
  }
  const signInStatus = (password: string, totp?: string) =>
    alpha.app
      .inject({ method: 'POST', url: '/api/v1/session', payload: { account: 'aki', password, ...(totp ? { totp } : {}) } })
      .then((r) => r.statusCode);

  t.test('my account: change the password', async (t) => {
    await page.getByTestId('account-name').click();
    await page.getByRole('heading', { name: 'My account' }).waitFor();
    await axe(t, 'account');
    await screenshot(page, 'account');
    const form = page.locator('form', { has: page.getByRole('button', { name: 'Change the password' }) });
    await form.getByLabel('Current password').fill('not the password at all');
    await form.getByLabel('New password', { exact: true }).fill(newPassword);
    await form.getByLabel('New password again').fill(newPassword);
    await form.getByRole('button', { name: 'Change the password' }).click();
    t.match(await form.getByRole('alert').textContent(), /current-password-wrong/, 'a wrong current password is refused on the page');
    await form.getByLabel('Current password').fill(aki.password);
    await form.getByRole('button', { name: 'Change the password' }).click();
    await page.getByTestId('password-done').waitFor();
    t.equal(await signInStatus(aki.password), 401, 'the old password is over');
    t.equal(await signInStatus(newPassword), 200, 'the new one signs in');
  });

  t.test('my account: enrol TOTP with a code from the "app"', async (t) => {
    t.match(await page.getByTestId('totp-state').textContent(), /password only/);
    await page.getByRole('button', { name: 'Set up an authenticator app' }).click();
    const secret = ((await page.getByTestId('totp-secret').textContent()) ?? '').trim();
    t.match(secret, /^[A-Z2-7]{32}$/);
    t.equal(await signInStatus(newPassword), 200, 'shown, not yet enrolled');
    await page.getByLabel('Code from the app (6 digits)').fill(totpAt(base32Decode(secret), new Date()));
    await page.getByLabel('Current password').last().fill(newPassword);
    await page.getByRole('button', { name: 'Confirm and enrol' }).click();
    await page.getByTestId('totp-done').waitFor();
    await page.getByText('Sign-in asks for a code from your authenticator app.').waitFor();
    t.equal(await signInStatus(newPassword), 401, 'the password alone no longer signs in');
    await screenshot(page, 'account-totp');
  });

  t.test('accounts: create one, change its role, disable it, new TOTP, remove; the last admin is kept', async (t) => {
    await page.getByRole('link', { name: 'Accounts' }).click();
    await page.getByTestId('account-aki').waitFor();
    // aki is the only admin: demoting it is refused, and the page says why in words.
    await page.getByLabel('New role for aki').selectOption('reader');
    await page.getByRole('button', { name: 'Change the role of aki' }).click();
    await page.getByTestId('last-admin').waitFor();
    t.match(await page.getByTestId('account-aki').getByRole('alert').textContent(), /last-active-admin/);
    t.equal((await api(alpha, 'GET', '/accounts', 'admin')).json().items[0].role, 'admin', 'aki is still admin');

    const form = page.getByTestId('account-create');
    await form.getByLabel('Account').fill('ren');
    await form.getByLabel('Display name').fill('Ren Sato');
    await form.getByLabel('Role').selectOption('handler');
    await form.getByRole('button', { name: 'Create the account' }).click();
    const generated = ((await page.getByTestId('generated-password').textContent()) ?? '').trim();
    t.ok(generated.length >= 12, 'the generated password is shown once');
    const ren = page.getByTestId('account-ren');
    await ren.waitFor();
    await axe(t, 'accounts');
    await screenshot(page, 'accounts');
    const stored = async () => (await api(alpha, 'GET', '/accounts', 'admin')).json().items.find((a: any) => a.name === 'ren');
    t.equal(
      await alpha.app
        .inject({ method: 'POST', url: '/api/v1/session', payload: { account: 'ren', password: generated } })
        .then((r) => r.statusCode),
      200,
      'the generated password signs in',
    );

    await ren.getByLabel('New role for ren').selectOption('admin');
    await ren.getByRole('button', { name: 'Change the role of ren' }).click();
    await ren.getByText('The role of ren is changed').waitFor();
    t.equal((await stored()).role, 'admin');
    await ren.getByRole('button', { name: 'Disable ren' }).click();
    await ren.getByRole('button', { name: 'Enable ren' }).waitFor();
    t.equal((await stored()).disabled, true);
    await ren.getByRole('button', { name: 'New TOTP secret for ren' }).click();
    t.match(await page.getByTestId('totp-ren').textContent(), /otpauth:\/\//);
    t.equal((await stored()).totp, true);
    await ren.getByRole('button', { name: 'Remove the TOTP of ren' }).click();
    await ren.getByText('ren signs in with the password only.').waitFor();
    t.equal((await stored()).totp, false);
    await ren.getByRole('button', { name: 'Remove ren' }).click();
    await ren.getByRole('button', { name: 'Really remove ren' }).click();
    await ren.waitFor({ state: 'detached' });
    t.equal(await stored(), undefined, 'removed at the node');
  });

  t.test(
    'vendors and a case created and changed in the console; a statement, the CSAF advisory; publishing meets the embargo',
    async (t) => {
      const acme = loadFixtureKey('delta');
      await page.getByRole('link', { name: 'Vendor cases' }).click();
      const add = page.getByTestId('vendor-create');
      await add.getByLabel('Vendor id').fill('acme');
      await add.getByLabel('Name', { exact: true }).fill('ACME Corp');
      await add.getByLabel('Reached through').selectOption('email');
      await add.getByLabel('E-mail address').fill('psirt@acme.example');
      await add.getByLabel('Its OpenPGP public key (armored)').fill(acme.armoredPublicKey);
      // Another key's fingerprint: the node pins nothing, and the page says why.
      await add.getByLabel('Fingerprint of that key').fill(loadFixtureKey('cc').fingerprint);
      await add.getByRole('button', { name: 'Add the vendor' }).click();
      t.match(await add.getByRole('alert').textContent(), /fingerprint-mismatch/, 'a key that is not the one named is refused');
      await add.getByLabel('Fingerprint of that key').fill(acme.fingerprint);
      await add.getByRole('button', { name: 'Add the vendor' }).click();
      await page.getByTestId('vendor-acme').waitFor();
      t.match((await api(alpha, 'GET', '/vendors/acme', 'reader')).json(), { channel: 'email', fingerprint: acme.fingerprint });

      await page.getByTestId('case-open').locator('summary').click();
      const open = page.getByTestId('case-new');
      await open.getByLabel('Case id').fill('vc-2026-001');
      await open.getByLabel('Title').fill('Stack overflow in the ACME router web UI');
      await open.getByLabel('Description').fill('A long Host header overflows a stack buffer.');
      await open.getByLabel('TLP label').selectOption('CLEAR');
      await open.getByTestId('add-case-new-products').click();
      await open.locator('#row-case-new-products-0-vendor').selectOption('acme');
      await open.locator('#row-case-new-products-0-product').fill('ACME Router');
      await open.locator('#row-case-new-products-0-versions').fill('1.0, 1.1');
      await open.getByLabel('CVE ids').fill('CVE-2026-12345');
      // Under embargo: the page's publish meets the node's refusal (a successful publication
      // costs the validator's ~10 s start; test/outside/csaf.test.ts publishes through the API).
      await open.getByLabel('Embargo until').fill('2099-01-01T00:00:00Z');
      await axe(t, 'vendor cases with the forms open');
      await open.getByRole('button', { name: 'Open the case' }).click();
      await page.getByTestId('case').waitFor();
      t.match((await api(alpha, 'GET', '/cases/vc-2026-001', 'reader')).json(), {
        tlp: 'CLEAR',
        products: [{ vendor: 'acme', product: 'ACME Router', versions: ['1.0', '1.1'] }],
        cveIds: ['CVE-2026-12345'],
        parties: ['acme'],
        embargoUntil: /^2099-01-01T00:00:00/,
      });
      const statement = page.getByTestId('statement-form');
      await statement.getByLabel('Product', { exact: true }).fill('ACME Router');
      await statement.getByRole('combobox', { name: /^Status/ }).selectOption('affected');
      await statement.getByLabel('Fixed versions').fill('1.2');
      await statement.getByRole('button', { name: 'Record the statement' }).click();
      await page.getByTestId('case-statements').getByText('recorded by hand, unsigned').waitFor();

      await page.getByRole('button', { name: 'Draft the CSAF advisory from the case' }).click();
      const edits = page.getByTestId('advisory-edits');
      await edits.getByTestId('add-notes').click();
      await edits.locator('#row-notes-0-category').selectOption('summary');
      await edits.locator('#row-notes-0-text').fill('Update to 1.2.');
      await edits.getByRole('button', { name: 'Save the notes and remediations' }).click();
      await edits.getByText('Saved: the draft is rebuilt with them.').waitFor();
      await axe(t, 'vendor case');
      await screenshot(page, 'vendor-case');
      const publish = page.getByTestId('advisory-publish');
      await publish.getByRole('button', { name: 'Publish the advisory' }).click();
      t.match(await publish.getByRole('alert').textContent(), /embargo-in-force/, 'the refusal is shown');
      const draft = (await api(alpha, 'GET', '/cases/vc-2026-001/advisory', 'reader')).json();
      t.equal(draft.publishedVersion, 0, 'nothing published');
      t.match(draft.edits.notes, [{ category: 'summary', text: 'Update to 1.2.' }], 'the edited note is kept');

      // Change the case: only what changed is sent (the audit names the fields).
      await page.getByRole('button', { name: 'Change case vc-2026-001' }).click();
      const edit = page.getByTestId('case-edit');
      await edit.getByLabel('Title').fill('Stack overflow in the ACME router web UI (pre-auth)');
      await edit.getByLabel('CVE ids').fill('CVE-2026-12345, CVE-2026-12346');
      await edit.getByRole('button', { name: 'Save the case' }).click();
      await edit.getByText('Case vc-2026-001 saved.').waitFor();
      await page.getByRole('heading', { name: /\(pre-auth\)/ }).waitFor();
      const updated = (await api(alpha, 'GET', '/audit?kind=vendor.case-updated', 'admin')).json().items;
      t.same(updated[0].details.changed, ['cveIds', 'title'], 'the other fields were not sent');

      // Rename the vendor; removing it is refused while the case names it.
      await page.getByRole('link', { name: 'Vendor cases' }).click();
      await page.getByRole('button', { name: 'Edit acme' }).click();
      const vendorForm = page.getByTestId('vendor-edit-acme');
      await vendorForm.getByLabel('Name', { exact: true }).fill('ACME Corporation');
      await vendorForm.getByRole('button', { name: 'Save acme' }).click();
      await vendorForm.getByText('Vendor acme saved.').waitFor();
      t.equal((await api(alpha, 'GET', '/vendors/acme', 'reader')).json().name, 'ACME Corporation');
      await vendorForm.getByRole('button', { name: 'Remove acme' }).click();
      await vendorForm.getByRole('button', { name: 'Really remove acme' }).click();
      t.match(await vendorForm.getByRole('alert').textContent(), /conflict.*vc-2026-001/, 'a vendor a case names stays');
    },
  );

  t.test(
    'law enforcement: record, approve, make the signed package; press: approve a draft as the second handler, withdraw it',
    async (t) => {
      const amber = await createIncident(alpha);
      const clear = await createIncident(alpha, { tlp: 'CLEAR', title: 'Scans against universities' });
      await page.getByRole('link', { name: 'Police and press' }).click();
      const form = page.getByTestId('le-form');
      await form.getByLabel('Agency id').fill('npa-cyber');
      await form.getByLabel('Agency name').fill('NPA Cyber Division');
      await form.getByLabel("Officer's name").fill('Inspector Sato');
      await form.getByLabel("Officer's contact").fill('sato@npa.example');
      await form.getByLabel('Legal basis').fill('Code of Criminal Procedure art. 197(2)');
      await form.getByLabel('Incidents').fill(amber.ref);
      await form.getByRole('button', { name: 'Record the request' }).click();
      const card = page.getByTestId('le-npa-cyber');
      await card.or(form.getByRole('alert')).first().waitFor();
      t.equal(await form.getByRole('alert').count(), 0, (await form.getByRole('alert').allTextContents()).join(' '));
      // Approve, with the request's legal basis as the page proposes it.
      await page.getByTestId('le-decide-npa-cyber').getByRole('button', { name: 'Record the decision' }).click();
      await card.getByRole('button', { name: 'Make the signed disclosure package' }).click();
      t.match(await page.getByTestId('le-package').textContent(), /BEGIN PGP SIGNATURE/, 'the package and its signatures');
      const [request] = (await api(alpha, 'GET', '/law-enforcement/requests', 'reader')).json().items;
      t.match(request, { state: 'approved', decision: { decision: 'approve', by: 'account:aki' } });
      t.equal(request.packages.length, 1);

      const drafted = await api(alpha, 'POST', '/press/statements', 'handler', {
        title: 'Scans against universities',
        text: 'We saw scans against several universities this week.',
        incidents: [clear.ref],
      });
      t.equal(drafted.statusCode, 201, drafted.body);
      await page.reload();
      const statement = page.getByTestId('press-statement');
      await statement.getByRole('button', { name: 'Approve and publish' }).click();
      await statement.getByRole('heading', { name: /published at \/press/ }).waitFor();
      t.match(await (await fetch(`${alpha.url}/press`)).text(), /Scans against universities/, 'served at /press');
      await axe(t, 'law enforcement and press');
      await screenshot(page, 'outside');
      await statement.getByLabel('Reason for withdrawing').fill('Superseded by the joint statement.');
      await statement.getByRole('button', { name: 'Withdraw from /press' }).click();
      await statement.getByRole('heading', { name: /withdrawn/ }).waitFor();
    },
  );

  t.test('the profile editor previews hostile text inert before saving', async (t) => {
    await page.getByRole('link', { name: 'Team profile' }).click();
    await page.getByTestId('profile-form').waitFor();
    const save = page.getByTestId('profile-save');
    t.ok(await save.isDisabled(), 'nothing to save before a preview');

    await page.getByLabel('Networks (CIDR)').fill('192.0.2.1/24');
    await page.getByRole('button', { name: 'Preview rfc2350.txt and security.txt' }).click();
    t.match(
      await page.getByTestId('profile-form').getByRole('alert').textContent(),
      /validation-failed/,
      'the node checks the draft as it checks a save',
    );
    t.ok(await save.isDisabled(), 'a refused draft cannot be saved');

    await page.getByLabel('Networks (CIDR)').fill('192.0.2.0/24\n2001:db8::/32');
    for (const [n, label] of HOSTILE_FIELDS.entries()) await page.getByLabel(label, { exact: true }).fill(hostile(n));
    await page.getByLabel('Time zone of the business hours').fill('Asia/Tokyo');
    await page.getByRole('button', { name: 'Preview rfc2350.txt and security.txt' }).click();
    await page.getByTestId('preview-rfc2350').or(page.getByTestId('profile-form').getByRole('alert')).first().waitFor();
    const refusal = page.getByTestId('profile-form').getByRole('alert');
    t.notOk(await refusal.isVisible(), `the draft is accepted ${(await refusal.isVisible()) ? await refusal.textContent() : ''}`);
    const previewed = (await page.getByTestId('preview-rfc2350').textContent()) ?? '';
    for (const n of HOSTILE_FIELDS.keys()) t.ok(previewed.includes(hostile(n)), `payload #${n} previewed as text`);
    t.match(previewed, /2001:db8::\/32/);
    t.match(await page.getByTestId('preview-security-txt').textContent(), /^Contact: mailto:/m);
    t.same(await injected(), [], 'nothing from the draft became an element');
    const stored = (await api(alpha, 'GET', '/profile', 'reader')).json();
    t.notOk(JSON.stringify(stored).includes('#0'), 'the preview saved nothing');
    await axe(t, 'profile with preview');
    await screenshot(page, 'profile-preview');

    await page.getByLabel('Disclaimers', { exact: true }).fill(`${hostile(10)} (edited)`);
    t.ok(await save.isDisabled(), 'a change after the preview needs a new preview');
    await page.getByRole('button', { name: 'Preview rfc2350.txt and security.txt' }).click();
    await page
      .getByText(`${hostile(10)} (edited)`)
      .first()
      .waitFor();
    await save.click();
    await page.getByText('Saved: the node publishes the new profile.').waitFor();
    const served = await (await fetch(`${alpha.url}/rfc2350.txt`)).text();
    t.ok(served.includes(`${hostile(10)} (edited)`), 'the node publishes what was previewed');
    await page.getByTestId('published-rfc2350').getByText(hostile(0), { exact: false }).waitFor();
    t.same(await injected(), []);
  });

  t.test('the profile in Japanese', async (t) => {
    await page.getByTestId('language').selectOption('ja');
    await page.getByRole('heading', { name: 'チームプロファイル（RFC 2350）' }).waitFor();
    t.ok(await page.getByLabel('チーム名').isVisible(), 'labels in Japanese');
    await screenshot(page, 'profile-ja');
  });

  t.test('nothing ran: no dialog, no CSP violation, no script error', async (t) => {
    t.same(watch.dialogs, [], 'no alert() ran');
    t.same(watch.violations, []);
    t.same(await cspViolations(page), []);
    t.same(
      watch.errors.filter((e) => !/status of 4\d\d/.test(e)),
      [],
      'no script error (the refusals above are 4xx answers)',
    );
  });
}

const missing = chromiumMissing();
if (missing) t.test('account and profile pages in a browser', { skip: `browser tests skipped: ${missing}` }, async () => {});
else await run();
