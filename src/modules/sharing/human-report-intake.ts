import { createHash } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { Db } from '../../db/database.js';
import type { Tlp } from '../../../schemas/common.schema.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { HumanReport, HumanReportHandler } from '../exchange/exchange.module.js';
import type { IncidentService } from '../incidents/incidents.module.js';
import type { PeerDirectory } from '../peers/peers.module.js';
import { findMailReport, insertMailReport } from './human-report.repository.js';
import type { ReportReceipts } from './mail-report-receipt.js';

/**
 * A report a person wrote, signed with GnuPG and mailed (ADR 0025), filed as a new incident of
 * ours, reported by the peer whose pinned key signed it:
 *
 *   title     the Subject (unsigned, so only a title), or "Report by e-mail from <team>"
 *   summary   the signed text (the first 10,000 characters; all of it in intruderActivity when longer)
 *   tlp       the first TLP label in the signed text (TLP:RED, TLP:AMBER+STRICT, ...), else AMBER:
 *             a person's mail without a label is treated as not for sharing beyond the team
 *   category  other/undetermined; severity medium: a handler triages it like any new report
 *   reporter  the peer team (its name, its e-mail address)
 *
 * The same signed text from the same peer files once (mail_report, by digest); the filing is
 * journaled by the incident service and audited here. A filed or recognised report gets a signed
 * receipt (mail-report-receipt.ts), queued in the same transaction, once per report mail.
 */
const TLP_IN_TEXT = /\bTLP:\s?(RED|AMBER\+STRICT|AMBER|GREEN|CLEAR|WHITE)\b/i;

export function tlpOfHumanReport(text: string): Tlp {
  const label = TLP_IN_TEXT.exec(text)?.[1]?.toUpperCase();
  if (!label) return 'AMBER';
  return (label === 'WHITE' ? 'CLEAR' : label) as Tlp;
}

export function createHumanReportIntake(deps: {
  db: Db;
  clock: Clock;
  incidents: Pick<IncidentService, 'createInTx'>;
  peers: Pick<PeerDirectory, 'find'>;
  audit: AuditLog;
  teamId: string;
  /** Absent: no outgoing mail channel, no receipts. */
  receipts?: ReportReceipts | null;
}): HumanReportHandler {
  return async (report: HumanReport) => {
    const digest = createHash('sha256').update(report.text, 'utf8').digest('hex');
    const peer = await deps.peers.find(deps.db, report.peerTeam);
    const tlp = tlpOfHumanReport(report.text);
    let receipt: string | null = null;
    const filed = await deps.db.transaction().execute(async (tx) => {
      const known = await findMailReport(tx, report.peerTeam, digest);
      if (known) {
        receipt = (await deps.receipts?.queue(tx, { ...known, report, digest, tlp })) ?? null;
        return { incidentId: known.incidentId, ref: known.ref, created: false };
      }
      const text = report.text.trim() || '(empty)';
      const incident = await deps.incidents.createInTx(
        tx,
        {
          title: (report.subject.trim() || `Report by e-mail from ${report.peerTeam}`).slice(0, 300),
          summary: text.slice(0, 10_000),
          ...(text.length > 10_000 ? { intruderActivity: text.slice(0, 100_000) } : {}),
          category: 'other',
          severity: 'medium',
          tlp,
          reporter: { name: peer?.name ?? report.peerTeam, organisation: report.peerTeam, ...(peer?.email ? { email: peer.email } : {}) },
        },
        { subject: `mail:${report.peerTeam}`, team: deps.teamId },
      );
      const at = deps.clock();
      await insertMailReport(tx, { peerTeam: report.peerTeam, digest, incidentId: incident.id, at });
      // Before the audit: the audit log's lock comes last in every transaction (incident.service.ts).
      receipt = (await deps.receipts?.queue(tx, { incidentId: incident.id, ref: incident.ref, filedAt: at, report, digest, tlp })) ?? null;
      await deps.audit.append(tx, {
        kind: 'mail-report-filed',
        actor: report.peerTeam,
        peer: report.peerTeam,
        incidentId: incident.id,
        decision: null,
        details: { ref: incident.ref, signer: report.signerFingerprint, encrypted: report.encrypted, digest },
      });
      return { incidentId: incident.id, ref: incident.ref, created: true };
    });
    // Committed: the receipt may go now rather than at the next poll.
    if (receipt) deps.receipts?.mailer?.kick();
    return filed;
  };
}
