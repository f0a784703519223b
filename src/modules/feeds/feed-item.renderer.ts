import type { Incident } from '../../../schemas/incident.schema.js';
import type { PolicyDecision } from '../../../schemas/policy.schema.js';
import type { PolicyPayload } from '../policy/index.js';
import { digestedTextOf, reportBodyOf, type FeedRenderer } from '../sharing/index.js';

/**
 * What the pull feed makes of an incident the policy let go to the peer (a FeedRendererModule,
 * loaded by the node's thread or a disclosure thread; ADR 0034): as explain previews it, the
 * redacted incident as a report body, or its activity summary. The page keeps only the canonical
 * text the audit digest covered: the page is written from it (canonicalizeWithKnown), so the
 * signed bytes hold exactly what the audit entry hashed, and nothing else of the item crosses back.
 */
export interface KeptFeedItem {
  text: string;
}

export function renderFeedItem(incident: Incident, payload: PolicyPayload, decision: PolicyDecision): unknown {
  return payload.detail === 'full' ? reportBodyOf(incident, payload, decision) : payload.summary;
}

export function keepFeedItem(content: object): KeptFeedItem {
  const text = digestedTextOf(content);
  // payloadDigest remembered it a moment ago, in this thread: absent would be a bug, not input.
  if (text === undefined) throw new Error('the feed item was not digested');
  return { text };
}

/**
 * This module as a renderer: its functions for the node's thread, its URL for a disclosure thread.
 * The URL names this file beside this code rather than `import.meta.url`: in the node's bundle
 * (scripts/build-node.ts) this code sits inside the bundle, and this file is a bundle entry of
 * its own, beside it, with the same name.
 */
export const FEED_ITEM_RENDERER: FeedRenderer = {
  module: new URL('./feed-item.renderer.js', import.meta.url).href,
  functions: { renderFeedItem, keepFeedItem: keepFeedItem as (content: unknown) => KeptFeedItem },
};
