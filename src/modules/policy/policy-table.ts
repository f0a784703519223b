import { TLP_LABELS, type Tlp } from '../../../schemas/common.schema.js';
import {
  POLICY_SECTIONS,
  PURPOSES,
  TRUST_LEVELS,
  type Detail,
  type PolicyItem,
  type PolicyRecipient,
  type PolicySection,
  type Purpose,
  type TrustLevel,
} from '../../../schemas/policy.schema.js';

/**
 * THE decision table: the expected outcome of `decide` for every trust level x TLP label x
 * purpose, under a handful of fixed scenarios (who the recipient is, whether a handler chose it,
 * whether the report was received from another team, ...).
 *
 * It is written by hand, as the specification, and is not computed from `decide`:
 * test/policy/decision-table.test.ts asserts `decide` against every row, and docs/trust-model.md
 * shows the same rows (rendered by render-trust-model-doc.ts, checked by a test), so code, test
 * and documentation cannot drift apart.
 *
 * Notation of `expected`: one string per purpose, five groups in TLP order (CLEAR GREEN AMBER
 * AMBER+STRICT RED), four characters per group in trust order (unknown community partner close):
 *   F  allowed, full detail (with the section redactions of EXPECTED_REDACTIONS)
 *   S  allowed, summary detail only
 *   .  denied
 */

export const OUR_TEAM = 'US';
export const RECIPIENT = 'THEM';
export const ORIGINATOR = 'ORIGIN';

export type ExpectedCell = 'F' | 'S' | '.';

export interface PolicyScenario {
  id: string;
  title: string;
  /** The fixed inputs, in words, for the documentation. */
  description: string;
  item(tlp: Tlp): PolicyItem;
  recipient(trust: TrustLevel): PolicyRecipient;
  expected: Readonly<Record<Purpose, string>>;
}

/** Every row's incident has all five sections, so the redactions show. */
const ALL_SECTIONS: PolicySection[] = [...POLICY_SECTIONS];

const own = (tlp: Tlp, extra: Partial<PolicyItem> = {}): PolicyItem => ({
  ourTeamId: OUR_TEAM,
  tlp,
  sections: ALL_SECTIONS,
  ...extra,
});

/** A report ORIGIN sent us directly, marked with the row's label. */
const received = (tlp: Tlp, extra: Partial<PolicyItem> = {}, relayRequestedTo?: string[]): PolicyItem => ({
  ourTeamId: OUR_TEAM,
  tlp,
  sections: ALL_SECTIONS,
  provenance: {
    originator: ORIGINATOR,
    originatorTlp: tlp,
    receivedFrom: ORIGINATOR,
    ...(relayRequestedTo ? { relayRequestedTo } : {}),
    chain: [{ team: ORIGINATOR, tlp }],
  },
  ...extra,
});

const team =
  (relationship: 'peer' | 'coordinator' | 'member') =>
  (trust: TrustLevel): PolicyRecipient => ({ id: RECIPIENT, kind: 'team', relationship, trust });
const site = (trust: TrustLevel): PolicyRecipient => ({ id: RECIPIENT, kind: 'site', trust });
const outside = (trust: TrustLevel): PolicyRecipient => ({ id: RECIPIENT, kind: 'external', trust });

const DENY_ALL = '.... .... .... .... ....';

