import type { Clock } from '../../clock.js';
import type { DbOrTx, Tx } from '../../db/database.js';
import { ProblemError } from '../../http/problem.js';
import type { AuditLog } from '../audit/audit.module.js';
import {
  deriveAssurance,
  vouchStanding,
  type AssuranceDerivation,
  type AssuranceFacts,
  type VouchKind,
  type VouchStanding,
} from './key-assurance.js';
import {
  listSentIntroductions,
  listVouchesFor,
  lockVouchSubject,
  peerStandings,
  subjectsVouchedBy,
  upsertVouch,
  withdrawVouches,
  type SentIntroductionRow,
  type VouchRow,
} from './key-vouch.repository.js';
import type { PeerAssurance } from './peer-directory.js';
import { findPeer, updatePeer, type PeerDetails } from './peer.repository.js';

/**
 * The vouch store and the assurance it derives (key-assurance.ts has the rule). The assurance is
 * stored on the peer row, where the policy and the peer routes read it, so every change that can
 * move it derives it again in its own transaction: a vouch recorded or withdrawn (an introduction
 * received, a forum's roster), the subject added or its key changed, and a voucher that becomes
 * or stops being a verified, active peer (the teams it introduced are derived again). Every
 * change of assurance is audited (`peer.assurance-changed`: from, to, why; fingerprints, never
 * keys).
 */
export interface AssuranceDeps {
  clock: Clock;
  audit: AuditLog;
  /** HIKESHI_INTRODUCTIONS_NEEDED (default 1). */
  introductionsNeeded?: number;
}

/** What moved an assurance, for the audit entry: who acted and the event, in the domain's words. */
export interface AssuranceCause {
  actor: string;
  reason: string;
}

export interface AssuranceChange {
  teamId: string;
  from: PeerAssurance;
  to: PeerAssurance;
}

export const ASSURANCE_CHANGED = 'peer.assurance-changed';
const TEAM_OR_FORUM = /^[a-z0-9][a-z0-9-]{1,62}$/;
const FINGERPRINT = /^[0-9A-F]{40}$/;

const asFact = (v: VouchRow) => ({ kind: v.kind, voucher: v.voucher, fingerprint: v.fingerprint, withdrawn: v.withdrawnAt !== null });

/** The facts the rule needs about a peer: its vouches, and each introducing team's standing as our peer. */
export async function assuranceFacts(
  deps: AssuranceDeps,
  db: DbOrTx,
  peer: PeerDetails,
  vouches?: VouchRow[],
): Promise<{ facts: AssuranceFacts; vouches: VouchRow[] }> {
  const held = vouches ?? (await listVouchesFor(db, peer.teamId));
  const introducers = [...new Set(held.filter((v) => v.kind === 'introduction').map((v) => v.voucher))];
  const facts: AssuranceFacts = {
    assurance: peer.assurance,
    fingerprint: peer.fingerprint,
    keyInDoubt: peer.keyChangedAt !== null,
    vouches: held.map(asFact),
    vouchers: await peerStandings(db, introducers),
    introductionsNeeded: deps.introductionsNeeded ?? 1,
  };
  return { facts, vouches: held };
}

/** Stores a derived assurance that differs from the peer's, and audits the change. */
export async function applyAssurance(
  deps: AssuranceDeps,
  tx: Tx,
  peer: PeerDetails,
  derivation: AssuranceDerivation,
  cause: AssuranceCause,
): Promise<AssuranceChange | null> {
  if (derivation.assurance === peer.assurance) return null;
  await updatePeer(tx, peer.teamId, { assurance: derivation.assurance, updated_at: deps.clock() });
  await deps.audit.append(tx, {
    kind: ASSURANCE_CHANGED,
    actor: cause.actor,
    peer: peer.teamId,
    details: {
      from: peer.assurance,
      to: derivation.assurance,
      reason: cause.reason,
      rule: derivation.reason,
      fingerprint: peer.fingerprint,
      roster: derivation.roster,
      introductions: derivation.introductions,
      needed: derivation.needed,
    },
  });
  return { teamId: peer.teamId, from: peer.assurance, to: derivation.assurance };
}

