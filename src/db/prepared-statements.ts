/**
 * What both engines' drivers share about prepared statements (ADR 0011).
 */

/** Statements kept prepared on one connection: the application issues a few hundred distinct texts. */
export const PREPARED_STATEMENTS_PER_CONNECTION = 256;

/** Only data statements are worth a name: utility statements have no plan to keep. */
export function worthPreparing(sql: string): boolean {
  return /^\s*(?:select|insert|update|delete|with)\b/i.test(sql);
}

/**
 * "cached plan must not change result type": a table changed under a prepared statement (DDL at
 * run time, which migrations at start-up precede). The statement must be prepared again.
 */
export function planChangedUnderStatement(err: unknown): boolean {
  const e = err as { code?: unknown; message?: unknown };
  return e?.code === '0A000' && typeof e.message === 'string' && e.message.includes('cached plan must not change result type');
}
