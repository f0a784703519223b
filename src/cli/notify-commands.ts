import { CONFIG_FLAGS_HELP, UsageError, requestNode } from './cli-context.js';
import { withNode } from './extra-commands.js';

/**
 * `hikeshi notify ...` (issue 19 part 5, ADR 0026): tell the constituency's sites about an
 * incident, through the running node's API.
 */
interface Command {
  summary: string;
  help: string;
  run(args: string[], out: (s: string) => void): Promise<void>;
}

interface WireNotification {
  id: string;
  incident: { ref: string };
  site: { id: string; name: string };
  state: string;
  reason: string | null;
  deniedBy: string[];
  poc: { name: string; email: string } | null;
  language: string;
  counterMeasure: string | null;
  encrypted: boolean | null;
  messageId: string | null;
  sendUncertain: boolean;
  follows: string | null;
  delivery: { attempts: number; lastError: string | null } | null;
  text?: string | null;
}

const line = (n: WireNotification) => {
  const why = n.state === 'refused' ? ` (${n.deniedBy.join(', ')})` : n.reason ? ` (${n.reason})` : '';
  const retry = n.delivery?.lastError && n.state === 'approved' ? `  retrying: ${n.delivery.lastError}` : '';
  const follows = n.follows ? `  (follows ${n.follows})` : '';
  return `${n.id}  ${`${n.state}${why}`.padEnd(34)} ${n.site.name}  ${n.poc?.email ?? '-'}${n.sendUncertain ? '  (hand-over uncertain)' : ''}${follows}${retry}`;
};

const OPTIONS = {} as const;

async function notify(args: string[]): Promise<string> {
  const [sub, ...rest] = args;
  const { pos, base, token } = await withNode(rest, OPTIONS, 1);
  const [arg] = pos;
  const needs = (what: string) => {
    if (!arg) throw new UsageError(`notify ${sub} <${what}>`);
    return encodeURIComponent(arg);
  };
  switch (sub) {
    case 'propose': {
      const { items } = (await requestNode(base, token, 'POST', `/api/v1/incidents/${needs('ref')}/notifications/propose`)) as {
        items: WireNotification[];
      };
      return items.length ? items.map(line).join('\n') : 'no site of the constituency is involved';
    }
    case 'list': {
      const { items } = (await requestNode(base, token, 'GET', `/api/v1/incidents/${needs('ref')}/notifications`)) as {
        items: WireNotification[];
      };
      return items.length ? items.map(line).join('\n') : 'no notifications';
    }
    case 'show': {
      const n = (await requestNode(base, token, 'GET', `/api/v1/notifications/${needs('id')}`)) as WireNotification;
      return [
        line(n),
        `language ${n.language}, counter-measure ${n.counterMeasure ?? '-'}, Message-ID ${n.messageId ?? '-'}`,
        '',
        n.text ?? '(nothing to send)',
      ].join('\n');
    }
    case 'approve':
      return line((await requestNode(base, token, 'POST', `/api/v1/notifications/${needs('id')}/approve`)) as WireNotification);
    case 'counter-measures': {
      const { items } = (await requestNode(base, token, 'GET', '/api/v1/counter-measures')) as {
        items: Array<{ id: string; title: string; category: string | null; types: string[]; source: string }>;
      };
      return items
        .map((c) => `${c.id.padEnd(20)} ${c.source.padEnd(9)} ${(c.types.join(',') || c.category || '-').padEnd(40)} ${c.title}`)
        .join('\n');
    }
    default:
      throw new UsageError('notify needs a subcommand: propose, list, show, approve or counter-measures');
  }
}

export const notifyCommands: Record<string, Command> = {
  notify: {
    summary: "tell the constituency's sites about an incident: propose, review, approve (through the running node)",
    help: `Usage:
  hikeshi notify propose <ref>        find the sites the incident involves; one notification per site,
                                      each decided by the sharing policy (drafted, refused or unreachable)
  hikeshi notify list <ref>           the incident's notifications and their states
  hikeshi notify show <id>            one notification with the text the site will read
  hikeshi notify approve <id>         send a draft: signed mail, encrypted to the POC key for AMBER and up
  hikeshi notify counter-measures     the advice templates (the team's and the built-in ones)

${CONFIG_FLAGS_HELP}`,
    async run(args, out) {
      out(await notify(args));
    },
  },
};
