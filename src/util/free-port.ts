import { createServer } from 'node:net';

/**
 * A free loopback port, for the demo, the benchmarks and tests that start real nodes. Another
 * process could take it before the caller listens; on loopback that is rare enough for them.
 */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
