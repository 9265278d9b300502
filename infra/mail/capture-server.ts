import { randomBytes } from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyReply } from 'fastify';
import { z } from 'zod';
import { loadConfig } from '../config';
import { createLogger, type Logger } from '../logger';

/**
 * A stand-in for SendGrid's v3 mail API on loopback: the local stack and the tests send real SendGrid
 * client requests here, and a person can open `GET /` to see what would have been emailed. Faults can
 * be programmed so tests exercise the dispatcher's 429/5xx handling against real HTTP.
 */

const emailAddress = z.object({ email: z.string().min(3).includes('@'), name: z.string().optional() });
const stringMap = z.record(z.string(), z.string());

const mailSendSchema = z
  .object({
    personalizations: z
      .array(
        z.object({
          to: z.array(emailAddress).min(1),
          cc: z.array(emailAddress).optional(),
          bcc: z.array(emailAddress).optional(),
          subject: z.string().min(1).optional(),
          headers: stringMap.optional(),
          custom_args: stringMap.optional(),
        }),
      )
      .min(1)
      .max(1000),
    from: emailAddress,
    reply_to: emailAddress.optional(),
    subject: z.string().min(1).optional(),
    content: z.array(z.object({ type: z.string().min(1), value: z.string().min(1) })).min(1),
    headers: stringMap.optional(),
    custom_args: stringMap.optional(),
  })
  .refine((mail) => mail.subject !== undefined || mail.personalizations.every((p) => p.subject !== undefined), {
    message: 'The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined.',
    path: ['subject'],
  });

export interface CapturedEmail {
  messageId: string;
  receivedAt: string;
  from: string;
  to: string[];
  subject: string;
  text: string | null;
  html: string | null;
  /** Email headers from the payload (top level merged with the first personalization's). */
  headers: Record<string, string>;
  customArgs: Record<string, string>;
  /** From the X-Argus-Transaction-Id header or the transaction_id custom arg. */
  transactionId: string | null;
}

export interface FaultPlan {
  status: number;
  times: number;
  retryAfterSeconds?: number;
}

export interface SendAttempt {
  at: string;
  status: number;
}

const faultSchema = z.object({
  status: z.number().int().min(400).max(599),
  times: z.number().int().min(0).max(1_000_000).default(1),
  retryAfterSeconds: z.number().min(0).max(3600).optional(),
});

export interface CaptureServerOptions {
  port?: number;
  host?: string;
  /** When set, the bearer token must equal it; otherwise any non-empty bearer token is accepted. */
  apiKey?: string;
  /** Oldest messages are dropped beyond this, so a long-running stack does not grow without bound. */
  maxCaptured?: number;
  logger?: Logger;
}

export interface CaptureServer {
  url: string;
  port: number;
  captured(): CapturedEmail[];
  /** Every POST /v3/mail/send that passed authentication, with the status it got. */
  attempts(): SendAttempt[];
  clear(): void;
  failNext(plan: { status: number; times?: number; retryAfterSeconds?: number }): void;
  clearFaults(): void;
  close(): Promise<void>;
  /** Settles once the server has stopped listening, whether by close() or not (the local stack restarts it then). */
  closed: Promise<void>;
}

