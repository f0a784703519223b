import { CONFIG_FLAGS_HELP, UsageError, requestNode } from './cli-context.js';
import { withNode } from './extra-commands.js';

/**
 * The signed e-mail channel (ADR 0025) through the running node's API: `hikeshi mail test` sends
 * a signed test message, `hikeshi mail quarantine` lists the mail that was not filed, `hikeshi mail
 * accept|reject` decides on one (admin).
 */
interface Command {
  summary: string;
  help: string;
  run(args: string[], out: (s: string) => void): Promise<void>;
}

async function mailCommand(args: string[], out: (s: string) => void): Promise<void> {
  const [sub, ...rest] = args;
  if (sub === 'test') {
    const { pos, base, token } = await withNode(rest, {}, 1);
    if (!pos[0]) throw new UsageError('mail test <address>');
    const r = (await requestNode(base, token, 'POST', '/api/v1/mail/test', { to: pos[0] })) as {
      to: string;
      from: string;
      signedBy: string;
    };
    out(`sent a signed test message from ${r.from} to ${r.to} (key ${r.signedBy})`);
    return;
  }
  if (sub === 'quarantine') {
    const { base, token } = await withNode(rest, {}, 0);
    const r = (await requestNode(base, token, 'GET', '/api/v1/mail/quarantine?limit=100')) as {
      items: Array<{ id: string; receivedAt: string; reason: string; headerFrom: string | null; detail: string }>;
    };
    if (r.items.length === 0) out('no quarantined mail');
    for (const m of r.items) out(`${m.id}  ${m.receivedAt}  ${m.reason.padEnd(18)}  ${m.headerFrom ?? '-'}  ${m.detail}`);
    return;
  }
  if (sub === 'receipts') {
    const { values, base, token } = await withNode(rest, { state: { type: 'string' } }, 0);
    const query = typeof values.state === 'string' ? `&state=${encodeURIComponent(values.state)}` : '';
    const r = (await requestNode(base, token, 'GET', `/api/v1/mail/receipts?limit=500${query}`)) as {
      items: Array<{ id: string; incident: string; peer: string; state: string; to: string; queuedAt: string; lastError: string | null }>;
    };
    if (r.items.length === 0) out('no receipts to people');
    for (const m of r.items)
      out(`${m.id}  ${m.queuedAt}  ${m.state.padEnd(12)}  ${m.incident}  ${m.peer}  ${m.to}${m.lastError ? `  (${m.lastError})` : ''}`);
    return;
  }
  if (sub === 'accept' || sub === 'reject') {
    const { pos, values, base, token } = await withNode(rest, { reason: { type: 'string' } }, 1);
    if (!pos[0]) throw new UsageError(`mail ${sub} <id>${sub === 'reject' ? ' --reason <why>' : ''}`);
    if (sub === 'reject' && typeof values.reason !== 'string') throw new UsageError('mail reject <id> --reason <why>');
    const path = `/api/v1/mail/quarantine/${encodeURIComponent(pos[0])}/${sub}`;
    const r = (await requestNode(base, token, 'POST', path, sub === 'reject' ? { reason: values.reason } : undefined)) as {
      mail: { id: string; state: string };
      outcome: { kind: string; what?: string; quarantineId?: string; reason?: string; detail: string } | null;
    };
    out(`${r.mail.id}  ${r.mail.state}`);
    if (r.outcome?.kind === 'filed') out(`filed (${r.outcome.what ?? '-'}): ${r.outcome.detail}`);
    else if (r.outcome) out(`held again as ${r.outcome.quarantineId ?? '-'} (${r.outcome.reason ?? '-'}): ${r.outcome.detail}`);
    return;
  }
  throw new UsageError(sub ? `unknown mail command "${sub}"` : 'mail test|quarantine|receipts|accept|reject');
}

export const mailCommands: Record<string, Command> = {
  mail: {
    summary:
      'the signed e-mail channel: send a test message, list, accept or reject quarantined mail, list the receipts outbox (through the running node)',
    help: `Usage:
  hikeshi mail test <address>    send a PGP/MIME signed test message through HIKESHI_SMTP_URL
  hikeshi mail quarantine        incoming mail that was not filed, newest first, with the reason
  hikeshi mail receipts [--state owed|queued|handing-over|sent]
                                 (admin) the receipts to people who mailed a signed report: owed (no outgoing
                                 mail when it was filed; sent once there is), queued, sent
  hikeshi mail accept <id>       (admin) feed a quarantined mail into the intake again, as if it had just arrived
  hikeshi mail reject <id> --reason <why>
                                 (admin) never process a quarantined mail; the reason is kept and audited

${CONFIG_FLAGS_HELP}`,
    run: mailCommand,
  },
};
