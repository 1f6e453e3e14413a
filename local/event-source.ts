/**
 * A local stand-in for the Lambda SQS event source mapping, over fauxqs (an SQS emulator on
 * 127.0.0.1): it receives batches, builds the `SQSEvent` Lambda would, calls the real handler,
 * deletes what succeeded and leaves the reported failures to come back after the visibility
 * timeout, until the queue's redrive policy moves them to the dead-letter queue.
 */
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SQSClient,
} from "@aws-sdk/client-sqs";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import { buildApp } from "fauxqs";

export const LOCAL_REGION = "us-east-1";
export const LOCAL_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

export interface LocalQueue {
  readonly url: string;
  readonly arn: string;
}

/** The queues of the stack, as the CDK stack creates them, with short visibility timeouts for local speed. */
export interface LocalQueues {
  readonly ingest: LocalQueue;
  readonly ingestDeadLetter: LocalQueue;
  readonly reconcile: LocalQueue;
  /** The departures lane: a second reconcile queue, dead-lettering to the same queue. */
  readonly departures: LocalQueue;
  readonly reconcileDeadLetter: LocalQueue;
}

export interface LocalSqs {
  readonly endpoint: string;
  readonly client: SQSClient;
  readonly queues: LocalQueues;
  stop(): Promise<void>;
}

export interface LocalSqsOptions {
  /** Redrive `maxReceiveCount` on both source queues. @default 5 */
  readonly maxReceiveCount?: number;
  /** Visibility timeout of the source queues, seconds. @default 1 */
  readonly visibilityTimeoutSeconds?: number;
  /** Queue name prefix, so several runs can share one emulator. @default "tallyfy-sync" */
  readonly prefix?: string;
}

/** Starts fauxqs bound to 127.0.0.1 and creates the five queues. */
export async function startLocalSqs(options: LocalSqsOptions = {}): Promise<LocalSqs> {
  const app = buildApp({ logger: false, defaultRegion: LOCAL_REGION });
  await app.listen({ port: 0, host: "127.0.0.1" });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new SQSClient({ endpoint, region: LOCAL_REGION, credentials: LOCAL_CREDENTIALS });
  const queues = await createQueues(client, options);
  return {
    endpoint,
    client,
    queues,
    stop: async () => {
      client.destroy();
      await app.close();
    },
  };
}

async function createQueues(client: SQSClient, options: LocalSqsOptions): Promise<LocalQueues> {
  const prefix = options.prefix ?? "tallyfy-sync";
  const maxReceiveCount = String(options.maxReceiveCount ?? 5);
  const visibility = String(options.visibilityTimeoutSeconds ?? 1);
  const create = async (name: string, attributes: Record<string, string>): Promise<LocalQueue> => {
    const { QueueUrl } = await client.send(
      new CreateQueueCommand({ QueueName: name, Attributes: attributes }),
    );
    const url = QueueUrl ?? "";
    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }),
    );
    return { url, arn: Attributes?.QueueArn ?? "" };
  };
  const ingestDeadLetter = await create(`${prefix}-ingest-dlq`, {});
  const reconcileDeadLetter = await create(`${prefix}-reconcile-dlq.fifo`, { FifoQueue: "true" });
  const ingest = await create(`${prefix}-ingest`, {
    VisibilityTimeout: visibility,
    RedrivePolicy: JSON.stringify({ deadLetterTargetArn: ingestDeadLetter.arn, maxReceiveCount }),
  });
  // Both reconcile lanes: FIFO per entity, dead-lettering to the one reconcile dead-letter queue.
  const lane = (name: string) =>
    create(`${prefix}-${name}.fifo`, {
      FifoQueue: "true",
      VisibilityTimeout: visibility,
      DeduplicationScope: "messageGroup",
      FifoThroughputLimit: "perMessageGroupId",
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: reconcileDeadLetter.arn, maxReceiveCount }),
    });
  const reconcile = await lane("reconcile");
  const departures = await lane("departures");
  return { ingest, ingestDeadLetter, reconcile, departures, reconcileDeadLetter };
}

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

export interface EventSourceOptions {
  readonly client: SQSClient;
  readonly queue: LocalQueue;
  readonly handler: SqsHandler;
  /** @default 10 */
  readonly batchSize?: number;
  /** The function timeout the handler sees through `getRemainingTimeInMillis`. @default 30000 */
  readonly functionTimeoutMs?: number;
  readonly functionName?: string;
}

/** Polls one queue and invokes one handler, like an event source mapping with concurrency 1. */
export class LocalEventSource {
  /** Batches delivered so far. */
  public invocations = 0;
  /**
   * True while a batch is being handled. A receive in progress does not count: a message it takes
   * is in flight on the queue, which a drain sees; counting it made idle pollers look busy.
   */
  public busy = false;

  public constructor(private readonly options: EventSourceOptions) {}

