import t from 'tap';
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { compiledValidator, compileOnFirstUse } from '../../src/util/compile-on-first-use.js';

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

t.test('compiledValidator compiles a schema object once and another apart', async (t) => {
  const schema = Type.Object({ a: Type.String() });
  t.equal(compiledValidator(schema), compiledValidator(schema), 'the same validator for the same schema');
  const other = Type.Object({ a: Type.Number() });
  t.not(compiledValidator(other), compiledValidator(schema), 'another schema, another validator');
  t.equal(compiledValidator(other).Check({ a: 1 }), true);
  t.equal(compiledValidator(schema).Check({ a: 1 }), false);
});
