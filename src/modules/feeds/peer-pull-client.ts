import Type from 'typebox';
import type { Clock } from '../../clock.js';
import { signDocument, type NodeSigner } from '../../crypto/index.js';
import { IJsonError, parseIJson } from '../../util/i-json.js';
import { newDocument, PeerCallError, type PeerClient } from '../exchange/exchange.module.js';
import { compileOnFirstUse } from '../../util/compile-on-first-use.js';

/**
 * The pulling side of /federation/v1 (docs/federation-protocol.md §15): a fresh signed
 * auth.token-request buys a short-lived peer token at the other node, and the token a GET there.
 * Everything the other node answers is hostile until checked: the caller validates and verifies
 * what it gets; this only insists on JSON (I-JSON) and a 200.
 */
export interface PeerPullDeps {
  client: PeerClient;
  signer: NodeSigner;
  clock: Clock;
  /** This node's team id: the token request's `from`. */
  teamId: string;
}

/** The other node's address and team id, as pinned here. */
export interface PullTarget {
  teamId: string;
  url: string;
}

/** A pull that produced no usable answer; the message is safe to show (a status and a problem code, or why no answer came). */
export class PeerPullError extends Error {
  override name = 'PeerPullError';
}

const PeerTokenAnswer = compileOnFirstUse(
  Type.Object({ token: Type.String({ minLength: 1, maxLength: 8192 }) }, { additionalProperties: true }),
);

function refusal(what: string, status: number, text: string): PeerPullError {
  let code = '';
  try {
    const problem = JSON.parse(text) as { code?: unknown };
    if (typeof problem.code === 'string') code = ` ${problem.code.slice(0, 64)}`;
  } catch {
    // not a problem document: the status says enough
  }
  return new PeerPullError(`${what}: ${status}${code}`);
}

async function call(deps: PeerPullDeps, target: PullTarget, path: string, request: Parameters<PeerClient['call']>[2]) {
  try {
    return await deps.client.call(target.url, path, request);
  } catch (err) {
    if (err instanceof PeerCallError) throw new PeerPullError(err.message);
    throw err;
  }
}

function parsed(what: string, text: string): unknown {
  try {
    return parseIJson(text);
  } catch (err) {
    throw new PeerPullError(`${what}: the answer is not ${err instanceof IJsonError && err.reason !== 'syntax' ? 'I-JSON' : 'JSON'}`);
  }
}

/** A peer token from `target` (POST /federation/v1/token with a signed auth.token-request). */
export async function requestPeerToken(deps: PeerPullDeps, target: PullTarget): Promise<string> {
  const request = await signDocument(
    newDocument(deps.teamId, deps.clock(), { type: 'auth.token-request', to: target.teamId, tlp: 'CLEAR', body: {} }),
    deps.signer,
  );
  const res = await call(deps, target, 'federation/v1/token', { method: 'POST', body: JSON.stringify(request) });
  if (res.status !== 200) throw refusal('token request refused', res.status, res.text);
  const answer = parsed('token request', res.text);
  if (!PeerTokenAnswer.Check(answer)) throw new PeerPullError('token request: the answer holds no token');
  return (answer as { token: string }).token;
}

/**
 * GET `path` (relative, e.g. "federation/v1/audit-heads?limit=20") at `target` with a fresh peer
 * token; answers the parsed JSON of a 200.
 */
export async function pullFromPeer(deps: PeerPullDeps, target: PullTarget, path: string): Promise<unknown> {
  const token = await requestPeerToken(deps, target);
  const res = await call(deps, target, path, { method: 'GET', authorization: `Bearer ${token}` });
  if (res.status !== 200) throw refusal(`GET ${path.split('?')[0]} refused`, res.status, res.text);
  return parsed(`GET ${path.split('?')[0]}`, res.text);
}

export type PullOutcome = { ok: true; value: unknown } | { ok: false; reason: string };

/** pullFromPeer, with a pull that got no usable answer as a reason to report instead of an error. */
export async function tryPullFromPeer(deps: PeerPullDeps, target: PullTarget, path: string): Promise<PullOutcome> {
  try {
    return { ok: true, value: await pullFromPeer(deps, target, path) };
  } catch (err) {
    if (err instanceof PeerPullError) return { ok: false, reason: err.message };
    throw err;
  }
}
