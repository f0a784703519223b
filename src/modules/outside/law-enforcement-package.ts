import type { Redaction } from '../../../schemas/policy.schema.js';

/**
 * The law-enforcement disclosure package (ADR 0023): one document, in two renderings the handler
 * hands over, each signed detached with the node's key. The JSON is RFC 8785 canonical (what a
 * tool checks with `gpg --verify package.json.asc package.json`); the text is the same content
 * for a person to read. Both are built from the same values, so the text never carries more than
 * the JSON: the redacted incidents exactly as the sharing policy prepared them.
 */

export const PACKAGE_TYPE = 'hikeshi.law-enforcement-disclosure';

export interface PackageIncident {
  ref: string;
  tlp: string;
  detail: string;
  redactions: Redaction[];
  payloadSha256: string;
  /** The redacted incident (or summary) the policy let through. */
  content: unknown;
}

export interface PackageDocument {
  type: typeof PACKAGE_TYPE;
  version: 1;
  packageId: string;
  team: string;
  signerFingerprint: string;
  createdAt: string;
  createdBy: string;
  agency: { id: string; name: string };
  officer: { name: string; contact: string } | null;
  request: { id: string; origin: string; legalBasis: string; receivedAt: string | null; deadline: string | null };
  approval: { by: string; at: string; legalBasis: string };
  policyVersion: string;
  incidents: PackageIncident[];
}

/** A value as indented lines: objects by key, arrays by item; empty values left out. */
function renderValue(value: unknown, indent: string, out: string[], label: string): void {
  if (value === null || value === undefined || value === '') return;
  if (Array.isArray(value)) {
    if (value.length === 0) return;
    out.push(`${indent}${label}:`);
    value.forEach((item, i) => renderValue(item, `${indent}  `, out, `[${i + 1}]`));
    return;
  }
  if (typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>);
    if (entries.length === 0) return;
    out.push(`${indent}${label}:`);
    for (const [k, v] of entries) renderValue(v, `${indent}  `, out, k);
    return;
  }
  const text = String(value).replace(/\r\n?/g, '\n');
  const [first, ...rest] = text.split('\n');
  out.push(`${indent}${label}: ${first ?? ''}`);
  for (const line of rest) out.push(`${indent}  | ${line}`);
}

/** The human-readable rendering of the package (UTF-8, LF line ends, no trailing white space). */
export function renderPackageText(doc: PackageDocument): string {
  const out: string[] = [
    'LAW-ENFORCEMENT DISCLOSURE',
    `Package ${doc.packageId}, made ${doc.createdAt} by ${doc.createdBy} of ${doc.team}`,
    `Signed by OpenPGP key ${doc.signerFingerprint}; the JSON rendering of this package is signed too.`,
    '',
    `To: ${doc.agency.name} (${doc.agency.id})`,
  ];
  if (doc.officer) out.push(`Officer: ${doc.officer.name}, ${doc.officer.contact}`);
  out.push(
    `Request: ${doc.request.id} (${doc.request.origin})${doc.request.receivedAt ? `, received ${doc.request.receivedAt}` : ''}${doc.request.deadline ? `, deadline ${doc.request.deadline}` : ''}`,
    `Legal basis cited: ${doc.request.legalBasis}`,
    `Approved by ${doc.approval.by} at ${doc.approval.at}; legal basis: ${doc.approval.legalBasis}`,
    `Sharing policy: ${doc.policyVersion}`,
    '',
  );
  doc.incidents.forEach((item, i) => {
    out.push(`=== Incident ${i + 1} of ${doc.incidents.length}: ${item.ref} (TLP:${item.tlp}, ${item.detail} detail) ===`);
    for (const r of item.redactions) out.push(`Withheld: ${r.section}: ${r.reason}`);
    out.push(`Content SHA-256 (canonical JSON): ${item.payloadSha256}`);
    renderValue(item.content, '', out, 'Content');
    out.push('');
  });
  return `${out.map((l) => l.replace(/\s+$/, '')).join('\n')}\n`;
}
