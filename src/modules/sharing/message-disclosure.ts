import type { Clock } from '../../clock.js';
import type { DbOrTx } from '../../db/database.js';
import type { Tlp } from '../../../schemas/common.schema.js';
import type { Incident } from '../../../schemas/incident.schema.js';
import type { PolicyDecision, PolicyItem, Purpose, TrustInputs } from '../../../schemas/policy.schema.js';
import type { RecipientBlock } from '../../../schemas/sharing.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { PeerDirectory, PeerRecord } from '../peers/peers.module.js';
import {
  decide,
  DEFAULT_TRUST_RULES,
  effectiveTrust,
  scrubberFor,
  stricterTlp,
  type PolicyConfig,
  type Scrubber,
} from '../policy/index.js';
import { trustInputsFrom, trustInputsOf } from './peer-trust.js';
import { membershipsOfTeams, ourGroupPolicies } from '../groups/groups.module.js';
import { payloadDigest } from './disclosure-decision.js';
import { type SharingService } from './sharing.service.js';

/**
 * Disclosure of a message a handler writes for a team (an inquiry to a forum member, an answer
 * to its poster) rather than of an incident: the sharing policy decides it for that team and
 * purpose, and the decision is audited (kind `disclosure.decision`) whether it allows or not.
 *
 * - About one of our incidents: decided as that incident under the stricter of the two labels
 *   (the incident's sections, provenance and RED recipients count), and what goes is scrubbed
 *   of the identifiers the decision hides from that team.
 * - About no incident: decided on the message's label alone (no sections, nothing to redact).
 *
 * The handler's writing to the team is its need to know for this message only (not remembered
 * on the incident). The audit entry holds ids, labels and a digest, never the content.
 */
export interface MessageDisclosureInput<T> {
  tlp: Tlp;
  incident: Incident | null;
  /** What will be sent to this team: the scrubber hides what the decision hides (null: nothing to hide). */
  render: (scrubber: Scrubber | null, decision: PolicyDecision) => T;
  actor: string;
  /** Ids and types only, never content. */
  details: Record<string, unknown>;
}

export interface MessageDisclosureOutcome<T> {
  allow: boolean;
  decision: PolicyDecision;
  deniedBy: string[];
  content: T | null;
}

export interface MessageDisclosureDeps {
  config: { teamId: string };
  peers: Pick<PeerDirectory, 'find' | 'listRecords'>;
  audit: AuditLog;
  clock: Clock;
  sharing: Pick<SharingService, 'evaluate' | 'record'>;
  policy?: PolicyConfig;
}

