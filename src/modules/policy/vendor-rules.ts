/**
 * What goes to a vendor and what is published about a vulnerability case (issue 17 parts 1 and
 * 2, ADR 0024, docs/trust-model.md §4.9). Pure: the caller reads the facts and audits the answer.
 *
 * - A question goes only to a vendor that is a party to the case; a vendor that runs a node must
 *   be an active peer; a TLP:RED case is never sent to anyone (RED is for the people in the room,
 *   and a vendor learns of a RED case from a person, not from a node).
 * - A question carries the case's own fields, and of the products only the vendor's own: never
 *   the linked incidents (not even their reference numbers) nor the other vendors' products.
 * - A statement counts only from a party to the case, about one of its products in the case.
 * - Nothing is published before the embargo ends; only a TLP:CLEAR advisory goes to the public
 *   folder (CSAF TLP:WHITE); any other label is published signed but served to handlers only.
 */
import type { Tlp } from '../../../schemas/common.schema.js';

export interface VendorCaseFacts {
  id: string;
  title: string;
  description: string;
  tlp: Tlp;
  products: ReadonlyArray<{ vendor: string; product: string; versions: readonly string[] }>;
  cveIds: readonly string[];
  embargoUntil: Date | null;
  parties: readonly string[];
}

export interface VendorQuestionFacts {
  vendorId: string;
  channel: 'federation' | 'email';
  /** federation: is the vendor's node an active peer of ours? (null for e-mail) */
  peerActive: boolean | null;
}

export type VendorRuleDecision = { allow: true; reason: string } | { allow: false; deniedBy: string; reason: string };

export function decideVendorQuestion(kase: VendorCaseFacts, facts: VendorQuestionFacts): VendorRuleDecision {
  if (!kase.parties.includes(facts.vendorId)) {
    return { allow: false, deniedBy: 'not-a-party', reason: `vendor "${facts.vendorId}" is not a party to case "${kase.id}"` };
  }
  if (kase.tlp === 'RED') return { allow: false, deniedBy: 'tlp-red', reason: 'a TLP:RED case is never sent to a vendor by the node' };
  if (!kase.products.some((p) => p.vendor === facts.vendorId)) {
    return { allow: false, deniedBy: 'no-product', reason: `case "${kase.id}" names no product of vendor "${facts.vendorId}"` };
  }
  if (facts.channel === 'federation' && facts.peerActive !== true) {
    return { allow: false, deniedBy: 'peer-not-active', reason: `the node of vendor "${facts.vendorId}" is not an active peer` };
  }
  return { allow: true, reason: `vendor "${facts.vendorId}" is a party to case "${kase.id}" (TLP:${kase.tlp})` };
}

export interface VendorQuestionContent {
  title: string;
  description: string;
  products: Array<{ product: string; versions: string[] }>;
  cveIds: string[];
  embargoUntil: string | null;
}

/** What a question to one vendor carries: built from the case's fields only, by construction. */
export function vendorQuestionContent(kase: VendorCaseFacts, vendorId: string): VendorQuestionContent {
  return {
    title: kase.title,
    description: kase.description,
    products: kase.products.filter((p) => p.vendor === vendorId).map((p) => ({ product: p.product, versions: [...p.versions] })),
    cveIds: [...kase.cveIds],
    embargoUntil: kase.embargoUntil ? kase.embargoUntil.toISOString() : null,
  };
}

export function decideVendorStatement(kase: VendorCaseFacts, vendorId: string, product: string): VendorRuleDecision {
  if (!kase.parties.includes(vendorId)) {
    return { allow: false, deniedBy: 'not-a-party', reason: `vendor "${vendorId}" is not a party to case "${kase.id}"` };
  }
  if (!kase.products.some((p) => p.vendor === vendorId && p.product === product)) {
    return { allow: false, deniedBy: 'not-its-product', reason: `case "${kase.id}" names no product "${product}" of vendor "${vendorId}"` };
  }
  return { allow: true, reason: `vendor "${vendorId}" is a party to case "${kase.id}"` };
}

export type AdvisoryPublication =
  { allow: false; deniedBy: 'embargo'; embargoUntil: string; reason: string } | { allow: true; folder: 'white' | null; reason: string };

export function decideAdvisoryPublication(kase: Pick<VendorCaseFacts, 'tlp' | 'embargoUntil'>, now: Date): AdvisoryPublication {
  if (kase.embargoUntil && now.getTime() < kase.embargoUntil.getTime()) {
    const embargoUntil = kase.embargoUntil.toISOString();
    return { allow: false, deniedBy: 'embargo', embargoUntil, reason: `the case is under embargo until ${embargoUntil}` };
  }
  return kase.tlp === 'CLEAR'
    ? { allow: true, folder: 'white', reason: 'TLP:CLEAR: published in the public folder' }
    : { allow: true, folder: null, reason: `TLP:${kase.tlp}: signed and kept for handlers to distribute, never in the public folder` };
}

/**
 * CSAF 2.0 knows TLP 1.0 labels only. CLEAR is WHITE; AMBER+STRICT has no TLP 1.0 label, so it
 * becomes AMBER with the distribution text saying the stricter TLP 2.0 label.
 */
export function csafTlpOf(tlp: Tlp): { label: 'WHITE' | 'GREEN' | 'AMBER' | 'RED'; text: string | null } {
  switch (tlp) {
    case 'CLEAR':
      return { label: 'WHITE', text: null };
    case 'AMBER+STRICT':
      return { label: 'AMBER', text: "TLP:AMBER+STRICT (TLP 2.0): the recipient's organisation only, not its clients." };
    default:
      return { label: tlp, text: null };
  }
}
