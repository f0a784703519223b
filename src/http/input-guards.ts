import type { FastifyInstance } from 'fastify';
import { badCharacterIn, IJsonError, parseIJson } from '../util/i-json.js';
import { ProblemError } from './problem.js';

/**
 * Hostile input is refused before any handler sees it (docs/errors.md, "Hostile input"): the
 * JSON bodies of the API are parsed as I-JSON, and the path parameters and query values may hold
 * no NUL and no lone surrogate. Signed documents keep their own parse (the exchange's envelope
 * stage uses the same parseIJson, and audits its refusals).
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw new ProblemError('malformed-json', 'the body is empty');
  try {
    return parseIJson(text);
  } catch (err) {
    if (err instanceof IJsonError && err.reason !== 'syntax') {
      throw new ProblemError('not-i-json', err.message, { pointer: err.pointer, reason: err.reason });
    }
    throw new ProblemError('malformed-json', 'the body is not valid JSON');
  }
}

export function registerInputGuards(app: FastifyInstance): void {
  for (const type of ['application/json', 'application/merge-patch+json']) {
    if (app.hasContentTypeParser(type)) app.removeContentTypeParser(type);
    app.addContentTypeParser(type, { parseAs: 'string' }, (_request, body, done) => {
      try {
        done(null, parseJsonBody(body as string));
      } catch (err) {
        done(err as Error, undefined);
      }
    });
  }
  app.addHook('onRequest', async (request) => {
    checkTextValues('path', request.params);
    checkTextValues('querystring', request.query);
  });
}

function checkTextValues(location: 'path' | 'querystring', values: unknown): void {
  if (typeof values !== 'object' || values === null) return;
  for (const [name, value] of Object.entries(values)) {
    for (const text of Array.isArray(value) ? value : [value]) {
      if (typeof text !== 'string') continue;
      const bad = badCharacterIn(text) ?? badCharacterIn(name);
      if (bad) {
        throw new ProblemError(
          'validation-failed',
          `${location} parameter "${safeName(name)}" holds ${bad === 'nul' ? 'a NUL character' : 'a lone surrogate'}`,
          {
            errors: [
              { location, pointer: `/${safeName(name)}`, message: bad === 'nul' ? 'NUL is not allowed' : 'lone surrogate is not allowed' },
            ],
          },
        );
      }
    }
  }
}

/** A parameter name as it may be echoed: without the characters refused. */
function safeName(name: string): string {
  // eslint-disable-next-line no-control-regex -- NUL is exactly what must not be echoed
  return name.replace(/[\u0000\ud800-\udfff]/g, '\ufffd').slice(0, 100);
}
