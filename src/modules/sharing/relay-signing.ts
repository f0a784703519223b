import type { Tx } from '../../db/database.js';
import type { IncidentReportBody } from '../../../schemas/federation.schema.js';
import type { Incident } from '../../../schemas/incident.schema.js';
import type { RelayDeps } from './relay-forwarding.js';
import { chainToSend } from './relay-hops.js';
import { findSignedProvenance } from './relay.repository.js';
import { payloadDigest } from './disclosure-decision.js';
import { type SharingOutcome } from './sharing.service.js';

/**
 * A share's report carries our hop signed (ADR 0020): replaces the outcome's content (and its
 * digest, which the audit records) with the body whose provenance ends in our signed hop.
 */
export async function signShareProvenance(
  deps: Pick<RelayDeps, 'signer' | 'clock' | 'config'>,
  tx: Tx,
  incident: Incident,
  outcome: SharingOutcome,
  to: string,
): Promise<void> {
  const body = outcome.content as IncidentReportBody;
  const received = await findSignedProvenance(tx, incident.id);
  const provenance = await chainToSend(deps.signer, outcome.decision.provenance ?? [], received?.hops ?? null, {
    team: deps.config.teamId,
    ref: incident.ref,
    at: deps.clock(),
    to,
  });
  outcome.content = { ...body, provenance };
  outcome.payloadSha256 = payloadDigest(outcome.content);
}
