import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { buildTestNode } from '../helpers/build-test-app.js';

/** The OpenAPI document: complete for /api/v1, and accepted by Redocly's linter with no errors. */
const root = fileURLToPath(new URL('../../', import.meta.url));
const node = await buildTestNode(t);
const res = await node.app.inject({ method: 'GET', url: '/openapi.json' });
const doc = res.json() as {
  openapi: string;
  paths: Record<
    string,
    Record<
      string,
      {
        security?: unknown;
        responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
      }
    >
  >;
  components?: {
    securitySchemes?: Record<string, unknown>;
    responses?: Record<string, { description?: string; content?: Record<string, { schema?: unknown }> }>;
  };
};
type Response = { $ref?: string; description?: string; content?: Record<string, { schema?: unknown }> };
// The shared problem answer is one component (#/components/responses/Problem): read it through the reference.
const resolve = (response: Response | undefined): Response | undefined =>
  response?.$ref ? doc.components?.responses?.[response.$ref.replace('#/components/responses/', '')] : response;
const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);
const operations = Object.entries(doc.paths ?? {}).flatMap(([p, item]) =>
  Object.entries(item)
    .filter(([m]) => METHODS.has(m))
    .map(([method, op]) => ({ path: p, method, op, name: `${method.toUpperCase()} ${p}` })),
);
const api = operations.filter((o) => o.path.startsWith('/api/v1/'));

t.test('GET /openapi.json: OpenAPI 3.1.0 with a bearer scheme', async (t) => {
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^application\/json/);
  t.equal(doc.openapi, '3.1.0');
  t.match(doc.components?.securitySchemes?.bearer, { type: 'http', scheme: 'bearer' });
  t.match(doc.components?.securitySchemes?.session, { type: 'apiKey', in: 'cookie', name: 'hikeshi_session' });
  for (const p of [
    '/api/v1/incidents',
    '/api/v1/incidents/{ref}',
    '/api/v1/incidents/{ref}/journal',
    '/api/v1/profile',
    '/api/v1/tokens',
    '/api/v1/tokens/{id}',
  ]) {
    t.ok(doc.paths[p], `documents ${p}`);
  }
  t.notOk(doc.paths['/openapi.json'], 'the document does not describe itself');
});

t.test('every /api/v1 operation: bearer security, and a described schema for each status it declares', async (t) => {
  t.ok(api.length >= 8, `${api.length} operations`);
  for (const { name, op } of api) {
    // Signing in is open; the session's own routes (its self-service under /session/ too) take
    // only its cookie (ADR 0029); the rest either.
    const expected =
      name === 'POST /api/v1/session' ? [] : / \/api\/v1\/session(\/|$)/.test(name) ? [{ session: [] }] : [{ bearer: [] }, { session: [] }];
    t.strictSame(op.security, expected, `${name}: security`);
    const responses = Object.entries(op.responses ?? {});
    t.ok(
      responses.some(([s]) => /^2\d\d$/.test(s)),
      `${name}: a success status`,
    );
    for (const status of ['400', '401', '403', '500']) t.ok(op.responses?.[status], `${name}: declares ${status}`);
    for (const [status, ref] of responses) {
      const response = resolve(ref) ?? {};
      t.ok(response.description, `${name} ${status}: described`);
      if (status === '204') {
        t.notOk(response.content, `${name} 204: no body`);
        continue;
      }
      const media = Object.values(response.content ?? {});
      t.ok(media.length > 0 && media.every((m) => m.schema && typeof m.schema === 'object'), `${name} ${status}: a schema`);
    }
  }
});

t.test('problem responses are documented as application/problem+json', async (t) => {
  for (const { name, op } of api) {
    for (const [status, ref] of Object.entries(op.responses ?? {})) {
      if (Number(status) < 400) continue;
      const response = resolve(ref) ?? {};
      t.strictSame(Object.keys(response.content ?? {}), ['application/problem+json'], `${name} ${status}`);
      // One named component, so generated clients get one Problem type.
      t.strictSame(
        response.content?.['application/problem+json']?.schema,
        { $ref: '#/components/schemas/Problem' },
        `${name} ${status}: the Problem component`,
      );
    }
  }
});

t.test('the docs UI answers', async (t) => {
  const ui = await node.app.inject({ method: 'GET', url: '/docs' });
  t.ok([200, 302].includes(ui.statusCode), `/docs: ${ui.statusCode}`);
});

t.test('redocly lint: no errors', async (t) => {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'hikeshi-openapi-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'openapi.json');
  await writeFile(file, res.body);
  // Offline and quiet: no telemetry, no update check. The repository's redocly.yaml, if any, applies.
  const { stdout, stderr, code } = await new Promise<{ stdout: string; stderr: string; code: number }>((resolve) => {
    execFile(
      path.join(root, 'node_modules/.bin/redocly'),
      ['lint', file, '--format=json'],
      {
        cwd: root,
        env: { ...process.env, REDOCLY_TELEMETRY: 'off', REDOCLY_SUPPRESS_UPDATE_NOTICE: 'true', NO_COLOR: '1' },
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => resolve({ stdout, stderr, code: err ? ((err as { code?: number }).code ?? 1) : 0 }),
    );
  });
  let report: {
    totals: { errors: number; warnings: number };
    problems: Array<{ ruleId: string; severity: string; message: string; location: Array<{ pointer: string }> }>;
  };
  try {
    report = JSON.parse(stdout);
  } catch {
    t.fail(`redocly did not print a JSON report (exit ${code}): ${stderr.slice(0, 2000)}`);
    return;
  }
  for (const p of report.problems.filter((p) => p.severity !== 'error'))
    t.comment(`warning ${p.ruleId}: ${p.location[0]?.pointer} ${p.message}`);
  // TAXII 2.1 requires its URLs to end with a slash: .redocly.lint-ignore.yaml lists those paths
  // for `npm run lint:openapi`; this temporary file's path is not the one the list names.
  const accepted = (p: { ruleId: string; location: Array<{ pointer: string }> }) =>
    p.ruleId === 'no-path-trailing-slash' && (p.location[0]?.pointer ?? '').startsWith('#/paths/~1taxii2~1');
  const errors = report.problems
    .filter((p) => p.severity === 'error' && !accepted(p))
    .map((p) => `${p.ruleId}: ${p.location[0]?.pointer} ${p.message}`);
  t.strictSame(errors, [], 'no errors');
  t.equal(report.totals.errors, report.problems.filter(accepted).length, `${report.totals.warnings} warnings allowed`);
  t.equal(code, report.totals.errors > 0 ? 1 : 0, 'redocly exits 0 but for the accepted TAXII paths');
});
