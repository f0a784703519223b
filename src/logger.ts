import type { FastifyServerOptions } from 'fastify';
import type { Config } from './config.js';

/**
 * pino options for the node. Requests are logged by method and path only: query strings can
 * carry indicators and addresses (`?ip=`, `?indicator=`), headers carry tokens, and bodies carry
 * incident content, none of which belongs in a log.
 */
export function loggerOptions(config: Pick<Config, 'logLevel'>): FastifyServerOptions['logger'] {
  return {
    level: config.logLevel,
    redact: {
      paths: [
        'req.headers.authorization',
        'req.headers.cookie',
        '*.passphrase',
        '*.token',
        '*.armoredPrivateKey',
        '*.tokenSecret',
        '*.keyPassphrase',
      ],
      censor: '[redacted]',
    },
    serializers: {
      req(request: { method: string; url: string; ip?: string; id?: string }) {
        return { id: request.id, method: request.method, path: request.url.split('?')[0], remote: request.ip };
      },
    },
  };
}
