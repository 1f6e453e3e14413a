/**
 * The runtime side of the queues: sending reconcile messages to the FIFO reconcile queue, and moving a
 * record that cannot be applied to its dead-letter queue with the reason attached.
 */
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import { SyncError } from "../core/errors.js";
import { deduplicationIdOf, messageGroupIdOf, type ReconcileMessage } from "../core/reconcile-message.js";
import { SOURCE_ATTRIBUTE } from "../core/source.js";

/** SQS refused some or all of a send. Transient: the same send may succeed later. */
export class QueueSendError extends SyncError {
  public readonly transient = true;
}

export class ReconcileQueue {
  public constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    /** The departures lane: urgent messages go there. @default the reconcile queue */
    private readonly departuresUrl?: string,
  ) {}

  /**
   * Sends in batches of ten, urgent messages on the departures lane. Re-sending after a partial
   * failure is safe: ids deduplicate.
   */
  public async send(messages: readonly ReconcileMessage[]): Promise<void> {
    const urgent = this.departuresUrl ? messages.filter((m) => m.urgent) : [];
    const rest = urgent.length > 0 ? messages.filter((m) => !m.urgent) : messages;
    if (this.departuresUrl && urgent.length > 0) await this.#send(this.departuresUrl, urgent);
    await this.#send(this.queueUrl, rest);
  }

  async #send(queueUrl: string, messages: readonly ReconcileMessage[]): Promise<void> {
    await sendInBatches(
      this.sqs,
      queueUrl,
      "reconcile messages",
      messages.map((message) => ({
        MessageBody: JSON.stringify(message),
        MessageGroupId: messageGroupIdOf(message),
        MessageDeduplicationId: deduplicationIdOf(message),
        MessageAttributes: { kind: { DataType: "String", StringValue: message.kind } },
      })),
    );
  }
}

/** SendMessageBatch in chunks of ten (the SQS limit); any entry refused fails the whole send, to be retried. */
async function sendInBatches(
  sqs: SQSClient,
  queueUrl: string,
  noun: string,
  entries: readonly Omit<SendMessageBatchRequestEntry, "Id">[],
): Promise<void> {
  for (let start = 0; start < entries.length; start += 10) {
    const chunk = entries.slice(start, start + 10);
    const result = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: chunk.map((entry, index) => ({ ...entry, Id: String(index) })),
      }),
    );
    const failed = result.Failed ?? [];
    if (failed.length > 0) {
      const reasons = [...new Set(failed.map((f) => f.Code ?? "unknown"))].join(", ");
      throw new QueueSendError(`${failed.length} of ${chunk.length} ${noun} were not queued (${reasons})`);
    }
  }
}

/** The (standard) ingest queue, as ingest writes to it: a body holding several events, split apart. */
export class IngestQueue {
  public constructor(
    private readonly sqs: SQSClient,
    private readonly ingestQueueUrl: string,
  ) {}

  /** Queues a source's bodies, stamped with its id so ingest reads them with that source. */
  public async sendFrom(source: string, bodies: readonly string[]): Promise<void> {
    await sendInBatches(
      this.sqs,
      this.ingestQueueUrl,
      `${source} messages`,
      bodies.map((body) => ({
        MessageBody: body,
        MessageAttributes: { [SOURCE_ATTRIBUTE]: { DataType: "String", StringValue: source } },
      })),
    );
  }

  /** Queues bodies as messages of their own; each then succeeds or fails alone. */
  public async requeue(bodies: readonly { body: string; eventId: string }[]): Promise<void> {
    await sendInBatches(
      this.sqs,
      this.ingestQueueUrl,
      "events",
      bodies.map(({ body, eventId }) => ({
        MessageBody: body,
        MessageAttributes: { eventId: { DataType: "String", StringValue: eventId } },
      })),
    );
  }
}

/** The attributes every dead letter carries. The body is the original, unchanged. */
export interface DeadLetterReason {
  readonly errorType: string;
  readonly errorMessage: string;
  readonly eventId?: string;
  /** The person or group a reconcile was about. */
  readonly entity?: string;
}

const MAX_MESSAGE = 1_000;

export class DeadLetterQueue {
  public constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  public get isFifo(): boolean {
    return this.queueUrl.endsWith(".fifo");
  }

  /** Sends the record's body, unchanged, with the reason it could not be applied. */
  public async send(record: SQSRecord, reason: DeadLetterReason): Promise<void> {
    const message =
      reason.errorMessage.length > MAX_MESSAGE
        ? `${reason.errorMessage.slice(0, MAX_MESSAGE)}…`
        : reason.errorMessage;
    const attributes: Record<string, { DataType: "String" | "Number"; StringValue: string }> = {
      errorType: { DataType: "String", StringValue: reason.errorType },
      errorMessage: { DataType: "String", StringValue: message },
      failedAt: { DataType: "String", StringValue: this.now().toISOString() },
      sourceMessageId: { DataType: "String", StringValue: record.messageId },
      receiveCount: { DataType: "Number", StringValue: record.attributes.ApproximateReceiveCount || "1" },
    };
    if (reason.eventId) attributes.eventId = { DataType: "String", StringValue: reason.eventId };
    if (reason.entity) attributes.entity = { DataType: "String", StringValue: reason.entity };
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: record.body,
        MessageAttributes: attributes,
        // A FIFO dead-letter queue keeps the entity's group, so a redrive replays it in order.
        ...(this.isFifo
          ? {
              MessageGroupId: record.attributes.MessageGroupId ?? "dead-letter",
              MessageDeduplicationId: record.messageId,
            }
          : {}),
      }),
    );
  }
}
