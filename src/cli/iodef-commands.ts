import { readFile, writeFile } from 'node:fs/promises';
import { NodeRefusedError, NodeUnreachableError, UsageError } from './cli-context.js';
import type { FormatCommands } from './format-commands.js';
import { withNode } from './extra-commands.js';

/**
 * `hikeshi export iodef <ref> [--for team]` and `hikeshi import iodef <file>` (issue 16 part 4):
 * IODEF v2 through the running node's API (GET /api/v1/incidents/{ref}/iodef, POST
 * /api/v1/imports/iodef), so that the sharing policy decides and the audit log records exactly
 * as for a handler's call.
 */
/** One call with a body and an answer that may be XML; a refusal becomes NodeRefusedError with the problem code. */
async function call(base: string, token: string, method: string, path: string, xml?: string): Promise<string> {
  let res: Response;
  try {
    res = await fetch(base.replace(/\/+$/, '') + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(xml === undefined ? {} : { 'content-type': 'application/xml' }) },
      ...(xml === undefined ? {} : { body: xml }),
      signal: AbortSignal.timeout(60_000),
    });
  } catch (err) {
    throw new NodeUnreachableError(`no node answers at ${base} (${(err as Error).message})`);
  }
  const text = await res.text();
  if (!res.ok) {
    let problem: { code?: unknown; detail?: unknown; pointer?: unknown } = {};
    try {
      problem = JSON.parse(text) as typeof problem;
    } catch {
      // reported with the status below
    }
    const code = typeof problem.code === 'string' ? problem.code : `http-${res.status}`;
    const at = typeof problem.pointer === 'string' ? ` (at ${problem.pointer})` : '';
    throw new NodeRefusedError(res.status, code, `${code}: ${typeof problem.detail === 'string' ? problem.detail : res.statusText}${at}`);
  }
  return text;
}

export const iodefFormat: FormatCommands = {
  format: 'iodef',
  exportHelp: `  hikeshi export iodef <ref> [--for <team>] [--out <file>]
      the incident as IODEF v2 XML (RFC 7970); with --for, what a share to that team would
      carry (the sharing policy decides, the audit log records it); stdout unless --out`,
  importHelp: `  hikeshi import iodef <file>
      files the document's Incident; the same IncidentID with the same content again changes
      nothing, with new content updates the incident it filed before`,
  async exportRun(rest, out) {
    const { pos, values, base, token } = await withNode(rest, { for: { type: 'string' }, out: { type: 'string' } }, 1);
    const [ref] = pos;
    if (!ref) throw new UsageError('export iodef <ref> [--for <team>] [--out <file>]');
    const query = typeof values.for === 'string' ? `?for=${encodeURIComponent(values.for)}` : '';
    const xml = await call(base, token, 'GET', `/api/v1/incidents/${encodeURIComponent(ref)}/iodef${query}`);
    if (typeof values.out === 'string') {
      await writeFile(values.out, xml, { mode: 0o600 });
      out(`wrote ${values.out}`);
    } else out(xml);
  },
  async importRun(rest, out) {
    const { pos, base, token } = await withNode(rest, {}, 1);
    const [file] = pos;
    if (!file) throw new UsageError('import iodef <file>');
    const xml = await readFile(file, 'utf8');
    const result = JSON.parse(await call(base, token, 'POST', '/api/v1/imports/iodef', xml)) as {
      status: string;
      ref: string;
      objectId: string;
    };
    out(`${result.status}: ${result.ref} (IODEF ${result.objectId})`);
  },
};
