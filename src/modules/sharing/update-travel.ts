import type { Tx } from '../../db/database.js';
import { TLP_LABELS, type Tlp } from '../../../schemas/common.schema.js';
import { INCIDENT_FIELDS, type IncidentChange, type IncidentUpdateBody } from '../../../schemas/federation.schema.js';
import type { Incident, JournalEntry } from '../../../schemas/incident.schema.js';
import type { PolicyDecision } from '../../../schemas/policy.schema.js';
import { mayNotifyLabelTightening, scrubberFor, tlpRank, type PolicyPayload } from '../policy/index.js';
import { listLinks, type LinkRow } from './link.repository.js';
import type { ShareDeps } from './share.service.js';
import { payloadDigest } from './disclosure-decision.js';
import { type RecordOptions } from './sharing.service.js';

/**
 * Later changes of a shared incident travel to every team it is linked to, as incident.update
 * (docs/federation-protocol.md §5.2, §12), each decided again by the sharing policy for that
 * peer, and a tightened label reaches every holder even where the update itself may not go.
 */

/**
 * Journal kinds of our own team that travel to linked peers as incident.update. `label-changed`
 * is this node applying a label its originator set on our copy: it travels on to the holders we
 * passed the copy to, never back upstream.
 */
const TRAVELLING_KINDS = new Set(['note', 'phase-changed', 'updated', 'label-changed']);

/** The label a journal entry tightened, if it did: an `updated` entry's tlp field, or a `label-changed` entry. */
export function labelTighteningOf(entry: JournalEntry): { from: Tlp; to: Tlp } | null {
  const changes = (entry.changes ?? {}) as Record<string, unknown>;
  const d = (entry.kind === 'updated' ? changes['tlp'] : entry.kind === 'label-changed' ? changes : undefined) as
    { from?: unknown; to?: unknown } | undefined;
  const isTlp = (v: unknown): v is Tlp => typeof v === 'string' && (TLP_LABELS as readonly string[]).includes(v);
  if (!d || !isTlp(d.from) || !isTlp(d.to) || tlpRank(d.to) <= tlpRank(d.from)) return null;
  return { from: d.from, to: d.to };
}

/** Fields whose values in a change are enumerations or times: at summary detail they may travel as they are. */
const SUMMARY_FIELDS = new Set(['category', 'type', 'severity', 'tlp', 'phase', 'firstSeen', 'lastSeen']);

/**
 * A change as the policy lets it go to one peer. At full detail every text it carries (a note,
 * any changed field's old and new value) loses the identifiers the decision hides, exactly as
 * the incident's own fields do (redaction by identifier, docs/trust-model.md §6). At summary
 * detail only what a summary may carry travels: that a note was added (not its text), phases,
 * labels and other enumerations, item counts; any other field's values are replaced by
 * `replaced: true`.
 */
export function redactChange(change: IncidentChange, incident: Incident, payload: PolicyPayload, decision: PolicyDecision): IncidentChange {
  if (payload.detail === 'summary') {
    const { note: _note, ...rest } = change;
    return change.fields
      ? {
          ...rest,
          fields: change.fields.map((f) =>
            SUMMARY_FIELDS.has(f.field) || f.unit === 'items' || f.replaced ? f : { field: f.field, replaced: true as const },
          ),
        }
      : rest;
  }
  const scrubber = scrubberFor(incident, decision);
  if (scrubber.empty) return change;
  const scrub = (text: string): string => scrubber.scrub(text).text;
  return {
    ...change,
    ...(change.note !== undefined ? { note: scrub(change.note) } : {}),
    ...(change.fields
      ? {
          fields: change.fields.map((f) =>
            SUMMARY_FIELDS.has(f.field)
              ? f
              : {
                  ...f,
                  ...(typeof f.from === 'string' ? { from: scrub(f.from) } : {}),
                  ...(typeof f.to === 'string' ? { to: scrub(f.to) } : {}),
                },
          ),
        }
      : {}),
  };
}

const SCALAR = (v: unknown): v is string | number | null =>
  v === null || typeof v === 'number' || (typeof v === 'string' && v.length <= 2000);

/** A journal entry of ours as the change an incident.update carries. Null when it does not travel. */
export function changeFromEntry(entry: JournalEntry): IncidentChange | null {
  const base = { at: entry.at, actor: entry.actor };
  if (entry.kind === 'note' && entry.note) return { kind: 'note', ...base, note: entry.note };
  if (entry.kind === 'phase-changed' && entry.changes) {
    const { from, to } = entry.changes as { from?: unknown; to?: unknown };
    if (typeof from === 'string' && typeof to === 'string')
      return { kind: 'phase-changed', ...base, phase: { from, to } as NonNullable<IncidentChange['phase']> };
    return null;
  }
  if (entry.kind === 'label-changed' && entry.changes) {
    const { from, to } = entry.changes as { from?: unknown; to?: unknown };
    if (typeof from === 'string' && typeof to === 'string') return { kind: 'updated', ...base, fields: [{ field: 'tlp', from, to }] };
    return null;
  }
  if (entry.kind === 'updated' && entry.changes) {
    const fields: NonNullable<IncidentChange['fields']> = [];
    for (const [field, description] of Object.entries(entry.changes)) {
      if (!(INCIDENT_FIELDS as readonly string[]).includes(field)) continue;
      const d = (description ?? {}) as Record<string, unknown>;
      const name = field as (typeof INCIDENT_FIELDS)[number];
      if (d['unit'] === 'items' && typeof d['from'] === 'number' && typeof d['to'] === 'number')
        fields.push({ field: name, from: d['from'], to: d['to'], unit: 'items' });
      else if ('from' in d && 'to' in d && SCALAR(d['from']) && SCALAR(d['to'])) fields.push({ field: name, from: d['from'], to: d['to'] });
      else fields.push({ field: name, replaced: true });
    }
    return fields.length ? { kind: 'updated', ...base, fields } : null;
  }
  return null;
}

