import { CONFIG_FLAGS_HELP, UsageError, requestNode } from './cli-context.js';
import { withNode } from './extra-commands.js';

/**
 * `hikeshi forum ...` (issue 14): the forums this node operates or belongs to, through the
 * running node's API (/api/v1/forums). Each prints what the node answered, in a few lines.
 */
interface Command {
  summary: string;
  help: string;
  run(args: string[], out: (s: string) => void): Promise<void>;
}

interface WireForum {
  id: string;
  name: string;
  operator: string;
  role: string;
  rosterVersion: number;
  ourMembership: string;
  memberCount: number;
  sponsorsNeeded: number;
}
interface WireMember {
  team: string;
  kind: string;
  status: string;
  fingerprint: string;
  sponsors: string[];
  peer: string;
  assurance: string | null;
}

const line = (f: WireForum) =>
  `${f.id.padEnd(16)} ${f.role.padEnd(8)} operator ${f.operator.padEnd(14)} roster v${f.rosterVersion}  ${f.memberCount} member(s)  ours: ${f.ourMembership}`;
const path = (id: string, rest = '') => `/api/v1/forums/${encodeURIComponent(id)}${rest}`;

async function show(base: string, token: string, id: string): Promise<string> {
  const forum = (await requestNode(base, token, 'GET', path(id))) as WireForum;
  const { items } = (await requestNode(base, token, 'GET', path(id, '/members'))) as { items: WireMember[] };
  const rows = items.map(
    (m) =>
      `  ${m.team.padEnd(16)} ${m.kind.padEnd(8)} ${m.status.padEnd(10)} ${m.fingerprint}  here: ${m.peer}${m.assurance ? ` (${m.assurance})` : ''}${m.sponsors.length ? `  sponsors: ${m.sponsors.join(', ')}` : ''}`,
  );
  return [
    line(forum),
    `sponsors needed: ${forum.sponsorsNeeded}`,
    rows.length ? 'members (newest roster):' : 'no roster yet',
    ...rows,
  ].join('\n');
}

