import { verifyDocumentSignature, type PeerKey } from '../../crypto/index.js';
import type { DbOrTx } from '../../db/database.js';
import type { SignedCorrection } from '../../../schemas/correction.schema.js';
import type { ReportProvenanceHop } from '../../../schemas/relay.schema.js';
import { decideCopyBinding, type CopyBinding, type OriginHopFacts } from '../policy/index.js';
import { hopStatement } from './relay-hops.js';
import { findSignedProvenance } from './relay.repository.js';

/**
 * Is our copy the report a correction is about? (ADR 0018; docs/federation-protocol.md §5.19.)
 * The facts come from the copy's signed provenance, kept as received (ADR 0020): its first hop
 * is the originator's signed `{team, ref}`. A hop not verified on arrival (no key for the
 * originator then) is verified now with the key that verified the correction, so a relay that
 * had signed a false origin hop in the originator's name is caught the moment a key is at hand.
 * The rule itself is pure (policy/correction-rules.ts `decideCopyBinding`).
 */
export async function bindCorrectionToCopy(
  db: DbOrTx,
  incidentId: string,
  correction: SignedCorrection,
  key: PeerKey | null,
  now: Date,
  /** The hops of a report being filed in this transaction (not recorded yet); else read from the copy. */
  filing?: readonly ReportProvenanceHop[],
): Promise<CopyBinding> {
  const statement = correction.document;
  const kept = filing ? null : await findSignedProvenance(db, incidentId);
  const hops = filing ?? kept?.hops ?? [];
  const first = hops[0];
  let originHop: OriginHopFacts | null = null;
  const signed = first ? hopStatement(first) : null;
  if (first && signed) {
    let verified = kept?.checks[0]?.verified === true;
    let fails = false;
    if (!verified && key && first.team === statement.originator) {
      const result = await verifyDocumentSignature({ document: signed, signature: first.signature }, key, { now });
      verified = result.ok;
      fails = !result.ok;
    }
    originHop = { team: signed.team, ref: signed.ref, verified, fails };
  }
  return decideCopyBinding({ originator: statement.originator, originatorRef: statement.originatorRef, originHop });
}