export const POLICY_SCENARIOS: readonly PolicyScenario[] = [
  {
    id: 'peer-unsolicited',
    title: 'A lateral peer, not chosen',
    description:
      'Our own incident; the recipient is a lateral peer team that no handler chose, whose constituency is not involved, not named for RED, without law-enforcement approval. What goes out automatically.',
    item: (tlp) => own(tlp),
    recipient: team('peer'),
    expected: {
      direct: 'FFFF .FFF .... .... ....',
      relay: DENY_ALL,
      broadcast: 'FFFF .FFF .... .... ....',
      'coordinator-feed': DENY_ALL,
      'pull-feed': 'FFFF .FFF .... .... ....',
      'law-enforcement': DENY_ALL,
      press: DENY_ALL,
    },
  },
  {
    id: 'peer-chosen',
    title: 'A lateral peer a handler chose',
    description: 'Our own incident; a handler explicitly chose the recipient (a share); not named for RED; no law-enforcement approval.',
    item: (tlp) => own(tlp, { chosenRecipients: [RECIPIENT] }),
    recipient: team('peer'),
    expected: {
      direct: 'FFFF .FFF ..FF ..FF ....',
      relay: DENY_ALL,
      broadcast: 'FFFF .FFF ..FF ..FF ....',
      'coordinator-feed': DENY_ALL,
      'pull-feed': 'FFFF .FFF ..FF ..FF ....',
      'law-enforcement': DENY_ALL,
      press: 'FFFF .... .... .... ....',
    },
  },
  {
    id: 'peer-named-approved',
    title: 'Chosen, named for RED, law enforcement approved',
    description:
      'Our own incident; a handler chose the recipient, named it as a RED recipient of this incident, and approved a law-enforcement disclosure to it with a recorded legal basis.',
    item: (tlp) =>
      own(tlp, {
        chosenRecipients: [RECIPIENT],
        redRecipients: [RECIPIENT],
        lawEnforcementApprovals: [{ recipient: RECIPIENT, approvedBy: 'handler-1', legalBasis: 'Court order 2026-123' }],
      }),
    recipient: team('peer'),
    expected: {
      direct: 'FFFF .FFF ..FF ..FF ..FF',
      relay: DENY_ALL,
      broadcast: 'FFFF .FFF ..FF ..FF ....',
      'coordinator-feed': DENY_ALL,
      'pull-feed': 'FFFF .FFF ..FF ..FF ....',
      'law-enforcement': 'FFFF .FFF ..FF ..FF ..FF',
      press: 'FFFF .... .... .... ....',
    },
  },
  {
    id: 'peer-constituency-involved',
    title: 'A lateral peer whose constituency is involved',
    description: 'Our own incident; nobody chose the recipient, but a host of the incident is in its constituency (need-to-know).',
    item: (tlp) => own(tlp, { involvedRecipients: [RECIPIENT] }),
    recipient: team('peer'),
    expected: {
      direct: 'FFFF .FFF ..FF ..FF ....',
      relay: DENY_ALL,
      broadcast: 'FFFF .FFF ..FF ..FF ....',
      'coordinator-feed': DENY_ALL,
      'pull-feed': 'FFFF .FFF ..FF ..FF ....',
      'law-enforcement': DENY_ALL,
      press: DENY_ALL,
    },
  },
  {
    id: 'coordinator',
    title: 'Our coordinator, not chosen',
    description:
      'Our own incident; the recipient is our coordinator; nobody chose it. Its need to know covers the activity (summary) unless it is close.',
    item: (tlp) => own(tlp),
    recipient: team('coordinator'),
    expected: {
      direct: 'FFFF .FFF ..SF ..SF ....',
      relay: DENY_ALL,
      broadcast: 'FFFF .FFF ..SF ..SF ....',
      'coordinator-feed': 'FFFF .FFF ..SF ..SF ....',
      'pull-feed': 'FFFF .FFF ..SF ..SF ....',
      'law-enforcement': DENY_ALL,
      press: DENY_ALL,
    },
  },
  {
    id: 'received-relay-requested',
    title: 'Received; the originator asked us to relay it to the recipient',
    description:
      "A report ORIGIN sent us with the row's label; ORIGIN asked us to relay it to the recipient, a lateral peer nobody here chose.",
    item: (tlp) => received(tlp, {}, [RECIPIENT]),
    recipient: team('peer'),
    expected: {
      direct: 'FFFF .FFF .... .... ....',
      relay: 'FFFF .FFF ..FF .... ....',
      broadcast: 'FFFF .FFF .... .... ....',
      'coordinator-feed': DENY_ALL,
      'pull-feed': 'FFFF .FFF .... .... ....',
      'law-enforcement': DENY_ALL,
      press: DENY_ALL,
    },
  },
  {
    id: 'received-own-site',
    title: "Received; re-shared with one of our own constituency's sites",
    description: "A report ORIGIN sent us with the row's label; a handler chose to pass it to one of our own constituency's sites.",
    item: (tlp) => received(tlp, { chosenRecipients: [RECIPIENT] }),
    recipient: site,
    expected: {
      direct: 'FFFF .FFF ..FF .... ....',
      relay: DENY_ALL,
      broadcast: 'FFFF .FFF ..FF .... ....',
      'coordinator-feed': DENY_ALL,
      'pull-feed': 'FFFF .FFF ..FF .... ....',
      'law-enforcement': DENY_ALL,
      press: 'FFFF .... .... .... ....',
    },
  },
  {
    id: 'received-other-team',
    title: 'Received; re-shared with another team',
    description:
      "A report ORIGIN sent us with the row's label; a handler chose to pass it to another team (a lateral peer, not in the provenance chain).",
    item: (tlp) => received(tlp, { chosenRecipients: [RECIPIENT] }),
    recipient: team('peer'),
    expected: {
      direct: 'FFFF .FFF .... .... ....',
      relay: DENY_ALL,
      broadcast: 'FFFF .FFF .... .... ....',
      'coordinator-feed': DENY_ALL,
      'pull-feed': 'FFFF .FFF .... .... ....',
      'law-enforcement': DENY_ALL,
      press: 'FFFF .... .... .... ....',
    },
  },
  {
    id: 'received-to-our-member',
    title: 'Received; a coordinator passes it to one of its member teams',
    description:
      'A report ORIGIN sent us with the row\'s label; we coordinate the recipient (it is our member: TLP 2.0\'s "clients" of a coordinating CSIRT) and a handler chose to pass the report to it.',
    item: (tlp) => received(tlp, { chosenRecipients: [RECIPIENT] }),
    recipient: team('member'),
    expected: {
      direct: 'FFFF .FFF ..FF .... ....',
      relay: DENY_ALL,
      broadcast: 'FFFF .FFF ..FF .... ....',
      'coordinator-feed': DENY_ALL,
      'pull-feed': 'FFFF .FFF ..FF .... ....',
      'law-enforcement': DENY_ALL,
      press: 'FFFF .... .... .... ....',
    },
  },
  {
    id: 'received-retracted',
    title: 'Received, then retracted by its originator',
    description:
      "A report ORIGIN sent us with the row's label, that ORIGIN has since retracted (a hoax); a handler chose the recipient, which is also named for RED and approved for law enforcement. Nothing of a retracted report goes anywhere (rule retracted).",
    item: (tlp) =>
      received(tlp, {
        chosenRecipients: [RECIPIENT],
        redRecipients: [RECIPIENT],
        lawEnforcementApprovals: [{ recipient: RECIPIENT, approvedBy: 'handler-1', legalBasis: 'Court order 2026-123' }],
        retracted: { originator: ORIGINATOR, reason: 'hoax' },
      }),
    recipient: team('peer'),
    expected: {
      direct: DENY_ALL,
      relay: DENY_ALL,
      broadcast: DENY_ALL,
      'coordinator-feed': DENY_ALL,
      'pull-feed': DENY_ALL,
      'law-enforcement': DENY_ALL,
      press: DENY_ALL,
    },
  },
  {
    id: 'outside-law-enforcement-approved',
    title: 'An outside recipient: a law-enforcement agency a handler approved',
    description:
      'Our own incident; the recipient has no peer record (an agency, kind external: no relationship, the trust is the node setting, partner by default); a handler approved a law-enforcement disclosure to it with a legal basis (ADR 0023), did not choose it for anything else, and did not name it for RED. The node asks only the law-enforcement purpose for an agency and only press for the press; the other purposes are shown for completeness.',
    item: (tlp) =>
      own(tlp, { lawEnforcementApprovals: [{ recipient: RECIPIENT, approvedBy: 'handler-1', legalBasis: 'Court order 2026-123' }] }),
    recipient: outside,
    expected: {
      direct: 'FFFF .FFF .... .... ....',
      relay: DENY_ALL,
      broadcast: 'FFFF .FFF .... .... ....',
      'coordinator-feed': DENY_ALL,
      'pull-feed': 'FFFF .FFF .... .... ....',
      'law-enforcement': 'FFFF .FFF ..FF ..FF ....',
      press: DENY_ALL,
    },
  },
];

