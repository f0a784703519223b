import { PROBLEMS, PROBLEM_TYPE_BASE } from './problem.js';

/**
 * docs/errors.md's catalogue table, rendered from PROBLEMS so the document cannot drift from
 * the code (a test compares them; `npm run docs:errors` rewrites the table).
 */
export const ERRORS_TABLE_BEGIN = '<!-- errors-table:begin (generated from src/http/problem.ts) -->';
export const ERRORS_TABLE_END = '<!-- errors-table:end -->';

export function renderErrorsTable(): string {
  const rows = Object.entries(PROBLEMS).map(([code, p]) => `| \`${code}\` | ${p.status} | ${p.title.replace(/\|/g, '\\|')} |`);
  return [ERRORS_TABLE_BEGIN, '| code | status | title |', '|---|---|---|', ...rows, ERRORS_TABLE_END].join('\n');
}

export function replaceErrorsTable(markdown: string): string {
  const start = markdown.indexOf(ERRORS_TABLE_BEGIN);
  const end = markdown.indexOf(ERRORS_TABLE_END);
  if (start === -1 || end === -1) throw new Error('docs/errors.md has no generated table markers');
  return markdown.slice(0, start) + renderErrorsTable() + markdown.slice(end + ERRORS_TABLE_END.length);
}

export { PROBLEM_TYPE_BASE };
