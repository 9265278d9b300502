import { MailService } from '@sendgrid/mail';
import type { AlertEmail, AlertMessage, Clock, Mailer } from '../../activities/ports';
import { systemClock } from '../../activities/ports';
import type { ArgusConfig } from '../config';
import { MailerError } from './mailer-error';

export { MailerError } from './mailer-error';

/** Header SendGrid copies onto the email; the capture server records it, an operator can search for it. */
export const TRANSACTION_ID_HEADER = 'X-Argus-Transaction-Id';

const amountFormat = new Intl.NumberFormat('en-US', { minimumFractionDigits: 0, maximumFractionDigits: 2 });

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** The finance tracker's Logic App email, with what an operator needs to find the transaction. */
export function renderAlertEmail(message: AlertMessage, addresses: { to: string; from: string }): AlertEmail {
  const zScore = message.z_score === null ? 'n/a' : message.z_score.toFixed(2);
  const fields: Array<[string, string]> = [
    ['User ID', String(message.user_id)],
    ['Category ID', String(message.category_id)],
    ['Amount', amountFormat.format(message.amount)],
    ['Z-score', zScore],
    ['Transaction ID', message.transaction_id],
    ['Detected at', message.detected_at],
  ];
  const text = [
    'An unusual transaction was detected.',
    '',
    ...fields.map(([label, value]) => `${label}: ${value}`),
    '',
    'Please review this transaction.',
    '',
  ].join('\n');
  const html = [
    '<p>An unusual transaction was detected.</p>',
    '<table>',
    ...fields.map(([label, value]) => `<tr><th align="left">${escapeHtml(label)}</th><td>${escapeHtml(value)}</td></tr>`),
    '</table>',
    '<p>Please review this transaction.</p>',
  ].join('\n');
  return {
    to: addresses.to,
    from: addresses.from,
    subject: `Anomaly detected: user ${message.user_id}, category ${message.category_id}`,
    text,
    html,
    transactionId: message.transaction_id,
  };
}

type HeaderBag = Record<string, unknown> & { get?: (name: string) => unknown };

function header(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const bag = headers as HeaderBag;
  const value = typeof bag.get === 'function' ? bag.get(name) : (bag[name] ?? bag[name.toLowerCase()]);
  if (value === undefined || value === null) return undefined;
  return Array.isArray(value) ? String(value[0]) : String(value);
}

/**
 * How long the provider asked us to wait. Retry-After is seconds or an HTTP date; SendGrid's
 * X-RateLimit-Reset is the Unix time (seconds) at which the limit resets.
 */
export function retryAfterFromHeaders(headers: unknown, nowMs: number): number | undefined {
  const retryAfter = header(headers, 'retry-after');
  if (retryAfter !== undefined && retryAfter.trim() !== '') {
    const seconds = Number(retryAfter);
    if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
    const date = Date.parse(retryAfter);
    if (!Number.isNaN(date)) return Math.max(0, date - nowMs);
  }
  const reset = header(headers, 'x-ratelimit-reset');
  if (reset !== undefined && reset.trim() !== '') {
    const resetSeconds = Number(reset);
    if (Number.isFinite(resetSeconds)) return Math.max(0, Math.round(resetSeconds * 1000 - nowMs));
  }
  return undefined;
}

interface SendGridErrorLike {
  code?: unknown;
  message?: string;
  response?: { headers?: unknown; body?: unknown };
}

function describeBody(body: unknown): string {
  if (body && typeof body === 'object' && Array.isArray((body as { errors?: unknown }).errors)) {
    return (body as { errors: Array<{ message?: string; field?: string | null }> }).errors
      .map((e) => (e.field ? `${e.field}: ${e.message ?? ''}` : (e.message ?? '')))
      .join('; ');
  }
  return '';
}

/** Maps whatever the SendGrid client threw onto retry / don't-retry. */
export function toMailerError(error: unknown, nowMs: number): MailerError {
  if (error instanceof MailerError) return error;
  const e = (error ?? {}) as SendGridErrorLike;
  const status = typeof e.code === 'number' ? e.code : undefined;
  if (status !== undefined && e.response) {
    const retryable = status === 429 || status >= 500 || status === 408;
    const detail = describeBody(e.response.body);
    return new MailerError(`SendGrid answered ${status}${e.message ? ` ${e.message}` : ''}${detail ? `: ${detail}` : ''}`, {
      retryable,
      status,
      retryAfterMs: retryable ? retryAfterFromHeaders(e.response.headers, nowMs) : undefined,
      cause: error,
    });
  }
  // No HTTP answer at all (refused, reset, DNS, timeout): the provider may be back on the next try.
  const code = typeof e.code === 'string' ? ` (${e.code})` : '';
  return new MailerError(`SendGrid request failed${code}: ${e.message ?? String(error)}`, { retryable: true, cause: error });
}

export interface SendGridMailerOptions {
  apiKey: string;
  /** Capture server or another SendGrid-compatible endpoint; the real API when absent. */
  baseUrl?: string;
  timeoutMs?: number;
  clock?: Clock;
}

export class SendGridMailer implements Mailer {
  private readonly service: InstanceType<typeof MailService>;
  private readonly clock: Clock;

  constructor(options: SendGridMailerOptions) {
    // Our own instance: the module singleton is shared process-wide and someone else may reconfigure it.
    this.service = new MailService();
    // setApiKey resets baseUrl to the public API, so the override must come after it.
    this.service.setApiKey(options.apiKey);
    // MailService owns a Client of its own (created in its constructor) but its typings omit the field.
    const { client } = this.service as unknown as { client: { setDefaultRequest(key: 'baseUrl', value: string): unknown } };
    if (options.baseUrl) client.setDefaultRequest('baseUrl', options.baseUrl);
    this.service.setTimeout(options.timeoutMs ?? 10_000);
    this.clock = options.clock ?? systemClock;
  }

  static fromConfig(config: Pick<ArgusConfig, 'email'>, clock?: Clock): SendGridMailer {
    // The capture server checks only that a bearer token is present; the SG. prefix keeps the client quiet.
    const apiKey = config.email.apiKey ?? 'SG.local-capture';
    return new SendGridMailer({ apiKey, baseUrl: config.email.baseUrl, clock });
  }

  async send(email: AlertEmail): Promise<{ providerMessageId: string | null }> {
    try {
      const [response] = await this.service.send({
        to: email.to,
        from: email.from,
        subject: email.subject,
        text: email.text,
        ...(email.html ? { html: email.html } : {}),
        customArgs: { transaction_id: email.transactionId },
        headers: { [TRANSACTION_ID_HEADER]: email.transactionId },
      });
      return { providerMessageId: header(response.headers, 'x-message-id') ?? null };
    } catch (error) {
      throw toMailerError(error, this.clock.now().getTime());
    }
  }
}
