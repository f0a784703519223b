/**
 * What a holder does with a correction of a report it holds (issue 15 part 4, ADR 0018,
 * docs/trust-model.md §4.8). Pure: the caller has verified what it could and says how.
 *
 * - The statement must name the copy's own originator, and the message must come from a team in
 *   the copy's provenance chain (the team we received it from, or a hop before it).
 * - A signature that does not verify is never applied, whatever the correction does.
 * - **Tightening** needs no verified signature: it only restricts, and any team upstream may
 *   tighten (TLP 2.0: a relay may restrict, never loosen). Verified, it acts as the originator's.
 * - **Retraction** needs the originator's signature verified: with the key pinned here, or with
 *   the key the forwarding team carried (that team vouches for it by its own signature; a relay
 *   could forge it, but a relay could already stop the report by tightening it to RED).
 * - **Loosening** needs the originator's signature verified with a key pinned HERE: it widens who
 *   may see the report, so no relay's word, not even for the originator's key, is enough.
 */
import type { Incident } from '../../../schemas/incident.schema.js';
import type { PolicySection } from '../../../schemas/policy.schema.js';
import { createScrubber } from './identifier-scrub.js';
import { hiddenIdentifiersOf, type RedactionOptions } from './redaction.js';

export type OriginatorSignature = 'pinned' | 'carried' | 'unverifiable' | 'invalid';

export interface CorrectionAcceptanceInput {
  kind: 'relabel' | 'retract';
  /** For a relabel: does the new label loosen the copy's effective label? */
  loosens: boolean;
  /** Does the statement name the copy's originator? */
  originatorMatches: boolean;
  /** Is the sending team in the copy's provenance chain? */
  senderUpstream: boolean;
  signature: OriginatorSignature;
}

export type CorrectionAcceptance =
  | { accept: false; reason: string }
  /** actAs: who the label change is applied as (the originator when its signature verified, else the sender). */
  | { accept: true; actAs: 'originator' | 'sender'; reason: string };

export function decideCorrectionAcceptance(input: CorrectionAcceptanceInput): CorrectionAcceptance {
  const { kind, loosens, originatorMatches, senderUpstream, signature } = input;
  if (!originatorMatches) return { accept: false, reason: 'the statement does not name the originator of our copy' };
  if (!senderUpstream) return { accept: false, reason: 'the sender is not in the provenance chain of our copy: it does not correct it' };
  if (signature === 'invalid') return { accept: false, reason: "the originator's signature over the correction does not verify" };
  const verified = signature === 'pinned' || signature === 'carried';
  if (kind === 'retract') {
    return verified
      ? { accept: true, actAs: 'originator', reason: `the originator's signature verified (${signature} key): the report is retracted` }
      : { accept: false, reason: "a retraction needs the originator's verified signature and no key for the originator is known here" };
  }
  if (loosens) {
    return signature === 'pinned'
      ? { accept: true, actAs: 'originator', reason: "the originator's signature verified with its pinned key: a loosening may apply" }
      : {
          accept: false,
          reason: "a loosening needs the originator's signature verified with a key pinned here; a relay's word is not enough",
        };
  }
  return verified
    ? { accept: true, actAs: 'originator', reason: `the originator's signature verified (${signature} key)` }
    : {
        accept: true,
        actAs: 'sender',
        reason: "no key for the originator here: a tightening applies as the upstream sender's (it only restricts)",
      };
}

/**
 * Which copy a correction is about (ADR 0018, closing the gap ADR 0020's signed hops opened the
 * way to). The forwarder's link names a copy; the copy's signed provenance names the report it
 * is a copy of: its first hop is the originator's own signed word `{team, ref}`. A statement
 * about another report of the same originator does not bind this copy, whatever the link says
 * (a relay replaying an originator's statement about one report onto another). A copy without a
 * signed origin hop (older data, the pull feed, an originator that does not sign hops) can only
 * be matched by the forwarder's link, and the outcome says so.
 */
export interface OriginHopFacts {
  team: string;
  /** The originator's reference number in its signed hop; null when the hop is unsigned. */
  ref: string | null;
  /** Verified on arrival, or now with the key that verified the correction. */
  verified: boolean;
  /** A key for the originator was at hand and the hop's signature does not verify with it. */
  fails: boolean;
}

export type CopyBinding = { bound: true; by: 'signed-origin-hop' | 'forwarder-link'; reason: string } | { bound: false; reason: string };

export function decideCopyBinding(input: { originator: string; originatorRef: string; originHop: OriginHopFacts | null }): CopyBinding {
  const { originator, originatorRef, originHop: hop } = input;
  if (!hop || hop.ref === null)
    return {
      bound: true,
      by: 'forwarder-link',
      reason: "matched by the forwarder's link only: our copy carries no signed origin hop (older data)",
    };
  if (hop.team !== originator)
    return { bound: false, reason: `our copy's signed origin hop is ${hop.team}'s, not the statement's originator ${originator}'s` };
  if (hop.ref !== originatorRef)
    return {
      bound: false,
      reason: `the statement corrects ${originator}'s report ${originatorRef}, and our copy's signed origin hop names ${hop.ref}`,
    };
  if (hop.fails) return { bound: false, reason: "our copy's origin hop does not verify with the originator's key" };
  return {
    bound: true,
    by: 'signed-origin-hop',
    reason: `matched by the originator's signed origin hop (${hop.ref}, ${hop.verified ? 'verified' : 'present, not verified'})`,
  };
}

/**
 * May a correction go to a team? Only to a team we passed the report to (an outgoing link): it
 * carries the reference numbers, the new label or the retraction's reason and note, nothing the
 * holder does not hold already, and without it the holder would go on sharing a report its
 * originator restricted or withdrew.
 */
export function mayForwardCorrection(holder: boolean): { allow: boolean; reason: string } {
  return holder
    ? { allow: true, reason: 'a team we passed the report to is told of its correction: it carries nothing the holder does not hold' }
    : { allow: false, reason: 'the team does not hold the report from us' };
}

/** Every section whose identifiers a redaction can hide. Evidence has none of its own: its text names the hosts. */
const EVERY_IDENTIFIER = ['reporter', 'poc', 'victims', 'internalHosts'] as const;
export type IdentifierSection = (typeof EVERY_IDENTIFIER)[number];
const NOTE_MAX = 2000;

/**
 * A retraction's note, as it may leave this node (ADR 0018). The originator signs it once and
 * every holder reads it, however many hops away and whatever each holder's redaction was: a
 * team two relays down may have received the report with its victims and reporter removed. The
 * signature forbids rewriting it per recipient, so it is written for the widest audience: every
 * identifier any redaction could hide (the reporter's and the POC's names, addresses and
 * numbers, the victims' and internal hosts' names and addresses, in any spelling) is scrubbed,
 * and the sections found are returned for the handler's report.
 */
export function scrubCorrectionNote(
  incident: Incident,
  note: string,
  options: RedactionOptions = {},
): { note: string; sections: IdentifierSection[] } {
  const ids = hiddenIdentifiersOf(incident, new Set<PolicySection>(EVERY_IDENTIFIER), options);
  const { text, sections } = createScrubber(ids).scrub(note);
  const found = EVERY_IDENTIFIER.filter((s) => sections.includes(s));
  return { note: text.length > NOTE_MAX ? text.slice(0, NOTE_MAX) : text, sections: found };
}
