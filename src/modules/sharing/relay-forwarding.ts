import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import { readPeerKey, type NodeSigner, type PeerKey, type SignatureIssuer } from '../../crypto/index.js';
import type { Tx } from '../../db/database.js';
import type { IncidentReportDocument } from '../../../schemas/federation.schema.js';
import type { Incident } from '../../../schemas/incident.schema.js';
import type { RelayForwardBody, RelayTarget, ReportProvenanceHop } from '../../../schemas/relay.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { Outbox } from '../exchange/exchange.module.js';
import type { IncidentService } from '../incidents/incidents.module.js';
import { rosterFingerprintsOf } from '../forum/forum.module.js';
import type { PeerDirectory } from '../peers/peers.module.js';
import { parseAddress, findSiteByAddress } from '../sites/sites.module.js';
import { findLink, insertLink } from './link.repository.js';
import { signHop, type HopKey } from './relay-hops.js';
import {
  addRelayRequestedTo,
  findPeerServingAddress,
  markDelivered,
  markForwarded,
  markRefused,
  ownProfileServes,
  type RelayRow,
} from './relay.repository.js';
import { payloadDigest } from './disclosure-decision.js';
import { type SharingOutcome, type SharingService } from './sharing.service.js';

/**
 * The relaying step (issue 15 part 2; docs/federation-protocol.md §5.18, §5.21; ADR 0020): a node
 * that holds a copy the originator asked it to pass on decides, with purpose `relay`, whether the
 * next team may have it, and either forwards the originator's signed report intact inside a
 * `relay.forward` of its own (its hop signed and appended) or answers the team that asked with a
 * signed `relay.refused` carrying the policy's reasons. The answers travelling back (delivered,
 * refused) are queued here too. Everything happens in the caller's transaction.
 */
export interface RelayDeps {
  clock: Clock;
  config: Pick<Config, 'teamId'>;
  signer: NodeSigner;
  peers: Pick<PeerDirectory, 'find' | 'listRecords' | 'keyOf' | 'keysPinnedFor'>;
  outbox: Pick<Outbox, 'enqueue' | 'find'>;
  incidents: IncidentService;
  sharing: Pick<SharingService, 'evaluate' | 'record'>;
  audit: AuditLog;
}

/** One relay to pass on: our copy, the originator's signed report, the hops so far (the last addressed to us). */
export interface RelayStep {
  incident: Incident;
  row: RelayRow;
  origin: { document: IncidentReportDocument; signature: string };
  hops: ReportProvenanceHop[];
  /** Keys the team before us carried for hop teams (introduced by it). */
  keys: Record<string, string>;
}

const ACTOR = (teamId: string) => ({ subject: 'node', team: teamId });

/**
 * The fingerprints the signed rosters we hold list for `team`, from forums whose operator we are
 * or whose operator's key we verified (the roster vouches no further than its signer, as for the
 * roster's vouches in the peers module).
 */
async function rosterFingerprints(deps: Pick<RelayDeps, 'peers' | 'config'>, tx: Tx, team: string): Promise<Set<string>> {
  const found = new Set<string>();
  for (const listed of await rosterFingerprintsOf(tx, team)) {
    const operator = listed.operator === deps.config.teamId ? null : await deps.peers.find(tx, listed.operator);
    if (listed.operator === deps.config.teamId || operator?.assurance === 'verified') found.add(listed.fingerprint);
  }
  return found;
}

/**
 * The key this node holds for a hop's team: pinned here, our own, or carried by the relay. A
 * carried key whose fingerprint a forum roster we hold lists for that team is `roster` (the
 * operator signed that fingerprint); one no roster lists is `introduced` (the relay vouches for
 * it); one that contradicts the rosters is not used: the hop stays unverified, and an origin
 * without a usable key is refused.
 */
/** Whether `key` made a signature whose issuer is `issuer` (a fingerprint of the key or a subkey, or a key id). */
const issued = (key: PeerKey, issuer: SignatureIssuer | null): boolean =>
  issuer !== null &&
  (issuer.fingerprint !== null
    ? key.keyFingerprints.includes(issuer.fingerprint)
    : key.keyFingerprints.some((f) => f.endsWith(issuer.keyId)));

/**
 * The key to check a statement `team` signed with, given the signature's issuer: ours (current
 * or retired), a key we pinned for the team (the current one, or one a rotation retired: a hop
 * signed before the rotation still verifies), else one the forwarding team carried (checked
 * against the forum rosters we hold). A pinned team whose signature names none of its keys gets
 * the current key, which then fails to verify: a mismatch is refused, not waved through.
 */
