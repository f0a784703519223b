import type { Tlp } from '../../../schemas/common.schema.js';
import type { Provenance, ProvenanceHop, RedistributionLimit } from '../../../schemas/policy.schema.js';
import { stricterTlp, tlpRank } from './policy-order.js';
import { LIMIT_IMPLIED_BY_TLP } from './sharing-policy.js';

/**
 * What a holder does with a label change a team upstream sent for its copy (issue 11 item 3;
 * docs/trust-model.md §4.7). Pure.
 *
 * - Only a team in the copy's provenance chain (the originator or a hop before us) speaks for
 *   the copy's label; anyone else's change is recorded in the journal and not applied.
 * - **Tightening binds at once**, whoever upstream sends it: a relay may restrict, never loosen
 *   (TLP 2.0). The sender's hop (and the originator's label, when it is the originator) takes
 *   the new label, the copy's label becomes the stricter of its own and the new one, and the
 *   redistribution limit follows. From then on every decision about the copy enforces it.
 * - **Loosening only from the originator's own signed update**: its hop and label take the new
 *   label; every later hop's stricter label still holds. The copy's own label follows only if it
 *   followed the originator's before (a holder's handler who restricted it further keeps that).
 */
export interface LabelChangeInput {
  /** The copy's provenance as recorded; null for our own incident. */
  provenance: Provenance | null;
  /** The copy's own label. */
  incidentTlp: Tlp;
  /** The team that sent the change (the message's verified sender). */
  from: string;
  /** The label it says the report now carries. */
  to: Tlp;
}

export type LabelChangeOutcome =
  | { apply: false; reason: string }
  | {
      apply: true;
      direction: 'tightened' | 'loosened';
      /** The copy's new label. */
      tlp: Tlp;
      /** The provenance's label part as it becomes. */
      provenance: { originatorTlp: Tlp; chain: ProvenanceHop[]; redistribution: RedistributionLimit };
      reason: string;
    };

const strictestOf = (labels: readonly Tlp[]): Tlp => labels.reduce<Tlp>((a, b) => stricterTlp(a, b), 'CLEAR');

export function decideLabelChange(input: LabelChangeInput): LabelChangeOutcome {
  const { provenance, incidentTlp, from, to } = input;
  if (!provenance) return { apply: false, reason: 'our own incident: only our handlers set its label' };
  if (!provenance.chain.some((hop) => hop.team === from)) {
    return {
      apply: false,
      reason: `${from} is not upstream of our copy (originator ${provenance.originator}): it does not set the copy's label`,
    };
  }
  const effective = strictestOf([incidentTlp, provenance.originatorTlp, ...provenance.chain.map((h) => h.tlp)]);
  const isOriginator = from === provenance.originator;
  if (tlpRank(to) > tlpRank(effective)) {
    const chain = provenance.chain.map((h) => (h.team === from ? { ...h, tlp: stricterTlp(h.tlp, to) } : { ...h }));
    const originatorTlp = isOriginator ? stricterTlp(provenance.originatorTlp, to) : provenance.originatorTlp;
    const label = stricterTlp(effective, to);
    const limit = provenance.limit ?? 'none';
    const implied = LIMIT_IMPLIED_BY_TLP[label];
    return {
      apply: true,
      direction: 'tightened',
      tlp: stricterTlp(incidentTlp, to),
      provenance: { originatorTlp, chain, redistribution: rankLimit(limit) >= rankLimit(implied) ? limit : implied },
      reason: `${from} tightened the label from TLP:${effective} to TLP:${to}: applied at once (a relay may restrict, never loosen)`,
    };
  }
  if (tlpRank(to) < tlpRank(effective)) {
    if (!isOriginator)
      return {
        apply: false,
        reason: `${from} is not the originator (${provenance.originator}): only the originator loosens a label`,
      };
    const chain = provenance.chain.map((h, i) => (i === 0 ? { ...h, tlp: to } : { ...h }));
    const label = strictestOf([to, ...chain.slice(1).map((h) => h.tlp)]);
    // The copy followed the chain's label, or a handler here restricted it further.
    const followed = tlpRank(incidentTlp) <= tlpRank(strictestOf([provenance.originatorTlp, ...provenance.chain.map((h) => h.tlp)]));
    return {
      apply: true,
      direction: 'loosened',
      tlp: followed ? label : stricterTlp(incidentTlp, label),
      provenance: { originatorTlp: to, chain, redistribution: LIMIT_IMPLIED_BY_TLP[label] },
      reason: `the originator ${from} loosened its label to TLP:${to}; the copy is now TLP:${label}${followed ? '' : ' (our own stricter label stays)'}`,
    };
  }
  return { apply: false, reason: `TLP:${to} is already what the copy carries (TLP:${effective})` };
}

const LIMIT_RANK: Record<RedistributionLimit, number> = { none: 0, constituency: 1, 'no-further': 2 };
const rankLimit = (l: RedistributionLimit): number => LIMIT_RANK[l];

/**
 * May a holder be told that the label of a report it holds was tightened, when the sharing
 * policy refuses it the update itself (a RED it is not named on)? Yes: the notice carries the
 * reference numbers and the new label only, nothing it does not hold already, and without it the
 * holder would go on treating the report under the old, looser label.
 */
export function mayNotifyLabelTightening(from: Tlp, to: Tlp, holder: boolean): { allow: boolean; reason: string } {
  if (!holder) return { allow: false, reason: 'the recipient does not hold the report' };
  if (tlpRank(to) <= tlpRank(from)) return { allow: false, reason: `TLP:${from} to TLP:${to} is not a tightening` };
  return {
    allow: true,
    reason: `a holder is told the label tightened from TLP:${from} to TLP:${to}: the notice carries nothing it does not hold`,
  };
}