async function run(args: string[]): Promise<string> {
  const [sub, ...rest] = args;
  const opts = {
    name: { type: 'string' },
    'sponsors-needed': { type: 'string' },
    operator: { type: 'string' },
    kind: { type: 'string' },
    sponsors: { type: 'string' },
    suspend: { type: 'boolean' },
    statement: { type: 'string' },
    withdraw: { type: 'boolean' },
  } as const;
  const { pos, values, base, token } = await withNode(rest, opts, 2);
  const [id, team] = pos;
  const need = (what: string, ...v: Array<string | undefined>) => {
    if (v.some((x) => !x)) throw new UsageError(`forum ${sub} ${what}`);
  };
  switch (sub) {
    case 'list': {
      const { items } = (await requestNode(base, token, 'GET', '/api/v1/forums')) as { items: WireForum[] };
      return items.length ? items.map(line).join('\n') : 'no forums';
    }
    case 'show':
      need('<forum-id>', id);
      return show(base, token, id!);
    case 'create': {
      need('<forum-id> --name <name>', id, values.name as string | undefined);
      const sponsorsNeeded = values['sponsors-needed'] === undefined ? undefined : Number(values['sponsors-needed']);
      if (sponsorsNeeded !== undefined && !Number.isInteger(sponsorsNeeded))
        throw new UsageError('--sponsors-needed must be a whole number');
      const body = { id, name: values.name, role: 'operator', ...(sponsorsNeeded !== undefined ? { sponsorsNeeded } : {}) };
      return line((await requestNode(base, token, 'POST', '/api/v1/forums', body)) as WireForum);
    }
    case 'join':
      need('<forum-id> --operator <team-id>', id, values.operator as string | undefined);
      return line(
        (await requestNode(base, token, 'POST', '/api/v1/forums', { id, role: 'member', operator: values.operator })) as WireForum,
      );
    case 'admit': {
      need('<forum-id> <team-id> --kind <full|liaison>', id, team, values.kind as string | undefined);
      const sponsors = typeof values.sponsors === 'string' ? values.sponsors.split(',').filter(Boolean) : undefined;
      const body = { kind: values.kind, ...(sponsors ? { sponsors } : {}), ...(values.suspend ? { status: 'suspended' } : {}) };
      const m = (await requestNode(base, token, 'PUT', path(id!, `/draft/${encodeURIComponent(team!)}`), body)) as WireMember;
      return `${m.team}: ${m.kind}, ${m.status}: in the roster from the next version (hikeshi forum publish ${id})`;
    }
    case 'remove':
      need('<forum-id> <team-id>', id, team);
      await requestNode(base, token, 'DELETE', path(id!, `/draft/${encodeURIComponent(team!)}`));
      return `${team} removed: gone from the next version (hikeshi forum publish ${id})`;
    case 'publish': {
      need('<forum-id>', id);
      const p = (await requestNode(base, token, 'POST', path(id!, '/roster'))) as { version: number; sentTo: string[] };
      return `signed version ${p.version}; sent to ${p.sentTo.length ? p.sentTo.join(', ') : 'nobody'}`;
    }
    case 'add-peer': {
      need('<forum-id> <team-id>', id, team);
      const p = (await requestNode(base, token, 'POST', path(id!, `/members/${encodeURIComponent(team!)}/peer`))) as {
        teamId: string;
        assurance: string;
      };
      return `added ${p.teamId} with the key the roster states; assurance ${p.assurance}`;
    }
    case 'refresh': {
      need('<forum-id>', id);
      const r = (await requestNode(base, token, 'POST', path(id!, '/refresh'))) as { version: number; applied: boolean };
      return r.applied ? `applied version ${r.version}` : `version ${r.version} is the newest`;
    }
    case 'apply': {
      need('<forum-id> --statement <text>', id, values.statement as string | undefined);
      const q = (await requestNode(base, token, 'POST', path(id!, '/application'), { statement: values.statement })) as { to: string };
      return `application sent to the operator ${q.to}`;
    }
    case 'sponsor': {
      need('<forum-id> <team-id>', id, team);
      const body = { candidate: team, ...(values.withdraw ? { withdrawn: true } : {}) };
      const q = (await requestNode(base, token, 'POST', path(id!, '/sponsorships'), body)) as { to: string };
      return `${values.withdraw ? 'withdrawal of the sponsorship' : 'sponsorship'} of ${team} sent to the operator ${q.to}`;
    }
    case 'applications': {
      need('<forum-id>', id);
      const { items } = (await requestNode(base, token, 'GET', path(id!, '/applications'))) as {
        items: Array<{
          team: string;
          appliedAt: string | null;
          verified: boolean;
          sponsorships: Array<{ sponsor: string; counts: boolean }>;
        }>;
      };
      if (!items.length) return 'no candidates';
      return items
        .map((a) => {
          const counting = a.sponsorships.filter((s) => s.counts).map((s) => s.sponsor);
          return `${a.team.padEnd(16)} ${a.appliedAt ? `applied ${a.appliedAt}` : 'no application'}  key ${a.verified ? 'verified' : 'NOT verified'} here  sponsors that count: ${counting.join(', ') || 'none'}`;
        })
        .join('\n');
    }
    default:
      throw new UsageError(
        'forum needs a subcommand: list, show, create, join, admit, remove, publish, add-peer, refresh, apply, sponsor or applications',
      );
  }
}

export const forumCommands: Record<string, Command> = {
  forum: {
    summary: 'forums: signed rosters, members, joining (through the running node)',
    help: `Usage:
  hikeshi forum list
  hikeshi forum show <forum-id>                   the forum and the members of its newest roster
  hikeshi forum create <forum-id> --name <name> [--sponsors-needed <n>]
                                                  operate a forum: this node signs its roster
  hikeshi forum join <forum-id> --operator <team-id>
                                                  accept the rosters that peer signs for the forum
  hikeshi forum admit <forum-id> <team-id> --kind <full|liaison> [--sponsors a,b] [--suspend]
  hikeshi forum remove <forum-id> <team-id>       (operator) in effect at the next version
  hikeshi forum publish <forum-id>                (operator) sign the next version and send it
  hikeshi forum add-peer <forum-id> <team-id>     pin a member's key as the roster states it
  hikeshi forum refresh <forum-id>                fetch the newest roster from the operator
  hikeshi forum apply <forum-id> --statement <text>
                                                  (candidate, after join) apply to the operator
  hikeshi forum sponsor <forum-id> <team-id> [--withdraw]
                                                  (member) sponsor a candidate whose key we verified
  hikeshi forum applications <forum-id>           (operator) candidates and the sponsorships that count

${CONFIG_FLAGS_HELP}`,
    async run(args, out) {
      out(await run(args));
    },
  },
};
