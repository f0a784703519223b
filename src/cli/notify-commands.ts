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
  channel: string;
  peerTeam: string | null;
  delivery: { attempts: number; lastError: string | null } | null;
  text?: string | null;
}

const line = (n: WireNotification) => {
  const why = n.state === 'refused' ? ` (${n.deniedBy.join(', ')})` : n.reason ? ` (${n.reason})` : '';
  const retry = n.delivery?.lastError && n.state === 'approved' ? `  retrying: ${n.delivery.lastError}` : '';
  const follows = n.follows ? `  (follows ${n.follows})` : '';
  return `${n.id}  ${`${n.state}${why}`.padEnd(34)} ${n.site.name}  ${n.channel === 'node' ? `node of ${n.peerTeam}` : (n.poc?.email ?? '-')}${n.sendUncertain ? '  (hand-over uncertain)' : ''}${follows}${retry}`;
};

const OPTIONS = { text: { type: 'string' } } as const;

interface WireReceived {
  id: string;
  from: string;
  senderRef: string;
  tlp: string;
  state: string;
  receivedAt: string;
  content: { hosts: Array<{ ip?: string; hostname?: string }> };
  text?: string;
}

const receivedLine = (n: WireReceived) =>
  `${n.id}  ${n.state.padEnd(13)} from ${n.from}  ref ${n.senderRef}  TLP:${n.tlp}  ${n.content.hosts.map((h) => h.ip ?? h.hostname).join(', ')}`;

/**
 * What our coordinator's node told this node as a site (ADR 0026), and the site's own node named
 * on a site of ours: `notify received`, `received-show`, `received-ack`, `received-answer`, `site-node`.
 */
async function siteNodeCommand(sub: string, pos: string[], text: string | undefined, base: string, token: string): Promise<string> {
  const path = '/api/v1/received-site-notifications';
  const needs = (what: string, at = 0) => {
    if (!pos[at]) throw new UsageError(`notify ${sub} <${what}>`);
    return encodeURIComponent(pos[at]);
  };
  switch (sub) {
    case 'received': {
      const { items } = (await requestNode(base, token, 'GET', path)) as { items: WireReceived[] };
      return items.length ? items.map(receivedLine).join('\n') : 'no site notifications received';
    }
    case 'received-show': {
      const n = (await requestNode(base, token, 'GET', `${path}/${needs('id')}`)) as WireReceived;
      return [receivedLine(n), '', n.text ?? ''].join('\n');
    }
    case 'received-ack':
      return receivedLine((await requestNode(base, token, 'POST', `${path}/${needs('id')}/acknowledge`)) as WireReceived);
    case 'received-answer': {
      if (!text) throw new UsageError('notify received-answer <id> --text <answer>');
      return receivedLine((await requestNode(base, token, 'POST', `${path}/${needs('id')}/answer`, { text })) as WireReceived);
    }
    default: {
      const team = needs('team-id|none', 1);
      const site = (await requestNode(base, token, 'PATCH', `/api/v1/sites/${needs('site-id')}`, {
        teamId: team === 'none' ? null : team,
      })) as { id: string; name: string; teamId: string | null };
      return site.teamId ? `${site.name}: told through the node of ${site.teamId}` : `${site.name}: told by mail to its POC`;
    }
  }
}

const SITE_NODE_COMMANDS = new Set(['received', 'received-show', 'received-ack', 'received-answer', 'site-node']);

async function notify(args: string[]): Promise<string> {
  const [sub, ...rest] = args;
  const { pos, base, token, values } = await withNode(rest, OPTIONS, 2);
  if (sub && SITE_NODE_COMMANDS.has(sub)) return siteNodeCommand(sub, pos, values['text'] as string | undefined, base, token);
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
      throw new UsageError(
        'notify needs a subcommand: propose, list, show, approve, counter-measures, site-node, received, received-show, received-ack or received-answer',
      );
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
  hikeshi notify site-node <site-id> <team-id|none>
                                      the site runs its own node, a peer of ours: its notifications go
                                      there as signed site.notification documents (none: by mail again)
  hikeshi notify received             site notifications our coordinator's node sent us
  hikeshi notify received-show <id>   one of them, with the text
  hikeshi notify received-ack <id>    tell the sender we took note (signed, audited)
  hikeshi notify received-answer <id> --text <answer>
                                      answer the sender (signed, audited; lands in its incident's journal)

${CONFIG_FLAGS_HELP}`,
    async run(args, out) {
      out(await notify(args));
    },
  },
};
