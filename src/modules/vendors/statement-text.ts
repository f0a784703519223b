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
 *
 * A statement mailed back is often a reply: our question quoted below or above it ("> ..."),
 * an attribution line ("On ... wrote:"), a signature ("-- "). Those are not the vendor's
 * statement and are left out: quoted lines and attribution lines are skipped, and the text ends
 * at a signature delimiter or a forwarded-message separator. Only what the vendor wrote counts.
 */
const QUOTED = /^\s*>/;
const ATTRIBUTION = /^On .{1,300} wrote:\s*$/;
const END_OF_TEXT = /^(-- |-----Original Message-----|-{2,} ?Forwarded message ?-{2,})\s*$/;

/** The lines the vendor wrote: quotes and attributions out, nothing after a signature or a forward. */
function ownLines(text: string): string[] {
  const out: string[] = [];
  for (const line of text.replace(/\r\n/g, '\n').split('\n')) {
    if (END_OF_TEXT.test(line)) break;
    if (QUOTED.test(line) || ATTRIBUTION.test(line)) continue;
    out.push(line);
  }
  return out;
}
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
  const lines = ownLines(text);
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
