import t from 'tap';
import { decideLabelChange, mayNotifyLabelTightening } from '../../src/modules/policy/index.js';
import type { Provenance } from '../../schemas/policy.schema.js';

/** Issue 11 item 3: a label the originator changes binds the holder (docs/trust-model.md §4.7). */
const direct = (tlp: Provenance['originatorTlp']): Provenance => ({
  originator: 'alpha',
  originatorTlp: tlp,
  receivedFrom: 'alpha',
  chain: [{ team: 'alpha', tlp }],
});
const relayed: Provenance = {
  originator: 'alpha',
  originatorTlp: 'GREEN',
  receivedFrom: 'bravo',
  chain: [
    { team: 'alpha', tlp: 'GREEN' },
    { team: 'bravo', tlp: 'AMBER' },
  ],
};

t.test('tightening from the originator applies at once, provenance and limit included', async (t) => {
  const out = decideLabelChange({ provenance: direct('GREEN'), incidentTlp: 'GREEN', from: 'alpha', to: 'RED' });
  t.match(out, {
    apply: true,
    direction: 'tightened',
    tlp: 'RED',
    provenance: { originatorTlp: 'RED', chain: [{ team: 'alpha', tlp: 'RED' }], redistribution: 'no-further' },
  });
});

t.test('a hop upstream may tighten; only the originator loosens', async (t) => {
  t.match(decideLabelChange({ provenance: relayed, incidentTlp: 'AMBER', from: 'bravo', to: 'AMBER+STRICT' }), {
    apply: true,
    tlp: 'AMBER+STRICT',
    provenance: { originatorTlp: 'GREEN' },
  });
  t.match(decideLabelChange({ provenance: relayed, incidentTlp: 'AMBER', from: 'bravo', to: 'CLEAR' }), {
    apply: false,
    reason: /only the originator/,
  });
  const loosened = decideLabelChange({ provenance: relayed, incidentTlp: 'AMBER', from: 'alpha', to: 'CLEAR' });
  t.match(
    loosened,
    {
      apply: true,
      direction: 'loosened',
      tlp: 'AMBER',
      provenance: { originatorTlp: 'CLEAR', redistribution: 'constituency' },
    },
    "bravo's stricter hop still holds",
  );
});

t.test('loosening keeps a stricter label the holder set itself', async (t) => {
  const out = decideLabelChange({ provenance: direct('AMBER'), incidentTlp: 'RED', from: 'alpha', to: 'GREEN' });
  t.match(out, {
    apply: true,
    direction: 'loosened',
    tlp: 'RED',
    provenance: { originatorTlp: 'GREEN', redistribution: 'none' },
  });
  const followed = decideLabelChange({ provenance: direct('AMBER'), incidentTlp: 'AMBER', from: 'alpha', to: 'GREEN' });
  t.match(followed, { apply: true, tlp: 'GREEN' });
});

t.test('a team outside the chain, our own incident, no change: nothing applied', async (t) => {
  t.match(decideLabelChange({ provenance: direct('GREEN'), incidentTlp: 'GREEN', from: 'mallory', to: 'RED' }), {
    apply: false,
    reason: /not upstream/,
  });
  t.match(decideLabelChange({ provenance: null, incidentTlp: 'GREEN', from: 'alpha', to: 'RED' }), {
    apply: false,
    reason: /own incident/,
  });
  t.match(decideLabelChange({ provenance: direct('AMBER'), incidentTlp: 'AMBER', from: 'alpha', to: 'AMBER' }), {
    apply: false,
  });
});

t.test('a holder is told of a tightening, never of anything else', async (t) => {
  t.equal(mayNotifyLabelTightening('GREEN', 'RED', true).allow, true);
  t.equal(mayNotifyLabelTightening('RED', 'GREEN', true).allow, false);
  t.equal(mayNotifyLabelTightening('GREEN', 'RED', false).allow, false);
});
