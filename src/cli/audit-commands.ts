import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildApp } from '../app.js';
import type { Config } from '../config.js';
import { verifyAuditChain } from '../modules/audit/audit-chain.js';
import { ensureNodeSecrets, KEY_FILE } from '../modules/profile/node-identity.js';
import { mintApiToken } from '../modules/tokens/token-codec.js';
import { openConfiguredDatabase } from '../node-init.js';
import type { AuditAnchorResult, AuditVerifyResult, WitnessCheck } from '../../schemas/audit.schema.js';
import { NodeUnreachableError, callNode, problemMessage } from './cli-context.js';

/**
 * `hikeshi audit verify` and `hikeshi audit anchor`. Both ask the running node's API; with none
 * running they build the node in this process on its database and key (the embedded database
 * admits one process, and only the node's key can ask a witness for its heads) and ask that the
 * same question, so both paths run the same code. Without a key in the data directory there is
 * nothing a witness could hold for us: verify walks the chain alone.
 */

interface NodeAnswer {
  status: number;
  json: unknown;
  text: string;
}

/** The node's API answer to one admin request: the running node's, else an in-process node's. */
async function askNode(config: Config, baseUrl: string, method: 'GET' | 'POST', route: string): Promise<NodeAnswer | null> {
  try {
    return await callNode(config, baseUrl, method, route);
  } catch (err) {
    if (!(err instanceof NodeUnreachableError)) throw err;
  }
  if (!existsSync(path.join(config.dataDir, KEY_FILE))) return null;
  const database = await openConfiguredDatabase(config);
  try {
    // The key as the node loads it (with the keys it retired: heads signed before a rotation verify).
    const { signer, tokenSecret } = await ensureNodeSecrets(config);
    const app = await buildApp({ config, database, signer, tokenSecret, logger: false });
    try {
      const token = mintApiToken(tokenSecret, { role: 'admin', subject: 'cli', issuer: config.teamId, ttlSeconds: 300 }).token;
      const res = await app.inject({ method, url: route, headers: { authorization: `Bearer ${token}` } });
      return { status: res.statusCode, json: res.body ? (JSON.parse(res.body) as unknown) : null, text: res.body };
    } finally {
      await app.close();
    }
  } finally {
    await database.close();
  }
}

function describeWitness(w: WitnessCheck): string[] {
  const lines = [`witness ${w.team}: ${w.status}: ${w.detail}`];
  if (w.head)
    lines.push(
      `  newest head it holds: #${w.head.seq} ${w.head.hash} (received ${w.head.receivedAt})${w.head.conflict ? ', flagged' : ''}`,
    );
  if (w.localCopy) {
    const c = w.localCopy;
    lines.push(
      `  last head delivered to it (our outbox): #${c.seq} ${c.hash} on ${c.deliveredAt}, ${c.inChain ? 'in the chain' : 'NOT in the chain'}`,
    );
  }
  return lines;
}

/** Prints a verification; answers whether it passed. */
export function printVerification(result: AuditVerifyResult, out: (s: string) => void): boolean {
  if (result.ok) {
    // The head names the newest entry and its hash: what a witness compares (issue 13).
    out(`audit chain intact: ${result.entries} entries${result.head ? `, head #${result.head.seq} ${result.head.hash}` : ''}`);
  } else {
    out(`audit chain BROKEN at entry ${result.brokenAt}: ${result.reason}${result.detail ? ` (${result.detail})` : ''}`);
  }
  const witnesses = result.witnesses;
  if (witnesses && witnesses.checked > 0) {
    for (const w of witnesses.items) for (const line of describeWitness(w)) out(line);
    if (witnesses.reached === 0) {
      out(
        `WARNING: none of the ${witnesses.checked} witnesses could be reached: the chain's tail was not checked against any of them (the local copies above, if any, are only a fallback).`,
      );
    }
  }
  return result.ok;
}

export async function auditVerify(config: Config, baseUrl: string, out: (s: string) => void): Promise<boolean> {
  const answer = await askNode(config, baseUrl, 'GET', '/api/v1/audit/verify?witnesses=true');
  if (answer === null) {
    const database = await openConfiguredDatabase(config);
    try {
      return printVerification(await verifyAuditChain(database.db), out);
    } finally {
      await database.close();
    }
  }
  if (answer.status !== 200) throw new Error(problemMessage(answer.status, answer.json, answer.text));
  return printVerification(answer.json as AuditVerifyResult, out);
}

export async function auditAnchor(config: Config, baseUrl: string, out: (s: string) => void): Promise<void> {
  const answer = await askNode(config, baseUrl, 'POST', '/api/v1/audit/anchors');
  if (answer === null) throw new Error(`no node key in ${config.dataDir}: run "hikeshi init" first`);
  if (answer.status !== 200) throw new Error(problemMessage(answer.status, answer.json, answer.text));
  const result = answer.json as AuditAnchorResult;
  out(result.head ? `audit head #${result.head.seq} ${result.head.hash}` : 'the audit log is empty');
  if (result.witnesses.length === 0) {
    out('no witnesses: add a coordinator peer, or name teams in HIKESHI_AUDIT_WITNESSES');
    return;
  }
  for (const w of result.witnesses) out(`  ${w.team}: ${w.status}${w.messageId ? ` (message ${w.messageId})` : ''}: ${w.detail}`);
}
