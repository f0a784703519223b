import { isIP } from 'node:net';
import { CONFIG_FLAGS_HELP, UsageError, commaList, requestNode } from './cli-context.js';
import { withNode } from './extra-commands.js';

/**
 * `hikeshi inquiry ...` (issue 14 part 5): inquiries to all members of a forum, through the
 * running node's API (/api/v1/forums/{id}/inquiries, /api/v1/inquiries).
 */
interface Command {
  summary: string;
  help: string;
  run(args: string[], out: (s: string) => void): Promise<void>;
}

interface WireSummary {
  id: string;
  direction: string;
  forum: string;
  poster: string;
  tlp: string;
  createdAt: string;
  matchCount: number;
  answerCount: number;
}
interface WireAnswer {
  team: string;
  answer: string;
  ref: string | null;
  automatic: boolean;
  incident: string | null;
}
interface WireInquiry extends WireSummary {
  question: string;
  incident: string | null;
  matches: Array<{ kind: string; id: string; label: string; matchedOn: string; value: string }>;
  members: Array<{ team: string; outcome: string; reason: string | null; delivery: string | null; answer: WireAnswer | null }>;
  answers: WireAnswer[];
}

const list = commaList;
const answerText = (a: WireAnswer) =>
  `${a.answer}${a.ref ? ` (${a.ref})` : ''}${a.incident ? `, shared with us as ${a.incident}` : ''}${a.automatic ? ' [automatic]' : ''}`;
const line = (i: WireSummary) =>
  `${i.id}  ${i.direction.padEnd(8)} ${i.forum.padEnd(12)} from ${i.poster.padEnd(14)} ${i.tlp.padEnd(6)} ${i.matchCount} match(es)  ${i.answerCount} answer(s)`;

function render(i: WireInquiry): string {
  const out = [line(i), `question: ${i.question}`];
  if (i.incident) out.push(`incident: ${i.incident}`);
  if (i.direction === 'received') {
    out.push(i.matches.length ? 'matches here:' : 'nothing matches here');
    for (const m of i.matches) out.push(`  ${m.kind} ${m.label}: ${m.matchedOn} ${m.value}`);
    const last = i.answers.at(-1);
    out.push(last ? `our answer: ${answerText(last)}` : 'not answered yet');
  } else {
    for (const m of i.members)
      out.push(
        `  ${m.team.padEnd(16)} ${m.outcome === 'sent' ? `sent (${m.delivery ?? '?'})` : `skipped: ${m.reason ?? ''}`}  ${m.answer ? answerText(m.answer) : ''}`.trimEnd(),
      );
  }
  return out.join('\n');
}

/** kind:value pairs (the value may hold colons: a URL). */
function indicators(values: string[]) {
  return values.map((v) => {
    const at = v.indexOf(':');
    if (at <= 0) throw new UsageError(`--indicator wants kind:value, got "${v}"`);
    return { kind: v.slice(0, at), value: v.slice(at + 1) };
  });
}

async function run(args: string[]): Promise<string> {
  const [sub, ...rest] = args;
  const opts = {
    question: { type: 'string' },
    host: { type: 'string' },
    indicator: { type: 'string' },
    network: { type: 'string' },
    domain: { type: 'string' },
    tlp: { type: 'string' },
    incident: { type: 'string' },
    sent: { type: 'boolean' },
    answer: { type: 'string' },
    ref: { type: 'string' },
    note: { type: 'string' },
    share: { type: 'boolean' },
  } as const;
  const { pos, values, base, token } = await withNode(rest, opts, 1);
  const [id] = pos;
  switch (sub) {
    case 'post': {
      if (!id || typeof values.question !== 'string') throw new UsageError('inquiry post <forum-id> --question <text>');
      const hosts = list(values.host).map((h) => (isIP(h) ? { ip: h } : { hostname: h }));
      const body = {
        question: values.question,
        tlp: typeof values.tlp === 'string' ? values.tlp : 'AMBER',
        ...(hosts.length ? { hosts } : {}),
        ...(values.indicator ? { indicators: indicators(list(values.indicator)) } : {}),
        ...(values.network ? { networks: list(values.network) } : {}),
        ...(values.domain ? { domains: list(values.domain) } : {}),
        ...(typeof values.incident === 'string' ? { incident: values.incident } : {}),
      };
      const p = (await requestNode(base, token, 'POST', `/api/v1/forums/${encodeURIComponent(id)}/inquiries`, body)) as {
        id: string;
        sentTo: string[];
        skipped: Array<{ team: string; reason: string }>;
      };
      return [
        `inquiry ${p.id}: sent to ${p.sentTo.length ? p.sentTo.join(', ') : 'nobody'}`,
        ...p.skipped.map((s) => `  skipped ${s.team}: ${s.reason}`),
      ].join('\n');
    }
    case 'list': {
      const q = values.sent ? '?direction=sent' : '?direction=received';
      const { items } = (await requestNode(base, token, 'GET', `/api/v1/inquiries${q}`)) as { items: WireSummary[] };
      return items.length ? items.map(line).join('\n') : 'no inquiries';
    }
    case 'show':
      if (!id) throw new UsageError('inquiry show <inquiry-id>');
      return render((await requestNode(base, token, 'GET', `/api/v1/inquiries/${encodeURIComponent(id)}`)) as WireInquiry);
    case 'answer': {
      if (!id || typeof values.answer !== 'string') throw new UsageError('inquiry answer <inquiry-id> --answer seen|not-seen|affected');
      const body = {
        answer: values.answer,
        ...(typeof values.ref === 'string' ? { ref: values.ref } : {}),
        ...(typeof values.note === 'string' ? { note: values.note } : {}),
        ...(values.share ? { share: true } : {}),
      };
      return render((await requestNode(base, token, 'POST', `/api/v1/inquiries/${encodeURIComponent(id)}/answer`, body)) as WireInquiry);
    }
    default:
      throw new UsageError('inquiry needs a subcommand: post, list, show or answer');
  }
}

export const inquiryCommands: Record<string, Command> = {
  inquiry: {
    summary: 'inquiries to all members of a forum, and their answers (through the running node)',
    help: `Usage:
  hikeshi inquiry post <forum-id> --question <text> [--host <ip|name,...>] [--indicator <kind:value,...>]
                       [--network <cidr,...>] [--domain <name,...>] [--tlp CLEAR|GREEN|AMBER|AMBER+STRICT] [--incident <ref>]
                                                  ask every member of the forum's newest roster (default TLP AMBER)
  hikeshi inquiry list [--sent]                   inquiries received (or sent), with match and answer counts
  hikeshi inquiry show <inquiry-id>               received: what matched here; sent: each member and its answer
  hikeshi inquiry answer <inquiry-id> --answer seen|not-seen|affected [--ref <our-ref> [--share]] [--note <text>]
                                                  answer the poster (only it); --share also shares incident
                                                  <our-ref> with it first, as the sharing policy allows

${CONFIG_FLAGS_HELP}`,
    async run(args, out) {
      out(await run(args));
    },
  },
};
