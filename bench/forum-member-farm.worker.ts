import { createServer, type IncomingMessage } from 'node:http';
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { loadConfig } from '../src/config.js';
import {
  canonicalize,
  generateNodeKey,
  loadNodeSigner,
  readPeerKey,
  verifyDocumentSignature,
  type NodeSigner,
} from '../src/crypto/index.js';
import { envelopeShape, envelopeText, newDocument, validateDocument } from '../src/modules/exchange/exchange.module.js';
import { createProfilePublisher } from '../src/modules/peers/signed-profile.js';
import { defaultProfile } from '../src/modules/profile/profile.service.js';
import { parseIJson } from '../src/util/i-json.js';

/**
 * The forum benchmark's "member farm": one loopback HTTP server, in a thread of its own (the
 * poster's core is the poster's), that stands in for `members` member nodes. Each member team has
 * its own key and serves its signed profile at `<base>/<team>/federation/v1/profile` (so the
 * poster adds, verifies and trusts it as a peer like any other) and its inbox at
 * `<base>/<team>/federation/v1/messages`, which does what a real node's inbox does before it
 * files anything: the envelope's shape, the signature against the poster's key, the document's
 * schema, the addressee; then it answers with a receipt signed by that member's key, built by the
 * node's own receipt code (newDocument, canonicalize, envelopeText; inbox-store.ts receiptFor).
 * Nothing is stored: a member node's own filing is what the federation bench measures.
 */
interface FarmInput {
  members: number;
  poster: { teamId: string; armoredPublicKey: string };
}

interface Member {
  teamId: string;
  signer: NodeSigner;
  profile: () => Promise<string>;
}

const { members: count, poster } = workerData as FarmInput;
const posterKey = await readPeerKey(poster.armoredPublicKey);
/** Verified messages per member team and type, and refusals by reason: what the bench checks afterwards. */
const received = new Map<string, Map<string, number>>();
const refused = new Map<string, number>();

const server = createServer();
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const address = server.address();
const base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;

const members = new Map<string, Member>();
for (let i = 0; i < count; i++) {
  const teamId = `bench-member-${String(i + 1).padStart(4, '0')}`;
  const key = await generateNodeKey({ teamId, name: `Bench member ${i + 1}`, email: `${teamId}@example.invalid` });
  const signer = await loadNodeSigner(key.armoredPrivateKey);
  const url = `${base}/${teamId}`;
  const config = loadConfig({}, { teamId, teamName: `Bench member ${i + 1}`, dataDir: os.tmpdir(), publicUrl: url, referencePrefix: 'M' });
  const publisher = createProfilePublisher({
    profiles: {
      get: async () => ({
        teamId,
        ...defaultProfile(config),
        referencePrefix: config.referencePrefix,
        publicKey: signer.armoredPublicKey,
        fingerprint: signer.fingerprint,
        publicUrl: url,
        updatedAt: new Date().toISOString(),
      }),
    },
    signer,
    clock: () => new Date(),
  });
  members.set(teamId, { teamId, signer, profile: () => publisher.current() });
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** A member's inbox, less the filing: verified or refused (400/403 with the reason), else a signed receipt. */
async function inbox(member: Member, raw: string): Promise<{ status: number; text: string }> {
  const refuse = (status: number, reason: string) => {
    refused.set(reason, (refused.get(reason) ?? 0) + 1);
    return { status, text: JSON.stringify({ code: reason }) };
  };
  let value: unknown;
  try {
    value = parseIJson(raw);
  } catch {
    return refuse(400, 'malformed-json');
  }
  const shape = envelopeShape(value);
  if (shape.kind !== 'signed') return refuse(400, 'envelope-invalid');
  if (shape.document['from'] !== poster.teamId) return refuse(403, 'unknown-peer');
  const verified = await verifyDocumentSignature(value, posterKey, { now: new Date() });
  if (!verified.ok) return refuse(403, `signature-invalid (${verified.reason})`);
  let document;
  try {
    document = validateDocument(shape.document);
  } catch {
    return refuse(400, 'validation-failed');
  }
  if (document.to !== member.teamId) return refuse(400, 'wrong-recipient');
  const byType = received.get(member.teamId) ?? new Map<string, number>();
  byType.set(document.type, (byType.get(document.type) ?? 0) + 1);
  received.set(member.teamId, byType);
  const receipt = newDocument(member.teamId, new Date(), {
    type: 'receipt',
    to: document.from,
    tlp: document.tlp,
    inReplyTo: document.id,
    body: { status: 'applied' },
  });
  const receiptDocument = canonicalize(receipt);
  return { status: 200, text: envelopeText(receiptDocument, await member.signer.signDetached(receiptDocument)) };
}

server.on('request', (req, res) => {
  const match = /^\/([a-z0-9-]+)\/federation\/v1\/(profile|messages)$/.exec(req.url ?? '');
  const member = match ? members.get(match[1]!) : undefined;
  if (!match || !member) {
    res.writeHead(404).end();
    return;
  }
  const answer =
    match[2] === 'profile' && req.method === 'GET'
      ? member.profile().then((text) => ({ status: 200, text }))
      : match[2] === 'messages' && req.method === 'POST'
        ? readBody(req).then((raw) => inbox(member, raw))
        : Promise.resolve({ status: 405, text: '{}' });
  answer.then(
    ({ status, text }) => res.writeHead(status, { 'content-type': 'application/json' }).end(text),
    () => res.writeHead(500).end(),
  );
});

parentPort!.on('message', (m: { type: string }) => {
  if (m.type === 'stats') {
    const out: Record<string, Record<string, number>> = {};
    for (const [team, byType] of received) out[team] = Object.fromEntries(byType);
    parentPort!.postMessage({ type: 'stats', received: out, refused: Object.fromEntries(refused) });
  } else if (m.type === 'close') {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});
parentPort!.postMessage({
  type: 'ready',
  base,
  members: [...members.values()].map((m) => ({ teamId: m.teamId, url: `${base}/${m.teamId}`, fingerprint: m.signer.fingerprint })),
});
