import type { TSchema } from 'typebox';
import { Compile } from 'typebox/compile';

type Compiled<T extends TSchema> = ReturnType<typeof Compile<T>>;

/**
 * A TypeBox validator compiled when first asked rather than when its module loads (issue 18:
 * cold start, ADR 0031): a node loads every module at start but checks most kinds of document
 * rarely, and compiling the exchange's message types alone was about 40 ms of a restart. Once
 * compiled, it is the same validator as `Compile(schema)`.
 */
export function compileOnFirstUse<T extends TSchema>(schema: T): Pick<Compiled<T>, 'Check' | 'Errors'> {
  let compiled: Compiled<T> | undefined;
  const validator = (): Compiled<T> => (compiled ??= Compile(schema) as Compiled<T>);
  return {
    Check: (value: unknown) => validator().Check(value),
    Errors: (value: unknown) => validator().Errors(value),
  } as Pick<Compiled<T>, 'Check' | 'Errors'>;
}
