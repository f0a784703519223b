import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A free loopback port, for the demo, the benchmarks and tests that start real nodes.
 *
 * The port is picked below the kernel's ephemeral range: a port the kernel hands out for `listen(0)`
 * is also a candidate source port for every outgoing connection, and parallel test files open
 * thousands of those, so one could take the port between this check and the caller's `listen`
 * (seen in CI as a test file dying with EADDRINUSE before its first test). Below the range only
 * another explicit pick can collide, and picks are random over several thousand ports.
 */
export async function freePort(): Promise<number> {
  const [low, high] = pickRange();
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low));
    if (await isFree(port)) return port;
  }
  return listenOnce(0);
}

/** [low, high) below the ephemeral range where the system says where it is, else a fixed band. */
function pickRange(): [number, number] {
  try {
    const [ephemeralLow] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (ephemeralLow !== undefined && ephemeralLow > 12_000) return [ephemeralLow - 10_000, ephemeralLow];
  } catch {
    // Not Linux: fall through to a band below the IANA dynamic range (49152-65535).
  }
  return [30_000, 40_000];
}

async function isFree(port: number): Promise<boolean> {
  return listenOnce(port).then(
    () => true,
    () => false,
  );
}

function listenOnce(port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const chosen = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(chosen));
    });
  });
}