export function createMessageDisclosure(deps: MessageDisclosureDeps) {
  const { config, peers, audit, clock, sharing } = deps;
  const rules = deps.policy?.trustRules ?? DEFAULT_TRUST_RULES;

  async function aboutIncident<T>(
    tx: DbOrTx,
    teamId: string,
    purpose: Purpose,
    input: MessageDisclosureInput<T> & { incident: Incident },
  ): Promise<MessageDisclosureOutcome<T>> {
    const incident = { ...input.incident, tlp: stricterTlp(input.incident.tlp, input.tlp) };
    const options = {
      actor: input.actor,
      chosenByHandler: true,
      rememberChoice: false,
      render: (_payload: unknown, decision: PolicyDecision) => {
        const scrubber = scrubberFor(incident, decision);
        return input.render(scrubber.empty ? null : scrubber, decision);
      },
    };
    const outcome = await sharing.evaluate(tx, incident, { teamId }, purpose, options);
    await sharing.record(tx, incident, outcome, { ...options, details: input.details });
    return { allow: outcome.allow, decision: outcome.decision, deniedBy: outcome.deniedBy, content: outcome.content as T | null };
  }

  /** What a decision about no incident needs of one team: its record and trust inputs (null: not a peer). */
  type TeamFacts = { peer: PeerRecord | null; inputs: TrustInputs | null };

  async function aboutNoIncident<T>(
    tx: DbOrTx,
    teamId: string,
    purpose: Purpose,
    input: MessageDisclosureInput<T>,
    facts?: TeamFacts,
  ): Promise<MessageDisclosureOutcome<T>> {
    const peer = facts ? facts.peer : await peers.find(tx, teamId);
    const blockedBy: RecipientBlock[] = !peer
      ? ['recipient-unknown']
      : peer.status === 'suspended'
        ? ['peer-suspended']
        : peer.status === 'key-changed'
          ? ['peer-key-changed']
          : [];
    const inputs = facts ? facts.inputs : peer ? await trustInputsOf(tx, peer) : null;
    const item: PolicyItem = { ourTeamId: config.teamId, tlp: input.tlp, sections: [], chosenRecipients: [teamId] };
    const recipient = inputs
      ? { id: teamId, kind: 'team' as const, relationship: peer!.relationship, trust: inputs }
      : { id: teamId, kind: 'team' as const, trust: 'unknown' as const };
    let decision = decide(item, recipient, purpose, { ...(deps.policy ? { config: deps.policy } : {}), now: clock() });
    if (blockedBy.length > 0)
      decision = { ...decision, allow: false, detail: 'none', redactions: [], mayRedistribute: false, provenance: null };
    const deniedBy = [...blockedBy, ...decision.deniedBy];
    const content = decision.allow ? input.render(null, decision) : null;
    const trust = inputs ? effectiveTrust(inputs.peer, inputs.ourGroups, rules).level : 'unknown';
    await audit.append(tx, {
      kind: 'disclosure.decision',
      actor: input.actor,
      incidentId: null,
      peer: teamId,
      decision: decision.allow ? 'allow' : 'deny',
      details: {
        ...input.details,
        purpose,
        recipient: { kind: 'team', id: teamId },
        policyVersion: decision.policyVersion,
        tlp: decision.tlp,
        trust,
        detail: decision.detail,
        chosenByHandler: true,
        deniedBy,
        reasons: decision.reasons,
        payloadSha256: content === null ? null : payloadDigest(content),
      },
    });
    return { allow: decision.allow, decision, deniedBy, content };
  }

  /** The peers among `teamIds` and their facts in three statements: all peers, their group memberships, our groups. */
  async function peerFactsOf(tx: DbOrTx, teamIds: readonly string[]): Promise<Map<string, TeamFacts>> {
    const records = new Map((await peers.listRecords(tx, {})).map((p) => [p.teamId, p]));
    const ours = teamIds.filter((teamId) => records.has(teamId));
    const memberships = await membershipsOfTeams(tx, ours);
    const ourGroups = await ourGroupPolicies(tx);
    const out = new Map<string, TeamFacts>();
    for (const teamId of ours) {
      const peer = records.get(teamId)!;
      out.set(teamId, { peer, inputs: trustInputsFrom(peer, memberships.get(teamId) ?? [], ourGroups) });
    }
    return out;
  }

  return {
    /** Decides the disclosure of this message to `teamId` for `purpose` and audits it, in the caller's transaction. */
    decideAndRecord<T>(
      tx: DbOrTx,
      teamId: string,
      purpose: Purpose,
      input: MessageDisclosureInput<T>,
    ): Promise<MessageDisclosureOutcome<T>> {
      return input.incident
        ? aboutIncident(tx, teamId, purpose, { ...input, incident: input.incident })
        : aboutNoIncident(tx, teamId, purpose, input);
    },

    /**
     * decideAndRecord for many teams at once (a forum inquiry to every member): the same
     * decisions and audit entries, with the teams' facts read once for all of them rather than
     * once per team. A team that is not our peer gets no outcome, nothing decided or audited (the
     * caller says why it was left out). About an incident, each peer is decided as decideAndRecord does.
     */
    async decideManyAndRecord<T>(
      tx: DbOrTx,
      teamIds: readonly string[],
      purpose: Purpose,
      input: MessageDisclosureInput<T>,
    ): Promise<Map<string, MessageDisclosureOutcome<T>>> {
      const facts = await peerFactsOf(tx, teamIds);
      const out = new Map<string, MessageDisclosureOutcome<T>>();
      for (const [teamId, known] of facts)
        out.set(
          teamId,
          input.incident
            ? await aboutIncident(tx, teamId, purpose, { ...input, incident: input.incident })
            : await aboutNoIncident(tx, teamId, purpose, input, known),
        );
      return out;
    },
  };
}

export type MessageDisclosure = ReturnType<typeof createMessageDisclosure>;
