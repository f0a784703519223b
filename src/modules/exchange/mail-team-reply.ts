import { createHash } from 'node:crypto';
import type { FastifyBaseLogger } from 'fastify';
import type { Clock } from '../../clock.js';
import type { Db } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { SignedReply, SignedReplyHandler } from './mail-intake.service.js';
import { theirReference } from './mail-reply-lines.js';
import { inquiryIdOf, referenceOf } from './mail-team-text.js';
import type { DeliveredHook } from './outbox.js';
import { findByMailMessageId, listMailedToTeam, markReplied, type OutboundRow } from './outbox.repository.js';
import type { ExchangePeer, PeerKeyring } from './peer-keyring.js';

/**
 * Replies from teams without a node (ADR 0028). Such a team sends no machine receipt: what we
 * mailed it is `sent` once the mail server took it, and `delivered` when a reply signed by its
 * pinned key names our mail (In-Reply-To or References: the Message-ID we gave it) or, in a mail
 * without those headers, our reference number of an incident we mailed it about. The reply's
 * text is journaled on the incident; the audit keeps its digest, never its words. A reply that
 * names our mail but is signed by another key, or not signed, is quarantined by the intake.
 */

export interface TeamReplies {
  /** Registered with the mail intake: recognises a reply to one of our mails to such a team. */
  handler: SignedReplyHandler;
  /**
   * A signed text from such a team that named no mail of ours: answers what it did when it names
   * our reference number of an incident we mailed it about, else null (a new report, filed as such).
   */
  byReference(peer: ExchangePeer, reply: SignedReply & { subject: string }): Promise<{ detail: string } | null>;
}

export interface TeamRepliesDeps {
  db: Db;
  clock: Clock;
  log: FastifyBaseLogger;
  audit: AuditLog;
  peers: Pick<PeerKeyring, 'find' | 'keyOf'>;
  delivered: DeliveredHook;
}

const sha256 = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex');

/** The Message-IDs a mail answers (In-Reply-To, then References), without angle brackets. */
export function answeredIds(headers: Map<string, string>): string[] {
  const text = `${headers.get('in-reply-to') ?? ''} ${headers.get('references') ?? ''}`;
  return [...new Set([...text.matchAll(/<([^<>\s]{1,900})>/g)].map((m) => m[1]!))].slice(0, 50);
}

/** Whether a text names a reference number as a word of its own (not inside a longer one). */
export function namesReference(text: string, ref: string): boolean {
  const escaped = ref.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^A-Za-z0-9#-])${escaped}($|[^A-Za-z0-9-])`).test(text);
}

export function createTeamReplies(deps: TeamRepliesDeps): TeamReplies {
  const { db, clock, audit } = deps;

  async function record(row: OutboundRow, reply: SignedReply, via: 'message-id' | 'reference'): Promise<{ detail: string }> {
    const digest = sha256(reply.signedText);
    const document = JSON.parse(row.document) as Record<string, unknown>;
    // Their reference number, when they give one: shown with ours, as a node's receipt gives it.
    // An inquiry's answer carries theirs itself (forum module), as an answer over HTTP does.
    const peerRef = row.type === 'forum.inquiry' ? null : theirReference(reply.text, [referenceOf(document), inquiryIdOf(document)]);
    const first = await db.transaction().execute(async (tx) => {
      const at = clock();
      // What stands as the receipt: how the reply was recognised and its digest, never its words.
      const receipt = JSON.stringify({ kind: 'signed-reply', via, signer: reply.signerFingerprint, sha256: digest, at: at.toISOString() });
      const moved = await markReplied(tx, row.id, { receipt, at });
      await deps.delivered(tx, {
        id: row.id,
        type: row.type,
        peerTeam: row.peerTeam,
        incidentId: row.incidentId,
        peerRef,
        receiptStatus: 'replied',
        reply: { text: reply.text, signerFingerprint: reply.signerFingerprint, first: moved, sha256: digest },
      });
      await audit.append(tx, {
        kind: 'receipt',
        actor: row.peerTeam,
        incidentId: row.incidentId,
        peer: row.peerTeam,
        decision: null,
        details: {
          direction: 'received',
          messageId: row.id,
          type: row.type,
          status: 'replied',
          channel: 'mail',
          via,
          replyDigest: digest,
          delivered: moved,
          ...(peerRef ? { peerRef } : {}),
        },
      });
      return moved;
    });
    deps.log.info({ messageId: row.id, peer: row.peerTeam, via, first }, 'reply from a team without a node');
    return { detail: `a reply to message ${row.id}${first ? ', now delivered' : ''}` };
  }

  return {
    async handler(headers) {
      for (const id of answeredIds(headers)) {
        const row = await findByMailMessageId(db, id);
        if (!row) continue;
        const peer = await deps.peers.find(db, row.peerTeam);
        if (!peer || peer.kind !== 'mail') continue;
        return {
          label: peer.teamId,
          key: await deps.peers.keyOf(peer),
          async accept(reply) {
            if (peer.status !== 'active') throw new ProblemError('peer-not-active', `peer "${peer.teamId}" is ${peer.status} here`);
            return record(row, reply, 'message-id');
          },
        };
      }
      return null;
    },
    async byReference(peer, reply) {
      if (peer.kind !== 'mail') return null;
      const said = `${reply.subject}\n${reply.text}`;
      // Our reference number of an incident, or the id of a forum inquiry we mailed it.
      const named = (await listMailedToTeam(db, peer.teamId, 500)).filter((row) => {
        const document = JSON.parse(row.document) as Record<string, unknown>;
        const ref = row.type === 'forum.inquiry' ? inquiryIdOf(document) : referenceOf(document);
        return ref !== null && namesReference(said, ref);
      });
      // The newest mail still waiting for an answer, else the newest naming it (the reply is journaled all the same).
      const row = named.find((r) => r.state === 'sent') ?? named[0];
      return row ? record(row, reply, 'reference') : null;
    },
  };
}
