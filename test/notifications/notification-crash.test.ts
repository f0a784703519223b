import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { SMTPServer } from 'smtp-server';
import t from 'tap';
import { mintApiToken } from '../../src/modules/tokens/token-codec.js';
import { freePort } from '../helpers/build-test-app.js';
import { EXAMPLE_INCIDENT, enc, waitFor } from '../helpers/federation-harness.js';
import { alphaProcessStorage, startNodeProcess } from '../helpers/node-process.js';

/**
 * The hand-over of a site notification is at most once (ADR 0026), tested with a real process:
 * the node runs as a child (`hikeshi serve`) and is killed with SIGKILL while the SMTP server
 * holds the whole mail but has not answered yet: the worst moment, when the server has the mail
 * and the node cannot know it. After the restart the mail is not handed over again; the
 * notification shows `sent` with `sendUncertain`. The next notification goes out normally, once.
 */
t.setTimeout(600_000);

const TOKEN_SECRET = randomBytes(32).toString('hex');
const port = await freePort();
const url = `http://127.0.0.1:${port}`;
const { dataDir, schema } = await alphaProcessStorage(t, 'hikeshi-notify-crash-');

// --- the mail server: counts every message; may kill the node before it answers --------------
const received: Array<{ to: string[]; raw: string }> = [];
let child: ChildProcess | null = null;
let killBeforeAnswer = false;
const smtp = new SMTPServer({
  authOptional: true,
  disabledCommands: ['AUTH', 'STARTTLS'],
  logger: false,
  onData(stream, session, callback) {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      received.push({ to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('latin1') });
      if (killBeforeAnswer && child) {
        // The server has the mail; the node dies before it hears so.
        killBeforeAnswer = false;
        child.kill('SIGKILL');
        setTimeout(() => callback(), 200);
        return;
      }
      callback();
    });
  },
});
const smtpPort = await freePort();
await new Promise<void>((resolve) => smtp.listen(smtpPort, '127.0.0.1', resolve));
t.teardown(() => new Promise<void>((resolve) => smtp.close(() => resolve())));

Object.assign(process.env, {
  HIKESHI_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
  HIKESHI_MAIL_FROM: 'csirt@alpha.test',
  HIKESHI_TEAM_EMAIL: 'csirt@alpha.test',
});

const auth = { authorization: `Bearer ${mintApiToken(TOKEN_SECRET, { role: 'admin', subject: 'crash-test', issuer: 'alpha' }).token}` };
async function call(method: string, pathname: string, payload?: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${url}/api/v1${pathname}`, {
    method,
    headers: { ...auth, ...(payload === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(payload === undefined ? {} : { body: JSON.stringify(payload) }),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

async function start(): Promise<ChildProcess> {
  child = await startNodeProcess({ name: 'alpha', dataDir, port, publicUrl: url, tokenSecret: TOKEN_SECRET, schema });
  return child;
}
const exited = (c: ChildProcess) =>
  c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise<void>((resolve) => c.once('exit', () => resolve()));
t.teardown(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    child.kill('SIGKILL');
    await exited(child);
  }
});

/** A drafted notification for a new incident with one host in the site. */
async function draft(host: string): Promise<string> {
  const created = await call('POST', '/incidents', {
    ...EXAMPLE_INCIDENT,
    tlp: 'GREEN',
    hosts: [{ ip: host, role: 'target' }],
    indicators: [],
  });
  if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.json)}`);
  const proposed = await call('POST', `/incidents/${enc(created.json.ref)}/notifications/propose`);
  if (proposed.status !== 200 || proposed.json.items[0]?.state !== 'drafted') throw new Error(`propose: ${JSON.stringify(proposed.json)}`);
  return proposed.json.items[0].id as string;
}

t.test('SIGKILL while the mail server holds the mail: not handed over again after the restart', async (t) => {
  let node = await start();
  const site = await call('POST', '/sites', {
    name: 'Site K',
    networks: ['198.51.100.0/24'],
    pocs: [{ name: 'K desk', channels: [{ kind: 'email', value: 'desk@site-k.test' }], languages: ['en'] }],
  });
  t.equal(site.status, 201, JSON.stringify(site.json));
  const first = await draft('198.51.100.1');
  killBeforeAnswer = true;
  t.equal((await call('POST', `/notifications/${first}/approve`)).status, 200);
  await exited(node);
  t.equal(received.length, 1, 'the server took the mail before the node died');
  const messageId = /^Message-ID: <([^>]+)>/im.exec(received[0]!.raw)?.[1];

  node = await start();
  const after = await waitFor('the interrupted hand-over settled', async () => {
    const n = (await call('GET', `/notifications/${first}`)).json;
    return n.state === 'sent' ? n : null;
  });
  t.equal(after.sendUncertain, true, 'marked uncertain, for a handler to check');
  t.equal(after.messageId, messageId, 'with the Message-ID the server holds');
  await new Promise((r) => setTimeout(r, 1000));
  t.equal(received.length, 1, 'never handed over a second time');

  const second = await draft('198.51.100.2');
  t.equal((await call('POST', `/notifications/${second}/approve`)).status, 200);
  const sent = await waitFor('the next notification sent', async () => {
    const n = (await call('GET', `/notifications/${second}`)).json;
    return n.state === 'sent' ? n : null;
  });
  t.equal(sent.sendUncertain, false);
  t.equal(received.length, 2, 'the next one goes out once');
  node.kill('SIGTERM');
  await exited(node);
});
