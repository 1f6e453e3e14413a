import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import * as z from "zod";
import type { AnyIdentitySource, WebhookRequest } from "../core/source.js";
import { count, logger, MetricName } from "./observability.js";
import { IngestQueue } from "./queues.js";
import { FRESH_READ_INTERVAL_MS } from "./token-secret.js";

export interface WebhookHandlerDeps {
  /** The source it receives for: its id and its request check. */
  readonly source: Pick<AnyIdentitySource, "id" | "receive">;
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
      count(MetricName.WebhookAccepted, { name: "source", value: source.id });
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
