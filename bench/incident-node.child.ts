import { buildApp } from '../src/app.js';
import { loadConfig } from '../src/config.js';
import { openDatabase } from '../src/db/database.js';
import { initNode } from '../src/node-init.js';

/**
 * A second node process for the incident creation bench (issue 18: "where the single Node process
 * is the limit, use several processes on one database"): the same team, data directory (its key)
 * and server schema as the bench's own node, listening on a port of its own. Tells the parent its
 * port over IPC and closes when told.
 */
const input = JSON.parse(process.argv[2] ?? '{}') as { dataDir: string; url: string; schema: string };
const config = loadConfig({}, { dataDir: input.dataDir, teamId: 'bench', referencePrefix: 'BENCH', logLevel: 'silent', port: 0 });
const database = await openDatabase({ url: input.url, schema: input.schema, poolSize: 10 });
const init = await initNode(config, database);
const app = await buildApp({ config, database, signer: init.signer, tokenSecret: init.tokenSecret, logger: false });
await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
process.on('message', (message) => {
  if (message !== 'close') return;
  void app
    .close()
    .then(() => database.close())
    .finally(() => process.exit(0));
});
process.send!({ port: typeof address === 'object' && address ? address.port : 0 });
