import type { Tlp } from '../../../schemas/common.schema.js';
import type { TrustLevel } from '../../../schemas/policy.schema.js';
import { TLP_MINIMUM_TRUST, trustAtLeast } from '../policy/index.js';

/**
 * May the coordinator name a MEMBER's report (its team and reference number) to another member
 * in an activity.related warning? Pure; the rule is docs/trust-model.md "Coordinator feed".
 *
 * Why not `decide(..., 'direct')`: the coordinator holds no incident for a member's report, only
 * the summary, received under the member's label. Read as a received report, TLP:AMBER may go
 * only to our own constituency's sites (`provenance-constituency-only`), so no warning could
 * ever name a member's AMBER report, and AMBER is what members send. TLP 2.0 lets an AMBER
 * recipient share with "its clients" on a need to know, and a coordinating CSIRT's clients are
 * its member teams (domain §3: a coordination centre's constituency is CSIRTs). The warning
 * names only what the recipient needs to ask the right team: team, reference number, category
 * and label; never the summary's hosts, indicators or counts. So:
 *
 * - CLEAR: named to any member.
 * - GREEN: named to a member trusted at least `community`.
 * - AMBER: named to a member trusted at least `partner`: the need to know is that the
 *   recipient reported the same observable itself (its constituency is involved).
 * - AMBER+STRICT: never named (its holder's organisation only); counted as `withheld`.
 * - RED: never reaches a coordinator (RED never goes in feeds); withheld if it did.
 *
 * Our OWN incidents are real incidents here: the warning asks the sharing service
 * (`decideAndRecord`, purpose `direct`) as every other disclosure does.
 */
export const RELATED_RULE = 'hikeshi-related/1';

export interface NamingDecision {
  named: boolean;
  reason: string;
}

export function mayNameMemberReport(label: Tlp, recipientTrust: TrustLevel): NamingDecision {
  if (label === 'AMBER+STRICT' || label === 'RED') {
    return {
      named: false,
      reason: `TLP:${label} stays with the holder's organisation: the report is counted, not named`,
    };
  }
  const minimum = TLP_MINIMUM_TRUST[label];
  if (!trustAtLeast(recipientTrust, minimum)) {
    return { named: false, reason: `TLP:${label} needs trust ${minimum}; the recipient is ${recipientTrust}` };
  }
  return {
    named: true,
    reason:
      label === 'AMBER'
        ? 'TLP:AMBER to a member with a need to know (it reported the same observable) at partner or above'
        : `TLP:${label} at ${recipientTrust}`,
  };
}
