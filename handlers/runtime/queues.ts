/**
 * The runtime side of the queues: sending commands to the FIFO commands queue, and moving a
 * record that cannot be applied to its dead-letter queue with the reason attached.
 */
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";
import { type Command, deduplicationIdOf, messageGroupIdOf } from "../core/commands.js";
import { SyncError } from "../core/errors.js";

/** SQS refused some or all of a send. Transient: the same send may succeed later. */
export class QueueSendError extends SyncError {
  public readonly transient = true;
}

export class CommandQueue {
  public constructor(
    private readonly sqs: SQSClient,
    private readonly queueUrl: string,
  ) {}

  /** Sends commands in batches of ten. Re-sending after a partial failure is safe: ids deduplicate. */
  public async send(commands: readonly Command[]): Promise<void> {
    await sendInBatches(
      this.sqs,
      this.queueUrl,
      "commands",
      commands.map((command) => ({
        MessageBody: JSON.stringify(command),
        MessageGroupId: messageGroupIdOf(command),
        MessageDeduplicationId: deduplicationIdOf(command),
        MessageAttributes: {
          eventId: { DataType: "String", StringValue: command.eventId },
          kind: { DataType: "String", StringValue: command.kind },
        },
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

/** The (standard) ingest queue, as the handlers write to it: deferred commands, and Okta events split apart. */
export class IngestQueue {
  public constructor(
    private readonly sqs: SQSClient,
    private readonly ingestQueueUrl: string,
  ) {}

  /**
   * Sends a command back with a delay: FIFO queues have no per-message delay, and waiting in the
   * FIFO queue would hold up every later command of its group.
   */
  public async defer(command: Command, delaySeconds: number): Promise<void> {
    await this.sqs.send(
      new SendMessageCommand({
        QueueUrl: this.ingestQueueUrl,
        MessageBody: JSON.stringify(command),
        DelaySeconds: Math.max(0, Math.min(900, Math.round(delaySeconds))),
        MessageAttributes: {
          eventId: { DataType: "String", StringValue: command.eventId },
          kind: { DataType: "String", StringValue: command.kind },
        },
      }),
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
