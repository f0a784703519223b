import t from 'tap';
import { allowedNextPhases, canMovePhase } from '../../src/modules/incidents/phase-transitions.js';
import { PHASES, type Phase } from '../../schemas/incident.schema.js';

/**
 * The lifecycle rule as a table written out by hand, so a change to canMovePhase must be a
 * change to this table too (and to docs/incident-lifecycle.md, which shows the same rule).
 *
 * Rows: from; columns: to, in the order of the nine steps. 'X' allowed, '.' refused.
 * - forward to any later phase (steps may be skipped), except out of closed;
 * - back only to analysis (new facts reopen the analysis), closed included;
 * - never to the same phase.
 */
const COLUMNS: Phase[] = [
  'triage',
  'analysis',
  'notification',
  'evidence',
  'containment',
  'eradication',
  'recovery',
  'lessons-learned',
  'closed',
];
const EXPECTED: Record<Phase, string> = {
  //                 tri ana not evi con era rec les clo
  triage: /*      */ '.   X   X   X   X   X   X   X   X',
  analysis: /*    */ '.   .   X   X   X   X   X   X   X',
  notification: /**/ '.   X   .   X   X   X   X   X   X',
  evidence: /*    */ '.   X   .   .   X   X   X   X   X',
  containment: /* */ '.   X   .   .   .   X   X   X   X',
  eradication: /* */ '.   X   .   .   .   .   X   X   X',
  recovery: /*    */ '.   X   .   .   .   .   .   X   X',
  'lessons-learned': '.   X   .   .   .   .   .   .   X',
  closed: /*      */ '.   X   .   .   .   .   .   .   .',
};

const table = (from: Phase): boolean[] => EXPECTED[from].split(/\s+/).map((c) => c === 'X');

t.test('the table covers the nine phases in lifecycle order', async (t) => {
  t.strictSame(COLUMNS, [...PHASES], 'columns are PHASES in order');
  t.strictSame(Object.keys(EXPECTED).sort(), [...PHASES].sort(), 'one row per phase');
  for (const from of PHASES) t.equal(table(from).length, 9, `row ${from} has nine cells`);
});

t.test('canMovePhase for all 81 pairs', async (t) => {
  let checked = 0;
  for (const from of PHASES) {
    const row = table(from);
    COLUMNS.forEach((to, i) => {
      t.equal(canMovePhase(from, to), row[i], `${from} -> ${to}: ${row[i] ? 'allowed' : 'refused'}`);
      checked++;
    });
  }
  t.equal(checked, 81);
});

t.test('allowedNextPhases lists exactly the allowed targets, in lifecycle order', async (t) => {
  for (const from of PHASES) {
    const row = table(from);
    t.strictSame(
      allowedNextPhases(from),
      COLUMNS.filter((_, i) => row[i]),
      `from ${from}`,
    );
  }
  t.strictSame(allowedNextPhases('closed'), ['analysis'], 'a closed incident can only be reopened');
});