export function keyFinder(deps: Pick<RelayDeps, 'peers' | 'signer' | 'config'>, tx: Tx, carried: Record<string, string>) {
  return async (team: string, issuer: SignatureIssuer | null): Promise<HopKey | null> => {
    if (team === deps.config.teamId) {
      const retired = deps.signer.retiredPublicKeys.find((k) => issued(k, issuer));
      return { key: retired ?? deps.signer.publicKey, source: 'self' };
    }
    const peer = await deps.peers.find(tx, team);
    if (peer) {
      const current = await deps.peers.keyOf(peer);
      if (issued(current, issuer)) return { key: current, source: 'pinned' };
      const former = (await deps.peers.keysPinnedFor(tx, team)).find((k) => issued(k, issuer));
      return { key: former ?? current, source: 'pinned' };
    }
    const armored = carried[team];
    if (armored === undefined) return null;
    let key: HopKey['key'];
    try {
      key = await readPeerKey(armored);
    } catch {
      return null;
    }
    const listed = await rosterFingerprints(deps, tx, team);
    if (listed.size === 0) return { key, source: 'introduced' };
    return listed.has(key.fingerprint) ? { key, source: 'roster' } : null;
  };
}

type Route = { next: string; targetTeam: string | null; reason: string } | { self: true } | { none: string };

/** Where the report goes next: the target when it is our peer, else our coordinator (one more hop). */
async function routeOf(deps: RelayDeps, tx: Tx, target: RelayTarget, hopTeams: Set<string>): Promise<Route> {
  const us = deps.config.teamId;
  let targetTeam: string | null = null;
  if ('team' in target) {
    if (target.team === us) return { none: `${us} is itself the target: the report reached it already` };
    targetTeam = target.team;
  } else {
    const parsed = parseAddress(target.address);
    if (!parsed) return { none: `${target.address} is not an IP address` };
    // Our constituency: a site of ours, or a network our own signed profile declares (what our peers route by).
    if ((await findSiteByAddress(tx, parsed.address)) || (await ownProfileServes(tx, parsed.address))) return { self: true };
    targetTeam = await findPeerServingAddress(tx, parsed.address, [...hopTeams, us]);
  }
  if (targetTeam !== null && hopTeams.has(targetTeam)) return { none: `${targetTeam} already passed this report on: it holds it` };
  const peer = targetTeam !== null ? await deps.peers.find(tx, targetTeam) : null;
  if (peer && peer.status === 'active') return { next: targetTeam!, targetTeam, reason: `${targetTeam} is our peer` };
  const coordinators = await deps.peers.listRecords(tx, { relationship: 'coordinator', status: 'active' });
  const coordinator = coordinators.map((c) => c.teamId).find((c) => !hopTeams.has(c));
  const wanted = targetTeam ?? `whoever serves ${'address' in target ? target.address : ''}`;
  if (coordinator) return { next: coordinator, targetTeam, reason: `${wanted} is not our peer: we ask our coordinator ${coordinator}` };
  return { none: `${wanted} is not an active peer of ${us}, and ${us} has no coordinator to ask` };
}

/** Forwards the report one hop on, or refuses and tells the team that asked. */
export async function relayOnwards(deps: RelayDeps, tx: Tx, step: RelayStep): Promise<void> {
  const { incident, row, origin } = step;
  const target = origin.document.body.relayTo!;
  const hopTeams = new Set(step.hops.map((h) => h.team));
  const route = await routeOf(deps, tx, target, hopTeams);
  if ('none' in route) {
    await deps.audit.append(tx, {
      kind: 'relay-refused',
      actor: 'node',
      incidentId: incident.id,
      peer: row.requestedFrom,
      decision: 'deny',
      details: { by: deps.config.teamId, deniedBy: ['relay-no-route'], origin: row.origin },
    });
    await refuse(deps, tx, step, {
      reasons: [`Denied [relay-no-route]: ${route.none}.`],
      deniedBy: ['relay-no-route'],
      policyVersion: 'n/a',
    });
    return;
  }
  if ('self' in route) {
    // The address is in our own constituency: we are whoever serves it; our copy is the delivery.
    const at = deps.clock();
    await markDelivered(tx, row.origin.team, row.origin.id, { targetTeam: deps.config.teamId, targetRef: incident.ref, receipt: '', at });
    await sendDelivered(deps, tx, row, { target: deps.config.teamId, targetRef: incident.ref, path: [deps.config.teamId] });
    return;
  }
  const { next } = route;
  await addRelayRequestedTo(tx, incident.id, [...new Set([route.targetTeam ?? next, next])], deps.clock(), row.origin.team);
  let outcome = await deps.sharing.evaluate(tx, incident, { teamId: next }, 'relay', {});
  if (outcome.allow && outcome.decision.redactions.length > 0) outcome = cannotRedact(outcome);
  if (!outcome.allow) {
    await deps.sharing.record(tx, incident, outcome, { details: { type: 'relay.refused', origin: row.origin, next } });
    await refuse(deps, tx, step, {
      reasons: outcome.decision.reasons,
      deniedBy: outcome.deniedBy,
      policyVersion: outcome.decision.policyVersion,
    });
    return;
  }
  await forward(deps, tx, step, outcome, { next, targetTeam: route.targetTeam, reason: route.reason });
}

