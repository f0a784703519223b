import type { Tx } from '../../db/database.js';
import type { IncidentChange, IncidentUpdateBody } from '../../../schemas/federation.schema.js';
import type { Incident, JournalEntry } from '../../../schemas/incident.schema.js';
import type { RelayDeps } from './relay-forwarding.js';
import { listRelays, type RelayRow } from './relay.repository.js';
import type { RecordOptions } from './sharing.service.js';
import { redactChange } from './update-travel.js';

/**
 * The target's notes travel back along the relay's path (issue 15; docs/federation-protocol.md
 * §5.21; ADR 0020). The target links its copy to the team it came from, so its notes, phase
 * moves and field changes reach the last relay as ordinary incident.updates; ordinary updates
 * are never echoed on (update-travel.ts). A relay is the exception the originator asked for: each
 * relay passes such a change back to the team that asked it, as an incident.update on its own
 * link upstream with `relayedFrom` naming the target, decided by the sharing policy for that team
 * (it is upstream, a holder: the rule for updates to holders applies) and audited as a disclosure.
 * The team before us does the same, until the change reaches the originator.
 */

/** A peer's change on our copy, as the update intake records it (report-intake.ts). */
const PASSED_BACK = new Map<string, IncidentChange['kind']>([
  ['peer-note', 'note'],
  ['peer-phase-changed', 'phase-changed'],
  ['peer-updated', 'updated'],
]);

/** The change a recorded peer entry carries, as it arrived. */
function changeOf(entry: JournalEntry, kind: IncidentChange['kind']): IncidentChange | null {
  const c = (entry.changes ?? {}) as Record<string, unknown>;
  if (typeof c['at'] !== 'string') return null;
  const base = { kind, at: c['at'], actor: entry.actor };
  if (kind === 'note') return entry.note ? { ...base, note: entry.note } : null;
  if (kind === 'phase-changed') return c['phase'] ? { ...base, phase: c['phase'] as NonNullable<IncidentChange['phase']> } : null;
  return Array.isArray(c['fields']) ? { ...base, fields: c['fields'] as NonNullable<IncidentChange['fields']> } : null;
}

/** The relays of this copy whose target made the change and whose next hop sent it: those we pass it back for. */
function relaysToAnswer(rows: RelayRow[], entry: JournalEntry, sender: string): RelayRow[] {
  return rows.filter((r) => r.role === 'relayed' && r.requestedFrom !== null && r.via === sender && r.targetTeam === entry.team);
}

export function registerRelayUpdateTravel(deps: RelayDeps & { onQueued: () => void }): void {
  const us = deps.config.teamId;

  async function passBack(tx: Tx, incident: Incident, entry: JournalEntry, row: RelayRow, change: IncidentChange, targetRef: string) {
    const to = row.requestedFrom!;
    const options: RecordOptions = {
      actor: 'node',
      render: (payload, decision): IncidentUpdateBody => ({
        ref: incident.ref,
        ...(row.requestedRef ? { peerRef: row.requestedRef } : {}),
        change: redactChange(change, incident, payload, decision),
        relayedFrom: { team: entry.team, ref: targetRef },
      }),
    };
    const outcome = await deps.sharing.evaluate(tx, incident, { teamId: to }, 'direct', options);
    let messageId: string | null = null;
    if (outcome.allow) {
      const body = outcome.content as IncidentUpdateBody;
      messageId = (await deps.outbox.enqueue(tx, { type: 'incident.update', to, tlp: outcome.decision.tlp, body }, incident.id)).id;
    }
    await deps.sharing.record(tx, incident, outcome, {
      ...options,
      details: { type: 'incident.update', messageId, journalEntry: entry.id, relayedFrom: entry.team, origin: row.origin },
    });
    return messageId !== null;
  }

  deps.incidents.addListener(async (tx, incident, entry) => {
    const kind = PASSED_BACK.get(entry.kind);
    if (!kind || entry.team === us) return;
    const c = (entry.changes ?? {}) as Record<string, unknown>;
    // Through a relay further on, the entry names the target and the relay that sent it (via).
    const sender = typeof c['via'] === 'string' ? c['via'] : entry.team;
    const rows = relaysToAnswer(await listRelays(tx, incident.id), entry, sender);
    if (rows.length === 0) return;
    const change = changeOf(entry, kind);
    if (!change) return;
    const targetRef = typeof c['peerRef'] === 'string' ? c['peerRef'] : null;
    let queued = false;
    for (const row of rows) {
      const ref = targetRef ?? row.targetRef;
      if (ref === null) continue;
      if (await passBack(tx, incident, entry, row, change, ref)) queued = true;
    }
    if (queued) deps.onQueued();
  });
}
