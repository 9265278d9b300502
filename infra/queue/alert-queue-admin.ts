import { QueueServiceClient, RestError, type QueueClient } from '@azure/storage-queue';
import type { ArgusConfig } from '../config';
import { decodeAlertMessage, type PoisonEnvelope } from './azure-alert-queue';

/**
 * What the dashboard does with the alert queues: their depths, and taking dead-lettered alerts off the
 * poison queue to put them back on the alert queue. A poison message is received (hidden), acted on,
 * and only deleted once its alert is back on the alert queue: a crash in between leaves it on the
 * poison queue (it reappears after the visibility timeout) and at worst a second copy on the alert
 * queue, which the dispatcher's delivery ledger turns into one email.
 */

export interface PoisonMessage {
  messageId: string;
  popReceipt: string;
  /** The envelope's decoded alert's transaction, when the message is an alert at all. */
  transactionId: string | null;
  /** The original alert message text, to put back on the alert queue as it was. */
  original: string | null;
}

export interface AlertQueueAdmin {
  readonly queueName: string;
  readonly poisonQueueName: string;
  /** Approximate message count (Azure counts lazily); 0 for a queue that does not exist yet. */
  depth(which: 'alerts' | 'poison'): Promise<number>;
  /** Up to 32 poison messages, hidden from other readers for `visibilitySeconds`. */
  receivePoison(max: number, visibilitySeconds: number): Promise<PoisonMessage[]>;
  requeue(original: string): Promise<void>;
  deletePoison(message: PoisonMessage): Promise<void>;
}

function statusOf(error: unknown): number | undefined {
  return error instanceof RestError ? error.statusCode : undefined;
}

/** The poison envelope's alert: from its decoded copy, or by decoding the original text it keeps. */
export function poisonMessageOf(messageId: string, popReceipt: string, text: string): PoisonMessage {
  let envelope: Partial<PoisonEnvelope> | null;
  try {
    envelope = JSON.parse(Buffer.from(text, 'base64').toString('utf8')) as Partial<PoisonEnvelope>;
  } catch {
    envelope = null;
  }
  const original = typeof envelope?.original === 'string' ? envelope.original : null;
  const decoded = original === null ? null : decodeAlertMessage(original);
  const transactionId = decoded?.ok ? decoded.alert.transaction_id : null;
  return { messageId, popReceipt, transactionId, original: transactionId === null ? null : original };
}

export class AzureAlertQueueAdmin implements AlertQueueAdmin {
  private readonly alerts: QueueClient;
  private readonly poison: QueueClient;

  constructor(options: { connectionString: string; queueName: string; poisonQueueName: string; tryTimeoutMs?: number }) {
    const service = QueueServiceClient.fromConnectionString(options.connectionString, {
      retryOptions: { maxTries: 2, tryTimeoutInMs: options.tryTimeoutMs ?? 3_000, retryDelayInMs: 200, maxRetryDelayInMs: 1_000 },
    });
    this.alerts = service.getQueueClient(options.queueName);
    this.poison = service.getQueueClient(options.poisonQueueName);
  }

  static fromConfig(config: Pick<ArgusConfig, 'queue'>): AzureAlertQueueAdmin {
    return new AzureAlertQueueAdmin({ connectionString: config.queue.connectionString, queueName: config.queue.alertQueue, poisonQueueName: config.queue.poisonQueue });
  }

  get queueName(): string {
    return this.alerts.name;
  }

  get poisonQueueName(): string {
    return this.poison.name;
  }

  async depth(which: 'alerts' | 'poison'): Promise<number> {
    const client = which === 'alerts' ? this.alerts : this.poison;
    try {
      return (await client.getProperties()).approximateMessagesCount ?? 0;
    } catch (error) {
      if (statusOf(error) === 404) return 0;
      throw error;
    }
  }

  async receivePoison(max: number, visibilitySeconds: number): Promise<PoisonMessage[]> {
    let response;
    try {
      response = await this.poison.receiveMessages({
        numberOfMessages: Math.max(1, Math.min(32, Math.floor(max))),
        visibilityTimeout: Math.max(1, Math.ceil(visibilitySeconds)),
      });
    } catch (error) {
      if (statusOf(error) === 404) return [];
      throw error;
    }
    return response.receivedMessageItems.map((item) => poisonMessageOf(item.messageId, item.popReceipt, item.messageText));
  }

  async requeue(original: string): Promise<void> {
    await this.alerts.createIfNotExists();
    await this.alerts.sendMessage(original);
  }

  async deletePoison(message: PoisonMessage): Promise<void> {
    try {
      await this.poison.deleteMessage(message.messageId, message.popReceipt);
    } catch (error) {
      if (statusOf(error) === 404) return;
      throw error;
    }
  }
}
