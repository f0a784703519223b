import { readFileSync } from 'node:fs';
import t from 'tap';
import {
  extractBlock,
  GENERATED_BLOCKS,
  renderBlock,
  renderDecisionTable,
  updateTrustModelDoc,
} from '../../src/modules/policy/render-trust-model-doc.js';
import { POLICY_TABLE } from '../../src/modules/policy/policy-table.js';

const doc = readFileSync(new URL('../../docs/trust-model.md', import.meta.url), 'utf8');
const REGENERATE = 'regenerate with: npx tsx src/modules/policy/render-trust-model-doc.ts';

t.test('docs/trust-model.md shows exactly the generated decision table and defaults', async (t) => {
  for (const block of GENERATED_BLOCKS) {
    const inDoc = extractBlock(doc, block);
    t.not(inDoc, null, `${block.name}: markers present`);
    t.equal(inDoc, renderBlock(block), `${block.name} is current; ${REGENERATE}`);
  }
  t.equal(updateTrustModelDoc(doc), doc, `nothing to regenerate; ${REGENERATE}`);
});

t.test('the rendered table has a line for every purpose x trust level of every scenario', async (t) => {
  const rendered = renderDecisionTable();
  const lines = rendered.split('\n').filter((l) => /^\| [a-z-]+ \| (unknown|community|partner|close) \|/.test(l));
  t.equal(lines.length * 5, POLICY_TABLE.length, 'five TLP cells per line');
  t.match(rendered, /\| coordinator-feed \| partner \| full \| full \| summary \| summary \| deny \|/);
});

t.test('a drifted table is caught', async (t) => {
  // Flip one row and the rendering differs: the doc test above would fail.
  const flipped = POLICY_TABLE.map((r, i) =>
    i === 0 ? { ...r, allow: !r.allow, detail: r.allow ? ('none' as const) : ('full' as const) } : r,
  );
  t.not(renderDecisionTable(flipped), renderDecisionTable());
  t.throws(() => updateTrustModelDoc('# no markers here\n'), /lacks the markers/);
  t.throws(() => renderDecisionTable(POLICY_TABLE.slice(1)), /missing a row/);
});
