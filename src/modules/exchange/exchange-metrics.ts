import { MESSAGE_TYPES } from '../../../schemas/federation.schema.js';

/**
 * What the exchange counts, as a port: the metrics module implements it and src/app.ts passes it
 * in, so the exchange (transport) imports no other module for it. Every label the exchange
 * gives is bounded: outcomes and reasons are fixed codes, types are the protocol's document
 * types (anything else a sender claims is `unknown`), peers are this node's own peers.
 */
export interface ExchangeMetrics {
  /**
   * One decision of the inbox on one message: `accepted` (a receipt; reason `replay` when it is
   * a repeat answered with the stored receipt), `rejected` (reason: the problem code), or
   * `quarantined` (reason `unknown-sender` or `wrong-key`).
   */
  inboxMessage(outcome: InboxOutcomeLabel, reason: string, type: string): void;
  /** A message whose receipt was verified and recorded: seconds from enqueue to then. */
  delivered(peer: string, seconds: number): void;
  /** One delivery attempt's end: delivered, to be retried, or failed for good. */
  deliveryAttempt(peer: string, outcome: 'delivered' | 'retry' | 'failed'): void;
}

export type InboxOutcomeLabel = 'accepted' | 'rejected' | 'quarantined';

/** For nodes built without metrics (the CLI, some tests): counts nothing. */
export const noExchangeMetrics: ExchangeMetrics = {
  inboxMessage: () => {},
  delivered: () => {},
  deliveryAttempt: () => {},
};

const KNOWN_TYPES: ReadonlySet<string> = new Set(MESSAGE_TYPES);

/** A document type as a label: one of the protocol's, else `unknown` (a sender's claim is not a label). */
export const typeLabel = (type: unknown): string => (typeof type === 'string' && KNOWN_TYPES.has(type) ? type : 'unknown');
