import { buildApp } from '../app.js';
import { loadConfig } from '../config.js';
import { openDatabase } from '../db/database.js';
import { loadNodeSigner, generateNodeKey } from '../crypto/index.js';

/** Commands for federation, audit and tooling; kept apart so main.ts stays a readable index. */
interface Command {
  summary: string;
  help: string;
  run(args: string[], out: (s: string) => void): Promise<void>;
}

export const extraCommands: Record<string, Command> = {
  openapi: {
    summary: 'print the OpenAPI 3.1 document',
    help: 'Usage: hikeshi openapi\n\nPrints the OpenAPI document the node serves at /openapi.json (for client generators and linting).',
    async run(_args, out) {
      // An in-memory node with a throwaway key: the document depends on routes and schemas only.
      const database = await openDatabase({});
      const key = await generateNodeKey({ teamId: 'openapi', name: 'OpenAPI', email: 'openapi@example.invalid' });
      const app = await buildApp({
        config: loadConfig({}, { dataDir: '/nonexistent', logLevel: 'silent', publicUrl: 'http://127.0.0.1:8080' }),
        database,
        signer: await loadNodeSigner(key.armoredPrivateKey),
        tokenSecret: 'x'.repeat(64),
        logger: false,
      });
      await app.ready();
      out(JSON.stringify(app.swagger(), null, 2));
      await app.close();
      await database.close();
    },
  },
};
