import { canonicalLines, contentTypeOf, decodedBody, parseEntity, splitMultipart } from '../../src/modules/exchange/mail-mime.js';
import { createTransport } from 'nodemailer';
import { SMTPServer } from 'smtp-server';
import { loadConfig, type Config } from '../../src/config.js';

/**
 * A mail provider on loopback for e-mail channel tests: a real SMTP server (smtp-server) every
 * node hands its mail to, which keeps a copy of each message (for marker scans) and forwards it
 * over SMTP to the listener of the node the recipient address belongs to. `down()` makes it
 * refuse everything with a temporary error (a mail server that is down), `up()` undoes it.
 */
export interface MailRelay {
  url: string;
  /** Every message taken, as received. */
  messages: Array<{ from: string; to: string[]; raw: Buffer }>;
  /** Where mail for `address` goes: a node's SMTP listener port. */
  route(address: string, port: number): void;
  down(): void;
  up(): void;
  /** SMTP connections opened to the relay so far (a pooled sender reuses them). */
  connections(): number;
  /**
   * From now on, holds each message's answer until `n` messages are held at once, then answers
   * them all: resolves then (so `n` hand-overs were in flight together) and stops holding.
   */
  holdUntil(n: number): Promise<void>;
  /** Takes the next message whole and never answers it (a server that goes silent at the worst moment). */
  silenceNext(): void;
  close(): Promise<void>;
}

export async function startMailRelay(): Promise<MailRelay> {
  const routes = new Map<string, number>();
  const messages: MailRelay['messages'] = [];
  let isDown = false;
  let connections = 0;
  let silent = false;
  let gate: { n: number; held: Array<() => void>; open: () => void } | null = null;
  const tempFailure = () => Object.assign(new Error('relay down, try later'), { responseCode: 421 });
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['AUTH', 'STARTTLS'],
    logger: false,
    onConnect(_session, callback) {
      connections++;
      callback();
    },
    onMailFrom(_address, _session, callback) {
      callback(isDown ? tempFailure() : undefined);
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        const raw = Buffer.concat(chunks);
        const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
        const to = session.envelope.rcptTo.map((r) => r.address.toLowerCase());
        messages.push({ from, to, raw });
        if (silent) {
          silent = false;
          return;
        }
        if (gate) {
          gate.held.push(() => callback());
          if (gate.held.length < gate.n) return;
          const { held, open } = gate;
          gate = null;
          for (const answer of held) answer();
          open();
        } else callback();
        // Forwarded after the answer (or while held), as a provider queues and relays.
        for (const address of to) {
          const port = routes.get(address);
          if (port === undefined) continue;
          const transport = createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
          transport.sendMail({ envelope: { from, to: [address] }, raw }).catch(() => undefined);
        }
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  return {
    url: `smtp://127.0.0.1:${port}`,
    messages,
    route: (addr, p) => void routes.set(addr.toLowerCase(), p),
    down: () => void (isDown = true),
    up: () => void (isDown = false),
    connections: () => connections,
    silenceNext: () => void (silent = true),
    holdUntil: (n) => new Promise<void>((resolve) => void (gate = { n, held: [], open: resolve })),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A node's mail settings for tests: outgoing to the relay, incoming on a free loopback port, short resend. */
export function mailConfig(relayUrl: string | null, from: string, overrides: Partial<Config['mail']> = {}): Config['mail'] {
  return { ...loadConfig({}).mail, smtpUrl: relayUrl, from, listenPort: 0, resendAfterMs: 10_000, ...overrides };
}

/** The readable content of a captured mail: the raw text and every body decoded (base64, quoted-printable), lower case. */
export function readableMail(raw: Buffer | string): string {
  const text = canonicalLines(typeof raw === 'string' ? raw : raw.toString('latin1'));
  const parts = [text];
  const walk = (entityText: string, depth: number): void => {
    const entity = parseEntity(entityText);
    const type = contentTypeOf(entity);
    if (type.type.startsWith('multipart/') && depth < 4) {
      for (const part of splitMultipart(entity.body, type.params.get('boundary'))) walk(part, depth + 1);
    } else parts.push(decodedBody(entity).toString('utf8'));
  };
  walk(text, 0);
  return parts.join('\n').toLowerCase();
}
