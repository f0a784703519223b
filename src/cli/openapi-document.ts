import { buildApp } from '../app.js';
import { loadConfig } from '../config.js';
import { generateNodeKey, loadNodeSigner } from '../crypto/index.js';
import { openDatabase, SMALL_SHARED_BUFFERS_MB } from '../db/database.js';

/**
 * The OpenAPI document the node serves at /openapi.json, built without listening: an in-memory
 * node with a throwaway key, since the document depends on routes and schemas only. For
 * `hikeshi openapi` (linting, client generators) and `npm run client:generate`.
 */
export async function buildOpenApiDocument(): Promise<Record<string, unknown>> {
  const database = await openDatabase({ sharedBuffersMb: SMALL_SHARED_BUFFERS_MB });
  try {
    const key = await generateNodeKey({ teamId: 'openapi', name: 'OpenAPI', email: 'openapi@example.invalid' });
    const app = await buildApp({
      config: loadConfig({}, { dataDir: '/nonexistent', logLevel: 'silent', publicUrl: 'http://127.0.0.1:8080' }),
      database,
      signer: await loadNodeSigner(key.armoredPrivateKey),
      tokenSecret: 'x'.repeat(64),
      logger: false,
    });
    try {
      await app.ready();
      return app.swagger() as unknown as Record<string, unknown>;
    } finally {
      await app.close();
    }
  } finally {
    await database.close();
  }
}
