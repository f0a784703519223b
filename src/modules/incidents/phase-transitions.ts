import { PHASES, type Phase } from '../../../schemas/incident.schema.js';

/**
 * Which phase an incident may move to (§5, the nine steps). Pure, so the rule is one table that
 * docs/incident-lifecycle.md shows and a test walks exhaustively.
 *
 * - Forward to any later phase: not every step applies to every incident (a scan report needs
 *   no eradication), so steps may be skipped.
 * - Back to `analysis` from any later phase, `closed` included: new facts reopen the analysis
 *   (a report first taken for an attack may turn out to be a misconfiguration, §7).
 * - Nothing else goes backwards: the journal would no longer tell a straight story.
 */
export function canMovePhase(from: Phase, to: Phase): boolean {
  if (from === to) return false;
  const a = PHASES.indexOf(from);
  const b = PHASES.indexOf(to);
  if (b > a) return from !== 'closed';
  return to === 'analysis';
}

export function allowedNextPhases(from: Phase): Phase[] {
  return PHASES.filter((to) => canMovePhase(from, to));
}