  /** Receives one batch and processes it; returns how many records it held. */
  public async pollOnce(): Promise<number> {
    const { client, queue } = this.options;
    const { Messages = [] } = await client.send(
      new ReceiveMessageCommand({
        QueueUrl: queue.url,
        MaxNumberOfMessages: this.options.batchSize ?? 10,
        WaitTimeSeconds: 0,
        MessageSystemAttributeNames: ["All"],
        MessageAttributeNames: ["All"],
      }),
    );
    if (Messages.length === 0) return 0;
    this.busy = true;
    try {
      return await this.#handle(Messages);
    } finally {
      this.busy = false;
    }
  }

  async #handle(Messages: Message[]): Promise<number> {
    const { client, queue, handler } = this.options;
    const records: SQSRecord[] = Messages.map((message) => ({
      messageId: message.MessageId ?? "",
      receiptHandle: message.ReceiptHandle ?? "",
      body: message.Body ?? "",
      attributes: {
        ApproximateReceiveCount: message.Attributes?.ApproximateReceiveCount ?? "1",
        SentTimestamp: message.Attributes?.SentTimestamp ?? String(Date.now()),
        SenderId: message.Attributes?.SenderId ?? "local",
        ApproximateFirstReceiveTimestamp:
          message.Attributes?.ApproximateFirstReceiveTimestamp ?? String(Date.now()),
        ...(message.Attributes?.MessageGroupId ? { MessageGroupId: message.Attributes.MessageGroupId } : {}),
        ...(message.Attributes?.MessageDeduplicationId
          ? { MessageDeduplicationId: message.Attributes.MessageDeduplicationId }
          : {}),
        ...(message.Attributes?.SequenceNumber ? { SequenceNumber: message.Attributes.SequenceNumber } : {}),
      },
      messageAttributes: Object.fromEntries(
        Object.entries(message.MessageAttributes ?? {}).map(([name, value]) => [
          name,
          {
            dataType: value.DataType ?? "String",
            stringValue: value.StringValue,
            stringListValues: [],
            binaryListValues: [],
          },
        ]),
      ),
      md5OfBody: message.MD5OfBody ?? "",
      eventSource: "aws:sqs",
      eventSourceARN: queue.arn,
      awsRegion: LOCAL_REGION,
    }));
    this.invocations++;
    const response = await handler({ Records: records }, this.#context());
    const failed = new Set((response?.batchItemFailures ?? []).map((f) => f.itemIdentifier));
    const done = Messages.filter((m) => !failed.has(m.MessageId ?? ""));
    if (done.length > 0) {
      await client.send(
        new DeleteMessageBatchCommand({
          QueueUrl: queue.url,
          Entries: done.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle ?? "" })),
        }),
      );
    }
    return Messages.length;
  }

  #context(): Context {
    const deadline = Date.now() + (this.options.functionTimeoutMs ?? 30_000);
    const name = this.options.functionName ?? "local";
    return {
      callbackWaitsForEmptyEventLoop: false,
      functionName: name,
      functionVersion: "$LATEST",
      invokedFunctionArn: `arn:aws:lambda:${LOCAL_REGION}:000000000000:function:${name}`,
      memoryLimitInMB: "256",
      awsRequestId: `local-${this.invocations}`,
      logGroupName: `/aws/lambda/${name}`,
      logStreamName: "local",
      getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
      done: () => undefined,
      fail: () => undefined,
      succeed: () => undefined,
    };
  }
}

/** How many messages a queue holds: visible or delayed, and in flight. */
export async function depth(
  client: SQSClient,
  queue: LocalQueue,
): Promise<{ visible: number; inFlight: number }> {
  const { Attributes = {} } = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queue.url,
      AttributeNames: [
        "ApproximateNumberOfMessages",
        "ApproximateNumberOfMessagesNotVisible",
        "ApproximateNumberOfMessagesDelayed",
      ],
    }),
  );
  return {
    visible:
      Number(Attributes.ApproximateNumberOfMessages ?? 0) +
      Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0),
    inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

/**
 * Runs every source concurrently, as Lambda runs its pollers, until all their queues are empty
 * (nothing visible, nothing in flight) and no handler is running; or until `timeoutMs` passes.
 * Returns false on a timeout.
 */
export async function drain(
  client: SQSClient,
  sources: readonly { source: LocalEventSource; queue: LocalQueue }[],
  timeoutMs = 60_000,
  /** How often the queues are checked, and idle pollers poll again; shorter in tests. */
  intervalMs = 100,
): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  let finished = false;
  const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const pollers = sources.map(async ({ source }) => {
    while (!finished && Date.now() < until) {
      if ((await source.pollOnce()) === 0) await pause(Math.min(25, intervalMs));
    }
  });
  const queues = [...new Set(sources.map(({ queue }) => queue))];
  try {
    while (Date.now() < until) {
      await pause(intervalMs);
      if (sources.some(({ source }) => source.busy)) continue;
      const depths = await Promise.all(queues.map((queue) => depth(client, queue)));
      if (
        depths.every((d) => d.visible === 0 && d.inFlight === 0) &&
        !sources.some(({ source }) => source.busy)
      ) {
        return true;
      }
    }
    return false;
  } finally {
    finished = true;
    await Promise.all(pollers);
  }
}
