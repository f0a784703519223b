import type { FastifyBaseLogger } from 'fastify';
import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Clock } from '../../clock.js';
import type { Config } from '../../config.js';
import type { Db } from '../../db/database.js';
import type { AuditLog } from '../audit/audit.module.js';
import type { MailIntake } from './mail-intake.service.js';

/**
 * The incoming SMTP listener (off by default; HIKESHI_MAIL_LISTEN_PORT). It takes mail for any
 * recipient (the node's address is what peers use; a relay in front may rewrite it), bounds each
 * message's size, and bounds how many messages one sender address may hand over an hour (a mail
 * bomb is refused at MAIL FROM, before any data). Refusals are audited, once per sender and hour
 * for the count. Every accepted message goes to the mail intake, which files or quarantines it.
 */
export interface MailListener {
  start(): Promise<{ port: number }>;
  stop(): Promise<void>;
}

export interface MailListenerDeps {
  db: Db;
  clock: Clock;
  audit: AuditLog;
  log: FastifyBaseLogger;
  intake: MailIntake;
  settings: Pick<Config['mail'], 'listenPort' | 'listenHost' | 'maxMessageBytes' | 'perSenderPerHour'>;
}

/** Fixed one-hour windows per sender address; `first` marks the window's first refusal (the one audited). */
export function createSenderLimit(perHour: number, clock: Clock): { over(sender: string): { first: boolean } | null } {
  const windows = new Map<string, { until: number; count: number }>();
  return {
    over(sender) {
      const now = clock().getTime();
      let window = windows.get(sender);
      if (!window || now >= window.until) {
        windows.delete(sender);
        window = { until: now + 3_600_000, count: 0 };
        windows.set(sender, window);
        if (windows.size > 10_000) windows.delete(windows.keys().next().value!);
      }
      window.count++;
      return window.count <= perHour ? null : { first: window.count === perHour + 1 };
    },
  };
}

function smtpError(message: string, responseCode: number): Error {
  return Object.assign(new Error(message), { responseCode });
}

export function createMailListener(deps: MailListenerDeps): MailListener {
  const { settings, log, audit, db } = deps;
  const limit = createSenderLimit(settings.perSenderPerHour, deps.clock);
  const refuse = async (sender: string, reason: string, details: Record<string, unknown>) => {
    try {
      await audit.append(db, { kind: 'mail-refused', actor: sender || 'unknown', decision: 'deny', details: { reason, ...details } });
    } catch (err) {
      log.error({ err }, 'could not audit a refused mail');
    }
    log.info({ sender, reason }, 'mail refused');
  };

  async function onData(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<void> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size <= settings.maxMessageBytes) chunks.push(chunk);
    }
    const sender = session.envelope.mailFrom ? session.envelope.mailFrom.address.toLowerCase() : '';
    if (stream.sizeExceeded || size > settings.maxMessageBytes) {
      await refuse(sender, 'too-large', { sizeBytes: size, limitBytes: settings.maxMessageBytes });
      throw smtpError(`message larger than ${settings.maxMessageBytes} bytes`, 552);
    }
    const outcome = await deps.intake.receive(Buffer.concat(chunks), {
      envelopeFrom: sender || null,
      source: session.remoteAddress ?? null,
    });
    if (outcome.kind === 'deferred') throw smtpError(outcome.detail, 452);
  }

  const server = new SMTPServer({
    size: settings.maxMessageBytes,
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    banner: 'Hikeshi mail intake',
    logger: false,
    maxClients: 32,
    socketTimeout: 60_000,
    onMailFrom(address, _session, callback) {
      const sender = address.address.toLowerCase();
      const over = limit.over(sender);
      if (!over) return callback();
      const done = () => callback(smtpError(`too many messages from ${sender} this hour`, 452));
      if (over.first) void refuse(sender, 'rate-limited', { perHour: settings.perSenderPerHour }).then(done);
      else done();
    },
    onData(stream, session, callback) {
      onData(stream, session).then(
        () => callback(),
        (err: unknown) => {
          if (err instanceof Error && 'responseCode' in err) return callback(err);
          log.error({ err }, 'mail listener failed');
          callback(smtpError('temporary failure, try later', 451));
        },
      );
    },
  });
  server.on('error', (err) => log.warn({ err: err.message }, 'mail listener error'));

  return {
    start: () =>
      new Promise((resolve, reject) => {
        server.once('error', reject);
        server.listen(settings.listenPort ?? 0, settings.listenHost, () => {
          server.off('error', reject);
          const address = server.server.address();
          resolve({ port: typeof address === 'object' && address ? address.port : (settings.listenPort ?? 0) });
        });
      }),
    stop: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
