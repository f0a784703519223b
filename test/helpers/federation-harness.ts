import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { canonicalize, signDocument, type NodeSigner } from '../../src/crypto/index.js';
import { proveKeyRotation } from '../../src/modules/peers/key-rotation-proof.js';
import { loadFixtureKey, loadFixtureSigner, type FixtureKeyName } from '../fixtures/keys/index.js';
import type { Role } from '../../src/modules/tokens/token-codec.js';
import type { TestNode } from './build-test-app.js';

/**
 * Helpers for multi-node federation tests: nodes are real apps listening on loopback ports
 * (buildTestNode with listen: true), peered through the API as a handler would, and messages are
 * crafted with the fixture keys where a test needs a sender that is not a node.
 */

/** Fast delivery for tests; read by the exchange module when a node is built. */
export function fastDelivery(overrides: Record<string, string> = {}): void {
  Object.assign(process.env, {
    HIKESHI_DELIVERY_POLL_MS: '50',
    HIKESHI_DELIVERY_RETRY_BASE_MS: '100',
    HIKESHI_DELIVERY_RETRY_MAX_MS: '400',
    HIKESHI_DELIVERY_TIMEOUT_MS: '5000',
    ...overrides,
  });
}

export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

export function api(node: TestNode, method: Method, url: string, role: Role | null, payload?: unknown) {
  return node.app.inject({
    method,
    url: `/api/v1${url}`,
    headers: role ? node.auth[role] : {},
    ...(payload === undefined ? {} : { payload: payload as object }),
  });
}

/** `from` adds `to` as a peer by URL (POST /api/v1/peers), as a handler would. */
export async function addPeer(from: TestNode, to: TestNode): Promise<void> {
  const res = await api(from, 'POST', '/peers', 'admin', { url: to.url });
  if (res.statusCode !== 201 && res.statusCode !== 200)
    throw new Error(`${from.config.teamId} could not add ${to.config.teamId}: ${res.statusCode} ${res.body}`);
}

/** Both nodes pin each other's key. */
export async function peerBoth(a: TestNode, b: TestNode): Promise<void> {
  await addPeer(a, b);
  await addPeer(b, a);
}

/**
 * `from` trusts its peer `to` as a handler would: the fingerprint confirmed out of band
 * (assurance verified) and the given changes (default: bilateral trust partner, which
 * TLP:AMBER needs). The sharing policy refuses an unverified key anything above CLEAR.
 */
export async function trustPeer(from: TestNode, to: TestNode, patch: Record<string, unknown> = { trustLevel: 'partner' }): Promise<void> {
  const team = to.config.teamId;
  if (Object.keys(patch).length) {
    const res = await api(from, 'PATCH', `/peers/${team}`, 'admin', patch);
    if (res.statusCode !== 200) throw new Error(`${from.config.teamId} could not change ${team}: ${res.statusCode} ${res.body}`);
  }
  const verified = await api(from, 'POST', `/peers/${team}/verify`, 'admin', { fingerprint: to.signer.fingerprint });
  if (verified.statusCode !== 200)
    throw new Error(`${from.config.teamId} could not verify ${team}: ${verified.statusCode} ${verified.body}`);
}

/** Both nodes pin, verify and trust each other as partners. */
export async function partnersBoth(a: TestNode, b: TestNode): Promise<void> {
  await peerBoth(a, b);
  await trustPeer(a, b);
  await trustPeer(b, a);
}

export const EXAMPLE_INCIDENT = JSON.parse(readFileSync(new URL('../../docs/examples/incident.json', import.meta.url), 'utf8')) as Record<
  string,
  unknown
>;

export async function createIncident(
  node: TestNode,
  overrides: Record<string, unknown> = {},
): Promise<{ ref: string; id: string; tlp: string }> {
  const res = await api(node, 'POST', '/incidents', 'handler', { ...EXAMPLE_INCIDENT, ...overrides });
  if (res.statusCode !== 201) throw new Error(`create incident: ${res.statusCode} ${res.body}`);
  return res.json();
}

export const enc = encodeURIComponent;

/**
 * Polls `check` until it returns a truthy value (or throws after `timeoutMs`). The default is
 * generous on purpose: it only bounds how long a broken test takes to fail, and CI runs two
 * suites side by side on two cores, where a delivery with one retry can take well over 15 s.
 */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | null | undefined | false>,
  timeoutMs = 60_000,
  everyMs = 25,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value) return value;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface ShareView {
  peer: string;
  direction: string;
  state: string;
  peerRef: string | null;
  attempts: number;
  lastError: string | null;
  nextAttemptAt: string | null;
  receiptAt: string | null;
  pendingUpdates: number;
}

