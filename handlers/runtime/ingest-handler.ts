/**
 * The ingest Lambda, as a factory over its dependencies so tests and the local runner can build
 * it on fakes, while `handlers/ingest.ts` builds it from the environment.
 *
 * A body from any identity source (standard queue) -> the source that owns it, from the registry
 * -> canonical events -> merged into the directory by version -> "reconcile person X" (or group)
 * on the FIFO reconcile queue. The handler knows no source by name: a source's own ingress stamps
 * the `source` message attribute, and a body without one (or with one naming no registered
 * source) goes to the first source that recognises its shape. Only identity-source bodies are
 * accepted: nothing on this queue can ask for a Tallyfy change directly.
 */
import { BatchProcessor, EventType } from "@aws-lambda-powertools/batch";
import type { SQSRecord } from "aws-lambda";
import type { SyncConfig } from "../core/config.js";
import { ForeignPersonError } from "../core/desired-state.js";
import { SyncError } from "../core/errors.js";
import { parseJsonBody } from "../core/identity-event.js";
import { Recorder } from "../core/recorder.js";
import { type AnyIdentitySource, SOURCE_ATTRIBUTE, type Translation } from "../core/source.js";
import type { Directory } from "../directory/directory.js";
import { type CommonDeps, type RecordOutcome, runBatch, type SqsHandler } from "./batch.js";
import { logger, MetricName } from "./observability.js";
import type { IngestQueue, ReconcileQueue } from "./queues.js";

export interface IngestDeps extends CommonDeps {
  readonly directory: Directory;
  readonly reconcile: ReconcileQueue;
  /** The ingest queue itself: a body holding several events is split into one message each. */
  readonly ingestQueue: IngestQueue;
  /** The registered identity sources, in the order they are asked to recognise a body. */
  readonly sources: readonly AnyIdentitySource[];
  /** A source's clients, built once per container; throws (permanently) when it is not set up. */
  readonly connection: (source: AnyIdentitySource) => unknown;
  /** @default Date.now */
  readonly now?: () => number;
}

/** No registered source recognises the body. Permanent. */
export class UnknownSourceError extends SyncError {
  public readonly transient = false;
}

/**
 * A source now names its user by another email. Tallyfy cannot change a member's email, so the
 * rest of the change applies to the person under the old address and this is dead-lettered for
 * an administrator. Permanent.
 */
export class EmailChangeError extends SyncError {
  public readonly transient = false;
}

export function createIngestHandler(deps: IngestDeps): SqsHandler {
  // A processor per invocation: it holds the batch's records, and the local runner (like any
  // test) may run several invocations of one handler at once.
  return (event, context) => {
    const deadline = Date.now() + context.getRemainingTimeInMillis();
    return runBatch(
      event,
      context,
      new BatchProcessor(EventType.SQS),
      async (record): Promise<RecordOutcome> => {
        const config = deps.config();
        const json = parseJsonBody(record.body);
        const source = sourceOf(deps.sources, record, json);
        const translation = await source.translate(json, {
          config,
          sourceConfig: config[source.id],
          connection: () => deps.connection(source),
          deadline,
          linked: (id) => deps.directory.linkedEmail(source.id, id),
          state: deps.directory.state(source.id),
        });
        return recordTranslation(deps, translation, config, record, source);
      },
      {
        deadLetters: deps.deadLetters,
        maxReceiveCount: deps.maxReceiveCount,
        metricNames: {
          applied: MetricName.EventsReceived,
          noop: MetricName.NoOps,
          ignored: MetricName.Ignored,
        },
        kindDimension: "eventType",
        onTally: deps.onTally,
      },
    );
  };
}

/**
 * The source the record's `source` attribute names, else the first that recognises the body.
 * An attribute naming no registered source is not trusted to mean anything (any producer may set
 * one): the body's shape decides, as if it were absent.
 */
function sourceOf(
  sources: readonly AnyIdentitySource[],
  record: SQSRecord,
  json: unknown,
): AnyIdentitySource {
  const named = record.messageAttributes?.[SOURCE_ATTRIBUTE]?.stringValue;
  const source =
    (named === undefined ? undefined : sources.find((s) => s.id === named)) ??
    sources.find((s) => s.recognise(json));
  if (!source) throw new UnknownSourceError("no identity source recognises this body");
  return source;
}

/** Merges what the source said into the directory through the recorder; a split goes back on the queue. */
async function recordTranslation(
  deps: IngestDeps,
  translation: Translation,
  config: SyncConfig,
  record: SQSRecord,
  source: AnyIdentitySource,
): Promise<RecordOutcome> {
  const { about } = translation;
  if (translation.status === "split") {
    await deps.ingestQueue.requeue(translation.bodies);
    return { status: "applied", ...about };
  }
  const recorder = new Recorder({
    directory: deps.directory,
    reconcile: (messages) => deps.reconcile.send(messages),
    reportEmailChange: async (change) => {
      await deps.deadLetters.send(record, {
        errorType: EmailChangeError.name,
        errorMessage: `${change.source} user ${change.subject} changed email from ${change.from} to ${change.to}; Tallyfy cannot change a member's email by API: change it in Tallyfy by hand. The other changes were applied to the member this sync provisioned as ${change.from}`,
        eventId: change.eventId,
      });
      logger.warn("email change dead-lettered", { ...about, from: change.from, to: change.to });
    },
    reportRefused: async (refused, eventId) => {
      await deps.deadLetters.send(record, {
        errorType: ForeignPersonError.name,
        errorMessage: refused.map((e) => e.message).join("; "),
        eventId,
      });
      logger.warn("events about people another source provides refused", {
        ...about,
        refused: refused.length,
      });
    },
    warn: (message, detail) => logger.warn(message, detail),
    now: deps.now,
  });
  const recorded = await withEventId(about.eventId, () =>
    recorder.record(translation, config, { id: source.id, confined: source.confined }),
  );
  return { ...recorded, ...about };
}

async function withEventId<T>(eventId: string | undefined, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw Object.assign(error as object, { eventId });
  }
}