/** Derives a peer's assurance again (its row locked until the transaction ends); null when it is not a peer or nothing moved. */
export async function recomputeAssurance(
  deps: AssuranceDeps,
  tx: Tx,
  teamId: string,
  cause: AssuranceCause,
): Promise<AssuranceChange | null> {
  const peer = await findPeer(tx, teamId, { forUpdate: true });
  if (!peer) return null;
  const { facts } = await assuranceFacts(deps, tx, peer);
  return applyAssurance(deps, tx, peer, deriveAssurance(facts), cause);
}

/** A voucher's standing changed (verified, suspended, resumed, key changed, removed): the teams it introduced are derived again. */
export async function recomputeVouchedBy(deps: AssuranceDeps, tx: Tx, voucher: string, cause: AssuranceCause): Promise<AssuranceChange[]> {
  const changes: AssuranceChange[] = [];
  // Team id order: two transactions that lock several peers lock them in the same order.
  for (const subject of await subjectsVouchedBy(tx, voucher, 'introduction')) {
    if (subject === voucher) continue;
    const change = await recomputeAssurance(deps, tx, subject, cause);
    if (change) changes.push(change);
  }
  return changes;
}

/** After a change to a peer itself: its own assurance, then that of the teams it introduced. */
export async function recomputeAround(deps: AssuranceDeps, tx: Tx, teamId: string, cause: AssuranceCause): Promise<AssuranceChange[]> {
  const own = await recomputeAssurance(deps, tx, teamId, cause);
  const others = await recomputeVouchedBy(deps, tx, teamId, cause);
  return own ? [own, ...others] : others;
}

// --- vouches the forum module records (PeerDirectory.recordVouch / withdrawVouch) ----------------

export interface VouchInput {
  /** The team whose key is vouched for. */
  subject: string;
  /** Its key, 40 upper-case hex digits. */
  fingerprint: string;
  kind: VouchKind;
  /** The introducing team, or for a roster the forum id. */
  voucher: string;
  /** The signed statement as received; null for a roster vouch (the forum module keeps the signed roster). */
  statement?: { messageId: string; document: string; signature: string } | null;
  vouchesFor?: string | null;
  /** When the voucher stated it (a roster's signing time); now when absent. */
  statedAt?: Date;
  /** Who is recorded as acting in the audit (default: the voucher). */
  actor?: string;
}

export interface VouchWithdrawal {
  subject: string;
  kind: VouchKind;
  voucher: string;
  /** One key only; every key of the subject this voucher vouched for when absent. */
  fingerprint?: string;
  actor?: string;
}

export interface VouchOutcome {
  subject: string;
  /** The subject's assurance after the change; null when the subject is not a peer of ours (the vouch is kept for when it is added). */
  assurance: PeerAssurance | null;
  change: AssuranceChange | null;
  /** For a withdrawal: the keys whose vouch was withdrawn (none: there was nothing to withdraw). */
  fingerprints: string[];
}

function checkVouchInput(input: { subject: string; voucher: string; fingerprint?: string; vouchesFor?: string | null }): void {
  const bad = (pointer: string, message: string) =>
    new ProblemError('validation-failed', `a vouch ${message}`, { errors: [{ location: 'body', pointer, message }] });
  if (!TEAM_OR_FORUM.test(input.subject)) throw bad('/subject', 'must name a team id');
  if (!TEAM_OR_FORUM.test(input.voucher)) throw bad('/voucher', 'must name a team or forum id');
  if (input.fingerprint !== undefined && !FINGERPRINT.test(input.fingerprint))
    throw bad('/fingerprint', 'must be 40 upper-case hex digits');
  if (input.vouchesFor != null && (input.vouchesFor.length < 1 || input.vouchesFor.length > 500))
    throw bad('/vouchesFor', 'must be 1 to 500 characters');
}

