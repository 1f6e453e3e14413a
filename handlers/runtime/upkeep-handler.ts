import type { SQSBatchResponse, SQSEvent } from "aws-lambda";
import type { SyncConfig } from "../core/config.js";
import type { AnyIdentitySource, MaintainReport, SourceState } from "../core/source.js";
import { count, logger, MetricName } from "./observability.js";
import type { IngestQueue } from "./queues.js";
import { UpkeepMessageSchema } from "./webhook-handler.js";

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
) => Promise<SQSBatchResponse>;

export function createUpkeepHandler(deps: UpkeepDeps): UpkeepHandler {
  return async (event, context) => {
    const deadline = Date.now() + (context?.getRemainingTimeInMillis() ?? 60_000);
    // Every message about one source asks for the same run: one run per source, with every trigger.
    const triggers = new Map<string, unknown[]>();
    // Which messages asked for each source's run: only a failing source's are tried again.
    const asked = new Map<string, string[]>();
    for (const record of event.Records) {
      const parsed = UpkeepMessageSchema.safeParse(safeJson(record.body));
      if (!parsed.success) {
        logger.warn("upkeep message ignored: not {source, trigger}", { messageId: record.messageId });
        continue;
      }
      const list = triggers.get(parsed.data.source) ?? [];
      if (parsed.data.trigger !== undefined) list.push(parsed.data.trigger);
      triggers.set(parsed.data.source, list);
      asked.set(parsed.data.source, [...(asked.get(parsed.data.source) ?? []), record.messageId]);
    }
    const failures: string[] = [];
    const failedSources = new Set<string>();
    for (const [id, sourceTriggers] of triggers) {
      const source = deps.sources.find((s) => s.id === id);
      if (!source?.maintainSubscriptions) {
        logger.warn("upkeep message ignored: no such source with subscriptions", { source: id });
        continue;
      }
      const webhook = await deps.webhook(id);
      if (!webhook) {
        failures.push(`${id}: the webhook's URL or secret is not configured`);
        failedSources.add(id);
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
        failedSources.add(id);
      }
    }
    if (failures.length > 0) logger.error("subscriptions failed; their messages are retried", { failures });
    // Partial batch response: one source's failure retries its own messages, not the others'.
    return {
      batchItemFailures: [...failedSources].flatMap((id) =>
        (asked.get(id) ?? []).map((itemIdentifier) => ({ itemIdentifier })),
      ),
    };
  };
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
