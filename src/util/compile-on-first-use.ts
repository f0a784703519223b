import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';

type Compiled<T extends TSchema> = ReturnType<typeof Compile<T>>;

// Compiled once per schema object and process: schemas are module constants, the same in every
// app a process builds (tests start dozens), and a compiled check is a pure function. One
// schema used in several places (IncidentCreateSchema: the route, STIX and IODEF imports) is
// compiled once.
const compiled = new WeakMap<TSchema, Compiled<TSchema>>();

/** `Compile(schema)`, done once per schema object and process. */
export function compiledValidator<T extends TSchema>(schema: T): Compiled<T> {
  let check = compiled.get(schema);
  if (!check) compiled.set(schema, (check = Compile(schema)));
  return check as Compiled<T>;
}

/**
 * A TypeBox validator compiled when first asked rather than when its module loads (issue 18:
 * cold start, ADR 0031): a node loads every module at start but checks most kinds of document
 * rarely, and compiling the exchange's message types alone was about 40 ms of a restart. Once
 * compiled, it is `compiledValidator(schema)`.
 */
export function compileOnFirstUse<T extends TSchema>(schema: T): Pick<Compiled<T>, 'Check' | 'Errors'> {
  return {
    Check: (value: unknown) => compiledValidator(schema).Check(value),
    Errors: (value: unknown) => compiledValidator(schema).Errors(value),
  } as Pick<Compiled<T>, 'Check' | 'Errors'>;
}
