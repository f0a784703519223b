import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import t from 'tap';
import { loadFixtureKey } from '../fixtures/keys/index.js';
import { buildTestNode, freePort, type TestNode } from '../helpers/build-test-app.js';
import { fastDelivery, waitFor } from '../helpers/federation-harness.js';
import { foundForum, pinParty, processParty, receivedInquiries, showInquiry } from '../helpers/forum-harness.js';
import { alphaProcessStorage, startNodeProcess } from '../helpers/node-process.js';

/**
 * Fan-out survives the poster's node being killed mid-fan-out (issue 14): alpha, the poster, runs
 * as a child process; cc (the operator), bravo and mallory are members, each behind a proxy that
 * sees what alpha sends it. mallory is down at first. alpha posts an inquiry and is killed with
 * SIGKILL the moment cc has filed its copy and answered, before alpha reads the receipt and while
 * bravo's copy is held back, so one member has it and another has not. After the restart every
 * member has the inquiry exactly once (cc's copy was sent again and answered from its inbox),
 * mallory gets it once it is up, and every member's answer reaches alpha.
 */

// Each start of the child costs a few seconds (TypeScript loader, database): more than tap's default.
t.setTimeout(600_000);
fastDelivery();

const tokenSecret = randomBytes(32).toString('hex');
const alphaPort = await freePort();
const alphaUrl = `http://127.0.0.1:${alphaPort}`;
const { dataDir, schema } = await alphaProcessStorage(t, 'hikeshi-forum-crash-');

const member = (key: 'cc' | 'bravo' | 'mallory', autoNotSeen: boolean) =>
  buildTestNode(t, { key, listen: true, startWorker: true, config: { inquiryAutoNotSeen: autoNotSeen } });
const cc = await member('cc', true);
const bravo = await member('bravo', false);
const mallory = await member('mallory', true);
const alphaParty = processParty({ team: 'alpha', url: alphaUrl, fingerprint: loadFixtureKey('alpha').fingerprint, tokenSecret });

// --- a proxy in front of each member, as alpha reaches it --------------------------------------
type ProxyMode = 'up' | 'down' | 'hold-inquiries';
interface Proxy {
  url: string;
  mode: ProxyMode;
  /** forum.inquiry posts by message id. */
  inquiryPosts: Map<string, number>;
  refused: number;
}
let alpha: ChildProcess | null = null;
let killOnInquiryAnswerFrom: string | null = null;
let markKilled: () => void = () => {};
const killed = new Promise<void>((resolve) => (markKilled = resolve));

function inquiryIdOf(body: Buffer): string | null {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { document?: { id?: string; type?: string } };
    return parsed.document?.type === 'forum.inquiry' ? (parsed.document.id ?? null) : null;
  } catch {
    return null;
  }
}

async function proxyFor(node: TestNode): Promise<Proxy> {
  const team = node.config.teamId;
  const state: Proxy = { url: '', mode: 'up', inquiryPosts: new Map(), refused: 0 };
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const body = Buffer.concat(chunks);
      if (state.mode === 'down') {
        state.refused++;
        res.destroy();
        return;
      }
      const inquiry = req.method === 'POST' && req.url === '/federation/v1/messages' ? inquiryIdOf(body) : null;
      if (inquiry && state.mode === 'hold-inquiries') {
        // Held until alpha is dead: this member has not had it when the poster dies.
        await killed;
        res.destroy();
        return;
      }
      if (inquiry) state.inquiryPosts.set(inquiry, (state.inquiryPosts.get(inquiry) ?? 0) + 1);
      try {
        const upstream = await fetch(`${node.url}${req.url}`, {
          method: req.method,
          headers: {
            'content-type': String(req.headers['content-type'] ?? 'application/json'),
            ...(req.headers.authorization ? { authorization: req.headers.authorization } : {}),
          },
          ...(req.method === 'POST' ? { body } : {}),
        });
        const text = await upstream.text();
        if (inquiry && killOnInquiryAnswerFrom === team && alpha) {
          // The member filed the inquiry and signed its receipt; alpha dies before reading it.
          killOnInquiryAnswerFrom = null;
          alpha.kill('SIGKILL');
          markKilled();
          res.destroy();
          return;
        }
        res.writeHead(upstream.status, { 'content-type': upstream.headers.get('content-type') ?? 'application/json' });
        res.end(text);
      } catch {
        res.destroy();
      }
    });
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  state.url = `http://127.0.0.1:${port}`;
  return state;
}
const proxies = { cc: await proxyFor(cc), bravo: await proxyFor(bravo), mallory: await proxyFor(mallory) };

// --- alpha, the child process -------------------------------------------------------------------
async function startAlpha(): Promise<void> {
  alpha = await startNodeProcess({
    name: 'alpha',
    dataDir,
    port: alphaPort,
    publicUrl: alphaUrl,
    tokenSecret,
    schema,
    // Other test files share the two cores: a start can be slow, which is not what this tests.
    readyTimeoutMs: 240_000,
  });
}
function exitOf(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve()
    : new Promise((resolve) => child.once('exit', () => resolve()));
}
t.teardown(async () => {
  const child = alpha;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGKILL');
  await exitOf(child);
});

/** What a member holds of alpha's inquiry: rows of it, and inbox messages that carried it. */
async function heldAt(node: TestNode, inquiry: string): Promise<{ inquiries: number; messages: string[] }> {
  const rows = await node.database.db
    .selectFrom('forum_inquiry')
    .select('id')
    .where('poster_team', '=', 'alpha')
    .where('inquiry_id', '=', inquiry)
    .execute();
  const messages = await node.database.db
    .selectFrom('inbound_message')
    .select('message_id')
    .where('sender', '=', 'alpha')
    .where('type', '=', 'forum.inquiry')
    .execute();
  return { inquiries: rows.length, messages: messages.map((m) => m.message_id) };
}

