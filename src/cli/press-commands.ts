import { CONFIG_FLAGS_HELP, UsageError, commaList, requestNode } from './cli-context.js';
import { withNode } from './extra-commands.js';

/**
 * `hikeshi press ...` (issue 17 part 4, ADR 0023): press statements, through the running node's
 * API (/api/v1/press/statements): drafted from TLP:CLEAR content only, approved by a second
 * handler (which publishes them at /press), withdrawn.
 */
interface Command {
  summary: string;
  help: string;
  run(args: string[], out: (s: string) => void): Promise<void>;
}

interface WireStatement {
  id: string;
  title: string;
  text: string;
  incidents: Array<{ ref: string }>;
  state: string;
  draftedBy: string;
  approvedBy: string | null;
  publishedAt: string | null;
  withdrawalReason: string | null;
}

const line = (s: WireStatement) =>
  `${s.id}  ${s.state.padEnd(9)} ${s.title}  (drafted by ${s.draftedBy}${s.approvedBy ? `, approved by ${s.approvedBy}` : ''})`;
const render = (s: WireStatement) =>
  [
    line(s),
    ...(s.incidents.length ? [`incidents: ${s.incidents.map((i) => i.ref).join(', ')}`] : []),
    ...(s.publishedAt ? [`published: ${s.publishedAt}`] : []),
    ...(s.withdrawalReason ? [`withdrawn: ${s.withdrawalReason}`] : []),
    '',
    s.text,
  ].join('\n');

async function run(args: string[]): Promise<string> {
  const [sub, ...rest] = args;
  const opts = { title: { type: 'string' }, text: { type: 'string' }, incident: { type: 'string' }, reason: { type: 'string' } } as const;
  const { pos, values, base, token } = await withNode(rest, opts, 1);
  const [id] = pos;
  const at = (suffix = '') => `/api/v1/press/statements/${encodeURIComponent(id ?? '')}${suffix}`;
  switch (sub) {
    case 'draft': {
      if (typeof values.title !== 'string' || typeof values.text !== 'string')
        throw new UsageError('press draft --title <text> --text <text> [--incident <ref,...>]');
      const incidents = commaList(values.incident);
      const body = { title: values.title, text: values.text, incidents };
      return render((await requestNode(base, token, 'POST', '/api/v1/press/statements', body)) as WireStatement);
    }
    case 'list': {
      const { items } = (await requestNode(base, token, 'GET', '/api/v1/press/statements')) as { items: WireStatement[] };
      return items.length ? items.map(line).join('\n') : 'no press statements';
    }
    case 'show':
      if (!id) throw new UsageError('press show <statement-id>');
      return render((await requestNode(base, token, 'GET', at())) as WireStatement);
    case 'approve':
      if (!id) throw new UsageError('press approve <statement-id>');
      return render((await requestNode(base, token, 'POST', at('/approve'))) as WireStatement);
    case 'withdraw':
      if (!id || typeof values.reason !== 'string') throw new UsageError('press withdraw <statement-id> --reason <text>');
      return render((await requestNode(base, token, 'POST', at('/withdraw'), { reason: values.reason })) as WireStatement);
    default:
      throw new UsageError('press needs a subcommand: draft, list, show, approve or withdraw');
  }
}

export const pressCommands: Record<string, Command> = {
  press: {
    summary: 'press statements: TLP:CLEAR only, approved by a second handler, published at /press (through the running node)',
    help: `Usage:
  hikeshi press draft --title <text> --text <text> [--incident <ref,...>]
                                        draft a statement; refused when an incident is not TLP:CLEAR or the
                                        words name anything that is not
  hikeshi press list                    statements in every state
  hikeshi press show <statement-id>
  hikeshi press approve <statement-id>  approve as a second handler (not the drafter): publishes it at /press
  hikeshi press withdraw <statement-id> --reason <text>

${CONFIG_FLAGS_HELP}`,
    async run(args, out) {
      out(await run(args));
    },
  },
};
