import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { ProblemError } from './problem.js';

/**
 * The handlers' console (issue 20, ADR 0030): the production build in dist/console (made by
 * `npm run build`, scripts/build-console.ts), served at /console on the API's own origin so the
 * session cookie (SameSite=Strict) and the CSRF header work without any cross-origin rule.
 *
 * Every answer carries a strict Content-Security-Policy: scripts and styles only from the node
 * itself, nothing inline, no frames, no plugins. Incident fields come from other teams and from
 * attackers; the console never builds markup from strings, and this header is the second wall
 * should a bug ever let one through. The routes are hidden from the OpenAPI document: they are a
 * web page, not the API (the page talks to /api/v1 through the typed client).
 */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'self'",
  "object-src 'none'",
].join('; ');

const FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

export interface ConsoleRoutesOptions {
  /** The built console; dist/console under the checkout by default. */
  dir: string;
}

export async function consoleRoutes(app: FastifyInstance, options: ConsoleRoutesOptions): Promise<void> {
  // Read once per process and kept: the bundle is small, and a rebuild means a restart anyway.
  const cache = new Map<string, Buffer>();
  async function load(name: string): Promise<Buffer> {
    const hit = cache.get(name);
    if (hit) return hit;
    try {
      const bytes = await readFile(path.join(options.dir, name));
      cache.set(name, bytes);
      return bytes;
    } catch {
      throw new ProblemError('not-found', 'the console is not built on this node: run npm run build');
    }
  }
  async function send(reply: FastifyReply, name: string) {
    const bytes = await load(name);
    securityHeaders(reply);
    // The page names its script and style by content hash, so only the page must be fresh.
    reply.header('cache-control', name === 'index.html' ? 'no-cache' : 'public, max-age=31536000, immutable');
    return reply.type(FILES[name] ?? 'application/octet-stream').send(bytes);
  }
  const hidden = { schema: { hide: true } };
  app.get('/console', hidden, (_request, reply) => send(reply, 'index.html'));
  app.get('/console/', hidden, (_request, reply) => send(reply, 'index.html'));
  app.get<{ Params: { file: string } }>('/console/:file', hidden, (request, reply) => {
    // Only the build's own files: no path from the request ever reaches the file system.
    if (!Object.hasOwn(FILES, request.params.file)) throw new ProblemError('not-found');
    return send(reply, request.params.file);
  });
}

function securityHeaders(reply: FastifyReply): void {
  reply.header('content-security-policy', CONSOLE_CSP);
  reply.header('x-content-type-options', 'nosniff');
  reply.header('referrer-policy', 'no-referrer');
  reply.header('x-frame-options', 'DENY');
  reply.header('cross-origin-opener-policy', 'same-origin');
}
