import { randomUUID } from 'node:crypto';
import { sql } from 'kysely';
import type { Db, EmbeddedDriver } from '../src/db/database.js';
import pg from 'pg';

/**
 * One figure printed by `npm run bench`. `limit` is the target the issue (or, where the issue
 * names none, our own ADR) sets; `ratio` is value/limit for "higher is better" figures and
 * limit/value for "lower is better" ones, so a ratio >= 1 always means the target is met.
 */
export interface BenchResult {
  name: string;
  engine: 'pglite' | 'postgres' | 'none';
  value: number;
  unit: string;
  limit?: number;
  better?: 'higher' | 'lower';
  note?: string;
  /**
   * What the machine allows, measured in the same run (issue 18): the same work without the
   * node around it (e.g. PGlite opening the data directory alone). Printed beside the figure,
   * with the figure's share of it.
   */
  machineLimit?: { name: string; value: number };
}

export function ratioOf(r: BenchResult): number | null {
  if (r.limit === undefined || r.value === 0) return null;
  return (r.better ?? 'higher') === 'higher' ? r.value / r.limit : r.limit / r.value;
}

export function formatResult(r: BenchResult): string {
  const ratio = ratioOf(r);
  const target =
    r.limit === undefined
      ? ''
      : ` (target ${(r.better ?? 'higher') === 'higher' ? '>=' : '<='} ${r.limit} ${r.unit}; ratio ${ratio?.toFixed(2)})`;
  const m = r.machineLimit;
  const share = m && m.value > 0 && r.value > 0 ? ((r.better ?? 'higher') === 'higher' ? r.value / m.value : m.value / r.value) : null;
  const limit = m
    ? ` [limit here: ${m.name} ${m.value.toFixed(m.value < 10 ? 3 : 1)} ${r.unit}; ${share === null ? '-' : `${(share * 100).toFixed(0)} % of it`}]`
    : '';
  return `${r.engine.padEnd(8)} ${r.name.padEnd(52)} ${r.value.toFixed(r.value < 10 ? 3 : 1).padStart(12)} ${r.unit}${target}${limit}${r.note ? `  ${r.note}` : ''}`;
}

/** The p-th percentile (0..100) of a list of numbers. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

export const BENCH_DATABASE_URL = process.env.HIKESHI_BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** Drops a benchmark's schema on the server (it ran in its own, so nothing else is touched). */
export async function dropBenchSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: BENCH_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
}

/**
 * HIKESHI_BENCH_EMBEDDED_DRIVER=kysely|prepared picks the embedded driver for the creation and
 * federation benchmarks (ADR 0015 compares the two); unset, the node's default.
 */
export function embeddedDriverOption(): { embeddedDriver?: EmbeddedDriver } {
  const v = process.env.HIKESHI_BENCH_EMBEDDED_DRIVER;
  return v === 'kysely' || v === 'prepared' ? { embeddedDriver: v } : {};
}

/**
 * What the machine allows for durable writes (issue 18's "bare durable insert"): `count` rows of
 * `body` as jsonb, each in its own committed transaction, `concurrency` at once, on the bench's
 * own database; without the node around it (no HTTP, checks, numbering, audit).
 */
export async function bareInsertRate(db: Db, body: string, count: number, concurrency: number): Promise<number> {
  await sql`create table bench_bare_insert (id uuid primary key, body jsonb not null)`.execute(db);
  try {
    let next = 0;
    const started = performance.now();
    const worker = async () => {
      while (next < count) {
        next++;
        await db.transaction().execute((tx) => sql`insert into bench_bare_insert values (${randomUUID()}, ${body}::jsonb)`.execute(tx));
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return count / ((performance.now() - started) / 1000);
  } finally {
    await sql`drop table bench_bare_insert`.execute(db);
  }
}