async function outcome(deps: AssuranceDeps, tx: Tx, subject: string, cause: AssuranceCause, fingerprints: string[]): Promise<VouchOutcome> {
  const change = await recomputeAssurance(deps, tx, subject, cause);
  const peer = await findPeer(tx, subject);
  return { subject, assurance: peer?.assurance ?? null, change, fingerprints };
}

/** Records (or renews) a vouch inside the caller's transaction, then derives the subject's assurance again. */
export async function recordVouch(deps: AssuranceDeps, tx: Tx, input: VouchInput): Promise<VouchOutcome> {
  checkVouchInput(input);
  if (input.kind === 'introduction' && !input.statement) throw new Error('an introduction vouch needs the signed statement');
  const at = deps.clock();
  await lockVouchSubject(tx, input.subject);
  if (input.kind === 'roster') {
    // A roster states one key per member: listing another key takes back the forum's word for the old one.
    const others = (await listVouchesFor(tx, input.subject)).filter(
      (v) => v.kind === 'roster' && v.voucher === input.voucher && v.fingerprint !== input.fingerprint && v.withdrawnAt === null,
    );
    for (const other of others) await withdrawVouches(tx, { ...other, kind: 'roster' }, at);
  }
  await upsertVouch(
    tx,
    {
      subject: input.subject,
      fingerprint: input.fingerprint,
      kind: input.kind,
      voucher: input.voucher,
      messageId: input.statement?.messageId ?? null,
      document: input.statement?.document ?? null,
      signature: input.statement?.signature ?? null,
      vouchesFor: input.vouchesFor ?? null,
      statedAt: input.statedAt ?? at,
      withdrawnAt: null,
    },
    at,
  );
  const reason = input.kind === 'roster' ? `listed in the roster of ${input.voucher}` : `introduced by ${input.voucher}`;
  return outcome(deps, tx, input.subject, { actor: input.actor ?? input.voucher, reason }, [input.fingerprint]);
}

/** Withdraws a voucher's vouch (one key or all) inside the caller's transaction, then derives the subject's assurance again. */
export async function withdrawVouch(deps: AssuranceDeps, tx: Tx, input: VouchWithdrawal): Promise<VouchOutcome> {
  checkVouchInput(input);
  await lockVouchSubject(tx, input.subject);
  const fingerprints = await withdrawVouches(tx, input, deps.clock());
  const reason = input.kind === 'roster' ? `no longer in the roster of ${input.voucher}` : `introduction by ${input.voucher} withdrawn`;
  return outcome(deps, tx, input.subject, { actor: input.actor ?? input.voucher, reason }, fingerprints);
}

// --- what a handler reads: GET /api/v1/peers/{teamId}/vouches ------------------------------------

export interface VouchView extends VouchRow {
  standing: VouchStanding | 'subject-not-a-peer';
}

export interface VouchReport {
  teamId: string;
  peer: PeerDetails | null;
  derivation: AssuranceDerivation | null;
  vouches: VouchView[];
  sent: SentIntroductionRow[];
}

/** Every vouch held for a team and whether it counts, with what we told others about it; 404 when we know nothing of the team. */
export async function vouchReport(deps: AssuranceDeps, db: DbOrTx, teamId: string): Promise<VouchReport> {
  const peer = await findPeer(db, teamId);
  const held = await listVouchesFor(db, teamId);
  const sent = await listSentIntroductions(db, teamId);
  if (!peer && held.length === 0 && sent.length === 0) throw new ProblemError('not-found', `no peer "${teamId}" and no vouch for it`);
  if (!peer) {
    const vouches = held.map((v) => ({
      ...v,
      standing: v.withdrawnAt !== null ? ('withdrawn' as const) : ('subject-not-a-peer' as const),
    }));
    return { teamId, peer: null, derivation: null, vouches, sent };
  }
  const { facts } = await assuranceFacts(deps, db, peer, held);
  const vouches = held.map((v) => ({ ...v, standing: vouchStanding(asFact(v), facts) }));
  return { teamId, peer, derivation: deriveAssurance(facts), vouches, sent };
}
