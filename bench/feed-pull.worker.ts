import { parentPort, workerData } from 'node:worker_threads';

/**
 * The pulling peer of the feed and TAXII benches, in a thread of its own: pages through the pull
 * feed (`cursor`) or a TAXII collection (`next`) over loopback HTTP as a peer would, parsing each
 * page. Its work (reading and parsing megabytes of JSON a page) must not share the node's thread,
 * or the figure would be the client's as much as the node's.
 */
export interface FeedPullInput {
  kind: 'feed' | 'taxii';
  /** The feed's URL (…/federation/v1/feed) or the collection's objects URL (…/objects/). */
  url: string;
  token: string;
  limit: number;
}

export interface FeedPullOutput {
  ok: boolean;
  /** Feed items, or TAXII objects. */
  items?: number;
  /** Feed items with redactions, or TAXII incident objects. */
  marked?: number;
  pages?: number;
  error?: string;
}

interface Page {
  items: number;
  marked: number;
  next: string | undefined;
}

function feedPage(text: string): Page {
  const body = (
    JSON.parse(text) as {
      document: { body: { items: Array<{ report?: { redactions?: unknown[] } }>; nextCursor: string; hasMore: boolean } };
    }
  ).document.body;
  return {
    items: body.items.length,
    marked: body.items.filter((i) => (i.report?.redactions?.length ?? 0) > 0).length,
    next: body.hasMore ? body.nextCursor : undefined,
  };
}

function taxiiPage(text: string): Page {
  const envelope = JSON.parse(text) as { more: boolean; next?: string; objects?: Array<{ type: string }> };
  const objects = envelope.objects ?? [];
  return {
    items: objects.length,
    marked: objects.filter((o) => o.type === 'incident').length,
    next: envelope.more ? envelope.next : undefined,
  };
}

const input = workerData as FeedPullInput;

async function pull(): Promise<FeedPullOutput> {
  const [param, accept, read] =
    input.kind === 'feed'
      ? (['cursor', 'application/json', feedPage] as const)
      : (['next', 'application/taxii+json;version=2.1', taxiiPage] as const);
  let items = 0;
  let marked = 0;
  let pages = 0;
  let next: string | undefined;
  for (;;) {
    const res = await fetch(`${input.url}?limit=${input.limit}${next ? `&${param}=${encodeURIComponent(next)}` : ''}`, {
      headers: { authorization: `Bearer ${input.token}`, accept },
    });
    const text = await res.text();
    if (res.status !== 200) return { ok: false, error: `${input.kind}: ${res.status} ${text.slice(0, 500)}` };
    const page = read(text);
    items += page.items;
    marked += page.marked;
    pages++;
    next = page.next;
    if (next === undefined) return { ok: true, items, marked, pages };
  }
}

pull().then(
  (output) => parentPort!.postMessage(output),
  (error: unknown) => parentPort!.postMessage({ ok: false, error: (error as Error).message }),
);
