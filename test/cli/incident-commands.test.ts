import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { main } from '../../src/cli/main.js';
import { runCli, type CliRun as Run } from '../helpers/cli-runner.js';
import { buildTestNode, freePort, type TestNode } from '../helpers/build-test-app.js';
import { api, createIncident, enc, fastDelivery, findByExternalRef, partnersBoth, waitFor } from '../helpers/federation-harness.js';

/**
 * `hikeshi incident correct` and `hikeshi incident corrections` (issue 15 part 4) against running
 * nodes on loopback: cc corrects a report it shared with alpha, through the CLI as an operator
 * would (the CLI mints its token from the node's data directory), and alpha's copy follows.
 * Usage errors exit 2 with the usage line; a call the node refuses exits 1 with its problem code.
 */
t.setTimeout(240_000);
fastDelivery();
const cc = await buildTestNode(t, { key: 'cc', listen: true, startWorker: true });
const alpha = await buildTestNode(t, { key: 'alpha', listen: true, startWorker: true });
await partnersBoth(cc, alpha);

const hikeshi = runCli;

const get = async (node: TestNode, ref: string) => (await api(node, 'GET', `/incidents/${enc(ref)}`, 'reader')).json();

/** A GREEN report of cc's, shared with alpha: cc's ref and alpha's. */
async function shared(title: string): Promise<{ ours: string; theirs: string }> {
  const report = await createIncident(cc, { tlp: 'GREEN', title });
  t.equal((await api(cc, 'POST', `/incidents/${enc(report.ref)}/shares`, 'handler', { peer: 'alpha' })).statusCode, 202);
  const theirs = await waitFor('the copy on alpha', async () => (await findByExternalRef(alpha, report.ref))[0]?.ref);
  return { ours: report.ref, theirs };
}

t.test('incident correct --tlp relabels every copy; incident corrections shows the acknowledgement', async (t) => {
  const { ours, theirs } = await shared('Relabelled from the CLI');
  const res = await hikeshi(cc, 'incident', 'correct', ours, '--tlp', 'AMBER');
  t.equal(res.code, 0, res.stderr);
  t.match(res.stdout, /^[0-9a-f-]{36} {2}relabel to TLP:AMBER {2}issued {2}\S+Z\n/, res.stdout);
  t.equal((await get(cc, ours)).tlp, 'AMBER', "the originator's own label changed");
  await waitFor('alpha relabelled', async () => (await get(alpha, theirs)).tlp === 'AMBER');

  const listed = await waitFor('alpha acknowledged', async () => {
    const run = await hikeshi(cc, 'incident', 'corrections', ours);
    return run.code === 0 && /acknowledged/.test(run.stdout) ? run : null;
  });
  const lines = listed.stdout.trimEnd().split('\n');
  t.equal(lines.length, 2, listed.stdout);
  t.match(lines[0], /relabel to TLP:AMBER {2}issued/);
  t.match(lines[1], new RegExp(`^ {2}alpha\\s+acknowledged\\s+${theirs.replace('#', '\\#')}$`), 'one line per copy, with its number');

  // On alpha's side the received copy lists the correction as applied, from cc.
  const there = await hikeshi(alpha, 'incident', 'corrections', theirs);
  t.equal(there.code, 0, there.stderr);
  t.match(there.stdout, /relabel to TLP:AMBER {2}applied \(from cc\)/);
});

t.test('incident correct --retract --reason --note retracts every copy', async (t) => {
  const { ours, theirs } = await shared('Retracted from the CLI');
  const res = await hikeshi(cc, 'incident', 'correct', ours, '--retract', '--reason', 'hoax', '--note', 'Made up.');
  t.equal(res.code, 0, res.stderr);
  t.match(res.stdout, /retraction \(hoax\) {2}issued/);
  const copy = await waitFor('alpha retracted', async () => {
    const incident = await get(alpha, theirs);
    return incident.retracted ? incident : null;
  });
  t.match(copy.retracted, { originator: 'cc', reason: 'hoax', note: 'Made up.' });

  const none = await shared('Never corrected');
  const empty = await hikeshi(cc, 'incident', 'corrections', none.ours);
  t.equal(empty.code, 0, empty.stderr);
  t.equal(empty.stdout, 'no corrections\n');
});

