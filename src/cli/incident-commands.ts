import { CONFIG_FLAGS_HELP, UsageError, requestNode } from './cli-context.js';
import { withNode } from './extra-commands.js';
import { RELAY_HELP, runRelayCommand } from './relay-commands.js';

/**
 * `hikeshi incident ...` (issue 15 part 4): the originator's corrections of its reports, through
 * the running node's API (/api/v1/incidents/{ref}/corrections; ADR 0018).
 */
interface Command {
  summary: string;
  help: string;
  run(args: string[], out: (s: string) => void): Promise<void>;
}

interface WireCorrection {
  id: string;
  kind: string;
  tlp: string | null;
  reason: string | null;
  state: string;
  receivedFrom: string | null;
  createdAt: string;
  holders: Array<{ team: string; via: string; status: string; holderRef: string | null }>;
}

function render(c: WireCorrection): string {
  const what = c.kind === 'relabel' ? `relabel to TLP:${c.tlp}` : `retraction (${c.reason})`;
  const out = [`${c.id}  ${what}  ${c.state}${c.receivedFrom ? ` (from ${c.receivedFrom})` : ''}  ${c.createdAt}`];
  for (const h of c.holders)
    out.push(`  ${h.team.padEnd(16)} ${h.status.padEnd(12)} ${h.holderRef ?? ''}${h.via !== h.team ? `  via ${h.via}` : ''}`.trimEnd());
  return out.join('\n');
}

async function run(args: string[]): Promise<string> {
  const [sub, ...rest] = args;
  if (sub === 'relay' || sub === 'relays') return runRelayCommand(sub, rest);
  // A usage error before anything else: reading the data directory for a token can fail too.
  if (sub !== 'correct' && sub !== 'corrections') throw new UsageError('incident needs a subcommand: correct or corrections');
  const opts = { retract: { type: 'boolean' }, reason: { type: 'string' }, note: { type: 'string' }, tlp: { type: 'string' } } as const;
  const { pos, values, base, token } = await withNode(rest, opts, 1);
  const [ref] = pos;
  const path = ref ? `/api/v1/incidents/${encodeURIComponent(ref)}/corrections` : '';
  switch (sub) {
    case 'correct': {
      if (!ref) throw new UsageError('incident correct <ref> --retract --reason <why> [--note <text>] | --tlp <label>');
      // An absent --retract is undefined, not false: compare as booleans.
      if ((values.retract === true) === (typeof values.tlp === 'string')) throw new UsageError('give either --retract or --tlp');
      // A retraction says why: the reason travels to every holder, so it is never guessed.
      if (values.retract === true && typeof values.reason !== 'string')
        throw new UsageError('--retract needs --reason false-positive|hoax|mistaken|other');
      const body = values.retract
        ? {
            kind: 'retract',
            reason: values.reason,
            ...(typeof values.note === 'string' ? { note: values.note } : {}),
          }
        : { kind: 'relabel', tlp: values.tlp };
      return render((await requestNode(base, token, 'POST', path, body)) as WireCorrection);
    }
    case 'corrections': {
      if (!ref) throw new UsageError('incident corrections <ref>');
      const { items } = (await requestNode(base, token, 'GET', path)) as { items: WireCorrection[] };
      return items.length ? items.map(render).join('\n') : 'no corrections';
    }
    default:
      throw new UsageError('incident needs a subcommand: correct or corrections');
  }
}

export const incidentCommands: Record<string, Command> = {
  incident: {
    summary: 'correct our reports everywhere they went: re-label or retract (through the running node)',
    help: `Usage:
  hikeshi incident correct <ref> --tlp CLEAR|GREEN|AMBER|AMBER+STRICT|RED
                                                  re-label our report on every copy (a loosening reaches only
                                                  holders that pinned our key)
  hikeshi incident correct <ref> --retract --reason false-positive|hoax|mistaken|other [--note <text>]
                                                  retract it: every copy is marked, kept, and no longer shared
  hikeshi incident corrections <ref>              each correction and which copies acknowledged it
${RELAY_HELP}

${CONFIG_FLAGS_HELP}`,
    async run(args, out) {
      out(await run(args));
    },
  },
};
