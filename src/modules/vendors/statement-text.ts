import { VENDOR_STATUSES, type VendorStatus } from '../../../schemas/vendor.schema.js';

/**
 * The text of a statement a vendor writes and clear-signs with GnuPG (ADR 0024): header lines,
 * then the statement itself, which may run over several lines:
 *
 *   Case: vc-2026-001
 *   Product: Widget Server
 *   Status: affected
 *   Fixed-Versions: 2.4.1, 2.5.0
 *   Statement: Fixed in 2.4.1; upgrade.
 *
 * Field names are case-insensitive; Fixed-Versions and Statement are optional.
 */
export interface ParsedStatement {
  caseId: string;
  product: string;
  status: VendorStatus;
  fixedVersions: string[];
  text: string | null;
}

export type StatementParse = { ok: true; statement: ParsedStatement } | { ok: false; reason: string };

export function parseStatementText(text: string): StatementParse {
  const fields = new Map<string, string>();
  const lines = text.replace(/\r\n/g, '\n').split('\n');
  let statementLines: string[] | null = null;
  for (const line of lines) {
    if (statementLines) {
      statementLines.push(line);
      continue;
    }
    if (line.trim() === '') continue;
    const m = /^([A-Za-z-]+):\s*(.*)$/.exec(line);
    if (!m) return { ok: false, reason: `not a "Field: value" line: ${JSON.stringify(line.slice(0, 60))}` };
    const name = m[1]!.toLowerCase();
    if (fields.has(name)) return { ok: false, reason: `"${m[1]}" appears twice` };
    if (name === 'statement') statementLines = [m[2]!];
    else fields.set(name, m[2]!.trim());
  }
  const caseId = fields.get('case');
  const product = fields.get('product');
  const status = fields.get('status')?.toLowerCase();
  if (!caseId || !product || !status) return { ok: false, reason: 'the statement needs Case, Product and Status lines' };
  if (!(VENDOR_STATUSES as readonly string[]).includes(status)) {
    return { ok: false, reason: `Status must be one of: ${VENDOR_STATUSES.join(', ')}` };
  }
  const fixed = fields.get('fixed-versions');
  const fixedVersions = fixed
    ? [
        ...new Set(
          fixed
            .split(',')
            .map((v) => v.trim())
            .filter((v) => v.length > 0),
        ),
      ]
    : [];
  if (fixedVersions.some((v) => v.length > 100) || fixedVersions.length > 100) return { ok: false, reason: 'Fixed-Versions is too long' };
  const body = statementLines?.join('\n').trim() ?? '';
  if (body.length > 10_000 || product.length > 200) return { ok: false, reason: 'the statement is too long' };
  return { ok: true, statement: { caseId, product, status: status as VendorStatus, fixedVersions, text: body || null } };
}
