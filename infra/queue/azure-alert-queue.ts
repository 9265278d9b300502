import { QueueServiceClient, RestError, type QueueClient, type StoragePipelineOptions } from '@azure/storage-queue';
import { z } from 'zod';
import type { AlertMessage, AlertQueue } from '../../activities/ports';
import type { ArgusConfig } from '../config';

/**
 * The alert queue on Azure Storage (Azurite locally). Messages are base64 JSON because that is what
 * Azure Functions' queue trigger and Logic Apps' "When a message is received" decode by default, so
 * the finance tracker's existing consumers keep working.
 */

export const alertMessageSchema = z.object({
  transaction_id: z.string().min(1),
  user_id: z.number().int(),
  category_id: z.number().int(),
  amount: z.number().finite(),
  z_score: z.number().finite().nullable(),
  detected_at: z.string().min(1),
});

export interface ReceivedMessageMeta {
  messageId: string;
  popReceipt: string;
  dequeueCount: number;
  insertedOn?: Date;
  /** The message text exactly as stored (base64), kept so the poison queue holds the original. */
  rawText: string;
}

export type ReceivedAlert =
  | (ReceivedMessageMeta & { kind: 'alert'; alert: AlertMessage })
  | (ReceivedMessageMeta & { kind: 'undecodable'; reason: string });

/** What the dispatcher needs from the queue; the adapter below implements it. */
export interface AlertQueueConsumer {
  receive(max: number, visibilityTimeoutSeconds: number): Promise<ReceivedAlert[]>;
  delete(message: ReceivedMessageMeta): Promise<void>;
  /** Makes the message visible again after `delaySeconds`; the next receive counts one more delivery. */
  release(message: ReceivedMessageMeta, delaySeconds: number): Promise<void>;
  /** Copies the message (with the reason) to the poison queue, then deletes the original. */
  moveToPoison(message: ReceivedMessageMeta, reason: string): Promise<void>;
}

/** What lands on the poison queue (base64 JSON like the main queue). */
export interface PoisonEnvelope {
  reason: string;
  original_message_id: string;
  dequeue_count: number;
  moved_at: string;
  /** The decoded alert when it could be decoded, so an operator sees the transaction at a glance. */
  alert: AlertMessage | null;
  /** The original message text, unchanged, so it can be put back on the main queue as is. */
  original: string;
}

export class AlertQueueError extends Error {
  override name = 'AlertQueueError';
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function encodeAlertMessage(message: AlertMessage): string {
  return Buffer.from(JSON.stringify(message), 'utf8').toString('base64');
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

export function decodeAlertMessage(text: string): { ok: true; alert: AlertMessage } | { ok: false; reason: string } {
  const trimmed = text.trim();
  if (trimmed.length === 0 || trimmed.length % 4 !== 0 || !BASE64.test(trimmed)) {
    return { ok: false, reason: 'message text is not base64' };
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(trimmed, 'base64').toString('utf8'));
  } catch {
    return { ok: false, reason: 'message is base64 but not JSON' };
  }
  const parsed = alertMessageSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    return { ok: false, reason: `message JSON is not an alert: ${issues}` };
  }
  return { ok: true, alert: parsed.data };
}

export interface AzureAlertQueueOptions {
  connectionString: string;
  queueName: string;
  poisonQueueName: string;
  /** Client-level retries stay short: the workflow and the dispatcher own retrying. */
  maxTries?: number;
  tryTimeoutMs?: number;
}

function statusOf(error: unknown): number | undefined {
  return error instanceof RestError ? error.statusCode : undefined;
}

function errorCodeOf(error: unknown): string | undefined {
  return error instanceof RestError ? error.code : undefined;
}

function toQueueError(operation: string, error: unknown): AlertQueueError {
  if (error instanceof AlertQueueError) return error;
  const status = statusOf(error);
  const detail = error instanceof Error ? error.message.split('\n')[0] : String(error);
  // No status means the request never got an answer (refused, reset, timed out): the queue is down.
  const retryable = status === undefined || status === 408 || status === 429 || status >= 500;
  return new AlertQueueError(`queue ${operation} failed${status ? ` (HTTP ${status})` : ''}: ${detail}`, retryable, status, {
    cause: error,
  });
}

export class AzureAlertQueue implements AlertQueue, AlertQueueConsumer {
  private readonly alerts: QueueClient;
  private readonly poison: QueueClient;
  private readonly ensured = new Map<QueueClient, Promise<void>>();

  constructor(options: AzureAlertQueueOptions) {
    const pipelineOptions: StoragePipelineOptions = {
      retryOptions: {
        maxTries: options.maxTries ?? 2,
        tryTimeoutInMs: options.tryTimeoutMs ?? 3_000,
        retryDelayInMs: 200,
        maxRetryDelayInMs: 1_000,
      },
    };
    const service = QueueServiceClient.fromConnectionString(options.connectionString, pipelineOptions);
    this.alerts = service.getQueueClient(options.queueName);
    this.poison = service.getQueueClient(options.poisonQueueName);
  }

  static fromConfig(config: Pick<ArgusConfig, 'queue'>, overrides: Partial<AzureAlertQueueOptions> = {}): AzureAlertQueue {
    return new AzureAlertQueue({
      connectionString: config.queue.connectionString,
      queueName: config.queue.alertQueue,
      poisonQueueName: config.queue.poisonQueue,
      ...overrides,
    });
  }

  get queueName(): string {
    return this.alerts.name;
  }

  get poisonQueueName(): string {
    return this.poison.name;
  }

