import { SerializerSelector, type SerializerFactory } from '@fastify/fast-json-stringify-compiler';

/**
 * fastify compiles a serializer (fast-json-stringify) for every response schema of every route
 * each time an app is built: about a tenth of a node's start-up, paid again by every node a test
 * file starts (a process often builds dozens). The route schemas are module constants, the same
 * objects in every app of the process, and a compiled serializer is a pure function of its
 * schema and of the app's shared schemas, so each is compiled once per process and reused.
 *
 * Keyed by the shared schemas' text (every app adds the same ones, but the key makes a different
 * set safe) and then by the schema object itself: a schema built inside a route plugin is a new
 * object per app and is simply compiled again, as fastify would.
 */
const compiled = new Map<string, WeakMap<object, (doc: unknown) => string>>();
const defaultFactory = SerializerSelector();

export const sharedSerializerFactory: SerializerFactory = (externalSchemas, options) => {
  const compile = defaultFactory(externalSchemas, options);
  const key = JSON.stringify([externalSchemas ?? null, options ?? null]);
  let bySchema = compiled.get(key);
  if (!bySchema) compiled.set(key, (bySchema = new WeakMap()));
  const cache = bySchema;
  return (route) => {
    const schema = route.schema;
    if (typeof schema !== 'object' || schema === null) return compile(route);
    const known = cache.get(schema);
    if (known) return known;
    // Compiled on the first answer that needs it, not while the app is built (a node's start
    // compiled every route's serializers, most of them not used for a while: ADR 0031).
    let serializer: ((doc: unknown) => string) | undefined;
    return (doc) => {
      if (!serializer) {
        serializer = cache.get(schema) ?? compile(route);
        cache.set(schema, serializer);
      }
      return serializer(doc);
    };
  };
};