export async function shares(node: TestNode, ref: string): Promise<ShareView[]> {
  const res = await api(node, 'GET', `/incidents/${enc(ref)}/shares`, 'reader');
  if (res.statusCode !== 200) throw new Error(`shares: ${res.statusCode} ${res.body}`);
  return res.json().items;
}

export async function waitForShareState(node: TestNode, ref: string, peer: string, state: string, timeoutMs?: number): Promise<ShareView> {
  return waitFor(
    `${ref} -> ${peer} ${state}`,
    async () => (await shares(node, ref)).find((s) => s.peer === peer && s.state === state),
    timeoutMs,
  );
}

export async function journal(
  node: TestNode,
  ref: string,
): Promise<Array<{ kind: string; team: string; actor: string; note: string | null; changes: any }>> {
  const res = await api(node, 'GET', `/incidents/${enc(ref)}/journal?limit=500`, 'reader');
  if (res.statusCode !== 200) throw new Error(`journal: ${res.statusCode} ${res.body}`);
  return res.json().items;
}

export async function findByExternalRef(
  node: TestNode,
  ref: string,
): Promise<Array<{ ref: string; externalRefs: Array<{ team: string; ref: string }> }>> {
  const res = await api(node, 'GET', `/incidents?externalRef=${enc(ref)}`, 'reader');
  if (res.statusCode !== 200) throw new Error(`search: ${res.statusCode} ${res.body}`);
  return res.json().items;
}

/** A message document as a peer would build it; `overrides` replace any field. */
export function messageDocument(
  from: string,
  to: string,
  type: string,
  body: unknown,
  overrides: Record<string, unknown> = {},
): Record<string, unknown> {
  return {
    v: 1,
    id: randomUUID(),
    type,
    from,
    to,
    created: new Date().toISOString(),
    tlp: 'AMBER',
    body,
    ...overrides,
  };
}

export async function sign(
  document: Record<string, unknown>,
  key: FixtureKeyName | NodeSigner,
): Promise<{ document: Record<string, unknown>; signature: string }> {
  const signer = typeof key === 'string' ? await loadFixtureSigner(key) : key;
  return signDocument(document, signer);
}

/**
 * The body of a `key.rotation` from `team`'s key `from` to its key `to`, with the new key's
 * signature over the rotation (key-rotation-proof.ts).
 */
export async function rotationBody(
  team: string,
  from: FixtureKeyName,
  to: FixtureKeyName,
): Promise<{ newPublicKey: string; newFingerprint: string; newKeySignature: string }> {
  const next = loadFixtureKey(to);
  return {
    newPublicKey: next.armoredPublicKey,
    newFingerprint: next.fingerprint,
    newKeySignature: await proveKeyRotation(team, loadFixtureKey(from).fingerprint, await loadFixtureSigner(to)),
  };
}

/** The incident.report body a peer sends for the example incident. */
export function reportBody(senderRef: string, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const { phase: _phase, ...incident } = EXAMPLE_INCIDENT;
  return { ref: senderRef, phase: 'analysis', incident: { ...incident, ...overrides } };
}

export async function postMessage(
  node: TestNode,
  body: unknown,
  contentType = 'application/json',
): Promise<{ status: number; text: string; json: any }> {
  const res = await fetch(`${node.url}/federation/v1/messages`, {
    method: 'POST',
    headers: { 'content-type': contentType },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown = null;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, text, json };
}

export async function auditKinds(
  node: TestNode,
  filter: { kind?: string; peer?: string } = {},
): Promise<Array<{ kind: string; decision: string | null; details: any }>> {
  let q = node.database.db.selectFrom('audit_entry').select(['kind', 'decision', 'details']).orderBy('seq');
  if (filter.kind) q = q.where('kind', '=', filter.kind);
  if (filter.peer) q = q.where('peer', '=', filter.peer);
  return (await q.execute()) as Array<{ kind: string; decision: string | null; details: any }>;
}

export async function incidentCount(node: TestNode): Promise<number> {
  const row = await node.database.db
    .selectFrom('incident')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .executeTakeFirstOrThrow();
  return Number(row.n);
}

export { canonicalize };
