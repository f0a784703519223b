import { UsageError, requestNode } from './cli-context.js';
import { withNode } from './extra-commands.js';

/**
 * `hikeshi incident relay|relays ...` (issue 15 part 2; ADR 0020): ask a trusted team to pass an
 * incident on, and follow the relays of an incident, through the running node's API
 * (/api/v1/incidents/{ref}/relays). Wired into `hikeshi incident` (incident-commands.ts).
 */

export const RELAY_HELP = `  hikeshi incident relay <ref> --via <team> --to <team> | --address <ip>
                                                  ask <via> to pass our report on, signed as it is, to a team
                                                  or to whoever serves the address; its policy decides
  hikeshi incident relays <ref>                   each relay of the incident: state, target and its number`;

interface WireRelay {
  origin: { team: string; ref: string };
  role: string;
  state: string;
  via: string | null;
  target: { team?: string; address?: string };
  targetTeam: string | null;
  targetRef: string | null;
  refusedBy: string | null;
  deniedBy: string[];
}

function render(r: WireRelay): string {
  const target = r.target.team ?? r.target.address ?? '?';
  const outcome =
    r.state === 'delivered'
      ? `${r.targetTeam ?? target} filed it as ${r.targetRef ?? '?'}`
      : r.state === 'refused'
        ? `refused by ${r.refusedBy ?? '?'}: ${r.deniedBy.join(', ')}`
        : r.state;
  return `${r.role.padEnd(10)} ${r.origin.team}'s ${r.origin.ref}  via ${r.via ?? '-'} to ${target}  ${outcome}`;
}

/** `incident relay` and `incident relays`; the answer's lines. */
export async function runRelayCommand(sub: 'relay' | 'relays', rest: string[]): Promise<string> {
  const opts = { via: { type: 'string' }, to: { type: 'string' }, address: { type: 'string' } } as const;
  const { pos, values, base, token } = await withNode(rest, opts, 1);
  const [ref] = pos;
  if (!ref)
    throw new UsageError(sub === 'relay' ? 'incident relay <ref> --via <team> --to <team> | --address <ip>' : 'incident relays <ref>');
  const path = `/api/v1/incidents/${encodeURIComponent(ref)}/relays`;
  if (sub === 'relays') {
    const { items } = (await requestNode(base, token, 'GET', path)) as { items: WireRelay[] };
    return items.length ? items.map(render).join('\n') : 'no relays';
  }
  if (typeof values.via !== 'string') throw new UsageError('incident relay needs --via <team>');
  if ((typeof values.to === 'string') === (typeof values.address === 'string'))
    throw new UsageError('give either --to <team> or --address <ip>');
  const body = typeof values.to === 'string' ? { via: values.via, to: values.to } : { via: values.via, address: values.address };
  return render((await requestNode(base, token, 'POST', path, body)) as WireRelay);
}
