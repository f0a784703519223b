import { createHash } from 'node:crypto';
import {
  canonicalize,
  readSignatureIssuer,
  verifyDocumentSignature,
  type NodeSigner,
  type PeerKey,
  type SignatureIssuer,
} from '../../crypto/index.js';
import type { Tlp } from '../../../schemas/common.schema.js';
import type { ProvenanceHop } from '../../../schemas/policy.schema.js';
import { HOP_STATEMENT_TYPE, type HopStatement, type ReportProvenanceHop, type SignedHop } from '../../../schemas/relay.schema.js';

/**
 * Signed provenance (issue 15 part 3; docs/federation-protocol.md §5.22; ADR 0020). Each team that
 * passes a report on signs a small, content-free hop statement `{type: "provenance.hop", team,
 * ref, tlp, at, to, prev}` over its RFC 8785 canonical bytes, like every document; `prev` is the
 * SHA-256 of the previous signed statement's canonical bytes (null for the first signed hop), so
 * the hops form a chain: none can be dropped, reordered or spliced in without a signature failing
 * or a digest not matching. A receiver checks the chain, verifies every hop it has a key for, and
 * keeps the hops exactly as received: it can prove where its copy came from and who set each label.
 */

/** The statement a hop's signature covers; null for an older, unsigned hop. */
export function hopStatement(hop: ReportProvenanceHop): HopStatement | null {
  if (hop.signature === undefined || hop.ref === undefined || hop.at === undefined || hop.to === undefined || hop.prev === undefined)
    return null;
  return { type: HOP_STATEMENT_TYPE, team: hop.team, ref: hop.ref, tlp: hop.tlp, at: hop.at, to: hop.to, prev: hop.prev };
}

/** SHA-256 (hex) of a statement's canonical bytes: what the next hop's `prev` names. */
export function hopDigest(statement: HopStatement): string {
  return createHash('sha256').update(canonicalize(statement)).digest('hex');
}

/** Whether a wire hop carries a signature (and so must be a complete, verifiable statement). */
export const isSigned = (hop: ReportProvenanceHop): boolean => hop.signature !== undefined;

/** Signs our hop: `previous` is the hop before ours in the chain (none for an incident of our own). */
export async function signHop(
  signer: NodeSigner,
  fields: { team: string; ref: string; tlp: Tlp; at: Date; to: string },
  previous: ReportProvenanceHop | undefined,
): Promise<SignedHop> {
  const before = previous ? hopStatement(previous) : null;
  const statement: HopStatement = {
    type: HOP_STATEMENT_TYPE,
    team: fields.team,
    ref: fields.ref,
    tlp: fields.tlp,
    at: fields.at.toISOString(),
    to: fields.to,
    prev: before ? hopDigest(before) : null,
  };
  const signature = await signer.signDetached(canonicalize(statement));
  return {
    team: statement.team,
    tlp: statement.tlp,
    at: statement.at,
    ref: statement.ref,
    to: statement.to,
    prev: statement.prev,
    signature,
  };
}

/**
 * The chain to send on: the hops before ours as this node holds them signed (as received), where
 * it holds them and they are the same teams as the policy's chain; else the policy's chain as it
 * is (older, unsigned hops); then our hop, signed. The label of our hop is the policy's decision.
 */
export async function chainToSend(
  signer: NodeSigner,
  policyChain: readonly ProvenanceHop[],
  received: readonly ReportProvenanceHop[] | null,
  ours: { team: string; ref: string; at: Date; to: string },
): Promise<ReportProvenanceHop[]> {
  const before = policyChain.slice(0, -1);
  const own = policyChain[policyChain.length - 1];
  if (!own) throw new Error('the policy gave no hop of ours');
  const sameTeams = received !== null && received.length === before.length && received.every((h, i) => h.team === before[i]!.team);
  const prior: ReportProvenanceHop[] = sameTeams ? received.map((h) => ({ ...h })) : before.map((h) => ({ ...h }));
  const hop = await signHop(signer, { ...ours, tlp: own.tlp }, prior[prior.length - 1]);
  return [...prior, hop];
}

export type KeySource = 'pinned' | 'roster' | 'introduced' | 'self';

export interface HopKey {
  key: PeerKey;
  source: KeySource;
}

/** What a receiver found about one hop. */
export interface HopCheck {
  team: string;
  signed: boolean;
  verified: boolean;
  keySource: KeySource | null;
  fingerprint: string | null;
}

export type ChainCheck = { ok: true; checks: HopCheck[] } | { ok: false; problem: string; checks: HopCheck[] };

/**
 * Checks a received chain (originator first, the sender last). It does not chain, and is
 * refused, when a signed hop's `prev` is not the digest of the signed hop before it (or not null
 * after an unsigned one), when a signed hop's `to` is not the next hop's team (the receiver's,
 * for the last), when the last hop is signed but is not the sender's, or when a signature does
 * not verify against the key found for its team. A hop whose team has no key here is kept
 * unverified: the receiver records that, it does not guess.
 */
export async function checkChain(
  hops: readonly ReportProvenanceHop[],
  context: {
    sender: string;
    receiver: string;
    keyFor: (team: string, issuer: SignatureIssuer | null) => Promise<HopKey | null>;
    now?: Date;
  },
): Promise<ChainCheck> {
  const checks: HopCheck[] = [];
  const fail = (problem: string): ChainCheck => ({ ok: false, problem, checks });
  for (const [i, hop] of hops.entries()) {
    const check: HopCheck = { team: hop.team, signed: false, verified: false, keySource: null, fingerprint: null };
    checks.push(check);
    const signature = hop.signature;
    if (signature === undefined) continue;
    const statement = hopStatement(hop);
    if (!statement) return fail(`hop ${i} (${hop.team}) is signed but lacks ref, at, to or prev`);
    check.signed = true;
    const previous = i > 0 ? hopStatement(hops[i - 1]!) : null;
    const expectedPrev = previous ? hopDigest(previous) : null;
    if (statement.prev !== expectedPrev)
      return fail(`hop ${i} (${hop.team}): prev is not the digest of the signed hop before it${expectedPrev === null ? ' (none)' : ''}`);
    const next = hops[i + 1];
    const expectedTo = next ? next.team : context.receiver;
    if (statement.to !== expectedTo) return fail(`hop ${i} (${hop.team}) was addressed to ${statement.to}, not ${expectedTo}`);
    if (!next && hop.team !== context.sender) return fail(`the last signed hop is ${hop.team}'s, not the sender ${context.sender}'s`);
    const found = await context.keyFor(hop.team, await readSignatureIssuer(signature));
    if (!found) continue;
    const result = await verifyDocumentSignature({ document: statement, signature }, found.key, context.now ? { now: context.now } : {});
    if (!result.ok) return fail(`hop ${i} (${hop.team}): the signature does not verify against its ${found.source} key (${result.reason})`);
    check.verified = true;
    check.keySource = found.source;
    check.fingerprint = result.signerFingerprint;
  }
  return { ok: true, checks };
}
