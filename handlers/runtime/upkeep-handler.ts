/**
 * The subscription function: keeps each webhook source's subscriptions to its provider alive
 * (`IdentitySource.maintainSubscriptions`). Its queue receives a message from the schedule, and
 * from a webhook when the provider says a subscription needs attention now (Graph's
 * `reauthorizationRequired`, `subscriptionRemoved`). A subscription that could not be created or
 * renewed is counted (the alarm) and the message is retried, until it is dead-lettered.
 */
import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import type { SQSEvent } from "aws-lambda";
import * as z from "zod";
import type { SyncConfig } from "../core/config.js";
import {
  type AnyIdentitySource,
  type MaintainReport,
  type SourceState,
  webhookVariable,
} from "../core/source.js";
import { parseSyncConfig, SOURCES } from "../sources/index.js";
import { directoryFrom } from "./environment.js";
import { sourceConnections } from "./ingest-environment.js";
import { count, logger, MetricName } from "./observability.js";
import { IngestQueue } from "./queues.js";
import { secretTokens } from "./token-secret.js";
import { parseEnvironment, sqsClient } from "./variables.js";
import { UpkeepMessageSchema } from "./webhook-handler.js";

/** Subscriptions failed; the message is retried. */
export class SubscriptionUpkeepError extends Error {
  public constructor(message: string) {
    super(message);
    this.name = "SubscriptionUpkeepError";
  }
}

export interface UpkeepDeps {
  readonly config: () => SyncConfig;
  readonly sources: readonly AnyIdentitySource[];
  readonly connection: (source: AnyIdentitySource) => unknown;
  readonly state: (source: string) => SourceState;
  /** The source's webhook URL and the secret its provider echoes (the current one). */
  readonly webhook: (
    source: string,
  ) => Promise<{ readonly url: string; readonly secret: string } | undefined>;
  readonly ingest: IngestQueue;
  /** @default Date.now */
  readonly now?: () => number;
  readonly onReport?: (source: string, report: MaintainReport) => void;
}

export type UpkeepHandler = (
  event: SQSEvent,
  context?: { getRemainingTimeInMillis(): number },
) => Promise<void>;

export function createUpkeepHandler(deps: UpkeepDeps): UpkeepHandler {
  return async (event, context) => {
    const deadline = Date.now() + (context?.getRemainingTimeInMillis() ?? 60_000);
    // Every message about one source asks for the same run: one run per source, with every trigger.
    const triggers = new Map<string, unknown[]>();
    for (const record of event.Records) {
      const parsed = UpkeepMessageSchema.safeParse(safeJson(record.body));
      if (!parsed.success) {
        logger.warn("upkeep message ignored: not {source, trigger}", { messageId: record.messageId });
        continue;
      }
      const list = triggers.get(parsed.data.source) ?? [];
      if (parsed.data.trigger !== undefined) list.push(parsed.data.trigger);
      triggers.set(parsed.data.source, list);
    }
    const failures: string[] = [];
    for (const [id, sourceTriggers] of triggers) {
      const source = deps.sources.find((s) => s.id === id);
      if (!source?.maintainSubscriptions) {
        logger.warn("upkeep message ignored: no such source with subscriptions", { source: id });
        continue;
      }
      const webhook = await deps.webhook(id);
      if (!webhook) {
        failures.push(`${id}: the webhook's URL or secret is not configured`);
        continue;
      }
      const config = deps.config();
      let report: MaintainReport;
      try {
        report = await source.maintainSubscriptions({
          config,
          sourceConfig: config[id],
          connection: () => deps.connection(source),
          deadline,
          notificationUrl: webhook.url,
          webhookSecret: webhook.secret,
          state: deps.state(id),
          now: (deps.now ?? Date.now)(),
          triggers: sourceTriggers,
          ingest: (bodies) => deps.ingest.sendFrom(id, bodies),
        });
      } catch (error) {
        report = {
          created: [],
          renewed: [],
          stopped: [],
          failed: [error instanceof Error ? error.message : String(error)],
        };
      }
      deps.onReport?.(id, report);
      logger.info("subscriptions kept", { source: id, ...report });
      for (const failed of report.failed) {
        count(MetricName.SubscriptionUpkeepFailed, { name: "source", value: id });
        failures.push(`${id} ${failed}`);
      }
    }
    if (failures.length > 0) throw new SubscriptionUpkeepError(failures.join("; "));
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const UpkeepEnvironmentSchema = z.object({
  SYNC_CONFIG: z.string().optional(),
  DIRECTORY_TABLE_NAME: z.string().min(3),
  INGEST_QUEUE_URL: z.url(),
  SECRET_MAX_AGE_SECONDS: z.coerce.number().int().min(0).default(300),
});

export function upkeepDepsFromEnvironment(env: NodeJS.ProcessEnv = process.env): UpkeepDeps {
  const vars = parseEnvironment(UpkeepEnvironmentSchema, env);
  const directory = directoryFrom(vars.DIRECTORY_TABLE_NAME);
  const provider = new SecretsProvider();
  let config: SyncConfig | undefined;
  return {
    config: () => {
      config ??= parseSyncConfig(vars.SYNC_CONFIG);
      return config;
    },
    sources: SOURCES,
    connection: sourceConnections(env),
    state: (source) => directory.state(source),
    webhook: async (source) => {
      const url = env[webhookVariable(source, "URL")];
      const secretId = env[webhookVariable(source, "SECRET_ID")];
      if (!url || !secretId) return undefined;
      const [secret] = await secretTokens(provider, secretId, vars.SECRET_MAX_AGE_SECONDS)(false);
      return secret ? { url, secret } : undefined;
    },
    ingest: new IngestQueue(sqsClient(), vars.INGEST_QUEUE_URL),
  };
}