  async send(message: AlertMessage): Promise<void> {
    const text = encodeAlertMessage(alertMessageSchema.parse(message));
    await this.sendText(this.alerts, text);
  }

  /** Puts arbitrary text on the alert queue; for tests and operators re-queueing a poison message. */
  async sendRaw(text: string): Promise<void> {
    await this.sendText(this.alerts, text);
  }

  async receive(max: number, visibilityTimeoutSeconds: number): Promise<ReceivedAlert[]> {
    await this.ensureQueue(this.alerts);
    let response;
    try {
      response = await this.alerts.receiveMessages({
        // The service caps a batch at 32 messages.
        numberOfMessages: Math.max(1, Math.min(32, Math.floor(max))),
        visibilityTimeout: Math.max(1, Math.ceil(visibilityTimeoutSeconds)),
      });
    } catch (error) {
      this.forgetIfMissing(this.alerts, error);
      throw toQueueError('receive', error);
    }
    return response.receivedMessageItems.map((item): ReceivedAlert => {
      const meta: ReceivedMessageMeta = {
        messageId: item.messageId,
        popReceipt: item.popReceipt,
        dequeueCount: item.dequeueCount,
        insertedOn: item.insertedOn,
        rawText: item.messageText,
      };
      const decoded = decodeAlertMessage(item.messageText);
      return decoded.ok ? { ...meta, kind: 'alert', alert: decoded.alert } : { ...meta, kind: 'undecodable', reason: decoded.reason };
    });
  }

  async delete(message: ReceivedMessageMeta): Promise<void> {
    try {
      await this.alerts.deleteMessage(message.messageId, message.popReceipt);
    } catch (error) {
      // Already gone (another consumer finished it, or our pop receipt expired and it was redelivered):
      // nothing of ours left to delete.
      if (statusOf(error) === 404) return;
      throw toQueueError('delete', error);
    }
  }

  async release(message: ReceivedMessageMeta, delaySeconds: number): Promise<void> {
    try {
      const updated = await this.alerts.updateMessage(
        message.messageId,
        message.popReceipt,
        undefined,
        Math.max(0, Math.ceil(delaySeconds)),
      );
      if (updated.popReceipt) message.popReceipt = updated.popReceipt;
    } catch (error) {
      // The visibility timeout already ran out and someone else holds it: it is back on the queue anyway.
      if (statusOf(error) === 404) return;
      throw toQueueError('release', error);
    }
  }

  async moveToPoison(message: ReceivedMessageMeta, reason: string): Promise<void> {
    const decoded = decodeAlertMessage(message.rawText);
    const envelope: PoisonEnvelope = {
      reason,
      original_message_id: message.messageId,
      dequeue_count: message.dequeueCount,
      moved_at: new Date().toISOString(),
      alert: decoded.ok ? decoded.alert : null,
      original: message.rawText,
    };
    await this.sendText(this.poison, Buffer.from(JSON.stringify(envelope), 'utf8').toString('base64'));
    await this.delete(message);
  }

  /** Reads without taking: for tests, the CLI and operators. */
  async peek(which: 'alerts' | 'poison', max = 32): Promise<Array<{ messageId: string; text: string; dequeueCount: number }>> {
    const client = which === 'alerts' ? this.alerts : this.poison;
    try {
      const response = await client.peekMessages({ numberOfMessages: Math.max(1, Math.min(32, max)) });
      return response.peekedMessageItems.map((m) => ({ messageId: m.messageId, text: m.messageText, dequeueCount: m.dequeueCount }));
    } catch (error) {
      if (statusOf(error) === 404) return [];
      throw toQueueError('peek', error);
    }
  }

  async peekPoison(max = 32): Promise<PoisonEnvelope[]> {
    const items = await this.peek('poison', max);
    return items.map((m) => JSON.parse(Buffer.from(m.text, 'base64').toString('utf8')) as PoisonEnvelope);
  }

  /** Approximate; Azure counts lazily. */
  async approximateCount(which: 'alerts' | 'poison'): Promise<number> {
    const client = which === 'alerts' ? this.alerts : this.poison;
    try {
      return (await client.getProperties()).approximateMessagesCount ?? 0;
    } catch (error) {
      if (statusOf(error) === 404) return 0;
      throw toQueueError('count', error);
    }
  }

  async clear(which: 'alerts' | 'poison'): Promise<void> {
    const client = which === 'alerts' ? this.alerts : this.poison;
    try {
      await client.clearMessages();
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw toQueueError('clear', error);
    }
  }

  private async sendText(client: QueueClient, text: string): Promise<void> {
    await this.ensureQueue(client);
    try {
      await client.sendMessage(text);
    } catch (error) {
      if (!this.forgetIfMissing(client, error)) throw toQueueError('send', error);
      // Someone deleted the queue since we created it: create it again, once.
      await this.ensureQueue(client);
      try {
        await client.sendMessage(text);
      } catch (retryError) {
        throw toQueueError('send', retryError);
      }
    }
  }

  private ensureQueue(client: QueueClient): Promise<void> {
    let pending = this.ensured.get(client);
    if (!pending) {
      pending = client.createIfNotExists().then(
        () => undefined,
        (error: unknown) => {
          // A failed creation (queue service down) must not stick: the next call tries again.
          this.ensured.delete(client);
          throw toQueueError(`create ${client.name}`, error);
        },
      );
      this.ensured.set(client, pending);
    }
    return pending;
  }

  private forgetIfMissing(client: QueueClient, error: unknown): boolean {
    if (statusOf(error) === 404 && errorCodeOf(error) === 'QueueNotFound') {
      this.ensured.delete(client);
      return true;
    }
    return false;
  }
}