/**
 * Sections redacted from a full-detail item under the default minimums (reporter partner, poc
 * community, victims partner, evidence partner, internalHosts close), by recipient trust. The
 * press is the public: it always gets the `unknown` row.
 */
export const EXPECTED_REDACTIONS: Readonly<Record<TrustLevel, readonly PolicySection[]>> = {
  unknown: ['reporter', 'poc', 'victims', 'evidence', 'internalHosts'],
  community: ['reporter', 'victims', 'evidence', 'internalHosts'],
  partner: ['internalHosts'],
  close: [],
};

/** Whether an allowed recipient may pass the item on beyond its own organisation. */
export const EXPECTED_MAY_REDISTRIBUTE: Readonly<Record<Tlp, boolean>> = {
  CLEAR: true,
  GREEN: true,
  AMBER: true, // to its own clients, need-to-know
  'AMBER+STRICT': false,
  RED: false,
};

export interface PolicyTableRow {
  scenario: string;
  trust: TrustLevel;
  tlp: Tlp;
  purpose: Purpose;
  allow: boolean;
  detail: Detail;
  redactions: readonly PolicySection[];
  mayRedistribute: boolean;
  item: PolicyItem;
  recipient: PolicyRecipient;
}

const CELL_DETAIL: Record<ExpectedCell, Detail> = { F: 'full', S: 'summary', '.': 'none' };

