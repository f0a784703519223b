import { CONFIG_FLAGS_HELP, UsageError, requestNode } from './cli-context.js';
import { withNode } from './extra-commands.js';

/**
 * `hikeshi contacts resolve ...` (issue 15 part 1): whom to contact about an address, a host, a
 * domain or an AS number, through the running node's API (GET /api/v1/contacts/resolve). Prints
 * the route plan one step a line, first to try first.
 */
interface Command {
  summary: string;
  help: string;
  run(args: string[], out: (s: string) => void): Promise<void>;
}

interface WireStep {
  rank: number;
  kind: string;
  source: string;
  team: string | null;
  name: string | null;
  address: string | null;
  via: string;
  matched: string | null;
  verified: boolean;
  fetchedAt: string | null;
  expiresAt: string | null;
  status: string;
  reason: string | null;
}

const KINDS = ['ip', 'host', 'domain', 'asn'] as const;

function stepLine(s: WireStep): string {
  const who = [s.team, s.name].filter(Boolean).join(' ');
  const fresh = s.fetchedAt ? `  fetched ${s.fetchedAt}${s.expiresAt ? `, until ${s.expiresAt}` : ''}` : '';
  const head = `${String(s.rank).padStart(2)}. ${s.kind.padEnd(12)} ${s.status === 'reachable' ? `${s.via.padEnd(5)} ${s.address ?? ''}` : 'UNREACHABLE'}`;
  return [
    `${head}${who ? `  (${who})` : ''}${s.verified ? '' : '  [unverified]'}`,
    `      from ${s.source}${s.matched ? `, matched ${s.matched}` : ''}${fresh}`,
    ...(s.reason ? [`      ${s.reason}`] : []),
  ].join('\n');
}

async function run(args: string[]): Promise<string> {
  const [sub, ...rest] = args;
  if (sub !== 'resolve') throw new UsageError('contacts needs a subcommand: resolve');
  const opts = { ip: { type: 'string' }, host: { type: 'string' }, domain: { type: 'string' }, asn: { type: 'string' } } as const;
  const { values, base, token } = await withNode(rest, opts, 0);
  const given = KINDS.filter((k) => typeof values[k] === 'string');
  if (given.length !== 1) throw new UsageError('contacts resolve needs exactly one of --ip, --host, --domain, --asn');
  const kind = given[0]!;
  const query = `${kind}=${encodeURIComponent(values[kind] as string)}`;
  const plan = (await requestNode(base, token, 'GET', `/api/v1/contacts/resolve?${query}`)) as {
    query: { kind: string; value: string };
    steps: WireStep[];
  };
  if (plan.steps.length === 0) return `no contact known for ${plan.query.kind} ${plan.query.value}`;
  return [`route plan for ${plan.query.kind} ${plan.query.value}:`, ...plan.steps.map(stepLine)].join('\n');
}

export const contactsCommands: Record<string, Command> = {
  contacts: {
    summary: 'whom to contact about an address, host, domain or AS number (through the running node)',
    help: `Usage:
  hikeshi contacts resolve --ip <address> | --host <name> | --domain <name> | --asn <number>
      the ranked route plan: our site's POCs, teams whose signed profile declares it, our
      coordinators, then security.txt, RDAP abuse, the SOA mailbox and RFC 2142 addresses

${CONFIG_FLAGS_HELP}`,
    async run(args, out) {
      out(await run(args));
    },
  },
};
