/**
 * `tallyfy-idp-sync dlq`: the dead letters of both queues, by the reason each carries
 * (`errorType`, `errorMessage`, written by runtime/queues.ts). Reading is a receive with a short
 * visibility timeout, so the letters come back to the queue at once for the next reader.
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";

export interface Letter {
  readonly id: string;
  readonly receipt: string;
  readonly body: string;
  readonly errorType: string;
  readonly errorMessage: string;
  readonly sentAt: number;
  readonly groupId?: string;
}

/** Every letter on the queue, up to `max`; each is hidden for `hideSeconds` while it is read. */
export async function readLetters(
  sqs: SQSClient,
  queueUrl: string,
  max = 1_000,
  hideSeconds = 30,
): Promise<Letter[]> {
  const letters = new Map<string, Letter>();
  while (letters.size < max) {
    const { Messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ["All"],
        MessageSystemAttributeNames: ["SentTimestamp", "MessageGroupId"],
        VisibilityTimeout: hideSeconds,
      }),
    );
    if (Messages.length === 0) break;
    for (const message of Messages) letters.set(message.MessageId ?? "", letterOf(message));
  }
  return [...letters.values()];
}

function letterOf(message: Message): Letter {
  const attribute = (name: string) => message.MessageAttributes?.[name]?.StringValue;
  return {
    id: message.MessageId ?? "",
    receipt: message.ReceiptHandle ?? "",
    body: message.Body ?? "",
    // EventBridge names why it gave an event up in attributes of its own; a letter the queue's own
    // redrive policy moved carries no reason at all.
    errorType: attribute("errorType") ?? attribute("ERROR_CODE") ?? "Redriven",
    errorMessage:
      attribute("errorMessage") ??
      attribute("ERROR_MESSAGE") ??
      "moved by the queue's redrive policy after too many receives",
    sentAt: Number(message.Attributes?.SentTimestamp ?? 0),
    groupId: message.Attributes?.MessageGroupId,
  };
}

export function summarise(letters: readonly Letter[]) {
  const byType = new Map<string, { count: number; oldest: number; example: string }>();
  for (const letter of letters) {
    const entry = byType.get(letter.errorType) ?? {
      count: 0,
      oldest: letter.sentAt,
      example: letter.errorMessage,
    };
    entry.count++;
    if (letter.sentAt < entry.oldest) {
      entry.oldest = letter.sentAt;
      entry.example = letter.errorMessage;
    }
    byType.set(letter.errorType, entry);
  }
  return [...byType.entries()]
    .map(([errorType, e]) => ({
      errorType,
      count: e.count,
      oldest: new Date(e.oldest).toISOString(),
      example: e.example,
    }))
    .sort((a, b) => b.count - a.count);
}

/** Shows letters read but not acted on to the next reader at once. */
export async function release(sqs: SQSClient, queueUrl: string, letters: readonly Letter[]): Promise<void> {
  for (const letter of letters) {
    await sqs.send(
      new ChangeMessageVisibilityCommand({
        QueueUrl: queueUrl,
        ReceiptHandle: letter.receipt,
        VisibilityTimeout: 0,
      }),
    );
  }
}

async function remove(sqs: SQSClient, queueUrl: string, letters: readonly Letter[]): Promise<void> {
  for (const letter of letters) {
    await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: letter.receipt }));
  }
}

/** Sends each letter of `type` (all without one) back to `targetUrl`, then deletes it. */
export async function redrive(
  sqs: SQSClient,
  queueUrl: string,
  targetUrl: string,
  type?: string,
): Promise<number> {
  const all = await readLetters(sqs, queueUrl);
  const letters = all.filter((l) => type === undefined || l.errorType === type);
  const fifo = targetUrl.endsWith(".fifo");
  for (const letter of letters) {
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: targetUrl,
        MessageBody: letter.body,
        // A redrive is a new delivery: the reconcile reads the newest state, so order is safe.
        ...(fifo
          ? { MessageGroupId: letter.groupId ?? "redrive", MessageDeduplicationId: `redrive-${letter.id}` }
          : {}),
      }),
    );
    await remove(sqs, queueUrl, [letter]);
  }
  await release(
    sqs,
    queueUrl,
    all.filter((l) => !letters.includes(l)),
  );
  return letters.length;
}

/** Deletes every letter of `type`. */
export async function purge(sqs: SQSClient, queueUrl: string, type: string): Promise<number> {
  const all = await readLetters(sqs, queueUrl);
  const letters = all.filter((l) => l.errorType === type);
  await release(
    sqs,
    queueUrl,
    all.filter((l) => !letters.includes(l)),
  );
  await remove(sqs, queueUrl, letters);
  return letters.length;
}
