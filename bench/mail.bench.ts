import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { signDocument } from '../src/crypto/index.js';
import { envelopeText } from '../src/modules/exchange/exchange.module.js';
import { composeEnvelopeMail } from '../src/modules/exchange/mail-outgoing.js';
import type { BenchResult } from './bench-result.js';
import { link, startNode } from './relay.bench.js';

/**
 * E-mail messages verified and filed per second (issue 17 part 5; ADR 0025): node B takes
 * `messages` PGP/MIME signed mails from its peer A (each an investigation.request envelope),
 * built beforehand, through its mail intake, `concurrency` at once: MIME split, the PGP/MIME
 * signature against A's pinned key, then the inbox (the envelope's own signature, schema,
 * idempotency, filing, the signed receipt). The SMTP transfer itself is not timed: the
 * listener only collects bytes. No target: the figure is stated beside the HTTP ingest rate.
 */
export async function benchMail(opts: { engine: 'pglite' | 'postgres'; messages: number; concurrency: number }): Promise<BenchResult[]> {
  const a = await startNode(opts.engine, 'bench-mail-a', 'MAILA');
  const b = await startNode(opts.engine, 'bench-mail-b', 'MAILB');
  try {
    await link(a, b, 'peer');
    await b.call('PATCH', `/peers/${a.teamId}`, { email: 'csirt@mail-a.test' });
    const mails: Buffer[] = [];
    for (let i = 0; i < opts.messages; i++) {
      const document = {
        v: 1,
        id: randomUUID(),
        type: 'investigation.request',
        from: a.teamId,
        to: b.teamId,
        created: new Date().toISOString(),
        tlp: 'GREEN',
        body: { ref: `MAILA#2026-${i + 1}`, question: 'Do you see this host?', hosts: [{ ip: '198.51.100.7', role: 'source' }] },
      };
      const signed = await signDocument(document, a.signer);
      const raw = await composeEnvelopeMail(
        a.signer,
        { from: 'csirt@mail-a.test', to: 'csirt@mail-b.test', subject: 'Hikeshi signed message', date: new Date() },
        envelopeText(JSON.stringify(signed.document), signed.signature),
        null,
      );
      mails.push(Buffer.from(raw, 'latin1'));
    }
    const intake = b.app.federation.mail.intake;
    let next = 0;
    let filed = 0;
    const started = performance.now();
    await Promise.all(
      Array.from({ length: opts.concurrency }, async () => {
        while (next < mails.length) {
          const outcome = await intake.receive(mails[next++]!, { envelopeFrom: 'csirt@mail-a.test', source: '127.0.0.1' });
          if (outcome.kind === 'filed') filed++;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    if (filed !== opts.messages) throw new Error(`only ${filed} of ${opts.messages} mails were filed`);
    return [
      {
        name: 'e-mail messages verified and filed',
        engine: opts.engine,
        value: filed / seconds,
        unit: 'messages/s',
        note: `${opts.messages} PGP/MIME mails, ${opts.concurrency} at once, intake only (no SMTP transfer)`,
      },
    ];
  } finally {
    await a.close();
    await b.close();
  }
}