/** Registers the change listener that sends our team's later changes to every linked peer. */
export function registerUpdateTravel(deps: ShareDeps): void {
  const { config, sharing } = deps;
  const enqueue = deps.outbox.enqueue;

  // Later changes of a linked incident travel to every linked peer. Only our own team's entries
  // travel: a peer's update recorded here is never echoed back, nor relayed to third teams
  // (relaying another team's information is the policy's `relay` purpose, not an update).
  // Each peer gets what the policy lets it have NOW: a new label, a lower trust or a suspension
  // since the share refuses the update for that peer (recorded, never sent) or redacts it.
  deps.incidents.addListener(async (tx, incident, entry) => {
    if (entry.team !== config.teamId || !TRAVELLING_KINDS.has(entry.kind)) return;
    // A label changed by a correction travels as that signed correction, to every holder however
    // far (ADR 0018): an incident.update saying the same to the direct holders would arrive twice.
    if (entry.kind === 'label-changed' && (entry.changes as Record<string, unknown> | null)?.['correctionId'] !== undefined) return;
    const links = await listLinks(tx, incident.id);
    if (links.length === 0) return;
    const change = changeFromEntry(entry);
    if (!change) return;
    const tightened = labelTighteningOf(entry);
    let queued = false;
    for (const link of links) {
      // The team that told us of the new label, and anyone upstream of our copy, knows it already.
      if (entry.kind === 'label-changed' && link.direction !== 'outgoing') continue;
      if (link.direction === 'outgoing' && link.reportMessageId) {
        // A report that failed for good left the peer without the incident: updates would fail too.
        const report = await deps.outbox.find(tx, link.reportMessageId);
        if (report?.state === 'failed') continue;
      }
      const options: RecordOptions = {
        actor: entry.actor,
        render: (payload, decision): IncidentUpdateBody => ({
          ref: incident.ref,
          ...(link.peerRef ? { peerRef: link.peerRef } : {}),
          change: redactChange(change, incident, payload, decision),
        }),
      };
      const outcome = await sharing.evaluate(tx, incident, { teamId: link.peerTeam }, 'direct', options);
      let messageId: string | null = null;
      if (outcome.allow) {
        messageId = (
          await enqueue(
            tx,
            {
              type: 'incident.update',
              to: link.peerTeam,
              tlp: outcome.decision.tlp,
              body: outcome.content as IncidentUpdateBody,
            },
            incident.id,
          )
        ).id;
        queued = true;
      }
      await sharing.record(tx, incident, outcome, {
        ...options,
        details: { type: 'incident.update', messageId, journalEntry: entry.id },
      });
      if (!outcome.allow && tightened && (await notifyLabelTightening(tx, incident, link, entry, tightened))) queued = true;
    }
    if (queued) deps.onQueued();
  });

  /**
   * A holder the policy now refuses the update (a report raised to RED it is not named on) is
   * still told the label tightened: without it, it would go on sharing the report under the old
   * label. The notice carries our and its reference numbers and the two labels, nothing else;
   * it is audited as `disclosure.label-notice`. Returns true when queued.
   */
  async function notifyLabelTightening(
    tx: Tx,
    incident: Incident,
    link: LinkRow,
    entry: JournalEntry,
    label: { from: Tlp; to: Tlp },
  ): Promise<boolean> {
    const verdict = mayNotifyLabelTightening(label.from, label.to, true);
    if (!verdict.allow) return false;
    const body: IncidentUpdateBody = {
      ref: incident.ref,
      ...(link.peerRef ? { peerRef: link.peerRef } : {}),
      change: {
        kind: 'updated',
        at: entry.at,
        actor: entry.actor,
        fields: [{ field: 'tlp', from: label.from, to: label.to }],
      },
    };
    const message = await enqueue(tx, { type: 'incident.update', to: link.peerTeam, tlp: label.to, body }, incident.id);
    await deps.audit.append(tx, {
      kind: 'disclosure.label-notice',
      actor: entry.actor,
      incidentId: incident.id,
      peer: link.peerTeam,
      decision: 'allow',
      details: {
        ref: incident.ref,
        type: 'incident.update',
        messageId: message.id,
        journalEntry: entry.id,
        from: label.from,
        to: label.to,
        reason: verdict.reason,
        payloadSha256: payloadDigest(body),
      },
    });
    return true;
  }
}
