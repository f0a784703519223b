import type { Incident } from '../../../schemas/incident.schema.js';
import type { PolicyDecision } from '../../../schemas/policy.schema.js';
import { canonicalTextOf, freezeWithCanonicalText } from '../../crypto/index.js';
import type { PolicyPayload } from '../policy/index.js';
import type { FeedRenderer } from '../sharing/index.js';
import type { StixObject } from './stix-common.js';
import { incidentStixObjects, stixViewOf } from './stix-export.js';

/**
 * What a TAXII page makes of an incident the policy let go to the peer (a FeedRendererModule,
 * loaded by the node's thread or a disclosure thread; ADR 0034): the STIX objects of its export,
 * each frozen with its canonical text, so the audit digest is made from those texts without
 * walking the objects again; the page keeps of each object only what it pages by and that text.
 */
export interface TaxiiRenderOptions {
  teamId: string;
  recipient: string;
  extensionSchemaUrl: string;
}

/** What a page keeps of a STIX object: what it pages by (match, manifest, once a page) and its canonical text. */
export interface KeptStixObject {
  id: string;
  type: string;
  /** modified, or created for an object without versions (a marking definition). */
  version: string | undefined;
  text: string;
}

export function renderFeedItem(incident: Incident, payload: PolicyPayload, decision: PolicyDecision, options: unknown): StixObject[] {
  const { teamId, recipient, extensionSchemaUrl } = options as TaxiiRenderOptions;
  return incidentStixObjects(stixViewOf(payload, decision), {
    teamId,
    incidentId: incident.id,
    tlp: decision.tlp,
    recipient,
    extensionSchemaUrl,
  }).map(freezeWithCanonicalText);
}

export function keepFeedItem(objects: StixObject[]): KeptStixObject[] {
  return objects.map((object) => ({
    id: object.id,
    type: object.type,
    version: (object['modified'] ?? object['created']) as string | undefined,
    text: canonicalTextOf(object) ?? JSON.stringify(object),
  }));
}

/**
 * This module as a renderer: its functions for the node's thread, its URL for a disclosure thread.
 * The URL names this file beside this code rather than `import.meta.url`: in the node's bundle
 * (scripts/build-node.ts) this code sits inside the bundle, and this file is a bundle entry of
 * its own, beside it, with the same name.
 */
export const TAXII_OBJECT_RENDERER: FeedRenderer = {
  module: new URL('./taxii-object.renderer.js', import.meta.url).href,
  functions: { renderFeedItem, keepFeedItem: keepFeedItem as (content: unknown) => KeptStixObject[] },
};
