/**
 * The ROLIE feed of the public advisories (CSAF 2.0 §7.1.20, RFC 8322 in its JSON form): what
 * CSAF aggregators and tools such as csaf_downloader read first. One entry per advisory, with the
 * links a client needs to fetch and check it: the document, its hashes and its OpenPGP signature.
 * The entry's fields come from the signed document itself, so the feed never says anything the
 * advisory does not. A pure function of the white folder.
 */

export interface RolieSource {
  /** `<year>/<file>.json`, relative to the white folder. */
  path: string;
  documentText: string;
  currentRelease: Date;
}

export interface RolieEntry {
  id: string;
  title: string;
  link: Array<{ rel: 'self' | 'hash' | 'signature'; href: string }>;
  published: string;
  updated: string;
  summary?: { content: string };
  content: { type: 'application/json'; src: string };
  format: { schema: string; version: '2.0' };
}

export interface RolieFeed {
  feed: {
    id: string;
    title: string;
    link: Array<{ rel: 'self'; href: string }>;
    category: Array<{ scheme: string; term: string }>;
    updated: string;
    entry: RolieEntry[];
  };
}

const CSAF_SCHEMA = 'https://docs.oasis-open.org/csaf/csaf/v2.0/csaf_json_schema.json';

interface CsafHead {
  document?: {
    title?: unknown;
    tracking?: { id?: unknown; initial_release_date?: unknown; current_release_date?: unknown };
    notes?: Array<{ category?: unknown; text?: unknown }>;
  };
}

function entryOf(base: string, source: RolieSource): RolieEntry {
  // Our own signed bytes, validated at publication: read, not trusted blindly (a string or nothing).
  const head = JSON.parse(source.documentText) as CsafHead;
  const str = (v: unknown): string | null => (typeof v === 'string' && v.length > 0 ? v : null);
  const url = `${base}/white/${source.path}`;
  const tracking = head.document?.tracking;
  const summary = head.document?.notes?.find((n) => n.category === 'summary');
  const published = str(tracking?.initial_release_date) ?? source.currentRelease.toISOString();
  return {
    id: str(tracking?.id) ?? source.path,
    title: str(head.document?.title) ?? source.path,
    link: [
      { rel: 'self', href: url },
      { rel: 'hash', href: `${url}.sha256` },
      { rel: 'hash', href: `${url}.sha512` },
      { rel: 'signature', href: `${url}.asc` },
    ],
    published,
    updated: str(tracking?.current_release_date) ?? source.currentRelease.toISOString(),
    ...(str(summary?.text) ? { summary: { content: str(summary?.text)! } } : {}),
    content: { type: 'application/json', src: url },
    format: { schema: CSAF_SCHEMA, version: '2.0' },
  };
}

/** The feed: newest change first (a client reading it stops at what it already has). */
export function rolieFeed(input: { base: string; teamId: string; teamName: string; updated: Date; files: RolieSource[] }): RolieFeed {
  const entry = input.files
    .map((f) => entryOf(input.base, f))
    .sort((a, b) => b.updated.localeCompare(a.updated) || a.id.localeCompare(b.id));
  return {
    feed: {
      id: `${input.teamId}-csaf-feed-tlp-white`,
      title: `${input.teamName} CSAF feed (TLP:WHITE)`,
      link: [{ rel: 'self', href: `${input.base}/feed-tlp-white.json` }],
      category: [{ scheme: 'urn:ietf:params:rolie:category:information-type', term: 'csaf' }],
      updated: input.updated.toISOString(),
      entry,
    },
  };
}