t.test('usage errors exit 2 with a message and the usage; nothing reaches the node', async (t) => {
  const report = await createIncident(cc, { tlp: 'GREEN', title: 'Usage errors' });
  const cases: Array<[string[], RegExp]> = [
    [['incident'], /hikeshi incident: incident needs a subcommand: correct or corrections/],
    [['incident', 'frobnicate'], /incident needs a subcommand: correct or corrections/],
    [['incident', 'correct'], /hikeshi incident: incident correct <ref> --retract --reason <why> \[--note <text>\] \| --tlp <label>/],
    [['incident', 'correct', report.ref], /give either --retract or --tlp/],
    [['incident', 'correct', report.ref, '--retract', '--tlp', 'RED'], /give either --retract or --tlp/],
    [['incident', 'correct', report.ref, '--retract'], /--retract needs --reason/],
    [['incident', 'correct', report.ref, '--tlp'], /--tlp/],
    [['incident', 'correct', report.ref, '--colour', 'blue'], /colour/],
    [['incident', 'correct', report.ref, 'extra', '--tlp', 'RED'], /unexpected argument "extra"/],
    [['incident', 'corrections'], /hikeshi incident: incident corrections <ref>/],
  ];
  for (const [args, message] of cases) {
    const res = await hikeshi(cc, ...args);
    t.equal(res.code, 2, `${args.join(' ')}: exit 2`);
    t.match(res.stderr, message, args.join(' '));
    t.match(res.stderr, /Usage:\n {2}hikeshi incident correct <ref> --tlp/, 'followed by the usage');
    t.equal(res.stdout, '');
  }
  t.equal((await get(cc, report.ref)).tlp, 'GREEN', 'nothing changed');
  t.same((await api(cc, 'GET', `/incidents/${enc(report.ref)}/corrections`, 'reader')).json().items, []);
  const help = await hikeshi(cc, 'incident', '--help');
  t.equal(help.code, 0);
  t.match(help.stdout, /hikeshi incident corrections <ref>/);
});

t.test('a call the node refuses exits 1 with its problem code and detail', async (t) => {
  const { ours, theirs } = await shared('Refusals');
  const cases: Array<[TestNode, string[], RegExp]> = [
    [alpha, ['incident', 'correct', theirs, '--retract', '--reason', 'mistaken'], /^hikeshi incident: correction-not-originator: /],
    [cc, ['incident', 'correct', ours, '--tlp', 'GREEN'], /^hikeshi incident: \S+: .*already/i],
    [cc, ['incident', 'correct', ours, '--retract', '--reason', 'boredom'], /^hikeshi incident: validation-failed: /],
    [cc, ['incident', 'correct', ours, '--tlp', 'PURPLE'], /^hikeshi incident: validation-failed: /],
    [cc, ['incident', 'correct', 'CC#1999-404', '--tlp', 'RED'], /^hikeshi incident: (not-found|unknown-incident): /],
    [cc, ['incident', 'corrections', 'CC#1999-404'], /^hikeshi incident: (not-found|unknown-incident): /],
  ];
  for (const [node, args, message] of cases) {
    const res = await hikeshi(node, ...args);
    t.equal(res.code, 1, `${args.join(' ')}: exit 1`);
    t.match(res.stderr, message, res.stderr);
    t.equal(res.stdout, '');
  }
  t.notOk((await get(alpha, theirs)).retracted, 'nothing applied');
  t.equal((await get(cc, ours)).tlp, 'GREEN');

  const noNode = `http://127.0.0.1:${await freePort()}`;
  const down = await main(['incident', 'corrections', ours, '--data-dir', cc.config.dataDir, '--team-id', 'cc', '--url', noNode], () => {});
  t.equal(down, 1, 'no node answering: exit 1');
});

t.test('as a child process, the exit codes reach the shell', async (t) => {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('HIKESHI_') && k !== 'NODE_OPTIONS'));
  const run = (...args: string[]) =>
    new Promise<Run>((resolve) => {
      execFile(
        process.execPath,
        ['--import', 'tsx', 'src/cli/run.ts', ...args, '--data-dir', cc.config.dataDir, '--team-id', 'cc', '--url', cc.url],
        { cwd: root, env, timeout: 90_000 },
        (err, stdout, stderr) => resolve({ code: err ? Number((err as { code?: unknown }).code ?? -1) : 0, stdout, stderr }),
      );
    });
  const { ours } = await shared('From the shell');
  const [usage, refused, listed] = await Promise.all([
    run('incident', 'correct', ours),
    run('incident', 'correct', ours, '--tlp', 'GREEN'),
    run('incident', 'corrections', ours),
  ]);
  t.equal(usage.code, 2, usage.stderr);
  t.match(usage.stderr, /give either --retract or --tlp/);
  t.equal(refused.code, 1, refused.stderr);
  t.equal(listed.code, 0, listed.stderr);
  t.equal(listed.stdout, 'no corrections\n');
});
