import t from 'tap';
import { NodeUnreachableError } from '../../src/cli/cli-context.js';
import { formatFingerprint, PeerCommandError, peerAdd, peerList, peerVerify } from '../../src/cli/peer-commands.js';
import { loadFixtureKey } from '../fixtures/keys/index.js';
import { buildTestNode, freePort } from '../helpers/build-test-app.js';

/** `hikeshi peer add|list|verify` talk to the running node over HTTP, as the CLI does. */

const alpha = await buildTestNode(t, { key: 'alpha', listen: true });
const bravo = await buildTestNode(t, { key: 'bravo', listen: true });
const admin = alpha.mint('admin', 'cli');
const reader = alpha.mint('reader', 'cli');
const BRAVO_FPR = loadFixtureKey('bravo').fingerprint;

t.test('peer list with no peers says how to add one', async (t) => {
  t.match(await peerList(alpha.url, reader), /No peers yet/);
});

t.test('peer add pins and prints the fingerprint to confirm', async (t) => {
  const text = await peerAdd(`${alpha.url}/`, admin, bravo.url);
  t.match(text, /Added peer bravo/);
  t.match(text, formatFingerprint(BRAVO_FPR));
  t.match(text, /out of band/);
  t.match(text, `hikeshi peer verify bravo ${BRAVO_FPR}`);
  t.match(text, /Assurance:\s+unverified/);
});

t.test('peer list shows one line per peer', async (t) => {
  const lines = (await peerList(alpha.url, reader)).split('\n');
  t.equal(lines.length, 2);
  t.match(lines[0], /^TEAM\s+STATUS\s+ASSURANCE/);
  t.match(lines[1], new RegExp(`^bravo\\s+active\\s+unverified\\s+peer\\s+unknown\\s+${BRAVO_FPR}\\s+${bravo.url}$`));
});

t.test('peer verify without a fingerprint shows what to confirm and changes nothing', async (t) => {
  const text = await peerVerify(alpha.url, admin, 'bravo');
  t.match(text, `hikeshi peer verify bravo ${BRAVO_FPR}`);
  t.match(await peerList(alpha.url, reader), /unverified/);
});

t.test('peer verify records a matching fingerprint and refuses another', async (t) => {
  const refused = await peerVerify(alpha.url, admin, 'bravo', loadFixtureKey('mallory').fingerprint).catch((e: unknown) => e);
  t.ok(refused instanceof PeerCommandError);
  t.equal((refused as PeerCommandError).status, 409);
  t.equal((refused as PeerCommandError).code, 'fingerprint-mismatch');
  const text = await peerVerify(alpha.url, admin, 'bravo', formatFingerprint(BRAVO_FPR));
  t.match(text, /confirmed out of band/);
  t.match(text, /Assurance:\s+verified \(verified .* by cli\)/);
});

t.test('refusals and unreachable nodes are errors with the problem code', async (t) => {
  const forbidden = await peerAdd(alpha.url, reader, bravo.url).catch((e: unknown) => e);
  t.ok(forbidden instanceof PeerCommandError);
  t.equal((forbidden as PeerCommandError).code, 'forbidden');
  const duplicate = await peerAdd(alpha.url, admin, bravo.url).catch((e: unknown) => e);
  t.equal((duplicate as PeerCommandError).code, 'conflict');
  const unknown = await peerVerify(alpha.url, admin, 'nobody').catch((e: unknown) => e);
  t.equal((unknown as PeerCommandError).code, 'not-found');
  const badToken = await peerList(alpha.url, 'not-a-token').catch((e: unknown) => e);
  t.equal((badToken as PeerCommandError).code, 'unauthenticated');
  const port = await freePort();
  const down = await peerList(`http://127.0.0.1:${port}`, reader).catch((e: unknown) => e);
  t.ok(down instanceof NodeUnreachableError);
});
