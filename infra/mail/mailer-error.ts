/**
 * How a mail provider failure travels to the dispatcher: whether sending again can help, and when.
 * Kept apart from the SendGrid adapter so other mailers (and test doubles) throw the same thing.
 */
export class MailerError extends Error {
  override name = 'MailerError';
  readonly retryable: boolean;
  readonly status?: number;
  /** The provider's own "come back after" (Retry-After / X-RateLimit-Reset), when it said one. */
  readonly retryAfterMs?: number;

  constructor(message: string, details: { retryable: boolean; status?: number; retryAfterMs?: number; cause?: unknown }) {
    super(message, { cause: details.cause });
    this.retryable = details.retryable;
    this.status = details.status;
    this.retryAfterMs = details.retryAfterMs;
  }
}

