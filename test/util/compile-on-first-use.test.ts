import t from 'tap';
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { compileOnFirstUse } from '../../src/util/compile-on-first-use.js';

/** A validator compiled on first use answers as one compiled at once, for values that pass and values that fail. */
t.test('compileOnFirstUse answers as Compile does', async (t) => {
  const schema = Type.Object({ id: Type.String({ minLength: 1 }), n: Type.Integer({ minimum: 0 }) }, { additionalProperties: false });
  const lazy = compileOnFirstUse(schema);
  const eager = Compile(schema);
  for (const value of [{ id: 'a', n: 1 }, { id: '', n: 1 }, { id: 'a', n: -1 }, { id: 'a', n: 1, extra: true }, null, 'text', []]) {
    t.equal(lazy.Check(value), eager.Check(value), JSON.stringify(value));
    t.same([...lazy.Errors(value)], [...eager.Errors(value)], `errors of ${JSON.stringify(value)}`);
  }
});
