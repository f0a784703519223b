import { existsSync, statSync, readdirSync } from 'node:fs';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { buildConsole } from '../../scripts/build-console.js';
import type { TestNode } from './build-test-app.js';
import { api } from './federation-harness.js';

// The callbacks given to page.evaluate run in the browser: its globals, typed loosely here.
declare const document: any;
declare const window: any;

/**
 * The console's browser tests (issue 20): Debian's chromium driven by playwright-core against
 * real nodes on loopback. One browser per test file; the console is built first when the build
 * in dist/console is missing or older than its sources.
 */
const root = fileURLToPath(new URL('../../', import.meta.url));
export const ARTEFACTS = path.join(root, 'artefacts/console');

/** Why the browser tests cannot run here, or null when chromium is there. */
export function chromiumMissing(): string | null {
  const executable = chromiumPath();
  return existsSync(executable) ? null : `no chromium at ${executable} (apt-get install chromium, or set HIKESHI_CHROMIUM)`;
}

function chromiumPath(): string {
  return process.env.HIKESHI_CHROMIUM ?? '/usr/bin/chromium';
}

export async function ensureConsoleBuilt(): Promise<void> {
  const built = path.join(root, 'dist/console/index.html');
  const newest = newestSource(path.join(root, 'console'));
  if (existsSync(built) && statSync(built).mtimeMs >= newest) return;
  await buildConsole();
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(full) : statSync(full).mtimeMs);
  }
  return newest;
}

export async function launchBrowser(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: chromiumPath(), headless: true, args: ['--disable-gpu', '--disable-dev-shm-usage'] });
}

/** What a page did that a test must see: dialogs opened, CSP violations, console errors. */
export interface PageWatch {
  dialogs: string[];
  violations: string[];
  errors: string[];
}

export async function watchedPage(context: BrowserContext): Promise<{ page: Page; watch: PageWatch }> {
  const page = await context.newPage();
  const watch: PageWatch = { dialogs: [], violations: [], errors: [] };
  page.on('dialog', (dialog) => {
    watch.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  page.on('console', (message) => {
    const text = message.text();
    if (/Content Security Policy|Refused to/i.test(text)) watch.violations.push(text);
    else if (message.type() === 'error') watch.errors.push(text);
  });
  page.on('pageerror', (error) => watch.errors.push(error.message));
  // Recorded by the browser itself, whatever the console logs: every CSP violation on the page.
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __cspViolations: string[] }).__cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (e: any) => seen.push(`${e.violatedDirective} ${e.blockedURI}`));
  });
  return { page, watch };
}

export async function cspViolations(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __cspViolations?: string[] }).__cspViolations ?? []);
}

/**
 * axe-core run inside the page. Evaluated through the DevTools protocol, not as a <script>
 * element, so the console's CSP (which forbids inline script) stays as it is for the test.
 */
export async function accessibilityViolations(page: Page): Promise<Array<{ id: string; impact: string | null; nodes: number }>> {
  const source = await readFile(path.join(root, 'node_modules/axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source);
  const result: Array<{ id: string; impact: string | null; nodes: number }> = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run(context: unknown, options: object): Promise<any> } }).axe;
    const r = await axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v: any) => ({
      id: v.id as string,
      impact: (v.impact ?? null) as string | null,
      nodes: v.nodes.length as number,
    }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}

export async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(ARTEFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTEFACTS, `${name}.png`), fullPage: true });
}

/**
 * Signs in through the console's own form (POST /api/v1/session), with an account the node's
 * admin API created.
 */
export async function signIn(page: Page, node: TestNode, account: { name: string; password: string }): Promise<void> {
  await page.goto(`${node.url}/console/`);
  await page.getByLabel(/^(Account|アカウント)$/).fill(account.name);
  await page.getByLabel(/^(Password|パスワード)$/).fill(account.password);
  await page.getByRole('button', { name: /^(Sign in|サインイン)$/ }).click();
  await page.getByTestId('account-name').waitFor();
}

/** A person's account at the node, made through the admin API as an admin would. */
export async function createAccount(
  node: TestNode,
  account: { name: string; displayName: string; role: 'reader' | 'handler' | 'admin'; language: 'ja' | 'en' },
): Promise<{ name: string; password: string }> {
  const password = `console-test-${account.name}-password`;
  const res = await api(node, 'POST', '/accounts', 'admin', { ...account, password });
  if (res.statusCode !== 201) throw new Error(`account ${account.name}: ${res.statusCode} ${res.body}`);
  return { name: account.name, password };
}
