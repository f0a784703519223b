import { createHash } from 'node:crypto';
import { canonicalize, InvalidKeyError, readPeerKey } from '../../crypto/index.js';
import type { Db, Tx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { PeerIntroductionBody, PeerIntroductionDocument } from '../../../schemas/federation.schema.js';
import type { IntroductionSend } from '../../../schemas/peer.schema.js';
import type { InboxOutcome, Outbox, ReceivedAs } from '../exchange/exchange.module.js';
import { deriveAssurance, vouchStanding } from './key-assurance.js';
import {
  findVouch,
  listSentIntroductions,
  lockVouchSubject,
  markSentWithdrawn,
  upsertSentIntroduction,
  upsertVouch,
} from './key-vouch.repository.js';
import { applyAssurance, assuranceFacts, type AssuranceDeps } from './key-vouch.service.js';
import { findPeer, listPeers } from './peer.repository.js';

/**
 * Introductions (issue 14 part 4; docs/federation-protocol.md, `peer.introduction`): a team vouches
 * that a key is another team's. Received, an introduction is kept as a vouch by its sender, and the
 * subject's assurance is derived again (key-assurance.ts: it counts only when the sender is a peer
 * we verified, and only for the key we pin). Sent, it tells chosen peers that the key we pinned
 * and verified for a team is that team's; each is a disclosure (what we know of whom), audited.
 */
export interface IntroductionDeps extends AssuranceDeps {
  db: Db;
  teamId: string;
  ownFingerprint: string;
  /** The exchange's outbox, once the peers module is attached to it. */
  outbox(): Pick<Outbox, 'enqueue' | 'kick'>;
}

export interface IntroductionsSent {
  subject: string;
  items: Array<{ to: string; fingerprint: string; messageId: string | null; withdrawn: boolean }>;
}

export interface IntroductionService {
  /** The inbox handler for one verified, validated peer.introduction (inside the inbox's transaction). */
  receive(tx: Tx, document: PeerIntroductionDocument, received: ReceivedAs | undefined): Promise<InboxOutcome>;
  /** Introduces the pinned key of our verified peer `subject` to the peers named (POST .../introductions). */
  introduce(subject: string, input: IntroductionSend, actor: string): Promise<IntroductionsSent>;
  /** Withdraws every standing introduction of `subject` we sent (DELETE .../introductions). */
  withdraw(subject: string, actor: string): Promise<IntroductionsSent>;
}

export const INTRODUCTION_TYPE = 'peer.introduction';
/** A public key and the fact that we know a team: shared with the community, never with the public at large. */
const INTRODUCTION_TLP = 'GREEN';
/** The schema's bound for an introduced key; a larger pinned key is introduced by its fingerprint alone. */
const MAX_INTRODUCED_KEY = 64 * 1024;
const NOTED: InboxOutcome = { status: 'noted', incidentId: null, ref: null };

/** Refusals that no rule of ours could turn into a vouch: the document is hostile or confused. */
async function refuseNonsense(deps: IntroductionDeps, document: PeerIntroductionDocument): Promise<void> {
  const { team, fingerprint, publicKey } = document.body;
  if (team === deps.teamId) {
    throw new ProblemError('introduction-invalid', `an introduction of this node's own team "${team}": nobody vouches for our key to us`);
  }
  if (team === document.from)
    throw new ProblemError('introduction-invalid', `"${team}" introduces itself: a team cannot vouch for its own key`);
  if (fingerprint === deps.ownFingerprint) {
    throw new ProblemError('introduction-invalid', `the key introduced as "${team}"'s is this node's own key`);
  }
  if (publicKey === undefined) return;
  let actual: string;
  try {
    actual = (await readPeerKey(publicKey)).fingerprint;
  } catch (err) {
    if (err instanceof InvalidKeyError) throw new ProblemError('introduction-invalid', `publicKey is not a usable key: ${err.message}`);
    throw err;
  }
  if (actual !== fingerprint)
    throw new ProblemError('introduction-invalid', `publicKey is key ${actual}, not the fingerprint ${fingerprint}`);
}

async function receive(
  deps: IntroductionDeps,
  tx: Tx,
  document: PeerIntroductionDocument,
  received: ReceivedAs | undefined,
): Promise<InboxOutcome> {
  await refuseNonsense(deps, document);
  // The inbox always says how a document arrived; without the signature there is no statement to keep.
  if (!received) throw new Error('a peer.introduction reached its handler without its signature');
  const { team, fingerprint } = document.body;
  const voucher = document.from;
  const withdrawn = document.body.withdrawn === true;
  const statedAt = new Date(document.created);
  const at = deps.clock();
  const kind = withdrawn ? 'peer.introduction-withdrawn' : 'peer.introduction-received';
  const details = { messageId: document.id, voucher, fingerprint, withdrawn };

  await lockVouchSubject(tx, team);
  const held = await findVouch(tx, { subject: team, fingerprint, kind: 'introduction', voucher });
  // Delivery may reorder two statements of one voucher; the one it signed last stands.
  if (held && held.statedAt > statedAt) {
    await deps.audit.append(tx, { kind, actor: voucher, peer: team, details: { ...details, applied: false, standing: 'superseded' } });
    return NOTED;
  }
  await upsertVouch(
    tx,
    {
      subject: team,
      fingerprint,
      kind: 'introduction',
      voucher,
      messageId: document.id,
      // The canonical text is exactly what the signature covers: anyone can verify it again.
      document: canonicalize(document),
      signature: received.signature,
      vouchesFor: document.body.vouchesFor ?? null,
      statedAt,
      withdrawnAt: withdrawn ? at : null,
    },
    at,
  );
  const subject = await findPeer(tx, team, { forUpdate: true });
  if (!subject) {
    // Kept for when the team is added: its assurance is derived then.
    await deps.audit.append(tx, {
      kind,
      actor: voucher,
      peer: team,
      details: { ...details, applied: true, standing: 'subject-not-a-peer' },
    });
    return NOTED;
  }
  const { facts } = await assuranceFacts(deps, tx, subject);
  const standing = vouchStanding({ kind: 'introduction', voucher, fingerprint, withdrawn }, facts);
  await deps.audit.append(tx, { kind, actor: voucher, peer: team, details: { ...details, applied: true, standing } });
  if (!withdrawn && fingerprint !== subject.fingerprint) {
    // Another key than the one we pin: a stale introduction, or someone steering us to a key
    // that is not the team's. Kept (it is evidence), never counted.
    await deps.audit.append(tx, {
      kind: 'peer.introduction-mismatch',
      actor: voucher,
      peer: team,
      decision: 'deny',
      details: { messageId: document.id, voucher, introducedFingerprint: fingerprint, pinnedFingerprint: subject.fingerprint },
    });
  }
  const reason = withdrawn ? `introduction by ${voucher} withdrawn` : `introduced by ${voucher}`;
  await applyAssurance(deps, tx, subject, deriveAssurance(facts), { actor: voucher, reason });
  return NOTED;
}

/** The peers an introduction goes to: each named one must be an active peer other than the subject. */
async function recipientsFor(tx: Tx, subject: string, to: IntroductionSend['to']): Promise<string[]> {
  if (to === 'verified-peers') {
    const peers = await listPeers(tx, { status: 'active' });
    return peers.filter((p) => p.assurance === 'verified' && p.teamId !== subject).map((p) => p.teamId);
  }
  for (const teamId of to) {
    if (teamId === subject) throw new ProblemError('introduction-invalid', `"${subject}" cannot be introduced to itself`);
    const peer = await findPeer(tx, teamId);
    if (!peer) throw new ProblemError('unknown-peer', `no peer "${teamId}": add it first (POST /api/v1/peers)`);
    if (peer.status !== 'active') throw new ProblemError('peer-not-active', `peer "${teamId}" is ${peer.status}`);
  }
  return [...to].sort();
}

const digest = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

async function introduce(deps: IntroductionDeps, subject: string, input: IntroductionSend, actor: string): Promise<IntroductionsSent> {
  const outbox = deps.outbox();
  const sent = await deps.db.transaction().execute(async (tx) => {
    const peer = await findPeer(tx, subject, { forUpdate: true });
    if (!peer) throw new ProblemError('not-found', `no peer "${subject}"`);
    if (peer.assurance !== 'verified') {
      throw new ProblemError(
        'peer-not-verified',
        `the key of "${subject}" is ${peer.assurance}: confirm its fingerprint out of band (POST /api/v1/peers/${subject}/verify) before vouching for it`,
      );
    }
    if (peer.keyChangedAt !== null) {
      throw new ProblemError('peer-not-active', `a key change is flagged for "${subject}": verify its key before vouching for it`);
    }
    const body: PeerIntroductionBody = {
      team: subject,
      fingerprint: peer.fingerprint,
      ...(peer.publicKey.length <= MAX_INTRODUCED_KEY ? { publicKey: peer.publicKey } : {}),
      ...(input.vouchesFor !== undefined ? { vouchesFor: input.vouchesFor } : {}),
    };
    const items: IntroductionsSent['items'] = [];
    const digests: string[] = [];
    for (const to of await recipientsFor(tx, subject, input.to)) {
      const signed = await outbox.enqueue(tx, { type: INTRODUCTION_TYPE, to, tlp: INTRODUCTION_TLP, body }, null);
      await upsertSentIntroduction(tx, {
        subject,
        fingerprint: peer.fingerprint,
        recipient: to,
        messageId: signed.id,
        vouchesFor: input.vouchesFor ?? null,
        sentAt: deps.clock(),
        sentBy: actor,
      });
      items.push({ to, fingerprint: peer.fingerprint, messageId: signed.id, withdrawn: false });
      digests.push(digest(signed.documentText));
    }
    // Audited last: each entry takes the chain lock until the transaction ends.
    for (const [i, item] of items.entries()) {
      await deps.audit.append(tx, {
        kind: 'disclosure.introduction',
        actor,
        peer: item.to,
        decision: 'allow',
        details: { subject, fingerprint: item.fingerprint, messageId: item.messageId, withdrawn: false, payloadSha256: digests[i] },
      });
    }
    return { subject, items };
  });
  if (sent.items.length > 0) outbox.kick();
  return sent;
}

async function withdraw(deps: IntroductionDeps, subject: string, actor: string): Promise<IntroductionsSent> {
  const outbox = deps.outbox();
  const done = await deps.db.transaction().execute(async (tx) => {
    const standing = await listSentIntroductions(tx, subject, { standing: true });
    const items: IntroductionsSent['items'] = [];
    for (const row of standing) {
      // A recipient removed since cannot be told (and holds nothing we can reach); the row is closed all the same.
      const recipient = await findPeer(tx, row.recipient);
      const signed = recipient
        ? await outbox.enqueue(
            tx,
            {
              type: INTRODUCTION_TYPE,
              to: row.recipient,
              tlp: INTRODUCTION_TLP,
              body: { team: subject, fingerprint: row.fingerprint, withdrawn: true },
            },
            null,
          )
        : null;
      await markSentWithdrawn(tx, row, deps.clock(), signed?.id ?? null);
      items.push({ to: row.recipient, fingerprint: row.fingerprint, messageId: signed?.id ?? null, withdrawn: true });
    }
    for (const item of items) {
      await deps.audit.append(tx, {
        kind: 'disclosure.introduction',
        actor,
        peer: item.to,
        decision: 'allow',
        details: { subject, fingerprint: item.fingerprint, messageId: item.messageId, withdrawn: true },
      });
    }
    return { subject, items };
  });
  if (done.items.some((i) => i.messageId !== null)) outbox.kick();
  return done;
}

export function createIntroductionService(deps: IntroductionDeps): IntroductionService {
  return {
    receive: (tx, document, received) => receive(deps, tx, document, received),
    introduce: (subject, input, actor) => introduce(deps, subject, input, actor),
    withdraw: (subject, actor) => withdraw(deps, subject, actor),
  };
}
