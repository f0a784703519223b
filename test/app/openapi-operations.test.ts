import { readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { SCHEMA_NAME } from '../../schemas/common.schema.js';
import { buildTestNode } from '../helpers/build-test-app.js';

/**
 * The conventions generated clients depend on (docs/conventions.md, "Routes in the OpenAPI
 * document"): every operation has a unique camelCase operationId and declared tags, and the
 * named schemas are components referenced with $ref, one name per schema. A route added without
 * them fails here.
 */
const node = await buildTestNode(t);
const res = await node.app.inject({ method: 'GET', url: '/openapi.json' });
type Operation = { operationId?: string; tags?: string[]; summary?: string };
const doc = res.json() as {
  tags?: Array<{ name: string }>;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, unknown>; responses?: Record<string, unknown> };
};
const METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options', 'trace']);
const operations = Object.entries(doc.paths).flatMap(([p, item]) =>
  Object.entries(item)
    .filter(([m]) => METHODS.has(m))
    .map(([method, op]) => ({ name: `${method.toUpperCase()} ${p}`, op })),
);

t.test('every operation: a camelCase operationId, declared tags and a summary', async (t) => {
  t.ok(operations.length >= 90, `${operations.length} operations`);
  const declared = new Set((doc.tags ?? []).map((tag) => tag.name));
  for (const { name, op } of operations) {
    t.match(op.operationId, /^[a-z][a-zA-Z0-9]*$/, `${name}: operationId`);
    t.ok(Array.isArray(op.tags) && op.tags.length > 0, `${name}: tags`);
    for (const tag of op.tags ?? []) t.ok(declared.has(tag), `${name}: tag ${tag} is declared in app.ts`);
    t.ok(op.summary, `${name}: summary`);
  }
});

t.test('no two operations share an operationId', async (t) => {
  const seen = new Map<string, string>();
  const duplicates: string[] = [];
  for (const { name, op } of operations) {
    if (!op.operationId) continue;
    const first = seen.get(op.operationId);
    if (first) duplicates.push(`${op.operationId}: ${first} and ${name}`);
    else seen.set(op.operationId, name);
  }
  t.strictSame(duplicates, []);
});

t.test('named schemas are components, referenced with $ref, every $ref resolves', async (t) => {
  for (const name of ['Problem', 'Incident', 'IncidentCreate', 'IncidentPatch', 'IncidentPage', 'Contact', 'Peer', 'Share', 'TeamProfile'])
    t.ok(doc.components.schemas[name], `components.schemas.${name}`);
  const incident = doc.paths['/api/v1/incidents/{ref}']?.['get'] as { responses: Record<string, { content: Record<string, unknown>[] }> };
  t.strictSame(incident.responses['200']?.content, { 'application/json': { schema: { $ref: '#/components/schemas/Incident' } } });
  t.strictSame(incident.responses['404'], { $ref: '#/components/responses/Problem' }, 'one shared problem answer');
  const text = res.body;
  t.notOk(text.includes('"x-hikeshi-schema"'), 'no naming marker left');
  t.notOk(text.includes('"$id"'), 'no $id left: every named schema became a component');
  const refs = [...text.matchAll(/"\$ref":"([^"]*)"/g)].map((m) => m[1] ?? '');
  const target = (ref: string) => {
    const [, kind, name] = /^#\/components\/(schemas|responses)\/([^/]+)$/.exec(ref) ?? [];
    return kind && name ? doc.components[kind as 'schemas' | 'responses']?.[decodeURIComponent(name)] : undefined;
  };
  t.strictSame([...new Set(refs.filter((ref) => target(ref) === undefined))], [], 'every $ref names a component');
  t.notOk(
    Object.keys(doc.components.schemas).some((name) => name.startsWith('def-')),
    'no anonymous def-N component (a $id nobody named)',
  );
});

t.test('schemas/: a name is the export without "Schema", and no two schemas share one', async (t) => {
  const dir = fileURLToPath(new URL('../../schemas/', import.meta.url));
  const owners = new Map<string, string>();
  for (const file of (await readdir(dir)).filter((f) => f.endsWith('.schema.ts'))) {
    // Imported by its .js name, as every static import in the project is written.
    const module = (await import(`../../schemas/${file.replace(/\.ts$/, '.js')}`)) as Record<string, unknown>;
    for (const [exportName, value] of Object.entries(module)) {
      if (value === null || typeof value !== 'object') continue;
      const name = (value as { [SCHEMA_NAME]?: string })[SCHEMA_NAME];
      if (name === undefined) continue;
      t.equal(`${name}Schema`, exportName, `${file}: ${exportName} is named ${name}`);
      const owner = owners.get(name);
      t.notOk(owner && owner !== `${file}:${exportName}`, `${name}: one schema (${owner}, ${file}:${exportName})`);
      owners.set(name, `${file}:${exportName}`);
      // Validation and serialization compile these objects: the name must not be an $id there.
      t.notOk(Object.hasOwn(value, '$id'), `${exportName}: no $id in the runtime schema`);
    }
  }
  t.ok(owners.size >= 150, `${owners.size} named schemas`);
});
