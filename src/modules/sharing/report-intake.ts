import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { Tx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import { TLP_LABELS, type Tlp } from '../../../schemas/common.schema.js';
import type {
  IncidentReportDocument,
  IncidentUpdateDocument,
  InvestigationRequestDocument,
  InvestigationResultDocument,
} from '../../../schemas/federation.schema.js';
import type { Incident, IncidentCreate } from '../../../schemas/incident.schema.js';
import type { ProvenanceHop } from '../../../schemas/policy.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { Delivered } from '../exchange/exchange.module.js';
import { oneByOne, type InboxOutcome } from '../exchange/exchange.module.js';
import { findIncident } from '../incidents/incidents.module.js';
import type { Actor, IncidentService } from '../incidents/incidents.module.js';
import { decideLabelChange, LIMIT_IMPLIED_BY_TLP, stricterTlp } from '../policy/index.js';
import { answerInvestigation, findInvestigation, insertInvestigation } from './investigation.repository.js';
import { listRelays } from './relay.repository.js';
import {
  addExternalRefIfMissing,
  findIncidentIdByExternalRef,
  findLink,
  findLinkByOurRef,
  findLinkByPeerRef,
  findLinkedReports,
  insertIncomingLinks,
  reportKey,
  setLinkPeerRef,
} from './link.repository.js';
import {
  findIncidentPolicy,
  recordReceivedProvenance,
  recordReceivedProvenances,
  relabelReceivedProvenance,
  type ReceivedProvenance,
} from './sharing.repository.js';

/**
 * The receiving half of sharing: what the exchange's inbox hands over, verified and validated,
 * a run of one document type at a time inside the group's transaction (docs/federation-protocol.md
 * §5.1-5.4, §12). New reports are filed as incidents of ours, together (one statement per table
 * for the whole run, ADR 0008-0010), each with its link to the sender and the originator's
 * limits; a repeat of a report we hold is a note; updates are the other team's journal entries
 * (and a label change binds our copy, trust-model §4.7); investigations are filed or noted.
 *
 * The sending half's delivery hook is here too: a receipt's reference number on the link.
 */
export interface ReportIntakeDeps {
  clock: Clock;
  config: Pick<Config, 'teamId'>;
  incidents: IncidentService;
  audit: AuditLog;
}

export interface ReportIntake {
  reports(tx: Tx, documents: IncidentReportDocument[]): Promise<InboxOutcome[]>;
  updates(tx: Tx, documents: IncidentUpdateDocument[]): Promise<InboxOutcome[]>;
  investigationRequests(tx: Tx, documents: InvestigationRequestDocument[]): Promise<InboxOutcome[]>;
  investigationResults(tx: Tx, documents: InvestigationResultDocument[]): Promise<InboxOutcome[]>;
  /** The outbox's delivery hook: the receiver's reference number on the link, and a journal entry for a delivered report. */
  delivered(tx: Tx, delivered: Delivered): Promise<void>;
}

/**
 * Where a received report came from, as the sharing policy keeps it: the chain the document
 * carries (a Hikeshi sender appends its own hop when it decides to send; originator first), or
 * else the sender as the originator. A chain that does not end with the sender gets the sender's
 * hop: whatever the path before, that is the team it reached us from. The protocol carries no
 * limit beyond the label, so the limit recorded is the one the strictest label along the way
 * implies (AMBER: our constituency only; AMBER+STRICT, RED: no further).
 */
export function receivedProvenance(
  doc: { from: string; tlp: Tlp; created: string },
  chain: ProvenanceHop[] | undefined,
  contentTlp: Tlp,
): ReceivedProvenance {
  const label = stricterTlp(doc.tlp, contentTlp);
  // The policy keeps team, label and time; signed hops are kept as received elsewhere (ADR 0020).
  const hops: ProvenanceHop[] = chain ? chain.map((h) => ({ team: h.team, tlp: h.tlp, ...(h.at !== undefined ? { at: h.at } : {}) })) : [];
  if (hops.at(-1)?.team !== doc.from) hops.push({ team: doc.from, tlp: label, at: doc.created });
  const strictest = hops.reduce<Tlp>((l, h) => stricterTlp(l, h.tlp), label);
  return {
    originatorTeam: hops[0]!.team,
    originatorTlp: hops[0]!.tlp,
    redistribution: LIMIT_IMPLIED_BY_TLP[strictest],
    chain: hops,
  };
}

const actorOf = (doc: { from: string }): Actor => ({ subject: doc.from, team: doc.from });

/** A change passed back by a relay: accepted only from the team our relay of this incident went to, about its target. */
async function relayedChangeOf(tx: Tx, incidentId: string, doc: IncidentUpdateDocument): Promise<{ team: string; ref: string }> {
  const relayed = doc.body.relayedFrom!;
  const ours = await listRelays(tx, incidentId);
  if (!ours.some((r) => r.via === doc.from && r.targetTeam === relayed.team))
    throw new ProblemError('unknown-relay', `no relay of this incident went through ${doc.from} to ${relayed.team}`);
  await addExternalRefIfMissing(tx, incidentId, relayed.team, relayed.ref);
  return { team: relayed.team, ref: relayed.ref };
}

/**
 * A label change from upstream binds our copy (docs/trust-model.md §4.7): a tightening at
 * once, a loosening only from the originator. The copy's label and provenance change in this
 * transaction, and the `label-changed` journal entry lets the listeners act on it (the
 * coordinator summary withdrawn, holders we passed it to told). Audited either way.
 */
async function applyLabelChange(deps: ReportIntakeDeps, tx: Tx, incidentId: string, doc: IncidentUpdateDocument, to: Tlp): Promise<void> {
  const incident = (await findIncident(tx, incidentId, true))!;
  const facts = await findIncidentPolicy(tx, incidentId);
  const outcome = decideLabelChange({
    provenance: facts?.provenance ?? null,
    incidentTlp: incident.tlp,
    from: doc.from,
    to,
  });
  if (outcome.apply) {
    await relabelReceivedProvenance(tx, incidentId, outcome.provenance, { at: deps.clock(), actor: doc.from });
    await deps.incidents.relabelInTx(tx, incidentId, outcome.tlp, {
      by: doc.from,
      messageId: doc.id,
      direction: outcome.direction,
      reason: outcome.reason,
    });
  }
  await deps.audit.append(tx, {
    kind: 'label-change',
    actor: doc.from,
    incidentId,
    peer: doc.from,
    decision: outcome.apply ? 'allow' : 'deny',
    details: {
      ref: incident.ref,
      messageId: doc.id,
      requested: to,
      before: incident.tlp,
      after: outcome.apply ? outcome.tlp : incident.tlp,
      ...(outcome.apply ? { direction: outcome.direction } : {}),
      reason: outcome.reason,
    },
  });
}

async function investigationRequest(deps: ReportIntakeDeps, tx: Tx, doc: InvestigationRequestDocument): Promise<InboxOutcome> {
  const body = doc.body;
  const linked =
    (body.peerRef ? await findLinkByOurRef(tx, doc.from, body.peerRef) : null) ?? (await findLinkByPeerRef(tx, doc.from, body.ref));
  const knownId = linked?.incidentId ?? (await findIncidentIdByExternalRef(tx, doc.from, body.ref));
  let incidentId: string;
  let status: InboxOutcome['status'];
  if (knownId) {
    // The incident is known here: the request is a note on it.
    incidentId = knownId;
    status = 'noted';
    await deps.incidents.appendInTx(tx, incidentId, {
      kind: 'peer-investigation-request',
      actor: actorOf(doc),
      note: body.question,
      changes: { peerRef: body.ref, messageId: doc.id, hosts: body.hosts.length },
    });
  } else {
    // New to us: filed as an incident of ours, so it gets a reference number and a handler.
    // No link is made: only the answer (investigation.result) goes back, not our later notes.
    const input: IncidentCreate = {
      title: `Investigation request from ${doc.from}`,
      summary: body.question.slice(0, 10000),
      category: body.category ?? 'other',
      severity: 'medium',
      tlp: doc.tlp,
      reporter: body.contact ?? { name: `Team ${doc.from}`, organisation: doc.from },
      hosts: body.hosts,
    };
    if (input.category === 'other') (input as Record<string, unknown>)['type'] = 'undetermined';
    if (body.indicators) input.indicators = body.indicators;
    const incident = await deps.incidents.createInTx(tx, input, actorOf(doc));
    await addExternalRefIfMissing(tx, incident.id, doc.from, body.ref);
    // What the requester told us keeps its label: the requester originated it.
    await recordReceivedProvenance(tx, incident.id, receivedProvenance(doc, undefined, doc.tlp), {
      at: deps.clock(),
      actor: doc.from,
    });
    incidentId = incident.id;
    status = 'filed';
  }
  await insertInvestigation(tx, {
    id: doc.id,
    direction: 'incoming',
    peerTeam: doc.from,
    incidentId,
    peerRef: body.ref,
    question: body.question,
    hosts: body.hosts,
    at: deps.clock(),
  });
  const incident = (await findIncident(tx, incidentId))!;
  return { status, incidentId, ref: incident.ref };
}

async function investigationResult(deps: ReportIntakeDeps, tx: Tx, doc: InvestigationResultDocument): Promise<InboxOutcome> {
  const body = doc.body;
  const investigation = await findInvestigation(tx, body.requestId, true);
  if (!investigation || investigation.direction !== 'outgoing' || investigation.peerTeam !== doc.from || doc.inReplyTo !== body.requestId) {
    throw new ProblemError('unknown-incident', `no investigation ${body.requestId} was asked of ${doc.from}`);
  }
  await answerInvestigation(tx, investigation.id, {
    finding: body.finding,
    summary: body.summary,
    hosts: body.hosts ?? null,
    messageId: doc.id,
    peerRef: body.ref,
    at: deps.clock(),
  });
  await addExternalRefIfMissing(tx, investigation.incidentId, doc.from, body.ref);
  await deps.incidents.appendInTx(tx, investigation.incidentId, {
    kind: 'peer-investigation-result',
    actor: actorOf(doc),
    note: body.summary,
    changes: {
      peerRef: body.ref,
      requestId: body.requestId,
      messageId: doc.id,
      finding: body.finding,
      hosts: body.hosts?.length ?? 0,
    },
  });
  const incident = (await findIncident(tx, investigation.incidentId))!;
  return { status: 'applied', incidentId: incident.id, ref: incident.ref };
}

export function createReportIntake(deps: ReportIntakeDeps): ReportIntake {
  const { clock, incidents } = deps;

  /** New reports filed as incidents of ours, numbered in the order given (one statement per table). */
  async function fileCopies(tx: Tx, docs: IncidentReportDocument[]): Promise<Incident[]> {
    // A copy keeps its originator's label and limits: every later decision about it (a re-share,
    // an update, the feed) is checked against them (docs/trust-model.md §4.2). Recorded first,
    // under the ids the copies will have: creating them takes the reference-number lock, which
    // every filing waits for until commit, and this statement need not be inside it.
    const ids = docs.map(() => randomUUID());
    const at = clock();
    await recordReceivedProvenances(
      tx,
      docs.map((doc, k) => ({
        incidentId: ids[k]!,
        provenance: receivedProvenance(doc, doc.body.provenance, doc.body.incident.tlp),
        at,
        actor: doc.from,
      })),
    );
    // Each team keeps its own phase: a copy starts at triage here, whatever the sender's phase.
    const copies = await incidents.createManyInTx(
      tx,
      docs.map((doc, k) => ({ id: ids[k]!, input: { ...doc.body.incident, phase: 'triage' }, actor: actorOf(doc) })),
    );
    await insertIncomingLinks(
      tx,
      copies.map((incident, k) => ({
        incidentId: incident.id,
        peerTeam: docs[k]!.from,
        peerRef: docs[k]!.body.ref,
        at,
      })),
    );
    return copies;
  }

  /** A report of an incident we hold already (a re-share after the sender gave up on delivery): a note, not a second incident. */
  async function repeatedReport(tx: Tx, doc: IncidentReportDocument, incidentId: string): Promise<InboxOutcome> {
    const incident = (await findIncident(tx, incidentId))!;
    await incidents.appendInTx(tx, incident.id, {
      kind: 'peer-report-repeated',
      actor: actorOf(doc),
      changes: { peerRef: doc.body.ref, messageId: doc.id },
    });
    return { status: 'noted', incidentId: incident.id, ref: incident.ref };
  }

  async function reports(tx: Tx, docs: IncidentReportDocument[]): Promise<InboxOutcome[]> {
    const linked = await findLinkedReports(
      tx,
      docs.map((doc) => ({ peerTeam: doc.from, peerRef: doc.body.ref })),
    );
    const outcomes: Array<InboxOutcome | undefined> = docs.map(() => undefined);
    const fresh: number[] = [];
    const later: number[] = [];
    const seen = new Set<string>();
    docs.forEach((doc, i) => {
      const key = reportKey(doc.from, doc.body.ref);
      if (linked.has(key) || seen.has(key)) later.push(i);
      else {
        seen.add(key);
        fresh.push(i);
      }
    });
    const copies = await fileCopies(
      tx,
      fresh.map((i) => docs[i]!),
    );
    fresh.forEach((i, k) => (outcomes[i] = { status: 'filed', incidentId: copies[k]!.id, ref: copies[k]!.ref }));
    // Known here already, or a second report of one incident in this run (filed just above).
    for (const i of later) {
      const doc = docs[i]!;
      const link = await findLinkByPeerRef(tx, doc.from, doc.body.ref);
      outcomes[i] = await repeatedReport(tx, doc, link!.incidentId);
    }
    return outcomes as InboxOutcome[];
  }

  async function update(tx: Tx, doc: IncidentUpdateDocument): Promise<InboxOutcome> {
    const link =
      (doc.body.peerRef ? await findLinkByOurRef(tx, doc.from, doc.body.peerRef) : null) ??
      (await findLinkByPeerRef(tx, doc.from, doc.body.ref));
    if (!link) throw new ProblemError('unknown-incident', `no incident here is linked to ${doc.from}'s ${doc.body.ref}`);
    if (link.peerRef !== doc.body.ref) await setLinkPeerRef(tx, link.incidentId, doc.from, doc.body.ref);
    await addExternalRefIfMissing(tx, link.incidentId, doc.from, doc.body.ref);
    const change = doc.body.change;
    // A relay passing back its target's change (§5.21): the target's entry, through the relay.
    const relayed = doc.body.relayedFrom ? await relayedChangeOf(tx, link.incidentId, doc) : null;
    // Recorded as the other team's entry; our own phase stays where our handlers put it.
    await incidents.appendInTx(tx, link.incidentId, {
      kind: `peer-${change.kind}`,
      actor: { subject: change.actor, team: relayed?.team ?? doc.from },
      note: change.note ?? null,
      changes: {
        peerRef: relayed?.ref ?? doc.body.ref,
        messageId: doc.id,
        at: change.at,
        ...(relayed ? { via: doc.from, relayedFrom: relayed } : {}),
        ...(change.phase ? { phase: change.phase } : {}),
        ...(change.fields ? { fields: change.fields } : {}),
      },
    });
    const tlpChange = change.fields?.find((f) => f.field === 'tlp');
    // A relayed change is downstream's: it never sets our label.
    if (!relayed && tlpChange && typeof tlpChange.to === 'string' && (TLP_LABELS as readonly string[]).includes(tlpChange.to)) {
      await applyLabelChange(deps, tx, link.incidentId, doc, tlpChange.to as Tlp);
    }
    const incident = (await findIncident(tx, link.incidentId))!;
    return { status: 'applied', incidentId: incident.id, ref: incident.ref };
  }

  return {
    reports,
    // One by one, in arrival order: each may depend on the one before (an update after its report).
    updates: oneByOne(update),
    investigationRequests: oneByOne((tx, doc) => investigationRequest(deps, tx, doc)),
    investigationResults: oneByOne((tx, doc) => investigationResult(deps, tx, doc)),

    async delivered(tx, d) {
      if (!d.incidentId) return;
      if (d.reply) {
        // A team without a node answered our mail (ADR 0028): its signed words, threaded to the incident.
        await incidents.appendInTx(tx, d.incidentId, {
          kind: 'mail-reply-received',
          actor: { subject: d.peerTeam, team: d.peerTeam },
          changes: { peer: d.peerTeam, messageId: d.id, type: d.type, signer: d.reply.signerFingerprint, delivered: d.reply.first },
          note: d.reply.text.slice(0, 20_000),
        });
      }
      if (d.peerRef) {
        // Their reference number (a receipt's, or a `Reference:` line of a team's later reply too).
        await addExternalRefIfMissing(tx, d.incidentId, d.peerTeam, d.peerRef);
        const link = await findLink(tx, d.incidentId, d.peerTeam);
        if (link && !link.peerRef) await setLinkPeerRef(tx, d.incidentId, d.peerTeam, d.peerRef);
      }
      if (d.reply && !d.reply.first) return;
      if (d.type === 'incident.report') {
        await incidents.appendInTx(tx, d.incidentId, {
          kind: 'share-delivered',
          actor: { subject: 'federation', team: deps.config.teamId },
          changes: { peer: d.peerTeam, peerRef: d.peerRef, messageId: d.id, receiptStatus: d.receiptStatus },
        });
      }
    },
  };
}
