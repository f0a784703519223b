import type { Tx } from '../../db/database.js';
import type { Exchange } from '../exchange/exchange.module.js';
import type { ErasureEvent, IncidentService } from '../incidents/incidents.module.js';
import { scrubJson } from '../../util/scrub-json.js';
import { listInvestigations, rewriteInvestigation } from './investigation.repository.js';

/**
 * An erasure of personal data reaches the copies sharing keeps (ADR 0016): the signed messages
 * stored about the incident, in and out (through the exchange), and the investigations asked of
 * peers and by them. Runs inside the erasure's transaction: all of it happens, or none.
 */
export function eraseCopiesOnErasure(deps: {
  incidents: Pick<IncidentService, 'addErasureListener'>;
  exchange: Pick<Exchange, 'eraseStoredMessages'>;
}): void {
  deps.incidents.addErasureListener(async (tx, incident, erasure) => {
    await deps.exchange.eraseStoredMessages(tx, incident.id, erasure.scrub);
    await eraseInvestigations(tx, incident.id, erasure);
  });
}

async function eraseInvestigations(tx: Tx, incidentId: string, erasure: ErasureEvent): Promise<number> {
  let rewritten = 0;
  for (const row of await listInvestigations(tx, incidentId, true)) {
    // The texts and host lists that may name a victim; ids, states and times stay.
    const content = { question: row.question, hosts: row.hosts, finding: row.finding, summary: row.summary, resultHosts: row.resultHosts };
    const scrubbed = scrubJson(content, erasure.scrub);
    if (!scrubbed.erased) continue;
    await rewriteInvestigation(tx, row.id, scrubbed.value as typeof content);
    rewritten++;
  }
  return rewritten;
}
