/**
 * A webhook source on this machine: its real webhook function served on loopback (as API Gateway
 * would call it), and its real subscription function, fed from an upkeep queue of its own on the
 * pipeline's fauxqs. The tests and `npm start` use it for Entra ID and Google Workspace.
 */
import { CreateQueueCommand, DeleteMessageCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type { SQSEvent } from "aws-lambda";
import type { AnyIdentitySource, MaintainReport } from "../handlers/core/source.js";
import { IngestQueue } from "../handlers/runtime/queues.js";
import { createUpkeepHandler } from "../handlers/runtime/upkeep-handler.js";
import { createWebhookHandler } from "../handlers/runtime/webhook-handler.js";
import { parseSyncConfig } from "../handlers/sources/index.js";
import type { TestPipeline } from "./pipeline.js";
import { startScimServer } from "./scim-server.js";

export interface WebhookHarnessOptions {
  readonly source: AnyIdentitySource;
  /** The secrets the webhook accepts; the first is given to the provider. */
  readonly secrets: readonly string[];
  /** The environment the source connects from (its credential's secret id). */
  readonly environment: Readonly<Record<string, string>>;
  /** The sync configuration (as the pipeline's). */
  readonly config: Record<string, unknown>;
  /** The webhook's path, as the stack serves it. */
  readonly path: string;
}

export async function startWebhookHarness(pipeline: TestPipeline, options: WebhookHarnessOptions) {
  const { source } = options;
  const created = await pipeline.sqs.send(new CreateQueueCommand({ QueueName: `${source.id}-upkeep` }));
  const upkeepQueueUrl = created.QueueUrl ?? "";
  const rejected: string[] = [];
  const server = await startScimServer(
    createWebhookHandler({
      source,
      secrets: async () => options.secrets,
      sqs: pipeline.sqs,
      ingestQueueUrl: pipeline.queues.ingest.url,
      upkeepQueueUrl,
      onRejected: (reason) => rejected.push(reason),
    }),
  );
  const url = `${new URL(server.url).origin}/${options.path}`;
  const reports: MaintainReport[] = [];
  const retried: string[] = [];
  const connection = source.connect?.({ variables: options.environment, onResponse: () => {} });
  const upkeep = createUpkeepHandler({
    config: () => parseSyncConfig(JSON.stringify(options.config), "the test configuration"),
    sources: [source],
    connection: () => connection,
    state: (id) => pipeline.directoryAs("upkeep").state(id),
    webhook: async () => ({ url, secret: options.secrets[0] ?? "" }),
    ingest: new IngestQueue(pipeline.sqs, pipeline.queues.ingest.url),
    onReport: (_, report) => reports.push(report),
  });
  return {
    /** The webhook's URL, given to the provider. */
    url,
    /** Why each refused request was refused. */
    rejected,
    /** What each upkeep run did. */
    reports,
    /** The messages the subscription function handed back to be tried again (its partial batch answer). */
    retried,
    /** A scheduled run of the subscription function. */
    async schedule(): Promise<MaintainReport | undefined> {
      const answer = await upkeep({ Records: [record(JSON.stringify({ source: source.id }))] } as SQSEvent);
      retried.push(...answer.batchItemFailures.map((f) => f.itemIdentifier));
      return reports.at(-1);
    },
    /** Runs the subscription function on what the webhook put on its queue (lifecycle messages). */
    async drainUpkeep(): Promise<number> {
      const answer = await pipeline.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: upkeepQueueUrl, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }),
      );
      const messages = answer.Messages ?? [];
      if (messages.length === 0) return 0;
      const handled = await upkeep({ Records: messages.map((m) => record(m.Body ?? "")) } as SQSEvent);
      retried.push(...handled.batchItemFailures.map((f) => f.itemIdentifier));
      for (const m of messages) {
        await pipeline.sqs.send(
          new DeleteMessageCommand({ QueueUrl: upkeepQueueUrl, ReceiptHandle: m.ReceiptHandle }),
        );
      }
      return messages.length;
    },
    stop: () => server.stop(),
  };
}

function record(body: string) {
  return {
    messageId: `upkeep-${Math.random().toString(36).slice(2)}`,
    body,
    attributes: {},
    messageAttributes: {},
  };
}

/**
 * Sends a captured request (`{httpMethod, path, headers, queryStringParameters, body}`, as the
 * shared samples hold them) to a webhook URL; returns the status it answered.
 */
export async function sendEnvelope(
  url: string,
  envelope: {
    httpMethod?: string;
    headers?: Record<string, string>;
    queryStringParameters?: Record<string, string> | null;
    body?: unknown;
  },
): Promise<number> {
  const query = new URLSearchParams(envelope.queryStringParameters ?? {}).toString();
  const response = await fetch(query ? `${url}?${query}` : url, {
    method: envelope.httpMethod ?? "POST",
    headers: envelope.headers,
    body:
      envelope.body === undefined
        ? undefined
        : typeof envelope.body === "string"
          ? envelope.body
          : JSON.stringify(envelope.body),
  });
  await response.text();
  return response.status;
}
