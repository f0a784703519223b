import { generateKeyPairSync, sign as edSign, verify as edVerify } from 'node:crypto';
import { performance } from 'node:perf_hooks';

import { canonicalBytes } from './canonical-json.js';
import { generateNodeKey } from './node-key.js';
import { readPeerKey } from './peer-key.js';
import { signDocument, verifyDocumentSignature } from './signed-document.js';
import { loadNodeSigner } from './signer.js';

/**
 * Throughput probes for the benchmark: how many inbound documents per second
 * the OpenPGP path can verify, against native Ed25519 over the same bytes as
 * a lower bound on the cost of the underlying curve arithmetic.
 */

export interface VerifyRateOptions {
  /** Approximate canonical size of the sample document. Default 2048 bytes, a typical incident report. */
  payloadBytes?: number;
}

/**
 * Full receive path per operation: canonicalize the document, parse the armored
 * signature, check the key, verify. One throwaway key is generated up front.
 */
export async function measureOpenpgpVerifyRate(seconds: number, options: VerifyRateOptions = {}): Promise<number> {
  return measureDocumentVerifyRate(seconds, 'openpgp.js', options);
}

/** The same receive path as Hikeshi runs it: the native Ed25519 fast path (native-eddsa.ts). */
export async function measureFastPathVerifyRate(seconds: number, options: VerifyRateOptions = {}): Promise<number> {
  return measureDocumentVerifyRate(seconds, 'fastest', options);
}

async function measureDocumentVerifyRate(
  seconds: number,
  implementation: 'fastest' | 'openpgp.js',
  options: VerifyRateOptions,
): Promise<number> {
  assertDuration(seconds);
  const generated = await generateNodeKey({
    teamId: 'bench',
    name: 'Verify rate probe',
    email: 'bench@hikeshi.invalid',
  });
  const signer = await loadNodeSigner(generated.armoredPrivateKey);
  const peerKey = await readPeerKey(generated.armoredPublicKey);
  const envelope = await signDocument(sampleDocument(options.payloadBytes), signer);

  return runFor(seconds, async () => {
    const result = await verifyDocumentSignature(envelope, peerKey, { implementation });
    if (!result.ok) throw new Error(`verification failed during benchmark: ${result.reason}`);
  });
}

/** Native node:crypto Ed25519 verify over the canonical bytes of the same sample document. */
export async function measureEd25519VerifyRate(seconds: number, options: VerifyRateOptions = {}): Promise<number> {
  assertDuration(seconds);
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const payload = canonicalBytes(sampleDocument(options.payloadBytes));
  const signature = edSign(null, payload, privateKey);

  return runFor(seconds, () => {
    if (!edVerify(null, payload, publicKey, signature)) throw new Error('verification failed during benchmark');
  });
}

/** @internal Exposed for tests: a report-shaped document whose canonical form is about `payloadBytes` long. */
export function sampleDocument(payloadBytes = 2048): Record<string, unknown> {
  if (!Number.isInteger(payloadBytes) || payloadBytes < 256) {
    throw new RangeError('payloadBytes must be an integer >= 256');
  }
  const skeleton = {
    id: '018f2c1e-7a4b-7c9d-8e0f-123456789abc',
    kind: 'incident-report',
    tlp: 'amber',
    reportedAt: '2024-05-01T12:00:00.000Z',
    indicators: [
      { type: 'ipv4', value: '192.0.2.10' },
      { type: 'domain', value: 'malicious.example' },
    ],
    summary: '',
  };
  const overhead = canonicalBytes(skeleton).length;
  return { ...skeleton, summary: 'x'.repeat(Math.max(0, payloadBytes - overhead)) };
}

async function runFor(seconds: number, op: () => void | Promise<void>): Promise<number> {
  const budgetMs = seconds * 1000;
  const start = performance.now();
  let count = 0;
  let elapsed = 0;
  do {
    await op();
    count++;
    elapsed = performance.now() - start;
  } while (elapsed < budgetMs);
  return count / (elapsed / 1000);
}

function assertDuration(seconds: number): void {
  if (!Number.isFinite(seconds) || seconds <= 0) {
    throw new RangeError('seconds must be a positive finite number');
  }
}
