import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { SMTPServer } from 'smtp-server';
import { generateNodeKey, loadNodeSigner } from '../src/crypto/index.js';
import { composeSignedTextMail } from '../src/modules/exchange/exchange.module.js';
import type { BenchResult } from './bench-result.js';
import { startNode } from './relay.bench.js';

/**
 * Forum inquiries to a team without a node (ADR 0028): node P operates forum "bench" and lists
 * mail team M (its own key) in a version-2 roster. P posts `inquiries` inquiries; each is
 * decided, signed, encrypted to M's key and handed to an SMTP server on loopback that takes
 * everything (timed: posting to every mail `sent`). Then P takes M's `inquiries` PGP/MIME signed
 * answers through its mail intake, `concurrency` at once (timed: MIME, M's signature, reading
 * the answer, filing it with its audit and the delivery). The SMTP transfer of the answers is
 * not timed. No target: the figures stand beside the e-mail intake's.
 */
export async function benchMailForum(opts: {
  engine: 'pglite' | 'postgres';
  inquiries: number;
  concurrency: number;
}): Promise<BenchResult[]> {
  const sink = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onData(stream, _session, callback) {
      stream.on('data', () => undefined);
      stream.on('end', () => callback());
    },
  });
  await new Promise<void>((resolve) => sink.listen(0, '127.0.0.1', resolve));
  const smtpPort = (sink.server.address() as { port: number }).port;
  const p = await startNode(opts.engine, 'bench-forum-p', 'FORUMP', {
    HIKESHI_SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    HIKESHI_MAIL_FROM: 'csirt@forum-p.test',
  });
  try {
    const team = await generateNodeKey({ teamId: 'bench-mail-team', name: 'Bench Mail Team', email: 'cert@mail-team.test' });
    const teamSigner = await loadNodeSigner(team.armoredPrivateKey);
    await p.call('POST', '/peers/mail', {
      teamId: 'bench-mail-team',
      name: 'Bench Mail Team',
      email: 'cert@mail-team.test',
      publicKey: team.armoredPublicKey,
    });
    await p.call('POST', '/peers/bench-mail-team/verify', { fingerprint: team.fingerprint });
    await p.call('PATCH', '/peers/bench-mail-team', { trustLevel: 'partner' });
    await p.call('POST', '/forums', { id: 'bench', name: 'Bench', role: 'operator', sponsorsNeeded: 0 });
    for (const member of [p.teamId, 'bench-mail-team']) {
      const res = await p.app.inject({
        method: 'PUT',
        url: `/api/v1/forums/bench/draft/${member}`,
        headers: p.admin,
        payload: { kind: 'full' },
      });
      if (res.statusCode >= 300) throw new Error(`draft ${member}: ${res.statusCode} ${res.body}`);
    }
    await p.call('POST', '/forums/bench/roster');

    const ids: string[] = [];
    const posting = performance.now();
    for (let i = 0; i < opts.inquiries; i++) {
      const posted = await p.call('POST', '/forums/bench/inquiries', {
        question: `Do you see scans from scanner-${i}.example.net?`,
        hosts: [{ hostname: `scanner-${i}.example.net` }],
        tlp: 'GREEN',
      });
      ids.push(posted.id as string);
    }
    const sentRows = async () =>
      p.db
        .selectFrom('outbound_message')
        .select(['id', 'mail_message_id', 'document'])
        .where('type', '=', 'forum.inquiry')
        .where('state', '=', 'sent')
        .execute();
    const deadline = Date.now() + 600_000;
    let rows = await sentRows();
    while (rows.length < opts.inquiries) {
      if (Date.now() > deadline) throw new Error(`only ${rows.length} of ${opts.inquiries} inquiries were mailed`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      rows = await sentRows();
    }
    const mailedSeconds = (performance.now() - posting) / 1000;

    const replies: Buffer[] = [];
    for (const row of rows) {
      const inquiry = (JSON.parse(row.document) as { body: { inquiry: string } }).body.inquiry;
      const raw = await composeSignedTextMail(
        teamSigner,
        {
          from: 'cert@mail-team.test',
          to: 'csirt@forum-p.test',
          subject: 'Re: your inquiry',
          date: new Date(),
          messageId: `${randomUUID()}@mail-team.test`,
          inReplyTo: row.mail_message_id!,
        },
        `Inquiry: ${inquiry}\nAnswer: not-seen\nReference: MT-${inquiry.slice(0, 8)}\n\nNothing in our logs.\n`,
        null,
      );
      replies.push(Buffer.from(raw, 'latin1'));
    }
    const intake = p.app.federation.mail.intake;
    let next = 0;
    let filed = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: opts.concurrency }, async () => {
        while (next < replies.length) {
          const outcome = await intake.receive(replies[next++]!, { envelopeFrom: 'cert@mail-team.test', source: '127.0.0.1' });
          if (outcome.kind === 'filed') filed++;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    const answers = Number(
      (
        await p.db
          .selectFrom('forum_inquiry_answer')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow()
      ).n,
    );
    if (filed !== opts.inquiries || answers !== opts.inquiries)
      throw new Error(`only ${filed} replies taken and ${answers} answers filed of ${opts.inquiries}`);
    return [
      {
        name: 'forum inquiries mailed to a team without a node',
        engine: opts.engine,
        value: opts.inquiries / mailedSeconds,
        unit: 'inquiries/s',
        note: `${opts.inquiries} inquiries posted one by one, each decided, signed, encrypted and handed to an SMTP server on loopback`,
      },
      {
        name: 'mailed inquiry answers verified and filed',
        engine: opts.engine,
        value: filed / seconds,
        unit: 'answers/s',
        note: `${opts.inquiries} PGP/MIME signed answers, ${opts.concurrency} at once, intake only (no SMTP transfer)`,
      },
    ];
  } finally {
    await p.close();
    await new Promise<void>((resolve) => sink.close(() => resolve()));
  }
}
