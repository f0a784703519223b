import type { Config } from '../../config.js';
import type { Db } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { ChangePosition } from '../incidents/incidents.module.js';
import type { PeerRecord } from '../peers/peers.module.js';
import type { SharingService } from '../sharing/index.js';
import { decodePosition, encodePosition, selectForPeer } from '../feeds/feeds.module.js';
import { HIKESHI_EXTENSION_SCHEMA_PATH, stixTime } from './stix-common.js';
import { TAXII_OBJECT_RENDERER, type KeptStixObject, type TaxiiRenderOptions } from './taxii-object.renderer.js';

/**
 * The TAXII 2.1 collection of incidents (issue 16 part 2): what a peer pulls with its peer token
 * is exactly what the pull feed gives it (feeds' selectForPeer: purpose pull-feed, redacted as
 * decided, RED never), each incident as the STIX objects of its export for that peer. Every page
 * served, objects or manifest, is one `disclosure.feed-page` audit entry, written before it is
 * served. An object's date_added is when its incident last changed; `next` is a position in the
 * node's order of changes and never expires, so a client may keep it to resume.
 */
export const TAXII_MEDIA_TYPE = 'application/taxii+json;version=2.1';
export const TAXII_COLLECTION_ID = '967bb541-c7cb-4001-aeab-19ff33a1c309';
export const TAXII_DEFAULT_LIMIT = 1000;
export const TAXII_MAX_LIMIT = 10_000;

export interface TaxiiQuery {
  added_after?: string;
  limit?: number;
  next?: string;
  'match[type]'?: string;
  'match[id]'?: string;
}

export interface TaxiiPage {
  more: boolean;
  next?: string;
  /**
   * Each object with when its incident last changed (the manifest's date_added, the
   * X-TAXII-Date-Added headers) and its canonical text: the text its incident's audit digest
   * covered, which the envelope is written from.
   */
  objects: TaxiiObject[];
}

/** A STIX object of a page as the renderer kept it, with when its incident last changed. */
export interface TaxiiObject extends KeptStixObject {
  dateAdded: string;
}

export interface TaxiiDeps {
  db: Db;
  config: Pick<Config, 'teamId' | 'publicUrl'>;
  sharing: Pick<SharingService, 'decideFeed' | 'recordFeedPage'>;
}

export interface TaxiiService {
  collectionOr404(id: string): void;
  /** One page of the collection for `peer`, recorded in the audit before it is returned. */
  page(peer: PeerRecord, query: TaxiiQuery, kind: 'objects' | 'manifest'): Promise<TaxiiPage>;
}

const positionText = (p: ChangePosition | null): string | null => (p ? `${p.xid}.${p.seq}` : null);
const listOf = (v: string | undefined): Set<string> | null => (v ? new Set(v.split(',').map((s) => s.trim())) : null);

export function createTaxiiService(deps: TaxiiDeps): TaxiiService {
  const { db, config, sharing } = deps;
  const schemaUrl = `${config.publicUrl.replace(/\/+$/, '')}${HIKESHI_EXTENSION_SCHEMA_PATH}`;

  return {
    collectionOr404(id) {
      if (id !== TAXII_COLLECTION_ID) throw new ProblemError('not-found', `no collection ${id} on this API root`);
    },

    async page(peer, query, kind) {
      const start = query.next ? decodePosition(query.next) : null;
      const after = query.added_after ? Date.parse(query.added_after) : null;
      const limit = Math.min(query.limit ?? TAXII_DEFAULT_LIMIT, TAXII_MAX_LIMIT);
      const selection = await selectForPeer<KeptStixObject[]>({ db, sharing }, peer, start, limit, {
        renderer: {
          ...TAXII_OBJECT_RENDERER,
          options: { teamId: config.teamId, recipient: peer.teamId, extensionSchemaUrl: schemaUrl } satisfies TaxiiRenderOptions,
        },
        weigh: (objects) => objects.length,
        // An incident's export is about a dozen objects (incident, identities, markings, indicators).
        expectedWeight: 12,
        ...(after !== null ? { skip: (incident) => Date.parse(incident.updatedAt) <= after } : {}),
      });
      if (selection.served.length > 0 || selection.denied.length > 0) {
        await sharing.recordFeedPage(db, {
          recipient: peer.teamId,
          served: selection.served.map((s) => ({
            incident: { id: s.incident.id, ref: s.incident.ref },
            outcome: s.outcome,
            position: positionText(s.position)!,
          })),
          denied: selection.denied,
          details: {
            format: 'taxii',
            kind,
            collection: TAXII_COLLECTION_ID,
            from: positionText(start),
            to: positionText(selection.position),
          },
        });
      }
      const types = listOf(query['match[type]']);
      const ids = listOf(query['match[id]']);
      const seen = new Set<string>();
      const objects: TaxiiPage['objects'] = [];
      for (const s of selection.served) {
        const dateAdded = stixTime(s.incident.updatedAt);
        for (const object of s.content) {
          // Markings, identities and the extension appear in every incident's export: once a page.
          const key = `${object.id}|${object.version ?? ''}`;
          if (seen.has(key) || (types && !types.has(object.type)) || (ids && !ids.has(object.id))) continue;
          seen.add(key);
          objects.push({ ...object, dateAdded });
        }
      }
      const more = !selection.exhausted;
      return { more, ...(more ? { next: encodePosition(selection.position) } : {}), objects };
    },
  };
}
