import { readFile } from 'node:fs/promises';
import { CONFIG_FLAGS_HELP, UsageError, requestNode } from './cli-context.js';
import { withNode } from './extra-commands.js';
import type { FormatCommands } from './format-commands.js';

/**
 * `hikeshi export stix` and `hikeshi import stix` (issue 16 part 1), through the running node's
 * API: GET /api/v1/incidents/{ref}/stix and POST /api/v1/imports/stix. The export prints the
 * bundle (JSON) to stdout; with --for it is what a share to that team would carry, decided and
 * audited by the node's sharing policy.
 */
interface Command {
  summary: string;
  help: string;
  run(args: string[], out: (s: string) => void): Promise<void>;
}

interface WireImport {
  bundle: string;
  items: Array<{ objectId: string; incident: { ref: string }; outcome: string }>;
}

export const stixFormat: FormatCommands = {
  format: 'stix',
  exportHelp: `  hikeshi export stix <ref> [--for <team>]
      the incident as a STIX 2.1 bundle on stdout; with --for, what a share to that team would
      carry (policy decides)`,
  importHelp: `  hikeshi import stix <file>
      file each incident of the bundle once (the same object again: unchanged; new content:
      updated)`,
  async exportRun(rest, out) {
    const { pos, values, base, token } = await withNode(rest, { for: { type: 'string' } }, 1);
    const [ref] = pos;
    if (!ref) throw new UsageError('export stix <ref> [--for <team>]');
    const query = typeof values.for === 'string' ? `?for=${encodeURIComponent(values.for)}` : '';
    out(JSON.stringify(await requestNode(base, token, 'GET', `/api/v1/incidents/${encodeURIComponent(ref)}/stix${query}`), null, 2));
  },
  async importRun(rest, out) {
    const { pos, base, token } = await withNode(rest, {}, 1);
    const [file] = pos;
    if (!file) throw new UsageError('import stix <file>');
    let bundle: unknown;
    try {
      bundle = JSON.parse(await readFile(file, 'utf8'));
    } catch (err) {
      throw new UsageError(`cannot read a JSON bundle from ${file}: ${(err as Error).message}`);
    }
    const result = (await requestNode(base, token, 'POST', '/api/v1/imports/stix', bundle)) as WireImport;
    for (const item of result.items) out(`${item.outcome.padEnd(9)} ${item.incident.ref}  ${item.objectId}`);
  },
};

export const stixCommands: Record<string, Command> = {
  taxii: {
    summary: 'pull a TAXII 2.1 collection into incidents (through the running node)',
    help: `Usage:
  hikeshi taxii pull <api-root-url> <collection-id> [--token <t>] [--limit <n>]
                                                 pull the collection page by page and file it through the
                                                 STIX import; resumes where the last pull stopped. The token
                                                 (or HIKESHI_TAXII_TOKEN): the server's bearer token for us

${CONFIG_FLAGS_HELP}`,
    async run(args, out) {
      const [sub, ...rest] = args;
      if (sub !== 'pull') throw new UsageError('taxii pull <api-root-url> <collection-id> [--token <t>]');
      const { pos, values, base, token } = await withNode(rest, { token: { type: 'string' }, limit: { type: 'string' } }, 2);
      const [apiRoot, collectionId] = pos;
      if (!apiRoot || !collectionId) throw new UsageError('taxii pull <api-root-url> <collection-id> [--token <t>]');
      const bearer = typeof values.token === 'string' ? values.token : process.env.HIKESHI_TAXII_TOKEN;
      if (!bearer) throw new UsageError('taxii pull needs --token <t> or HIKESHI_TAXII_TOKEN');
      const limit = typeof values.limit === 'string' ? Number(values.limit) : undefined;
      if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) throw new UsageError('--limit must be a positive integer');
      const result = (await requestNode(base, token, 'POST', '/api/v1/imports/taxii', {
        apiRoot,
        collectionId,
        token: bearer,
        ...(limit ? { limit } : {}),
      })) as WireImport & { pages: number; objects: number };
      for (const item of result.items) out(`${item.outcome.padEnd(9)} ${item.incident.ref}  ${item.objectId}`);
      out(`${result.pages} page(s), ${result.objects} object(s)`);
    },
  },
};
