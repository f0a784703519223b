import { readFile } from 'node:fs/promises';
import { CONFIG_FLAGS_HELP, UsageError, requestNode } from './cli-context.js';
import { withNode } from './extra-commands.js';

/**
 * `hikeshi campaign ...` (issue 19 part 4, ADR 0027): a feed of events filed as one incident and
 * notification per site and period, or its dry run, through the running node's API.
 */
interface Command {
  summary: string;
  help: string;
  run(args: string[], out: (s: string) => void): Promise<void>;
}

interface WireReport {
  campaign: string;
  dryRun: boolean;
  counts: Record<string, number>;
  rejected: Array<{ row: number; reason: string }>;
  unmatched: Array<{ row: number; value: string }>;
  sites: Array<{
    siteName: string;
    period: string;
    events: number;
    newEvents: number;
    recipients: string[];
    incidents: string[];
    notifications: Array<{ id: string | null; state: string; reason: string | null }>;
  }>;
}

const OPTIONS = {
  category: { type: 'string' },
  type: { type: 'string' },
  tlp: { type: 'string' },
  severity: { type: 'string' },
  role: { type: 'string' },
  period: { type: 'string' },
  format: { type: 'string' },
  source: { type: 'string' },
  'counter-measure': { type: 'string' },
  'dry-run': { type: 'boolean' },
  approve: { type: 'boolean' },
} as const;

const CONTENT_TYPES: Record<string, string> = {
  csv: 'text/csv',
  json: 'application/json',
  ndjson: 'application/x-ndjson',
  jsonl: 'application/x-ndjson',
};

function render(r: WireReport): string {
  const c = r.counts;
  const lines = [
    `${r.dryRun ? 'dry run: nothing filed. ' : ''}${c['rows']} row(s): ${c['events']} event(s), ${c['rejected']} malformed, ${c['unmatched']} in no site, ${c['duplicates']} repeated, ${c['alreadyFiled']} filed before`,
    `${c['sites']} site(s); ${c['incidents']} incident(s) filed, ${c['notifications']} notification(s) proposed`,
  ];
  for (const s of r.sites) {
    const to = s.recipients.length ? s.recipients.join(', ') : 'UNREACHABLE (no POC e-mail)';
    const made = s.incidents.length ? `  ${s.incidents.join(', ')}` : '';
    const states = s.notifications.map((n) => `${n.state}${n.reason ? ` (${n.reason})` : ''}`).join(', ');
    lines.push(`  ${s.period}  ${s.siteName}: ${s.newEvents}/${s.events} new -> ${to}${made}${states ? `  [${states}]` : ''}`);
  }
  for (const x of r.rejected) lines.push(`row ${x.row}: ${x.reason}`);
  for (const x of r.unmatched) lines.push(`row ${x.row}: ${x.value} is in no site of the constituency`);
  return lines.join('\n');
}

async function campaign(args: string[]): Promise<string> {
  const [sub, ...rest] = args;
  const { pos, values, base, token } = await withNode(rest, OPTIONS, 2);
  if (sub === 'list') {
    const { items } = (await requestNode(base, token, 'GET', '/api/v1/campaigns')) as {
      items: Array<{ campaign: string; runs: number; lastRunAt: string; events: number; incidents: number }>;
    };
    return items.length
      ? items
          .map((c) => `${c.campaign.padEnd(30)} ${c.runs} run(s), ${c.events} event(s), ${c.incidents} incident(s), last ${c.lastRunAt}`)
          .join('\n')
      : 'no campaigns';
  }
  if (sub !== 'run') throw new UsageError('campaign needs a subcommand: run or list');
  const [name, file] = pos;
  const category = typeof values['category'] === 'string' ? values['category'] : undefined;
  const type = typeof values['type'] === 'string' ? values['type'] : undefined;
  if (!name || !file || !category || !type)
    throw new UsageError('campaign run <name> <file> --category <rsit-category> --type <rsit-type>');
  const format =
    typeof values['format'] === 'string' ? values['format'] : (/\.(csv|json|ndjson|jsonl)$/i.exec(file)?.[1]?.toLowerCase() ?? 'csv');
  const contentType = CONTENT_TYPES[format];
  if (!contentType) throw new UsageError('--format is csv, json or ndjson');
  const query = new URLSearchParams({ category, type });
  for (const key of ['tlp', 'severity', 'role', 'period', 'source'] as const)
    if (typeof values[key] === 'string') query.set(key, values[key]);
  if (typeof values['counter-measure'] === 'string') query.set('counterMeasure', values['counter-measure']);
  if (values['dry-run']) query.set('dryRun', 'true');
  if (values['approve']) query.set('approve', 'true');
  const report = (await requestNode(
    base,
    token,
    'POST',
    `/api/v1/campaigns/${encodeURIComponent(name)}/events?${query.toString()}`,
    await readFile(file, 'utf8'),
    { contentType, timeoutMs: 600_000 },
  )) as WireReport;
  return render(report);
}

export const campaignCommands: Record<string, Command> = {
  campaign: {
    summary: 'file a feed of events (a scan or botnet list) as one notification per site, or show the plan (through the running node)',
    help: `Usage:
  hikeshi campaign run <name> <file> --category <rsit-category> --type <rsit-type>
        [--format csv|json|ndjson] [--period day|week|once] [--role source|target] [--tlp <label>]
        [--severity <s>] [--source <who sent the feed>] [--counter-measure <id>] [--approve] [--dry-run]
                                 one incident and notification per site and period; rows already
                                 filed for a site and period are skipped; --dry-run writes nothing
  hikeshi campaign list          campaigns with their runs, events and incidents

The file: CSV with a header row (ip, hostname, asn, port, protocol, time, detail; IntelMQ's
source.ip, source.fqdn, source.asn, source.port, protocol.transport, time.source work too), a JSON
array of such objects, or JSON lines.

${CONFIG_FLAGS_HELP}`,
    async run(args, out) {
      out(await campaign(args));
    },
  },
};
