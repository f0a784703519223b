import t from 'tap';
import { benchPolicyDecisions } from '../../src/modules/policy/policy-bench.js';
import { POLICY_TABLE } from '../../src/modules/policy/policy-table.js';

t.test('benchPolicyDecisions measures decisions and rejects nonsense', async (t) => {
  const r = benchPolicyDecisions(POLICY_TABLE.length);
  t.equal(r.iterations, POLICY_TABLE.length);
  t.ok(r.decisionsPerSecond > 0);
  // It ran the real decisions: the allow count equals the table's.
  t.equal(r.allowed, POLICY_TABLE.filter((row) => row.allow).length);
  t.throws(() => benchPolicyDecisions(0), RangeError);
  t.throws(() => benchPolicyDecisions(1.5), RangeError);
});