function sendGridError(reply: FastifyReply, status: number, message: string, field: string | null = null) {
  return reply.code(status).send({ errors: [{ message, field, help: null }] });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

function renderPage(emails: CapturedEmail[]): string {
  const rows = [...emails]
    .reverse()
    .map(
      (m) => `<article>
  <h2>${escapeHtml(m.subject)}</h2>
  <p class="meta">${escapeHtml(m.receivedAt)} · from ${escapeHtml(m.from)} · to ${escapeHtml(m.to.join(', '))}${
    m.transactionId ? ` · transaction <code>${escapeHtml(m.transactionId)}</code>` : ''
  } · message id <code>${escapeHtml(m.messageId)}</code></p>
  <pre>${escapeHtml(m.text ?? '(no text part)')}</pre>
</article>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5">
<title>Argus: captured emails (${emails.length})</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem;max-width:60rem}article{border-top:1px solid #ccc;padding:.5rem 0}
.meta{color:#555;font-size:.9rem}pre{background:#f6f6f6;padding:.75rem;white-space:pre-wrap}</style></head>
<body><h1>Captured emails: ${emails.length}</h1>
<p>What the alert dispatcher would have sent through SendGrid, newest first. JSON at <a href="/captured">/captured</a>.</p>
${rows || '<p>Nothing captured yet.</p>'}
</body></html>`;
}

export async function startCaptureServer(options: CaptureServerOptions = {}): Promise<CaptureServer> {
  const host = options.host ?? '127.0.0.1';
  const maxCaptured = options.maxCaptured ?? 1000;
  const emails: CapturedEmail[] = [];
  const attempts: SendAttempt[] = [];
  let fault: (FaultPlan & { remaining: number }) | null = null;

  const app: FastifyInstance = Fastify({ logger: false });

  app.post('/v3/mail/send', async (request, reply) => {
    const authorization = request.headers.authorization;
    const token = authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length).trim() : '';
    if (!token || (options.apiKey !== undefined && token !== options.apiKey)) {
      return sendGridError(reply, 401, 'The provided authorization grant is invalid, expired, or revoked');
    }

    if (fault && fault.remaining > 0) {
      fault.remaining--;
      const { status, retryAfterSeconds } = fault;
      if (fault.remaining === 0) fault = null;
      attempts.push({ at: new Date().toISOString(), status });
      if (status === 429) {
        const waitSeconds = retryAfterSeconds ?? 1;
        reply.header('Retry-After', String(Math.ceil(waitSeconds)));
        reply.header('X-RateLimit-Limit', '600');
        reply.header('X-RateLimit-Remaining', '0');
        reply.header('X-RateLimit-Reset', String(Math.ceil(Date.now() / 1000 + waitSeconds)));
        return sendGridError(reply, 429, 'Too many requests');
      }
      return sendGridError(reply, status, status >= 500 ? 'Internal server error (programmed fault)' : 'Programmed fault');
    }

    const parsed = mailSendSchema.safeParse(request.body);
    if (!parsed.success) {
      attempts.push({ at: new Date().toISOString(), status: 400 });
      const errors = parsed.error.issues.map((i) => ({ message: i.message, field: i.path.join('.') || null, help: null }));
      return reply.code(400).send({ errors });
    }
    const mail = parsed.data;
    const first = mail.personalizations[0];
    const headers = { ...(mail.headers ?? {}), ...(first.headers ?? {}) };
    const customArgs = { ...(mail.custom_args ?? {}), ...(first.custom_args ?? {}) };
    const headerTransactionId = Object.entries(headers).find(([k]) => k.toLowerCase() === 'x-argus-transaction-id')?.[1];
    const messageId = randomBytes(16).toString('base64url');
    emails.push({
      messageId,
      receivedAt: new Date().toISOString(),
      from: mail.from.email,
      to: mail.personalizations.flatMap((p) => p.to.map((t) => t.email)),
      subject: first.subject ?? mail.subject ?? '',
      text: mail.content.find((c) => c.type === 'text/plain')?.value ?? null,
      html: mail.content.find((c) => c.type === 'text/html')?.value ?? null,
      headers,
      customArgs,
      transactionId: headerTransactionId ?? customArgs.transaction_id ?? null,
    });
    if (emails.length > maxCaptured) emails.splice(0, emails.length - maxCaptured);
    options.logger?.info({ messageId, to: emails[emails.length - 1].to, subject: emails[emails.length - 1].subject }, 'email captured');
    attempts.push({ at: new Date().toISOString(), status: 202 });
    return reply.code(202).header('X-Message-Id', messageId).send();
  });

  app.get('/captured', async () => emails);
  app.delete('/captured', async (_request, reply) => {
    emails.length = 0;
    attempts.length = 0;
    return reply.code(204).send();
  });
  app.get('/', async (_request, reply) => reply.type('text/html; charset=utf-8').send(renderPage(emails)));

  const program = (plan: FaultPlan) => {
    fault = plan.times > 0 ? { ...plan, remaining: plan.times } : null;
  };
  app.post('/_faults', async (request, reply) => {
    const parsed = faultSchema.safeParse(request.body);
    if (!parsed.success) return reply.code(400).send({ errors: parsed.error.issues.map((i) => ({ message: i.message, field: i.path.join('.') })) });
    program(parsed.data);
    return reply.code(204).send();
  });
  app.delete('/_faults', async (_request, reply) => {
    fault = null;
    return reply.code(204).send();
  });

  await app.listen({ port: options.port ?? 0, host });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('capture server has no TCP address');
  const url = `http://${host}:${address.port}`;
  const closed = new Promise<void>((resolve) => app.server.once('close', () => resolve()));

  return {
    url,
    port: address.port,
    captured: () => [...emails],
    attempts: () => [...attempts],
    clear: () => {
      emails.length = 0;
      attempts.length = 0;
    },
    failNext: (plan) => program(faultSchema.parse(plan)),
    clearFaults: () => {
      fault = null;
    },
    close: () => app.close(),
    closed,
  };
}

async function main(): Promise<void> {
  const config = loadConfig();
  const logger = createLogger('capture', config.logLevel);
  const server = await startCaptureServer({ port: config.email.capturePort, host: '127.0.0.1', logger });
  logger.info({ url: server.url }, `SendGrid capture server: ${server.url} (captured emails at ${server.url}/)`);
  const shutdown = (signal: string) => {
    logger.info({ signal }, 'capture server stopping');
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', () => shutdown('SIGINT'));
  process.once('SIGTERM', () => shutdown('SIGTERM'));
}

if (require.main === module) {
  main().catch((error: unknown) => {
    process.stderr.write(`capture server failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
