import type { Clock } from '../../clock.js';
import type { Db } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import { IJsonError, parseIJson } from '../../util/i-json.js';
import type { Actor } from '../incidents/incidents.module.js';
import { readPullCursor, writePullCursor } from './imported-object.repository.js';
import { stableId, type StixObject } from './stix-common.js';
import type { StixImportResult, StixService } from './stix.service.js';

/**
 * The TAXII 2.1 client (issue 16 part 2): pulls a collection page by page and files what it
 * gets through the STIX import (validated, idempotent, journaled, audited). Where it stopped is
 * kept in format_pull_cursor after every page: `next` while the server has more, then the last
 * date_added for the next pull's added_after. A pull broken halfway resumes at the page after the
 * last one filed; a page filed twice is `unchanged`, never a duplicate.
 */
export interface TaxiiPullDeps {
  db: Db;
  clock: Clock;
  stix: Pick<StixService, 'importBundle'>;
  fetch: typeof fetch;
  /** Largest answer read (bytes). */
  maxResponseBytes: number;
}

export interface TaxiiPullTarget {
  /** The API root, e.g. https://node.example/taxii2/api/ */
  apiRoot: string;
  collectionId: string;
  /** The bearer token the server takes (a Hikeshi node: our peer token there). */
  token: string;
  /** Objects per page asked for. */
  limit?: number;
}

export interface TaxiiPullResult {
  source: string;
  pages: number;
  objects: number;
  items: StixImportResult['items'];
}

interface Cursor {
  next?: string;
  /** The added_after of the pull under way (and of the next one, when it finished). */
  addedAfter?: string;
  /** The latest date_added seen by the pull under way: the next pull's added_after. */
  lastSeen?: string;
}

const FILED_TYPES = new Set([
  'incident',
  'indicator',
  'observed-data',
  'ipv4-addr',
  'ipv6-addr',
  'domain-name',
  'url',
  'email-addr',
  'file',
]);

function refused(message: string): ProblemError {
  return new ProblemError('peer-unreachable', `TAXII pull: ${message}`);
}

export async function pullTaxii(deps: TaxiiPullDeps, target: TaxiiPullTarget, actor: Actor): Promise<TaxiiPullResult> {
  const root = target.apiRoot.endsWith('/') ? target.apiRoot : `${target.apiRoot}/`;
  const source = `${root}collections/${encodeURIComponent(target.collectionId)}/`;
  if (source.length > 400) throw new ProblemError('validation-failed', 'the collection URL is longer than 400 characters');
  const stored = await readPullCursor(deps.db, source);
  let cursor: Cursor = stored ? (JSON.parse(stored) as Cursor) : {};
  const result: TaxiiPullResult = { source, pages: 0, objects: 0, items: [] };

  for (;;) {
    const url = new URL('objects/', source);
    url.searchParams.set('limit', String(target.limit ?? 1000));
    if (cursor.next) url.searchParams.set('next', cursor.next);
    else if (cursor.addedAfter) url.searchParams.set('added_after', cursor.addedAfter);
    const { envelope, last } = await getPage(deps, url, target.token);
    result.pages++;
    const objects = envelope.objects ?? [];
    result.objects += objects.length;
    if (objects.some((o) => FILED_TYPES.has(o.type))) {
      // A bundle per page, its id fixed by where the page starts: the same page again is the same bundle.
      const bundle = { type: 'bundle', id: stableId('bundle', `taxii/${source}/${cursor.next ?? cursor.addedAfter ?? ''}`), objects };
      const filed = await deps.stix.importBundle(bundle, actor, source);
      result.items.push(...filed.items);
    }
    const more = envelope.more === true && typeof envelope.next === 'string';
    const lastSeen = [cursor.lastSeen, last]
      .filter((v): v is string => !!v)
      .sort()
      .pop();
    const addedAfter = more ? cursor.addedAfter : (lastSeen ?? cursor.addedAfter);
    cursor = {
      ...(more ? { next: envelope.next! } : {}),
      ...(addedAfter ? { addedAfter } : {}),
      ...(more && lastSeen ? { lastSeen } : {}),
    };
    await writePullCursor(deps.db, source, JSON.stringify(cursor), deps.clock());
    if (!more) return result;
  }
}

async function getPage(
  deps: TaxiiPullDeps,
  url: URL,
  token: string,
): Promise<{ envelope: { more?: unknown; next?: string; objects?: StixObject[] }; last: string | undefined }> {
  let res: Response;
  try {
    res = await deps.fetch(url, {
      headers: { accept: 'application/taxii+json;version=2.1', authorization: `Bearer ${token}` },
      signal: AbortSignal.timeout(30_000),
    });
  } catch (err) {
    throw refused(`no answer from ${url.origin} (${(err as Error).message})`);
  }
  const text = await res.text();
  if (text.length > deps.maxResponseBytes) throw refused('the answer is larger than the body limit');
  if (!res.ok) {
    let code = '';
    try {
      const error = JSON.parse(text) as { hikeshi_code?: unknown; error_code?: unknown };
      const named = error.hikeshi_code ?? error.error_code;
      if (typeof named === 'string') code = ` ${named.slice(0, 64)}`;
    } catch {
      // not a TAXII error: the status says enough
    }
    throw refused(`${res.status}${code}`);
  }
  let envelope: unknown;
  try {
    envelope = parseIJson(text);
  } catch (err) {
    throw refused(`the answer is not ${err instanceof IJsonError && err.reason !== 'syntax' ? 'I-JSON' : 'JSON'}`);
  }
  if (!envelope || typeof envelope !== 'object' || Array.isArray(envelope)) throw refused('the answer is not a TAXII envelope');
  const e = envelope as { more?: unknown; next?: unknown; objects?: unknown };
  if (e.objects !== undefined && !Array.isArray(e.objects)) throw refused('objects is not a list');
  if (e.next !== undefined && typeof e.next !== 'string') throw refused('next is not a string');
  const last = res.headers.get('x-taxii-date-added-last') ?? undefined;
  return { envelope: e as { more?: unknown; next?: string; objects?: StixObject[] }, last };
}
