/**
 * A source's webhook function: API Gateway (Lambda proxy) requests from an identity provider ->
 * the source's own check and answer (`IdentitySource.receive`) -> its bodies on the ingest queue,
 * stamped with the source, and lifecycle messages on the upkeep queue. The secret the provider
 * echoes is read from Secrets Manager and cached; a request that does not match makes one fresh
 * read, at most every 5 s, so a rotated secret is accepted within seconds while forged requests
 * cost at most twelve reads a minute.
 */
import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import * as z from "zod";
import type { AnyIdentitySource, WebhookRequest } from "../core/source.js";
import { SOURCES } from "../sources/index.js";
import { count, logger, MetricName } from "./observability.js";
import { IngestQueue } from "./queues.js";
import { FRESH_READ_INTERVAL_MS, secretTokens } from "./token-secret.js";
import { parseEnvironment, sqsClient } from "./variables.js";

export interface WebhookHandlerDeps {
  readonly source: AnyIdentitySource;
  /** The accepted secrets; `fresh` asks for a read past any cache. */
  readonly secrets: (fresh: boolean) => Promise<readonly string[]>;
  readonly sqs: SQSClient;
  readonly ingestQueueUrl: string;
  /** Where lifecycle messages go, for the subscription function. @default dropped, with a warning */
  readonly upkeepQueueUrl?: string;
  /** Told of every refused request (the metric, and the tests). */
  readonly onRejected?: (reason: string) => void;
  /** @default Date.now */
  readonly now?: () => number;
}

export type WebhookHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

/** What an upkeep message says: which source, and the lifecycle message if any. */
export const UpkeepMessageSchema = z.object({ source: z.string().min(1), trigger: z.unknown().optional() });

export function createWebhookHandler(deps: WebhookHandlerDeps): WebhookHandler {
  const { source } = deps;
  const receive = source.receive;
  if (!receive) throw new Error(`source ${source.id} has no webhook`);
  const ingest = new IngestQueue(deps.sqs, deps.ingestQueueUrl);
  let lastFresh = 0;
  return async (event) => {
    const now = (deps.now ?? Date.now)();
    const request = requestOf(event, new Date(now).toISOString());
    let verdict = receive(request, await deps.secrets(false));
    if (verdict.status === 403 && now - lastFresh >= FRESH_READ_INTERVAL_MS) {
      // The secret may have just been rotated: one read past the cache before refusing.
      lastFresh = now;
      verdict = receive(request, await deps.secrets(true));
    }
    if (verdict.rejected) {
      count(MetricName.WebhookRejected, { name: "source", value: source.id });
      logger.warn("webhook request refused", {
        source: source.id,
        status: verdict.status,
        reason: verdict.rejected,
      });
      deps.onRejected?.(verdict.rejected);
    } else {
      // Queued before the answer: a provider that gets its 2xx never needs to send again.
      if (verdict.queue?.length) await ingest.sendFrom(source.id, verdict.queue);
      if (verdict.maintain?.length) await sendUpkeep(deps, verdict.maintain);
      logger.info("webhook request", {
        source: source.id,
        status: verdict.status,
        queued: verdict.queue?.length ?? 0,
      });
    }
    return {
      statusCode: verdict.status,
      headers: {
        "Content-Type": verdict.contentType ?? "application/json",
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "no-store",
      },
      body: verdict.body ?? "",
    };
  };
}

async function sendUpkeep(deps: WebhookHandlerDeps, triggers: readonly string[]): Promise<void> {
  if (!deps.upkeepQueueUrl) {
    logger.warn("lifecycle message dropped: no subscription function", { source: deps.source.id });
    return;
  }
  for (let start = 0; start < triggers.length; start += 10) {
    const result = await deps.sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: deps.upkeepQueueUrl,
        Entries: triggers.slice(start, start + 10).map((trigger, index) => ({
          Id: String(index),
          MessageBody: JSON.stringify({ source: deps.source.id, trigger: JSON.parse(trigger) }),
        })),
      }),
    );
    if (result.Failed?.length) throw new Error(`${result.Failed.length} lifecycle messages were not queued`);
  }
}

function requestOf(event: APIGatewayProxyEvent, receivedAt: string): WebhookRequest {
  const body =
    event.body && event.isBase64Encoded
      ? Buffer.from(event.body, "base64").toString("utf8")
      : (event.body ?? "");
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (typeof value === "string") headers[name.toLowerCase()] = value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.queryStringParameters ?? {})) {
    if (typeof value === "string") query[name] = value;
  }
  return { method: event.httpMethod, headers, query, body, receivedAt };
}

const WebhookEnvironmentSchema = z.object({
  /** The registry id of the source this function receives for. */
  WEBHOOK_SOURCE: z.string().min(1),
  /** The secret the provider echoes (its id, never its value). */
  WEBHOOK_SECRET_ID: z.string().min(1),
  INGEST_QUEUE_URL: z.url(),
  UPKEEP_QUEUE_URL: z.url().optional(),
  SECRET_MAX_AGE_SECONDS: z.coerce.number().int().min(0).default(300),
});

export function webhookDepsFromEnvironment(env: NodeJS.ProcessEnv = process.env): WebhookHandlerDeps {
  const vars = parseEnvironment(WebhookEnvironmentSchema, env);
  const source = SOURCES.find((s) => s.id === vars.WEBHOOK_SOURCE);
  if (!source?.receive) throw new Error(`WEBHOOK_SOURCE ${vars.WEBHOOK_SOURCE} is no source with a webhook`);
  return {
    source,
    secrets: secretTokens(new SecretsProvider(), vars.WEBHOOK_SECRET_ID, vars.SECRET_MAX_AGE_SECONDS),
    sqs: sqsClient(),
    ingestQueueUrl: vars.INGEST_QUEUE_URL,
    upkeepQueueUrl: vars.UPKEEP_QUEUE_URL,
  };
}
