import type { Tlp } from '../../../schemas/common.schema.js';
import type { AdvisoryEdits } from '../../../schemas/csaf.schema.js';
import { csafTlpOf } from '../policy/index.js';

/**
 * A CSAF 2.0 security advisory (OASIS CSAF 2.0, category csaf_security_advisory) built from a
 * vulnerability case, the vendors' statements in force and the handler's edits. Pure: the same
 * inputs give the same document. Nothing of the case's linked incidents is an input.
 */

export interface CsafInput {
  trackingId: string;
  status: 'draft' | 'final';
  /** Integer versioning: "0" for a draft never published, then 1, 2, ... */
  version: number;
  revisionHistory: Array<{ date: string; number: string; summary: string }>;
  initialReleaseDate: string;
  currentReleaseDate: string;
  publisher: { name: string; namespace: string };
  kase: {
    title: string;
    description: string;
    tlp: Tlp;
    cveIds: readonly string[];
    products: ReadonlyArray<{ vendor: string; product: string; versions: readonly string[] }>;
  };
  vendorNames: ReadonlyMap<string, string>;
  /** The statement in force per vendor and product (the newest). */
  statements: ReadonlyArray<{
    vendor: string;
    product: string;
    status: 'affected' | 'not affected' | 'under investigation';
    fixedVersions: readonly string[];
    text: string | null;
  }>;
  edits: AdvisoryEdits;
}

type Branch = { category: string; name: string; branches?: Branch[]; product?: { name: string; product_id: string } };

interface ProductIds {
  byVersion: Map<string, string>;
  tree: Branch[];
}

const key = (vendor: string, product: string, version?: string) => JSON.stringify([vendor, product, version ?? null]);

/** Vendor / product name / product version branches, a product id per version (fixed versions included). */
function productTree(input: CsafInput): ProductIds {
  const byVersion = new Map<string, string>();
  const vendors = new Map<string, Branch>();
  let n = 0;
  for (const p of input.kase.products) {
    const fixed = input.statements.find((s) => s.vendor === p.vendor && s.product === p.product)?.fixedVersions ?? [];
    const versions = [...new Set([...p.versions, ...fixed])];
    const vendorName = input.vendorNames.get(p.vendor) ?? p.vendor;
    let vendorBranch = vendors.get(p.vendor);
    if (!vendorBranch) {
      vendorBranch = { category: 'vendor', name: vendorName, branches: [] };
      vendors.set(p.vendor, vendorBranch);
    }
    const productBranch: Branch = { category: 'product_name', name: p.product, branches: [] };
    for (const version of versions) {
      const id = `CSAFPID-${String(++n).padStart(4, '0')}`;
      byVersion.set(key(p.vendor, p.product, version), id);
      productBranch.branches!.push({
        category: 'product_version',
        name: version,
        product: { name: `${vendorName} ${p.product} ${version}`, product_id: id },
      });
    }
    vendorBranch.branches!.push(productBranch);
  }
  return { byVersion, tree: [...vendors.values()] };
}

function productStatus(input: CsafInput, ids: ProductIds) {
  const status = {
    known_affected: [] as string[],
    known_not_affected: [] as string[],
    under_investigation: [] as string[],
    fixed: [] as string[],
  };
  const remediations: Array<{ category: 'vendor_fix'; details: string; product_ids: string[]; url?: string }> = [];
  for (const p of input.kase.products) {
    const statement = input.statements.find((s) => s.vendor === p.vendor && s.product === p.product);
    const idOf = (v: string) => ids.byVersion.get(key(p.vendor, p.product, v))!;
    const fixed = statement?.fixedVersions ?? [];
    const concerned = p.versions.filter((v) => !fixed.includes(v)).map(idOf);
    if (!statement || statement.status === 'under investigation') status.under_investigation.push(...concerned);
    else if (statement.status === 'not affected') status.known_not_affected.push(...concerned);
    else status.known_affected.push(...concerned);
    status.fixed.push(...fixed.map(idOf));
    const edited = input.edits.remediations?.find((r) => r.vendor === p.vendor && r.product === p.product);
    if (statement?.status === 'affected' && concerned.length > 0 && (fixed.length > 0 || edited)) {
      remediations.push({
        category: 'vendor_fix',
        details: edited?.details ?? `Update ${p.product} to ${fixed.join(' or ')}.`,
        product_ids: concerned,
        ...(edited?.url ? { url: edited.url } : {}),
      });
    }
  }
  const nonEmpty = Object.fromEntries(Object.entries(status).filter(([, v]) => v.length > 0));
  return { productStatus: nonEmpty, remediations };
}

export function buildCsafDocument(input: CsafInput): Record<string, unknown> {
  const ids = productTree(input);
  const { productStatus: status, remediations } = productStatus(input, ids);
  const tlp = csafTlpOf(input.kase.tlp);
  const vulnerability = (cve: string | null) => ({
    ...(cve ? { cve } : {}),
    title: input.kase.title,
    notes: [{ category: 'description', title: 'Vulnerability description', text: input.kase.description }],
    product_status: status,
    ...(remediations.length > 0 ? { remediations } : {}),
  });
  return {
    document: {
      category: 'csaf_security_advisory',
      csaf_version: '2.0',
      distribution: { tlp: { label: tlp.label, url: 'https://www.first.org/tlp/' }, ...(tlp.text ? { text: tlp.text } : {}) },
      lang: 'en',
      notes: [
        { category: 'summary', title: 'Summary', text: input.kase.title },
        ...(input.edits.notes ?? []).map((note) => ({
          category: note.category,
          ...(note.title ? { title: note.title } : {}),
          text: note.text,
        })),
      ],
      publisher: { category: 'coordinator', name: input.publisher.name, namespace: input.publisher.namespace },
      title: input.kase.title,
      tracking: {
        current_release_date: input.currentReleaseDate,
        generator: { engine: { name: 'Hikeshi' } },
        id: input.trackingId,
        initial_release_date: input.initialReleaseDate,
        revision_history: input.revisionHistory,
        status: input.status,
        version: String(input.version),
      },
    },
    product_tree: { branches: ids.tree },
    vulnerabilities: input.kase.cveIds.length > 0 ? input.kase.cveIds.map((cve) => vulnerability(cve)) : [vulnerability(null)],
  };
}

/** CSAF 2.0 §5.1: the file name is the tracking id in lower case, anything but [+\-a-z0-9] as "_". */
export function csafFileName(trackingId: string): string {
  return `${trackingId.toLowerCase().replace(/[^+\-a-z0-9]+/g, '_')}.json`;
}
