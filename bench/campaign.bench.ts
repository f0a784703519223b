import { loadavg } from 'node:os';
import { performance } from 'node:perf_hooks';
import { SMTPServer } from 'smtp-server';
import { sql } from 'kysely';
import type { BenchResult } from './bench-result.js';
import { startNode } from './relay.bench.js';

/**
 * A campaign grouped into notifications (issue 19 part 4; target: 100,000 events over 10,000
 * sites in under 30 s on 2 cores): `sites` constituency sites with a /24 and a POC each, then
 * one CSV of `events` open-resolver events spread evenly over them, posted to
 * POST /api/v1/campaigns/{name}/events: parsed, each address looked up (longest match), grouped by
 * site and day, de-duplicated against the campaign's past, one incident per site filed, and each
 * site's notification proposed by the policy. The dry run of the same file (no writes) is
 * printed beside it.
 */
export async function benchCampaign(opts: {
  engine: 'pglite' | 'postgres';
  sites: number;
  events: number;
  mails: number;
}): Promise<BenchResult[]> {
  // A loopback mail server that takes every message (and counts it): the notifications' hand-over is timed, not a real MTA.
  let received = 0;
  const smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, done) {
      stream.on('data', () => undefined);
      stream.on('end', () => {
        received++;
        done();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', () => resolve()));
  const smtpPort = (smtp.server.address() as { port: number }).port;
  const node = await startNode(opts.engine, 'bench-campaign', 'CAMP', {
    HIKESHI_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    HIKESHI_MAIL_FROM: 'csirt@bench-campaign.test',
    HIKESHI_MAIL_PER_DOMAIN_PER_HOUR: '0',
  });
  try {
    // The directory in one statement per table: the bench times the campaign, not the set-up.
    await sql`
      insert into site (id, name, pocs)
      select gen_random_uuid(), 'Site ' || i,
        jsonb_build_array(jsonb_build_object('name', 'NOC', 'languages', jsonb_build_array('en'),
          'channels', jsonb_build_array(jsonb_build_object('kind', 'email', 'value', 'noc' || i || '@site' || i || '.example'))))
      from generate_series(0, ${opts.sites - 1}::int) i`.execute(node.db);
    await sql`
      insert into site_network (site_id, network)
      select s.id, ('10.' || (n / 256) || '.' || (n % 256) || '.0/24')::cidr
      from (select id, (regexp_replace(name, '^Site ', ''))::int as n from site) s`.execute(node.db);
    const perSite = Math.ceil(opts.events / opts.sites);
    const rows = ['time.source,source.ip,source.port,protocol.transport,malware.name'];
    for (let i = 0; i < opts.events; i++) {
      const site = i % opts.sites;
      const host = 1 + Math.floor(i / opts.sites);
      rows.push(`2026-12-01T0${host % 10}:00:00Z,10.${site >> 8}.${site & 255}.${host},53,udp,open-resolver`);
    }
    const csv = rows.join('\n');
    const post = async (dryRun: boolean) => {
      const cpuBefore = process.cpuUsage();
      const started = performance.now();
      const res = await node.app.inject({
        method: 'POST',
        url: `/api/v1/campaigns/bench/events?category=vulnerable&type=ddos-amplifier&dryRun=${dryRun}`,
        headers: { ...node.admin, 'content-type': 'text/csv' },
        payload: csv,
      });
      const seconds = (performance.now() - started) / 1000;
      // This process's CPU time over the same span (the embedded engine runs in it): on a machine
      // other work shares, what the run itself cost, beside the wall time it took.
      const cpu = process.cpuUsage(cpuBefore);
      const cpuSeconds = (cpu.user + cpu.system) / 1e6;
      if (res.statusCode !== 200) throw new Error(`campaign: ${res.statusCode} ${res.body.slice(0, 300)}`);
      return {
        seconds,
        cpuSeconds,
        report: res.json() as { counts: { events: number; incidents: number; notifications: number; sites: number } },
      };
    };
    const dry = await post(true);
    const filed = await post(false);
    if (filed.report.counts.sites !== opts.sites) throw new Error(`only ${filed.report.counts.sites} of ${opts.sites} sites matched`);
    const note = `${opts.events} events, ${opts.sites} sites (${perSite} each), ${filed.report.counts.incidents} incidents, ${filed.report.counts.notifications} notifications`;
    const load = () => `load average ${loadavg()[0]!.toFixed(1)}`;
    const cpuNote = (r: { cpuSeconds: number }) => `; node process CPU ${r.cpuSeconds.toFixed(1)} s, ${load()}`;
    // Handing over: approve `mails` of the drafts (each composed and signed at approval) with the
    // workers stopped, then start them and time the mail worker draining its full outbox into the
    // loopback server. Timed while approving, the figure would say only how far the worker fell
    // behind the approvals.
    const drafts = await node.db.selectFrom('site_notification').select('id').where('state', '=', 'drafted').limit(opts.mails).execute();
    await node.app.federation.stop();
    for (const d of drafts) await node.call('POST', `/notifications/${d.id}/approve`, {});
    const started = performance.now();
    node.app.federation.start();
    while (received < drafts.length) {
      if (performance.now() - started > 600_000) throw new Error(`only ${received} of ${drafts.length} mails handed over`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const perSecond = drafts.length / ((performance.now() - started) / 1000);
    return [
      {
        name: 'campaign dry run (plan only)',
        engine: opts.engine,
        value: dry.seconds,
        unit: 's',
        limit: 30,
        better: 'lower',
        note: note + cpuNote(dry),
      },
      {
        name: 'campaign grouped into notifications',
        engine: opts.engine,
        value: filed.seconds,
        unit: 's',
        limit: 30,
        better: 'lower',
        note: note + cpuNote(filed),
      },
      {
        name: 'site notifications handed to SMTP',
        engine: opts.engine,
        value: perSecond,
        unit: 'mails/s',
        note: `${drafts.length} signed PGP/MIME mails, HIKESHI_MAIL_CONCURRENCY (4) at once over pooled connections (no target in the issue)`,
      },
    ];
  } finally {
    await node.close();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  }
}