/** The policy allowed what the originator signed to reach `next` only with sections removed: a relay cannot remove them. */
function cannotRedact(outcome: SharingOutcome): SharingOutcome {
  const sections = outcome.decision.redactions.map((r) => r.section).join(', ');
  const why = `Denied [relay-cannot-redact]: the policy would redact ${sections} for ${outcome.decision.recipient}, and a relay forwards the originator's signed report intact.`;
  return {
    ...outcome,
    allow: false,
    deniedBy: [...outcome.deniedBy, 'relay-cannot-redact'],
    decision: { ...outcome.decision, allow: false, provenance: null, reasons: [...outcome.decision.reasons, why] },
    payload: null,
    content: null,
    payloadSha256: null,
  };
}

async function forward(
  deps: RelayDeps,
  tx: Tx,
  step: RelayStep,
  outcome: SharingOutcome,
  route: { next: string; targetTeam: string | null; reason: string },
): Promise<void> {
  const { incident, row } = step;
  const us = deps.config.teamId;
  const at = deps.clock();
  const hop = await signHop(deps.signer, { team: us, ref: incident.ref, tlp: outcome.decision.tlp, at, to: route.next }, step.hops.at(-1));
  const hops = [...step.hops.map((h) => ({ ...h })), hop];
  // Keys of the hop teams the next team may not have pinned: ours it pins (it is our peer).
  const keys: Record<string, string> = {};
  for (const team of new Set(hops.map((h) => h.team))) {
    if (team === us || team === route.next) continue;
    const peer = await deps.peers.find(tx, team);
    const armored = peer?.publicKey ?? step.keys[team];
    if (armored !== undefined) keys[team] = armored;
  }
  const body: RelayForwardBody = { origin: step.origin, hops, ...(Object.keys(keys).length > 0 ? { keys } : {}) };
  const sent: SharingOutcome = { ...outcome, content: body, payloadSha256: payloadDigest(body) };
  const message = await deps.outbox.enqueue(tx, { type: 'relay.forward', to: route.next, tlp: outcome.decision.tlp, body }, incident.id);
  await markForwarded(tx, row.origin.team, row.origin.id, { via: route.next, targetTeam: route.targetTeam, messageId: message.id, at });
  if (!(await findLink(tx, incident.id, route.next))) {
    await insertLink(tx, {
      incidentId: incident.id,
      peerTeam: route.next,
      direction: 'outgoing',
      peerRef: null,
      reportMessageId: message.id,
      createdBy: 'node',
      at,
    });
  }
  await deps.incidents.appendInTx(tx, incident.id, {
    kind: 'relayed',
    actor: ACTOR(us),
    changes: {
      originator: row.origin.team,
      originRef: row.origin.ref,
      to: route.next,
      target: row.target,
      messageId: message.id,
      reason: route.reason,
    },
  });
  await deps.sharing.record(tx, incident, sent, { details: { type: 'relay.forward', messageId: message.id, origin: row.origin } });
}

async function refuse(
  deps: RelayDeps,
  tx: Tx,
  step: RelayStep,
  refusal: { reasons: string[]; deniedBy: string[]; policyVersion: string },
): Promise<void> {
  const { row, incident } = step;
  const by = deps.config.teamId;
  await markRefused(tx, row.origin.team, row.origin.id, { by, reasons: refusal.reasons, deniedBy: refusal.deniedBy, at: deps.clock() });
  await deps.incidents.appendInTx(tx, incident.id, {
    kind: 'relay-refused',
    actor: ACTOR(by),
    changes: { originator: row.origin.team, originRef: row.origin.ref, target: row.target, by, deniedBy: refusal.deniedBy },
  });
  await sendRefused(deps, tx, row, { by, ...refusal });
}

/** Tells the team that asked us (if any) that the relay was refused, by us or by a team further on. */
export async function sendRefused(
  deps: Pick<RelayDeps, 'outbox'>,
  tx: Tx,
  row: RelayRow,
  refusal: { by: string; reasons: string[]; deniedBy: string[]; policyVersion: string },
): Promise<void> {
  if (!row.requestedFrom) return;
  await deps.outbox.enqueue(
    tx,
    {
      type: 'relay.refused',
      to: row.requestedFrom,
      tlp: 'GREEN',
      body: {
        origin: row.origin,
        by: refusal.by,
        target: row.target,
        reasons: refusal.reasons.slice(0, 100),
        deniedBy: refusal.deniedBy.slice(0, 100),
        policyVersion: refusal.policyVersion,
      },
    },
    row.incidentId,
  );
}

/** Tells the team that asked us (if any) that the target filed the report, with its number and signed receipt. */
export async function sendDelivered(
  deps: Pick<RelayDeps, 'outbox'>,
  tx: Tx,
  row: RelayRow,
  delivered: { target: string; targetRef: string; receipt?: { document: Record<string, unknown>; signature: string }; path: string[] },
): Promise<void> {
  if (!row.requestedFrom) return;
  await deps.outbox.enqueue(
    tx,
    {
      type: 'relay.delivered',
      to: row.requestedFrom,
      tlp: 'GREEN',
      body: {
        origin: row.origin,
        target: delivered.target,
        targetRef: delivered.targetRef,
        ...(delivered.receipt ? { receipt: delivered.receipt } : {}),
        path: delivered.path,
      },
    },
    row.incidentId,
  );
}
