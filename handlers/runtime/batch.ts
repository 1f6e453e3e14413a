/**
 * What both handlers do with a batch of SQS records, around their own per-record work:
 * Powertools partial batch processing, dead-lettering with the reason, and the tally.
 *
 * Every record ends in exactly one of five outcomes, so for every batch
 * `applied + noop + ignored + deadLettered + retried = received`:
 * - applied, noop, ignored: the work ran (or had nothing to do); the record is deleted;
 * - deadLettered: a permanent failure, or a transient one on the last allowed receive, was sent
 *   to the handler's dead-letter queue with its reason; the record is deleted;
 * - retried: a transient failure is reported in `batchItemFailures`, and SQS delivers it again
 *   after the visibility timeout.
 */
import {
  type BatchProcessor,
  processPartialResponse,
  SqsFifoPartialProcessorAsync,
} from "@aws-lambda-powertools/batch";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from "aws-lambda";
import type { SyncConfig } from "../core/config.js";
import { isTransient } from "../core/errors.js";
import { logger, MetricName, metrics } from "./observability.js";
import type { DeadLetterQueue } from "./queues.js";

export type SqsHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

/** What both handlers need around their own work. */
export interface CommonDeps {
  /** The sync configuration; throws `SyncConfigError` when it is invalid, which dead-letters each record. */
  readonly config: () => SyncConfig;
  readonly deadLetters: DeadLetterQueue;
  readonly maxReceiveCount: number;
  readonly onTally?: (tally: BatchTally) => void;
}

export type Status = "applied" | "noop" | "ignored";

/** What the per-record work reports when it did not throw. */
export interface RecordOutcome {
  readonly status: Status;
  /** For metrics: the event type (ingest) or the entity kind (apply). */
  readonly kind?: string;
  readonly eventId?: string;
  readonly reason?: string;
}

/** An error that knows the event (ingest) or entity (apply) it belongs to, so the dead letter can say. */
export interface WithEventId {
  readonly eventId?: string;
  /** `person:<email>` or `group:<key>`. */
  readonly entity?: string;
}

export interface BatchTally {
  readonly received: number;
  readonly applied: number;
  readonly noop: number;
  readonly ignored: number;
  readonly deadLettered: number;
  readonly retried: number;
}

export interface BatchOptions {
  readonly deadLetters: DeadLetterQueue;
  /** The source queue's `maxReceiveCount`: on that receive a transient failure is dead-lettered too. */
  readonly maxReceiveCount: number;
  /** Metric names for the three success outcomes. */
  readonly metricNames: Record<Status, MetricName>;
  /** The dimension name for `RecordOutcome.kind`. */
  readonly kindDimension: string;
  /** Receives each batch's tally (the local runner and tests read it). */
  readonly onTally?: (tally: BatchTally) => void;
}

export function receiveCount(record: SQSRecord): number {
  return Number(record.attributes.ApproximateReceiveCount) || 1;
}

export function isLastReceive(record: SQSRecord, maxReceiveCount: number): boolean {
  return receiveCount(record) >= maxReceiveCount;
}

/** Runs `work` on every record and returns the partial batch response, the tally logged and measured. */
export async function runBatch(
  event: SQSEvent,
  context: Context,
  processor: BatchProcessor | SqsFifoPartialProcessorAsync,
  work: (record: SQSRecord) => Promise<RecordOutcome>,
  options: BatchOptions,
): Promise<SQSBatchResponse> {
  const counts = new Map<string, number>();
  // Each count is emitted in total (what the dashboard and alarms read) and by kind or error type.
  const bump = (name: MetricName, dimension?: string) => {
    for (const key of dimension ? [`${name}\u0000`, `${name}\u0000${dimension}`] : [`${name}\u0000`]) {
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
  };
  const tally = {
    received: event.Records.length,
    applied: 0,
    noop: 0,
    ignored: 0,
    deadLettered: 0,
    retried: 0,
  };

  const handleRecord = async (record: SQSRecord): Promise<void> => {
    try {
      const outcome = await work(record);
      tally[outcome.status]++;
      bump(options.metricNames[outcome.status], outcome.kind);
      if (outcome.status === "ignored") {
        logger.info("ignored", {
          eventId: outcome.eventId,
          kind: outcome.kind,
          reason: outcome.reason,
          messageId: record.messageId,
        });
      }
    } catch (error) {
      const eventId =
        (error as WithEventId | undefined)?.eventId ?? record.messageAttributes?.eventId?.stringValue;
      const entity = (error as WithEventId | undefined)?.entity;
      const errorType = error instanceof Error ? error.name : "UnknownError";
      const errorMessage = error instanceof Error ? error.message : String(error);
      if (isTransient(error) && !isLastReceive(record, options.maxReceiveCount)) {
        logger.warn("will retry", {
          eventId,
          errorType,
          errorMessage,
          messageId: record.messageId,
          receiveCount: receiveCount(record),
        });
        throw error;
      }
      // If this send fails the record is retried, so nothing is dropped even then.
      await options.deadLetters.send(record, { errorType, errorMessage, eventId, entity });
      tally.deadLettered++;
      bump(MetricName.DeadLettered, errorType);
      logger.error("dead-lettered", {
        eventId,
        errorType,
        errorMessage,
        messageId: record.messageId,
        receiveCount: receiveCount(record),
      });
    }
  };

  // Many whole-batch errors make Lambda scale the poller down; partial failures say enough.
  // On FIFO, skipGroupOnError fails only the later records of a failed group: other groups go on.
  const response =
    processor instanceof SqsFifoPartialProcessorAsync
      ? await processPartialResponse(event, handleRecord, processor, {
          context,
          throwOnFullBatchFailure: false,
          skipGroupOnError: true,
        })
      : await processPartialResponse(event, handleRecord, processor, {
          context,
          throwOnFullBatchFailure: false,
        });
  tally.retried = response.batchItemFailures.length;
  for (let i = 0; i < tally.retried; i++) bump(MetricName.Retried);

  for (const [key, value] of counts) {
    const [name, dimension] = key.split("\u0000") as [MetricName, string];
    if (dimension) {
      const single = metrics.singleMetric();
      single.addDimension(name === MetricName.DeadLettered ? "errorType" : options.kindDimension, dimension);
      single.addMetric(name, MetricUnit.Count, value);
    } else {
      metrics.addMetric(name, MetricUnit.Count, value);
    }
  }
  if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  logger.info("batch done", { ...tally });
  options.onTally?.(tally);
  return { batchItemFailures: response.batchItemFailures };
}
