import t from 'tap';
import { TLP_LABELS } from '../../schemas/common.schema.js';
import { PURPOSES, TRUST_LEVELS } from '../../schemas/policy.schema.js';
import { decide } from '../../src/modules/policy/sharing-policy.js';
import { DEFAULT_SECTION_MINIMUMS } from '../../src/modules/policy/incident-sections.js';
import { EXPECTED_REDACTIONS, parseExpected, POLICY_SCENARIOS, POLICY_TABLE } from '../../src/modules/policy/policy-table.js';
import { trustAtLeast } from '../../src/modules/policy/policy-order.js';

t.test('the table covers every scenario x purpose x TLP label x trust level exactly once', async (t) => {
  const keys = new Set(POLICY_TABLE.map((r) => `${r.scenario}|${r.purpose}|${r.tlp}|${r.trust}`));
  t.equal(POLICY_TABLE.length, POLICY_SCENARIOS.length * PURPOSES.length * TLP_LABELS.length * TRUST_LEVELS.length);
  t.equal(keys.size, POLICY_TABLE.length, 'no duplicate rows');
  t.ok(POLICY_SCENARIOS.length >= 8);
  t.equal(new Set(POLICY_SCENARIOS.map((s) => s.id)).size, POLICY_SCENARIOS.length, 'scenario ids are unique');
  // Rows of both kinds exist, so the test below can fail either way.
  t.ok(POLICY_TABLE.some((r) => r.allow) && POLICY_TABLE.some((r) => !r.allow));
  t.ok(POLICY_TABLE.some((r) => r.detail === 'summary'));
});

t.test('a malformed table entry is rejected, not read as denies', async (t) => {
  t.throws(() => parseExpected('FFFF .FFF ..FF ..FF'), /malformed/);
  t.throws(() => parseExpected('FFFF .FFF ..FF ..FF ..XF'), /malformed/);
  t.same(parseExpected('FFFF .FFF ..SF ..FF ....')[2], ['.', '.', 'S', 'F']);
});

t.test('EXPECTED_REDACTIONS agrees with the default section minimums', async (t) => {
  for (const level of TRUST_LEVELS) {
    const below = Object.entries(DEFAULT_SECTION_MINIMUMS)
      .filter(([, min]) => !trustAtLeast(level, min))
      .map(([s]) => s);
    t.same([...EXPECTED_REDACTIONS[level]].sort(), below.sort(), level);
  }
});

t.test('decide matches every row of the decision table', async (t) => {
  let mismatches = 0;
  for (const row of POLICY_TABLE) {
    const d = decide(row.item, row.recipient, row.purpose);
    const got = {
      allow: d.allow,
      detail: d.detail,
      redactions: d.redactions.map((r) => r.section),
      mayRedistribute: d.mayRedistribute,
    };
    const want = {
      allow: row.allow,
      detail: row.detail,
      redactions: [...row.redactions],
      mayRedistribute: row.mayRedistribute,
    };
    const label = `${row.scenario} ${row.purpose} TLP:${row.tlp} trust ${row.trust}`;
    if (JSON.stringify(got) !== JSON.stringify(want)) {
      mismatches++;
      t.same(got, want, `${label}\n${d.reasons.join('\n')}`);
    }
    // A deny always says which rule; an allow never does.
    if (d.allow !== (d.deniedBy.length === 0)) t.fail(`${label}: deniedBy inconsistent with allow`);
    if (d.allow && d.provenance === null) t.fail(`${label}: an allow carries the new provenance chain`);
  }
  t.equal(mismatches, 0, `decide agrees with all ${POLICY_TABLE.length} rows`);
});
