import assert from 'node:assert/strict';
import type { AlertMessage } from '../../activities/ports';
import type { CaptureServer } from '../../infra/mail/capture-server';
import { MailerError, renderAlertEmail, retryAfterFromHeaders, SendGridMailer } from '../../infra/mail/sendgrid-mailer';
import { startCapture } from '../support/local-services';

const seedAlert: AlertMessage = {
  transaction_id: 'txn-399-2310-a',
  user_id: 399,
  category_id: 2310,
  amount: 25000,
  z_score: 16.905581089737105,
  detected_at: '2026-01-15T10:00:00.000Z',
};
const addresses = { to: 'finance-alerts@example.com', from: 'argus@example.com' };

async function mailerError(promise: Promise<unknown>): Promise<MailerError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof MailerError, `expected a MailerError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected the send to fail');
}

describe('alert email rendering', () => {
  it('renders the seed email: subject, user, category, amount, z-score with 2 decimals, transaction and time', () => {
    const email = renderAlertEmail(seedAlert, addresses);
    assert.equal(email.subject, 'Anomaly detected: user 399, category 2310');
    assert.equal(email.to, addresses.to);
    assert.equal(email.from, addresses.from);
    assert.equal(email.transactionId, 'txn-399-2310-a');
    for (const line of [
      'User ID: 399',
      'Category ID: 2310',
      'Amount: 25,000',
      'Z-score: 16.91',
      'Transaction ID: txn-399-2310-a',
      'Detected at: 2026-01-15T10:00:00.000Z',
    ]) {
      assert.ok(email.text.split('\n').includes(line), `missing line ${JSON.stringify(line)} in:\n${email.text}`);
    }
  });

  it('says n/a for a missing z-score and escapes nothing dangerous into the HTML', () => {
    const email = renderAlertEmail({ ...seedAlert, z_score: null, transaction_id: 'a<b>' }, addresses);
    assert.ok(email.text.includes('Z-score: n/a'));
    assert.ok(email.html?.includes('a&lt;b&gt;'));
    assert.ok(!email.html?.includes('a<b>'));
  });

  it('reads Retry-After in seconds or as a date, and X-RateLimit-Reset as a Unix time', () => {
    const now = Date.parse('2026-01-15T10:00:00Z');
    assert.equal(retryAfterFromHeaders({ 'retry-after': '7' }, now), 7_000);
    assert.equal(retryAfterFromHeaders({ 'retry-after': 'Thu, 15 Jan 2026 10:00:30 GMT' }, now), 30_000);
    assert.equal(retryAfterFromHeaders({ 'x-ratelimit-reset': String(now / 1000 + 12) }, now), 12_000);
    assert.equal(retryAfterFromHeaders({}, now), undefined);
  });
});

describe('SendGrid mailer against the capture server', function () {
  this.timeout(30_000);
  let capture: CaptureServer;
  let mailer: SendGridMailer;

  before(async () => {
    capture = await startCapture({ apiKey: 'SG.test-key' });
    mailer = new SendGridMailer({ apiKey: 'SG.test-key', baseUrl: capture.url });
  });
  after(async () => {
    await capture?.close();
  });
  beforeEach(() => {
    capture.clear();
    capture.clearFaults();
  });

  it('posts through the real SendGrid client: subject, body, to, from and transaction id are captured', async () => {
    const result = await mailer.send(renderAlertEmail(seedAlert, addresses));
    const [captured, ...rest] = capture.captured();
    assert.equal(rest.length, 0);
    assert.equal(result.providerMessageId, captured.messageId, 'X-Message-Id comes back as the provider id');
    assert.equal(captured.subject, 'Anomaly detected: user 399, category 2310');
    assert.deepEqual(captured.to, [addresses.to]);
    assert.equal(captured.from, addresses.from);
    assert.ok(captured.text?.includes('Z-score: 16.91'));
    assert.ok(captured.html?.includes('25,000'));
    assert.equal(captured.transactionId, 'txn-399-2310-a');
    assert.equal(captured.headers['X-Argus-Transaction-Id'], 'txn-399-2310-a');
    assert.equal(captured.customArgs.transaction_id, 'txn-399-2310-a');
  });

  it('the capture server lists what it caught as JSON and as a page', async () => {
    await mailer.send(renderAlertEmail(seedAlert, addresses));
    const json = (await (await fetch(`${capture.url}/captured`)).json()) as Array<{ subject: string }>;
    assert.equal(json.length, 1);
    assert.equal(json[0].subject, 'Anomaly detected: user 399, category 2310');
    const page = await fetch(`${capture.url}/`);
    assert.match(page.headers.get('content-type') ?? '', /text\/html/);
    assert.ok((await page.text()).includes('Anomaly detected: user 399, category 2310'));
    assert.equal((await fetch(`${capture.url}/captured`, { method: 'DELETE' })).status, 204);
    assert.equal(capture.captured().length, 0);
  });

  it('maps 429 to retryable with the wait the provider asked for', async () => {
    capture.failNext({ status: 429, times: 1, retryAfterSeconds: 7 });
    const error = await mailerError(mailer.send(renderAlertEmail(seedAlert, addresses)));
    assert.equal(error.status, 429);
    assert.equal(error.retryable, true);
    assert.ok(error.retryAfterMs !== undefined && error.retryAfterMs >= 6_000 && error.retryAfterMs <= 7_000, `retryAfterMs ${error.retryAfterMs}`);
    assert.equal(capture.captured().length, 0);
    await mailer.send(renderAlertEmail(seedAlert, addresses));
    assert.equal(capture.captured().length, 1, 'the fault lasted one send');
  });

  it('maps 5xx to retryable without a wait, and faults can be programmed over HTTP', async () => {
    const programmed = await fetch(`${capture.url}/_faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ status: 503, times: 2 }),
    });
    assert.equal(programmed.status, 204);
    for (let i = 0; i < 2; i++) {
      const error = await mailerError(mailer.send(renderAlertEmail(seedAlert, addresses)));
      assert.equal(error.status, 503);
      assert.equal(error.retryable, true);
      assert.equal(error.retryAfterMs, undefined);
    }
    await mailer.send(renderAlertEmail(seedAlert, addresses));
    assert.deepEqual(
      capture.attempts().map((a) => a.status),
      [503, 503, 202],
    );
  });

  it('maps 400 (a payload SendGrid rejects) to non-retryable', async () => {
    capture.failNext({ status: 400, times: 1 });
    const error = await mailerError(mailer.send(renderAlertEmail(seedAlert, addresses)));
    assert.equal(error.status, 400);
    assert.equal(error.retryable, false);
  });

  it('the capture server itself rejects an invalid payload with 400 and a wrong key with 401', async () => {
    const invalid = await mailerError(mailer.send({ ...renderAlertEmail(seedAlert, addresses), to: 'not-an-address' }));
    assert.equal(invalid.status, 400);
    assert.equal(invalid.retryable, false);
    assert.match(invalid.message, /personalizations\.0\.to\.0\.email/);

    const wrongKey = new SendGridMailer({ apiKey: 'SG.wrong', baseUrl: capture.url });
    const unauthorized = await mailerError(wrongKey.send(renderAlertEmail(seedAlert, addresses)));
    assert.equal(unauthorized.status, 401);
    assert.equal(unauthorized.retryable, false);
    assert.equal(capture.captured().length, 0);
  });

  it('maps a refused connection to retryable', async () => {
    const nowhere = new SendGridMailer({ apiKey: 'SG.test-key', baseUrl: 'http://127.0.0.1:1', timeoutMs: 2_000 });
    const error = await mailerError(nowhere.send(renderAlertEmail(seedAlert, addresses)));
    assert.equal(error.retryable, true);
    assert.equal(error.status, undefined);
  });
});
