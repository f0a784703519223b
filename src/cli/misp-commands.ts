import { readFile } from 'node:fs/promises';
import { CONFIG_FLAGS_HELP, UsageError, requestNode } from './cli-context.js';
import type { FormatCommands } from './format-commands.js';
import { withNode } from './extra-commands.js';

/**
 * MISP (issue 16 part 3) through the running node's API: `hikeshi export misp`, `hikeshi import
 * misp`, `hikeshi misp push|pull`. The export prints the event JSON (to pipe into a file or a
 * MISP instance); the others print one line of outcome.
 */
interface Command {
  summary: string;
  help: string;
  run(args: string[], out: (s: string) => void): Promise<void>;
}

const FOR = { for: { type: 'string' } } as const;
const incidentPath = (ref: string) => `/api/v1/incidents/${encodeURIComponent(ref)}`;
const forQuery = (team: unknown) => (typeof team === 'string' ? `?for=${encodeURIComponent(team)}` : '');

async function exportMisp(rest: string[]): Promise<string> {
  const { pos, values, base, token } = await withNode(rest, FOR, 1);
  if (!pos[0]) throw new UsageError('export misp <ref> [--for <team>]');
  return JSON.stringify(await requestNode(base, token, 'GET', `${incidentPath(pos[0])}/misp${forQuery(values.for)}`), null, 2);
}

async function importMisp(rest: string[]): Promise<string> {
  const { pos, base, token } = await withNode(rest, {}, 1);
  if (!pos[0]) throw new UsageError('import misp <file>');
  let body: unknown;
  try {
    body = JSON.parse(await readFile(pos[0], 'utf8'));
  } catch (err) {
    throw new UsageError(`cannot read ${pos[0]} as JSON: ${(err as Error).message}`);
  }
  const r = (await requestNode(base, token, 'POST', '/api/v1/imports/misp', body)) as {
    status: string;
    eventUuid: string;
    incident: { ref: string };
  };
  return `${r.status}: MISP event ${r.eventUuid} is ${r.incident.ref}`;
}

async function mispCommand(args: string[]): Promise<string> {
  const [sub, ...rest] = args;
  if (sub === 'push') {
    const { pos, values, base, token } = await withNode(rest, FOR, 1);
    if (!pos[0]) throw new UsageError('misp push <ref> [--for <team>]');
    const r = (await requestNode(base, token, 'POST', `${incidentPath(pos[0])}/misp/push${forQuery(values.for)}`)) as Record<
      string,
      string
    >;
    return `${r.action} event ${r.eventUuid} on ${r.server}`;
  }
  if (sub === 'pull') {
    const { base, token } = await withNode(rest, {}, 0);
    const r = (await requestNode(base, token, 'POST', '/api/v1/misp/pull')) as Record<string, number>;
    return `pulled ${r.pages} page(s): ${r.created} created, ${r.updated} updated, ${r.unchanged} unchanged, ${r.invalid} invalid; next from ${r.since}`;
  }
  throw new UsageError('misp needs a subcommand: push, pull');
}

export const mispFormat: FormatCommands = {
  format: 'misp',
  exportHelp: `  hikeshi export misp <ref> [--for <team>]
      the incident as a MISP event (JSON); with --for, what a share to that team would carry
      (its sharing policy decides)`,
  importHelp: `  hikeshi import misp <file>
      a MISP event JSON (with or without "Event"); the same event twice files once, a changed
      one updates its incident`,
  async exportRun(rest, out) {
    out(await exportMisp(rest));
  },
  async importRun(rest, out) {
    out(await importMisp(rest));
  },
};

export const mispCommands: Record<string, Command> = {
  misp: {
    summary: "push incidents to and pull events from the team's MISP (HIKESHI_MISP_URL, HIKESHI_MISP_KEY)",
    help: `Usage:
  hikeshi misp push <ref> [--for <team>]      add or edit the incident's event on the MISP instance
  hikeshi misp pull                           import the events changed since the last pull; resumes
                                              where a broken pull stopped

${CONFIG_FLAGS_HELP}`,
    async run(args, out) {
      out(await mispCommand(args));
    },
  },
};
