import { decide } from './sharing-policy.js';
import { POLICY_TABLE } from './policy-table.js';

/**
 * Micro-benchmark of the pure decision (issue 4 item 8): decisions per second over the inputs
 * of the decision table, cycled, so every rule path is in the mix. No I/O; the only impure
 * thing is reading the monotonic timer, which is the point of a benchmark.
 */
export interface PolicyBenchResult {
  decisionsPerSecond: number;
  iterations: number;
  elapsedMs: number;
  /** How many decisions allowed: consumed so the work cannot be optimised away. */
  allowed: number;
}

export function benchPolicyDecisions(iterations: number): PolicyBenchResult {
  if (!Number.isInteger(iterations) || iterations < 1) throw new RangeError('iterations must be a positive integer');
  const rows = POLICY_TABLE;
  // Warm up so the JIT has compiled decide before timing starts.
  for (let i = 0; i < Math.min(rows.length, iterations); i++) {
    const r = rows[i]!;
    decide(r.item, r.recipient, r.purpose);
  }
  let allowed = 0;
  const start = performance.now();
  for (let i = 0; i < iterations; i++) {
    const r = rows[i % rows.length]!;
    if (decide(r.item, r.recipient, r.purpose).allow) allowed++;
  }
  const elapsedMs = performance.now() - start;
  return {
    decisionsPerSecond: elapsedMs > 0 ? (iterations * 1000) / elapsedMs : Number.POSITIVE_INFINITY,
    iterations,
    elapsedMs,
    allowed,
  };
}