const delivery = async (inquiry: string, team: string) =>
  ((await showInquiry(alphaParty, inquiry)).members as Array<{ team: string; delivery: string | null }>).find((m) => m.team === team)
    ?.delivery;

t.test('killed mid-fan-out: no member lost, none twice; the downed member gets it later; answers arrive', async (t) => {
  await startAlpha();
  // alpha reaches each member through its proxy; the members reach alpha directly.
  for (const [node, proxy] of [
    [cc, proxies.cc],
    [bravo, proxies.bravo],
    [mallory, proxies.mallory],
  ] as const) {
    await pinParty(alphaParty, node, { url: proxy.url, partner: true });
    await pinParty(node, alphaParty, { partner: true });
  }
  for (const node of [bravo, mallory]) {
    await pinParty(cc, node, { partner: true });
    await pinParty(node, cc, { partner: true });
  }
  await foundForum(t, { operator: cc, members: [cc, alphaParty, bravo, mallory] });

  proxies.mallory.mode = 'down';
  proxies.bravo.mode = 'hold-inquiries';
  killOnInquiryAnswerFrom = 'cc';
  const child = alpha!;
  let inquiry: string | null = null;
  try {
    const posted = await alphaParty.call('POST', '/forums/first/inquiries', 'handler', {
      question: 'Do you see scans from this host?',
      hosts: [{ ip: '198.51.100.99' }],
      tlp: 'AMBER',
    });
    t.equal(posted.statusCode, 202, posted.body);
    t.same(posted.json().sentTo, ['bravo', 'cc', 'mallory']);
    inquiry = posted.json().id;
  } catch {
    // alpha died before its answer reached us; the inquiry it committed is what counts.
  }
  await exitOf(child);
  t.equal(child.signalCode, 'SIGKILL', 'alpha was killed mid-fan-out');
  const ccAtKill = await waitFor('cc filed it', async () => (await receivedInquiries(cc)).length === 1 && heldAt(cc, await sentId()));
  t.equal(ccAtKill.inquiries, 1, 'cc had it when alpha died');
  t.same(await receivedInquiries(bravo), [], 'bravo had not');
  t.same(await receivedInquiries(mallory), [], 'mallory, down, had not');

  t.comment('restarting alpha');
  proxies.bravo.mode = 'up';
  await startAlpha();
  const sent = (await alphaParty.call('GET', '/inquiries?direction=sent', 'reader')).json().items as Array<{ id: string }>;
  t.equal(sent.length, 1, 'alpha kept the inquiry it committed');
  if (inquiry) t.equal(sent[0]!.id, inquiry);
  inquiry = sent[0]!.id;
  await waitFor(
    'cc and bravo delivered',
    async () => (await delivery(inquiry!, 'cc')) === 'delivered' && (await delivery(inquiry!, 'bravo')) === 'delivered',
    60_000,
    100,
  );
  const refusedBefore = proxies.mallory.refused;
  await waitFor('alpha retries mallory', async () => proxies.mallory.refused > refusedBefore, 60_000, 50);
  t.equal(await delivery(inquiry, 'mallory'), 'pending', 'mallory is still owed it');
  t.same(await receivedInquiries(mallory), []);

  proxies.mallory.mode = 'up';
  await waitFor('mallory delivered', async () => (await delivery(inquiry!, 'mallory')) === 'delivered', 60_000, 100);

  // Nothing lost, nothing twice: one inquiry and one inbox message at each member.
  for (const node of [cc, bravo, mallory]) {
    const held = await heldAt(node, inquiry);
    t.equal(held.inquiries, 1, `${node.config.teamId} holds the inquiry once`);
    t.equal(held.messages.length, 1, `${node.config.teamId} filed one message of it`);
    t.equal((await receivedInquiries(node)).length, 1, `${node.config.teamId} lists it once`);
  }
  const ccPosts = [...proxies.cc.inquiryPosts.values()];
  t.same(ccPosts.length, 1, 'one message to cc');
  t.ok(ccPosts[0]! >= 2, `alpha sent cc its copy again after the restart (${ccPosts[0]} times), answered from cc's inbox`);

  // The answers reach the poster: cc's automatic one was sent while alpha was dead.
  const [atBravo] = await receivedInquiries(bravo);
  t.equal(
    (
      await bravo.app.inject({
        method: 'POST',
        url: `/api/v1/inquiries/${atBravo!.id}/answer`,
        headers: bravo.auth.handler,
        payload: { answer: 'seen' },
      })
    ).statusCode,
    200,
  );
  const view = await waitFor(
    'alpha has every answer',
    async () => {
      const v = await showInquiry(alphaParty, inquiry!);
      return v.members.every((m: { answer: unknown }) => m.answer) ? v : null;
    },
    60_000,
    100,
  );
  t.match(view.members, [
    { team: 'bravo', outcome: 'sent', delivery: 'delivered', answer: { answer: 'seen', automatic: false } },
    { team: 'cc', outcome: 'sent', delivery: 'delivered', answer: { answer: 'not-seen', automatic: true } },
    { team: 'mallory', outcome: 'sent', delivery: 'delivered', answer: { answer: 'not-seen', automatic: true } },
  ]);
  t.same(view.answers.map((a: { team: string }) => a.team).sort(), ['bravo', 'cc', 'mallory'], 'one answer from each member, none twice');
});

/** The id of the one inquiry cc received from alpha (the poster's id travels as inquiry_id). */
async function sentId(): Promise<string> {
  const row = await cc.database.db
    .selectFrom('forum_inquiry')
    .select('inquiry_id')
    .where('poster_team', '=', 'alpha')
    .executeTakeFirstOrThrow();
  return row.inquiry_id;
}