/** Parses one `expected` string into cells indexed [tlp][trust]; throws on a malformed string so a typo cannot pass silently. */
export function parseExpected(spec: string): ExpectedCell[][] {
  const groups = spec.trim().split(/\s+/);
  if (groups.length !== TLP_LABELS.length || groups.some((g) => !/^[FS.]{4}$/.test(g))) {
    throw new Error(`malformed decision-table entry "${spec}": want ${TLP_LABELS.length} groups of 4 of F, S, .`);
  }
  return groups.map((g) => [...g] as ExpectedCell[]);
}

function expandScenario(s: PolicyScenario): PolicyTableRow[] {
  const rows: PolicyTableRow[] = [];
  for (const purpose of PURPOSES) {
    const cells = parseExpected(s.expected[purpose]);
    TLP_LABELS.forEach((tlp, li) => {
      TRUST_LEVELS.forEach((trust, ti) => {
        const cell = cells[li]![ti]!;
        const detail = CELL_DETAIL[cell];
        const allow = detail !== 'none';
        rows.push({
          scenario: s.id,
          trust,
          tlp,
          purpose,
          allow,
          detail,
          redactions: detail === 'full' ? EXPECTED_REDACTIONS[purpose === 'press' ? 'unknown' : trust] : [],
          mayRedistribute: allow && EXPECTED_MAY_REDISTRIBUTE[tlp],
          item: s.item(tlp),
          recipient: s.recipient(trust),
        });
      });
    });
  }
  return rows;
}

/** Every scenario x purpose x TLP label x trust level: 11 x 7 x 5 x 4 = 1540 rows. */
export const POLICY_TABLE: readonly PolicyTableRow[] = Object.freeze(POLICY_SCENARIOS.flatMap(expandScenario));
