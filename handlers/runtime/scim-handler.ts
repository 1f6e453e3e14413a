import type { SQSClient } from "@aws-sdk/client-sqs";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import { DynamoScimStore } from "../directory/scim-store.js";
import { scimMessageBody } from "../sources/scim/index.js";
import { type ScimRequest, ScimService } from "../sources/scim/service.js";
import type { GroupRecord, UserRecord } from "../sources/scim/store.js";
import { logger } from "./observability.js";
import { IngestQueue } from "./queues.js";
import { FRESH_READ_INTERVAL_MS } from "./token-secret.js";

export interface ScimHandlerDeps {
  readonly db: DynamoDBDocumentClient;
  readonly tableName: string;
  readonly sqs: SQSClient;
  readonly ingestQueueUrl: string;
  /** The accepted bearer tokens; `fresh` asks for a read past any cache. */
  readonly tokens: (fresh: boolean) => Promise<readonly string[]>;
  /** @default Date.now */
  readonly now?: () => number;
}

export type ScimHandler = (event: APIGatewayProxyEvent) => Promise<APIGatewayProxyResult>;

export function createScimHandler(deps: ScimHandlerDeps): ScimHandler {
  const ingest = new IngestQueue(deps.sqs, deps.ingestQueueUrl);
  let lastFresh = 0;
  const service = new ScimService({
    store: new DynamoScimStore<UserRecord, GroupRecord>(deps.db, deps.tableName),
    queue: (messages) => ingest.sendFrom("scim", messages.map(scimMessageBody)),
    tokens: async () => deps.tokens(false),
    refreshTokens: async () => {
      const now = (deps.now ?? Date.now)();
      if (now - lastFresh < FRESH_READ_INTERVAL_MS) return undefined;
      lastFresh = now;
      return deps.tokens(true);
    },
    onError: (error) => logger.error("SCIM request failed; answered 503", { error }),
    now: deps.now,
  });
  return async (event) => {
    const response = await service.handle(requestOf(event), baseUrlOf(event));
    logger.info("SCIM request", {
      method: event.httpMethod,
      resource: resourceOf(event.path),
      status: response.status,
      userAgent: event.headers?.["User-Agent"] ?? event.headers?.["user-agent"],
    });
    return { statusCode: response.status, headers: { ...response.headers }, body: response.body ?? "" };
  };
}

function requestOf(event: APIGatewayProxyEvent): ScimRequest {
  const body =
    event.body && event.isBase64Encoded ? Buffer.from(event.body, "base64").toString("utf8") : event.body;
  return {
    method: event.httpMethod,
    path: event.path,
    query: event.queryStringParameters ?? {},
    headers: event.headers ?? {},
    body,
  };
}

/** `https://<host>/<stage>/v2` as the client called it, so `meta.location` works behind a custom domain too. */
function baseUrlOf(event: APIGatewayProxyEvent): string {
  const host = event.requestContext?.domainName ?? event.headers?.Host ?? "localhost";
  const path = event.requestContext?.path ?? event.path;
  const base = /^(.*?\/v2)(?:\/|$)/i.exec(path)?.[1] ?? "/scim/v2";
  const scheme = event.headers?.["X-Forwarded-Proto"] ?? event.headers?.["x-forwarded-proto"] ?? "https";
  return `${scheme}://${host}${base}`;
}

/** The resource type and whether an id was named; never the id or the query, which may hold a userName. */
function resourceOf(path: string): string {
  const match = /\/(Users|Groups|ServiceProviderConfigs?|ResourceTypes|Schemas)(\/[^/]+)?\/?$/i.exec(path);
  return match ? `${match[1]}${match[2] ? "/{id}" : ""}` : "unknown";
}
