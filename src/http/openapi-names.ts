import { ProblemResponse, SCHEMA_NAME } from '../../schemas/common.schema.js';

/**
 * Named schemas (`named(...)`, schemas/common.schema.ts) as components of the OpenAPI document.
 * The route schemas that validation and serialization compile are never touched: the document
 * is built from copies. Two steps, because @fastify/swagger treats nested and root schemas apart:
 * - `withSchemaNames` (swagger's per-route `transform`): in the copy, every named schema gets its
 *   name as `$id`; swagger's ref resolver (app.ts `buildLocalReference`) emits each nested one
 *   once under `components/schemas` with a `$ref` where it was. It also gets a marker, because
 *   swagger drops the `$id` of a body's or response's root schema and inlines it.
 * - `hoistNamedRoots` (swagger's `transformObject`): each schema still marked (a root) becomes a
 *   `$ref` to its component, and no marker is left in the document. The problem answer every
 *   operation declares for each error status becomes one response component too
 *   (`#/components/responses/Problem`): seven copies per operation were most of the client.
 */
const MARKER = 'x-hikeshi-schema';
// Route schemas are trees a few dozen levels deep at most; the bound stops a cycle, not real input.
const MAX_DEPTH = 64;

export function withSchemaNames<T>(schema: T): T {
  return copyNamed(schema, 0) as T;
}

function copyNamed(node: unknown, depth: number): unknown {
  if (node === null || typeof node !== 'object' || depth > MAX_DEPTH) return node;
  if (Array.isArray(node)) return node.map((item) => copyNamed(item, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) out[key] = copyNamed(value, depth + 1);
  const name = (node as { [SCHEMA_NAME]?: unknown })[SCHEMA_NAME];
  if (typeof name === 'string') {
    out['$id'] = name;
    out[MARKER] = name;
  }
  return out;
}

interface OpenApiDocument {
  paths?: Record<string, unknown>;
  components?: { schemas?: Record<string, unknown>; responses?: Record<string, unknown> };
}

export function hoistNamedRoots<T extends OpenApiDocument>(doc: T): T {
  const components = (doc.components ??= {});
  const schemas = (components.schemas ??= {});
  // The components swagger emitted: their own marker goes, the named schemas inside them stay refs.
  for (const [name, schema] of Object.entries(schemas)) schemas[name] = replaceMarked(unmark(schema), schemas, 0);
  if (doc.paths) doc.paths = replaceMarked(doc.paths, schemas, 0) as Record<string, unknown>;
  shareProblemResponses(doc);
  return doc;
}

const PROBLEM_REF = '#/components/schemas/Problem';

/** Each error answer exactly as `ProblemResponse` states it becomes a reference to one component. */
function shareProblemResponses(doc: OpenApiDocument): void {
  let used = false;
  for (const item of Object.values(doc.paths ?? {}) as Array<Record<string, { responses?: Record<string, unknown> }>>) {
    for (const operation of Object.values(item)) {
      const responses = operation?.responses;
      if (!responses || typeof responses !== 'object') continue;
      for (const [status, response] of Object.entries(responses)) {
        if (!isSharedProblem(response)) continue;
        responses[status] = { $ref: '#/components/responses/Problem' };
        used = true;
      }
    }
  }
  if (!used || !doc.components) return;
  doc.components.responses = {
    ...doc.components.responses,
    Problem: { description: ProblemResponse.description, content: { 'application/problem+json': { schema: { $ref: PROBLEM_REF } } } },
  };
}

function isSharedProblem(response: unknown): boolean {
  const r = response as { description?: unknown; content?: Record<string, { schema?: { $ref?: unknown } }> } | null;
  if (!r || r.description !== ProblemResponse.description || !r.content) return false;
  const media = Object.keys(r.content);
  return (
    Object.keys(r).every((k) => k === 'description' || k === 'content') &&
    media.length === 1 &&
    media[0] === 'application/problem+json' &&
    r.content['application/problem+json']?.schema?.$ref === PROBLEM_REF &&
    Object.keys(r.content['application/problem+json']).length === 1
  );
}

function unmark(schema: unknown): unknown {
  if (schema === null || typeof schema !== 'object' || Array.isArray(schema)) return schema;
  const { [MARKER]: _marker, ...rest } = schema as Record<string, unknown>;
  return rest;
}

function replaceMarked(node: unknown, schemas: Record<string, unknown>, depth: number): unknown {
  if (node === null || typeof node !== 'object' || depth > MAX_DEPTH) return node;
  if (Array.isArray(node)) return node.map((item) => replaceMarked(item, schemas, depth + 1));
  const name = (node as Record<string, unknown>)[MARKER];
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(unmark(node) as Record<string, unknown>)) out[key] = replaceMarked(value, schemas, depth + 1);
  if (typeof name !== 'string') return out;
  schemas[name] ??= out;
  return { $ref: `#/components/schemas/${encodeURIComponent(name)}` };
}
