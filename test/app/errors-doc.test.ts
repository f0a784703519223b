import { readFileSync } from 'node:fs';
import t from 'tap';
import { renderErrorsTable } from '../../src/http/errors-doc.js';

t.test('docs/errors.md shows exactly the catalogue in src/http/problem.ts', async (t) => {
  const doc = readFileSync(new URL('../../docs/errors.md', import.meta.url), 'utf8');
  t.ok(doc.includes(renderErrorsTable()), 'run `npm run docs:errors` after changing PROBLEMS');
});
