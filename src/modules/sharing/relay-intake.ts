import { canonicalize, readSignatureIssuer, verifyDocumentSignature } from '../../crypto/index.js';
import type { Tx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type {
  IncidentReportDocument,
  RelayDeliveredDocument,
  RelayForwardDocument,
  RelayRefusedDocument,
} from '../../../schemas/federation.schema.js';
import type { IncidentCreate } from '../../../schemas/incident.schema.js';
import type { ReportProvenanceHop } from '../../../schemas/relay.schema.js';
import type { Delivered, InboxOutcome, ReceivedAs } from '../exchange/exchange.module.js';
import { validateDocument } from '../exchange/exchange.module.js';
import { findIncident } from '../incidents/incidents.module.js';
import { stricterTlp } from '../policy/index.js';
import { addExternalRefIfMissing, findIncidentIdByExternalRef, insertIncomingLinks } from './link.repository.js';
import { checkChain, type HopCheck } from './relay-hops.js';
import { keyFinder, relayOnwards, sendDelivered, sendRefused, type RelayDeps } from './relay-forwarding.js';
import { registerRelayUpdateTravel } from './relay-update-travel.js';
import { findRelay, findRelayByMessage, insertRelay, markDelivered, markRefused, recordSignedProvenances } from './relay.repository.js';
import { receivedProvenance } from './report-intake.js';
import { recordReceivedProvenance } from './sharing.repository.js';

/**
 * The receiving half of relays and signed provenance (docs/federation-protocol.md §5.18, §5.21, §5.22):
 * the hop chain of every received report checked before it is filed, a relay request acted on
 * once its report is filed, a `relay.forward` verified layer by layer (the relay's envelope by
 * the inbox, then the originator's signature, then the hops) and filed as the originator's, and
 * the answers (`relay.delivered`, `relay.refused`) recorded and passed back along the path.
 */
export interface RelayIntake {
  /** Before filing: every report's chain must chain (throws provenance-invalid); what was found per hop, by message id. */
  checkReports(tx: Tx, docs: IncidentReportDocument[]): Promise<Map<string, HopCheck[]>>;
  /** After filing: the signed hops kept with each new copy, and the relay requests acted on. */
  afterReports(
    tx: Tx,
    docs: IncidentReportDocument[],
    outcomes: InboxOutcome[],
    received: ReceivedAs[] | undefined,
    checks: Map<string, HopCheck[]>,
  ): Promise<void>;
  forward(tx: Tx, doc: RelayForwardDocument): Promise<InboxOutcome>;
  delivered(tx: Tx, doc: RelayDeliveredDocument): Promise<InboxOutcome>;
  refused(tx: Tx, doc: RelayRefusedDocument): Promise<InboxOutcome>;
  /** The outbox's hook: the target's receipt for our forward goes back to the team that asked. */
  onDelivered(tx: Tx, d: Delivered): Promise<void>;
}

const invalid = (detail: string) => new ProblemError('relay-invalid', detail);
const stripped = (hops: readonly ReportProvenanceHop[]) => hops.map((h) => ({ team: h.team, tlp: h.tlp, ...(h.at ? { at: h.at } : {}) }));
const sameJson = (a: unknown, b: unknown): boolean => canonicalize(a as object) === canonicalize(b as object);

/** The originator's report inside a forward, verified against the key found for it, then validated (§3.4). */
async function verifiedOrigin(
  deps: RelayDeps,
  tx: Tx,
  doc: RelayForwardDocument,
): Promise<{ document: IncidentReportDocument; signature: string; keySource: string }> {
  const { signature } = doc.body.origin;
  const document = doc.body.origin.document as Record<string, unknown>;
  const from = document['from'];
  if (typeof from !== 'string' || !/^[a-z0-9][a-z0-9-]{1,62}$/.test(from)) throw invalid("the originator's document names no sending team");
  if (from === deps.config.teamId) throw invalid('the relayed report is our own: it went round in a loop');
  const found = await keyFinder(deps, tx, doc.body.keys ?? {})(from, await readSignatureIssuer(signature));
  if (!found)
    throw invalid(
      `no usable key for the originator ${from}: neither pinned here nor carried by ${doc.from} (a carried key must have the fingerprint the forum rosters we hold list)`,
    );
  const result = await verifyDocumentSignature({ document, signature }, found.key);
  if (!result.ok) throw invalid(`the originator's signature does not verify against its ${found.source} key (${result.reason})`);
  let origin;
  try {
    origin = validateDocument(document);
  } catch (err) {
    throw invalid(`the originator's document is not a valid message: ${err instanceof Error ? err.message : 'invalid'}`);
  }
  if (origin.type !== 'incident.report' || !origin.body.relayTo)
    throw invalid("the originator's document is not an incident.report with relayTo");
  return { document: origin, signature, keySource: found.source };
}

/** The forward's hops start with the originator's own chain, exactly, whose last hop is the originator's to the first relay. */
function checkOriginHops(origin: IncidentReportDocument, hops: ReportProvenanceHop[]): void {
  const own = origin.body.provenance ?? [];
  const last = own.at(-1);
  if (!last || last.signature === undefined) throw invalid("the originator's report carries no signed hop of its own");
  if (last.team !== origin.from || last.to !== origin.to || last.ref !== origin.body.ref)
    throw invalid("the originator's last hop is not its own, to the relay it asked, under its reference number");
  if (hops.length <= own.length || !sameJson(hops.slice(0, own.length), own))
    throw invalid("the hops do not start with the originator's signed chain");
}

/** The relay row an answer is about: ours, and sent to the answering team. */
async function answeredRelay(tx: Tx, doc: RelayDeliveredDocument | RelayRefusedDocument) {
  const row = await findRelay(tx, doc.body.origin.team, doc.body.origin.id, true);
  if (!row || row.via !== doc.from)
    throw new ProblemError('unknown-relay', `no relay of ${doc.body.origin.team}'s ${doc.body.origin.ref} went from here to ${doc.from}`);
  return row;
}

async function relayDelivered(deps: RelayDeps, tx: Tx, doc: RelayDeliveredDocument): Promise<InboxOutcome> {
  const us = deps.config.teamId;
  const row = await answeredRelay(tx, doc);
  const b = doc.body;
  if (b.receipt) {
    const r = b.receipt.document as Record<string, unknown>;
    const body = r['body'] as { ref?: unknown } | undefined;
    if (r['type'] !== 'receipt' || r['from'] !== b.target || body?.ref !== b.targetRef)
      throw new ProblemError('validation-failed', "the receipt is not the target's receipt with its reference number");
  }
  // An address's next hop that serves it answers too: its receipt already told us (forwardDelivered).
  if (row.state === 'delivered' && row.targetTeam === b.target && row.targetRef === b.targetRef) {
    const incident = (await findIncident(tx, row.incidentId))!;
    return { status: 'noted', incidentId: incident.id, ref: incident.ref };
  }
  await markDelivered(tx, row.origin.team, row.origin.id, {
    targetTeam: b.target,
    targetRef: b.targetRef,
    receipt: b.receipt ? JSON.stringify(b.receipt) : '',
    at: deps.clock(),
  });
  await addExternalRefIfMissing(tx, row.incidentId, b.target, b.targetRef);
  await deps.incidents.appendInTx(tx, row.incidentId, {
    kind: 'relay-delivered',
    actor: { subject: doc.from, team: doc.from },
    changes: { target: b.target, targetRef: b.targetRef, path: b.path, originRef: b.origin.ref, messageId: doc.id },
  });
  const path = [us, ...b.path];
  const receipt = b.receipt ? { document: b.receipt.document as Record<string, unknown>, signature: b.receipt.signature } : undefined;
  await sendDelivered(deps, tx, row, { target: b.target, targetRef: b.targetRef, ...(receipt ? { receipt } : {}), path });
  const incident = (await findIncident(tx, row.incidentId))!;
  return { status: 'applied', incidentId: incident.id, ref: incident.ref };
}

async function relayRefused(deps: RelayDeps, tx: Tx, doc: RelayRefusedDocument): Promise<InboxOutcome> {
  const row = await answeredRelay(tx, doc);
  const b = doc.body;
  await markRefused(tx, row.origin.team, row.origin.id, { by: b.by, reasons: b.reasons, deniedBy: b.deniedBy, at: deps.clock() });
  await deps.incidents.appendInTx(tx, row.incidentId, {
    kind: 'relay-refused',
    actor: { subject: doc.from, team: doc.from },
    changes: { by: b.by, deniedBy: b.deniedBy, originRef: b.origin.ref, messageId: doc.id },
  });
  await deps.audit.append(tx, {
    kind: 'relay-refused',
    actor: doc.from,
    incidentId: row.incidentId,
    peer: doc.from,
    decision: 'deny',
    details: { by: b.by, deniedBy: b.deniedBy, origin: b.origin, messageId: doc.id },
  });
  await sendRefused(deps, tx, row, b);
  const incident = (await findIncident(tx, row.incidentId))!;
  return { status: 'applied', incidentId: incident.id, ref: incident.ref };
}

/** The outbox's hook: the target's receipt for our forward goes back to the team that asked. */
async function forwardDelivered(deps: RelayDeps, tx: Tx, d: Delivered): Promise<void> {
  const us = deps.config.teamId;
  if (d.type !== 'relay.forward' || !d.peerRef) return;
  const row = await findRelayByMessage(tx, d.id);
  // Delivered to a further relay: its relay.delivered (or refusal) brings the target's answer.
  if (!row || row.targetTeam !== d.peerTeam) return;
  const sent = await deps.outbox.find(tx, d.id);
  const receipt = sent?.receipt ? (JSON.parse(sent.receipt) as { document: Record<string, unknown>; signature: string }) : undefined;
  await markDelivered(tx, row.origin.team, row.origin.id, {
    targetTeam: d.peerTeam,
    targetRef: d.peerRef,
    receipt: sent?.receipt ?? '',
    at: deps.clock(),
  });
  await sendDelivered(deps, tx, row, { target: d.peerTeam, targetRef: d.peerRef, ...(receipt ? { receipt } : {}), path: [us] });
}

export function createRelayIntake(
  deps: RelayDeps & {
    onQueued: () => void;
    /** A relayed copy was just filed: corrections kept for it (sent on by the relay) apply now (ADR 0018). */
    onCopyFiled?: (tx: Tx, filed: { from: string; ref: string; incidentId: string; hops: ReportProvenanceHop[] }) => Promise<void>;
  },
): RelayIntake {
  const us = deps.config.teamId;
  // The target's notes on its copy travel back along the path to the originator.
  registerRelayUpdateTravel(deps);

  /** A forward we are the target of (or pass on): our copy, filed as the originator's. */
  async function fileForward(tx: Tx, doc: RelayForwardDocument, origin: IncidentReportDocument, checks: HopCheck[]) {
    const hops = doc.body.hops;
    const label = hops.reduce((l, h) => stricterTlp(l, h.tlp), stricterTlp(origin.body.incident.tlp, doc.tlp));
    const input: IncidentCreate = { ...origin.body.incident, tlp: label, phase: 'triage' };
    const incident = await deps.incidents.createInTx(tx, input, { subject: origin.from, team: origin.from });
    const provenance = receivedProvenance({ from: doc.from, tlp: doc.tlp, created: doc.created }, stripped(hops), label);
    await recordReceivedProvenance(tx, incident.id, provenance, { at: deps.clock(), actor: doc.from });
    await recordSignedProvenances(tx, [{ incidentId: incident.id, hops, checks, at: deps.clock() }]);
    await addExternalRefIfMissing(tx, incident.id, origin.from, origin.body.ref);
    const senderRef = hops.at(-1)!.ref!;
    await insertIncomingLinks(tx, [{ incidentId: incident.id, peerTeam: doc.from, peerRef: senderRef, at: deps.clock() }]);
    return incident;
  }

  async function forwardOne(tx: Tx, doc: RelayForwardDocument): Promise<InboxOutcome> {
    const origin = await verifiedOrigin(deps, tx, doc);
    const o = origin.document;
    checkOriginHops(o, doc.body.hops);
    const chain = await checkChain(doc.body.hops, { sender: doc.from, receiver: us, keyFor: keyFinder(deps, tx, doc.body.keys ?? {}) });
    if (!chain.ok) throw new ProblemError('provenance-invalid', chain.problem);
    const existing = (await findRelay(tx, o.from, o.id)) ?? null;
    const known = existing?.incidentId ?? (await findIncidentIdByExternalRef(tx, o.from, o.body.ref));
    if (known) {
      const incident = (await findIncident(tx, known))!;
      await deps.incidents.appendInTx(tx, known, {
        kind: 'relay-repeated',
        actor: { subject: doc.from, team: doc.from },
        changes: { originator: o.from, originRef: o.body.ref, messageId: doc.id },
      });
      return { status: 'noted', incidentId: incident.id, ref: incident.ref };
    }
    const target = o.body.relayTo!;
    const isTarget = 'team' in target ? target.team === us : false;
    const incident = await fileForward(tx, doc, o, chain.checks);
    const senderHop = doc.body.hops.at(-1)!;
    if (deps.onCopyFiled && senderHop.ref)
      await deps.onCopyFiled(tx, { from: doc.from, ref: senderHop.ref, incidentId: incident.id, hops: doc.body.hops });
    await insertRelay(tx, {
      originTeam: o.from,
      originId: o.id,
      originRef: o.body.ref,
      role: isTarget ? 'received' : 'relayed',
      state: isTarget ? 'delivered' : 'requested',
      incidentId: incident.id,
      requestedFrom: doc.from,
      requestedRef: senderHop.ref ?? null,
      via: null,
      target,
      targetTeam: isTarget ? us : null,
      messageId: null,
      at: deps.clock(),
    });
    await deps.incidents.appendInTx(tx, incident.id, {
      kind: 'relay-received',
      actor: { subject: doc.from, team: doc.from },
      changes: {
        originator: o.from,
        originRef: o.body.ref,
        via: doc.from,
        messageId: doc.id,
        originKey: origin.keySource,
        hops: chain.checks.map((c) => ({ team: c.team, verified: c.verified, keySource: c.keySource })),
      },
    });
    if (!isTarget) {
      const row = (await findRelay(tx, o.from, o.id))!;
      await relayOnwards(deps, tx, {
        incident,
        row,
        origin: { document: o, signature: origin.signature },
        hops: doc.body.hops,
        keys: doc.body.keys ?? {},
      });
    }
    return { status: 'filed', incidentId: incident.id, ref: incident.ref };
  }

  return {
    async checkReports(tx, docs) {
      const found = new Map<string, HopCheck[]>();
      for (const doc of docs) {
        const hops = doc.body.provenance;
        if (!hops || !hops.some((h) => h.signature !== undefined)) continue;
        const chain = await checkChain(hops, { sender: doc.from, receiver: us, keyFor: keyFinder(deps, tx, {}) });
        if (!chain.ok) throw new ProblemError('provenance-invalid', chain.problem);
        found.set(doc.id, chain.checks);
      }
      return found;
    },

    async afterReports(tx, docs, outcomes, received, checks) {
      const filed = docs.flatMap((doc, i) =>
        outcomes[i]!.status === 'filed' && checks.has(doc.id)
          ? [{ incidentId: outcomes[i]!.incidentId!, hops: doc.body.provenance!, checks: checks.get(doc.id)!, at: deps.clock() }]
          : [],
      );
      await recordSignedProvenances(tx, filed);
      for (const [i, doc] of docs.entries()) {
        const target = doc.body.relayTo;
        const incidentId = outcomes[i]!.incidentId;
        if (!target || !incidentId || !received?.[i]) continue;
        const row = {
          originTeam: doc.from,
          originId: doc.id,
          originRef: doc.body.ref,
          role: 'relayed' as const,
          state: 'requested' as const,
          incidentId,
          requestedFrom: doc.from,
          requestedRef: doc.body.ref,
          via: null,
          target,
          targetTeam: null,
          messageId: null,
          at: deps.clock(),
        };
        if (!(await insertRelay(tx, row))) continue;
        const incident = (await findIncident(tx, incidentId))!;
        const origin = { document: doc, signature: received[i]!.signature };
        const relay = (await findRelay(tx, doc.from, doc.id))!;
        if (!doc.body.provenance?.at(-1)?.signature) {
          await markRefused(tx, doc.from, doc.id, {
            by: us,
            reasons: ['the request carries no signed hop of its originator'],
            deniedBy: ['relay-unsigned'],
            at: deps.clock(),
          });
          await sendRefused(deps, tx, relay, {
            by: us,
            reasons: ['Denied [relay-unsigned]: the request carries no signed hop of its originator.'],
            deniedBy: ['relay-unsigned'],
            policyVersion: 'n/a',
          });
          continue;
        }
        await relayOnwards(deps, tx, { incident, row: relay, origin, hops: doc.body.provenance, keys: {} });
      }
    },

    forward: forwardOne,
    delivered: (tx, doc) => relayDelivered(deps, tx, doc),
    refused: (tx, doc) => relayRefused(deps, tx, doc),
    onDelivered: (tx, d) => forwardDelivered(deps, tx, d),
  };
}
